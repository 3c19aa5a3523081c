/** nft monitor output → transactions → own echo or drift. The lines are as nft 1.0.6 prints them. */
import { attribute, MonitorParser, OwnProcesses, type OwnActivity } from '../../src/sync/drift.js';

const TABLES = [{ family: 'ip', name: 'kube-proxy' }, { family: 'ip6', name: 'kube-proxy' }];

const FLUSH_RULESET = [
  'delete table ip filter',
  'delete set ip kube-proxy cluster-ips',
  'delete chain ip kube-proxy services',
  'delete table ip kube-proxy',
  '# new generation 7 by process 4242 (nft)',
  '',
].join('\n');

test('groups lines by transaction, keeps only those touching our tables, splits chunks anywhere', () => {
  const p = new MonitorParser(TABLES);
  const text = [
    'add table inet other',
    'add chain inet other c',
    '# new generation 5 by process 100 (nft)',
    'delete element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 : goto svc-1 }',
    '# new generation 6 by process 101 (nft)',
    FLUSH_RULESET,
  ].join('\n');
  const out = [];
  for (let i = 0; i < text.length; i += 7) out.push(...p.push(text.slice(i, i + 7)));
  expect(out).toEqual([
    { lines: ['delete element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 : goto svc-1 }'], tableDeleted: false, generation: 6, pid: 101, comm: 'nft' },
    { lines: ['delete set ip kube-proxy cluster-ips', 'delete chain ip kube-proxy services', 'delete table ip kube-proxy'], tableDeleted: true, generation: 7, pid: 4242, comm: 'nft' },
  ]);
});

test('a table of the same name in another family is not ours', () => {
  const p = new MonitorParser(TABLES);
  expect(p.push('delete table inet kube-proxy\n# new generation 2 by process 1 (nft)\n')).toEqual([]);
});

function own(o: Partial<OwnActivity> & { parents?: Record<number, number> }): OwnActivity {
  return {
    pid: 1000,
    parentOf: (pid) => o.parents?.[pid],
    recentSync: o.recentSync ?? (() => undefined),
  };
}

const tx = (p: Partial<{ pid: number; comm: string; tableDeleted: boolean }>) => ({ lines: ['x'], tableDeleted: p.tableDeleted ?? false, ...p });

test('a living process: ours iff kpx is its parent', () => {
  expect(attribute(tx({ pid: 7, comm: 'nft' }), own({ parents: { 7: 1000 } }))).toBe('own');
  // Someone's `nft flush ruleset` during our sync is still drift.
  expect(attribute(tx({ pid: 7, comm: 'nft' }), own({ parents: { 7: 55 }, recentSync: () => ({ full: true }) }))).toBe('drift');
});

test('a process already gone: ours only while (or just after) a sync applies, and never a table deletion by a partial sync', () => {
  expect(attribute(tx({ pid: 7, comm: 'nft' }), own({}))).toBe('drift');
  expect(attribute(tx({ pid: 7, comm: 'nft' }), own({ recentSync: () => ({ full: false }) }))).toBe('own');
  expect(attribute(tx({ pid: 7, comm: 'nft', tableDeleted: true }), own({ recentSync: () => ({ full: false }) }))).toBe('drift');
  expect(attribute(tx({ pid: 7, comm: 'nft', tableDeleted: true }), own({ recentSync: () => ({ full: true }) }))).toBe('own');
  expect(attribute(tx({ pid: 7, comm: 'iptables-nft' }), own({ recentSync: () => ({ full: true }) }))).toBe('drift');
});

test('a pid kpx recorded when it spawned the process is ours, even when that process is gone', () => {
  const spawned = new OwnProcesses(2);
  spawned.note(7);
  expect(attribute(tx({ pid: 7, comm: 'nft', tableDeleted: true }), { ...own({}), spawned })).toBe('own');
  spawned.note(8);
  spawned.note(9);
  // Bounded: the oldest is forgotten.
  expect(spawned.has(7)).toBe(false);
  expect(attribute(tx({ pid: 7, comm: 'nft', tableDeleted: true }), { ...own({}), spawned })).toBe('drift');
});
