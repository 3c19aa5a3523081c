/**
 * Supervision policy on a fake clock: backoff, watchdog, shutdown. The informer wiring
 * and the real reconnects are tested against a real API server in resilience.test.ts.
 */
import { Supervisor, type Chain, type SupervisionOptions } from '../../src/watch/supervisor.js';
import { Backoff } from '../../src/watch/backoff.js';
import { FakeClock } from './fake-clock.js';

const options: SupervisionOptions = {
  backoff: { initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0, resetAfterMs: 5_000 },
  watchdogMs: 1_000,
  listTimeoutMs: 10_000,
  watchTimeoutSeconds: 300,
  minWatchMs: 1_000,
};

/** A chain that records when it was run and fails the test if two ever overlap. */
class FakeChain implements Chain {
  readonly runs: number[] = [];
  halts = 0;
  private active = false;
  constructor(private readonly clock: FakeClock) {}
  run(): void {
    if (this.active) throw new Error('a second chain was started while one was running');
    this.active = true;
    this.runs.push(this.clock.now());
  }
  halt(): void {
    this.active = false;
    this.halts++;
  }
}

function setup(opts: SupervisionOptions = options) {
  const clock = new FakeClock();
  const chain = new FakeChain(clock);
  const failures: string[] = [];
  const sup = new Supervisor('test', chain, opts, clock, undefined, () => 0, (reason) => failures.push(reason));
  return { clock, chain, sup, failures };
}

describe('Supervisor', () => {
  test('restarts after each failure with exponential backoff up to the cap', () => {
    const { clock, chain, sup } = setup();
    sup.start();                       // t=0     run #1
    sup.watching();
    sup.failed(new Error('boom'));     // t=0     retry in 100
    clock.advance(99);                 // t=99    nothing yet
    expect(chain.runs).toEqual([0]);
    clock.advance(1);                  // t=100   run #2
    expect(chain.runs).toEqual([0, 100]);
    sup.failed(new Error('boom'));     // t=100   retry in 200
    clock.advance(200);                // t=300   run #3
    sup.failed(new Error('boom'));     // t=300   retry in 400
    clock.advance(400);                // t=700   run #4
    sup.failed(new Error('boom'));     // t=700   retry in 800
    clock.advance(800);                // t=1500  run #5
    sup.failed(new Error('boom'));     // t=1500  retry in 1000 (cap)
    clock.advance(1000);               // t=2500  run #6
    sup.failed(new Error('boom'));     // t=2500  retry in 1000 (cap)
    clock.advance(1000);               // t=3500  run #7
    expect(chain.runs).toEqual([0, 100, 300, 700, 1500, 2500, 3500]);
    expect(sup.restarts.error).toBe(6);
    expect(sup.lastError).toBe('boom');
  });

  test('a failure long after the previous one starts again at the initial delay', () => {
    const { clock, chain, sup } = setup();
    sup.start();
    sup.watching();
    sup.failed(new Error('a'));        // t=0     retry in 100
    clock.advance(100);                // t=100   run #2
    sup.watching();
    sup.failed(new Error('b'));        // t=100   retry in 200
    clock.advance(200);                // t=300   run #3, healthy from here
    for (let i = 0; i < 6; i++) { clock.advance(900); sup.activity(); }   // t=5700
    sup.failed(new Error('c'));        // t=5700  5.4 s since the last failure: reset, retry in 100
    clock.advance(100);                // t=5800  run #4
    expect(chain.runs).toEqual([0, 100, 300, 5800]);
  });

  test('the watchdog restarts a silent watch, not one that hears from the server', () => {
    const { clock, chain, sup, failures } = setup();
    sup.start();                       // t=0
    sup.watching();
    clock.advance(900);                // t=900   an event
    sup.activity();
    clock.advance(999);                // t=1899  silent for 999 ms: fine
    expect(chain.halts).toBe(0);
    clock.advance(1);                  // t=1900  silent for 1 s: halt, retry in 100
    expect(chain.halts).toBe(1);
    expect(failures).toEqual(['watchdog']);
    expect(sup.phase).toBe('backoff');
    clock.advance(100);                // t=2000  run #2
    expect(chain.runs).toEqual([0, 2000]);
    expect(sup.restarts.watchdog).toBe(1);
  });

  test('a frozen server: one chain at a time, restarts spaced by backoff', () => {
    const { clock, chain, sup } = setup();
    sup.start();
    sup.watching();                    // the connect never completes
    clock.advance(10_000);             // t=10s
    // t=1000 watchdog, retry at 1100; 2100 watchdog, retry at 2300; 3300, 3700; 4700, 5500;
    // 6500, 7500; 8500, 9500; and FakeChain would have thrown on any overlap.
    expect(chain.runs).toEqual([0, 1100, 2300, 3700, 5500, 7500, 9500]);
    expect(chain.halts).toBe(6);
  });

  test('listing is bounded by the list timeout, not by the watchdog', () => {
    const { clock, chain, sup } = setup();
    sup.start();
    sup.listing();                     // t=0     a large list
    clock.advance(5_000);              // t=5s    still listing: no watchdog restart
    expect(chain.halts).toBe(0);
    sup.watching();                    // t=5s    list applied, watch opened
    clock.advance(1_000);              // t=6s    silent for 1 s
    expect(chain.halts).toBe(1);
  });

  test('a watch that ends at once without an event counts as a failure', () => {
    const { clock, chain, sup } = setup();
    sup.start();
    sup.watching();
    expect(sup.watchEnded(5_000, 0)).toBe(false);   // a normal server-side timeout
    expect(sup.watchEnded(10, 3)).toBe(false);      // short, but it delivered events
    expect(sup.watchEnded(10, 0)).toBe(true);       // t=0  halted, retry in 100
    expect(sup.restarts['short-watch']).toBe(1);
    clock.advance(100);
    expect(chain.runs).toEqual([0, 100]);
  });

  test('stop() halts once and later errors are not failures', () => {
    const { clock, chain, sup, failures } = setup();
    sup.start();
    sup.watching();
    sup.stop();
    expect(chain.halts).toBe(1);
    sup.failed(new Error('aborted by stop()'));   // client-node emits this on stop()
    sup.watchEnded(1, 0);
    clock.advance(60_000);
    expect(chain.runs).toEqual([0]);
    expect(failures).toEqual([]);
    expect(sup.phase).toBe('stopped');
    expect(clock.pending).toBe(0);
  });

  test('stop() during backoff cancels the pending restart', () => {
    const { clock, chain, sup } = setup();
    sup.start();
    sup.failed(new Error('x'));
    sup.stop();
    clock.advance(10_000);
    expect(chain.runs).toEqual([0]);
  });

  test('a second failure report for the same chain does not double the restart', () => {
    const { clock, chain, sup } = setup();
    sup.start();
    sup.failed(new Error('x'));
    sup.failed(new Error('y'));        // ignored: already in backoff
    clock.advance(100);
    expect(chain.runs).toEqual([0, 100]);
    expect(sup.restarts.error).toBe(1);
  });
});

describe('Backoff', () => {
  test('jitter stretches a delay by at most the jitter fraction, never past the cap', () => {
    const clock = new FakeClock();
    const b = new Backoff({ initialMs: 100, maxMs: 1_000, factor: 2, jitter: 0.5, resetAfterMs: 1e9 }, clock, () => 0.999);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([150, 300, 600, 1000, 1000]);
  });
});
