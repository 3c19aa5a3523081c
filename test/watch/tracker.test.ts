/** The change tracker alone (pure): kube-proxy's {previous, current} bookkeeping. */
import { canonicalJSON, ChangeTracker } from '../../src/watch/tracker.js';

interface Obj { ns: string; name: string; svc: string; v: number; rv?: string }

function tracker() {
  return new ChangeTracker<Obj>({
    serviceKeys: (o) => [`${o.ns}/${o.svc}`],
    equal: (a, b) => a.v === b.v && a.svc === b.svc,
  });
}
const obj = (name: string, v: number, svc = name, rv = '1'): Obj => ({ ns: 'ns', name, svc, v, rv });

describe('ChangeTracker', () => {
  test('apply returns the Service keys that changed and commits the objects', () => {
    const t = tracker();
    t.update('ns/a', obj('a', 1));
    t.update('ns/b', obj('b', 1));
    expect([...t.apply()].sort()).toEqual(['ns/a', 'ns/b']);
    expect(t.objects().map((o) => o.name)).toEqual(['a', 'b']);
    expect(t.apply().size).toBe(0);
  });

  test('a change that undoes itself disappears', () => {
    const t = tracker();
    t.update('ns/a', obj('a', 1));
    t.apply();
    t.update('ns/a', obj('a', 2, 'a', '2'));
    t.update('ns/a', obj('a', 1, 'a', '3'));   // back to v=1: only the resourceVersion differs
    expect(t.pendingCount).toBe(0);
    t.update('ns/new', obj('new', 1));
    t.update('ns/new', undefined);             // created and deleted between two applies
    expect(t.pendingCount).toBe(0);
    expect(t.apply().size).toBe(0);
  });

  test('previous stays the committed object across several updates', () => {
    const t = tracker();
    t.update('ns/a', obj('a', 1));
    t.apply();
    t.update('ns/a', obj('a', 2));
    t.update('ns/a', obj('a', 3));
    expect(t.pendingChange('ns/a')).toEqual({ previous: obj('a', 1), current: obj('a', 3) });
  });

  test('a slice that moves to another Service changes both', () => {
    const t = tracker();
    t.update('ns/s1', obj('s1', 1, 'svc-a'));
    t.apply();
    t.update('ns/s1', obj('s1', 1, 'svc-b'));
    expect([...t.apply()].sort()).toEqual(['ns/svc-a', 'ns/svc-b']);
  });

  test('delete removes the object and reports its Service', () => {
    const t = tracker();
    t.update('ns/a', obj('a', 1));
    t.apply();
    t.update('ns/a', undefined);
    expect([...t.apply()]).toEqual(['ns/a']);
    expect(t.objects()).toEqual([]);
  });
});

describe('canonicalJSON', () => {
  test('key order and undefined members do not matter', () => {
    class Model { a: number | undefined = undefined; b = 1; }
    expect(canonicalJSON(new Model())).toBe(canonicalJSON({ b: 1 }));
    expect(canonicalJSON({ x: [{ b: 1, a: 2 }] })).toBe(canonicalJSON({ x: [{ a: 2, b: 1 }] }));
    expect(canonicalJSON({ t: new Date('2024-01-01T00:00:00Z') })).toBe(canonicalJSON({ t: '2024-01-01T00:00:00.000Z' }));
  });
});
