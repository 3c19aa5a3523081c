/**
 * The bounded-frequency runner on a fake clock. Each test is a timeline: `// t=…` is the
 * fake time after the step below it.
 */
import { BoundedFrequencyRunner, type RunnerOptions, type RunReason } from '../../src/sync/runner.js';
import { FakeClock } from '../watch/fake-clock.js';

/** Lets promise callbacks (the run's end, its finally) settle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

interface Harness {
  clock: FakeClock;
  runner: BoundedFrequencyRunner;
  /** Start times of runs, with their reason. */
  runs: { at: number; reason: RunReason }[];
  /** Advance fake time and let runs settle. */
  step(ms: number): Promise<void>;
  /** The next run takes `ms` of fake time (finishes when the clock passes it). */
  nextTakes(ms: number): void;
  /** The next run throws. */
  nextFails(): void;
}

function harness(options: RunnerOptions): Harness {
  const clock = new FakeClock();
  const runs: { at: number; reason: RunReason }[] = [];
  const durations: number[] = [];
  const failures: boolean[] = [];
  const runner = new BoundedFrequencyRunner(async (reason) => {
    runs.push({ at: clock.now(), reason });
    const d = durations.shift() ?? 0;
    const fail = failures.shift() ?? false;
    if (d > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, d));
    if (fail) throw new Error('apply failed');
  }, options, clock);
  return {
    clock, runner, runs,
    async step(ms) {
      // Advance in small slices so that a run's end (a promise) settles before later timers.
      const slice = 10;
      let left = ms;
      do {
        clock.advance(Math.min(slice, left));
        await settle();
        left -= slice;
      } while (left > 0);
    },
    nextTakes(ms) { durations.push(ms); failures.push(false); },
    nextFails() { durations.push(0); failures.push(true); },
  };
}

const at = (h: Harness): number[] => h.runs.map((r) => r.at);

test('a request runs at once; requests within the minimum interval merge into one run at its end', async () => {
  const h = harness({ minIntervalMs: 1_000, maxIntervalMs: 30_000 });
  h.runner.start();
  h.runner.request();
  await h.step(0);
  // t=0: first request runs at once
  expect(at(h)).toEqual([0]);
  await h.step(100);
  h.runner.request();
  await h.step(400);
  h.runner.request();
  h.runner.request();
  // t=500: three requests, none may run before t=1000
  expect(at(h)).toEqual([0]);
  await h.step(499);
  // t=999: still one run
  expect(at(h)).toEqual([0]);
  await h.step(1);
  // t=1000: the merged run
  expect(at(h)).toEqual([0, 1_000]);
  await h.step(5_000);
  // t=6000: nothing more was requested
  expect(at(h)).toEqual([0, 1_000]);
});

test('the minimum interval counts from the end of a run; requests during a run merge into one', async () => {
  const h = harness({ minIntervalMs: 1_000, maxIntervalMs: 30_000 });
  h.runner.start();
  h.nextTakes(2_000);
  h.runner.request();
  await h.step(500);
  h.runner.request();
  await h.step(500);
  h.runner.request();
  // t=1000: first run still busy (until t=2000); two requests waiting
  expect(at(h)).toEqual([0]);
  await h.step(1_990);
  // t=2990: the run ended at t=2000, so the next may start at t=3000, not before
  expect(at(h)).toEqual([0]);
  await h.step(10);
  // t=3000: one run for both requests
  expect(at(h)).toEqual([0, 3_000]);
  await h.step(10_000);
  expect(at(h)).toEqual([0, 3_000]);
});

test('a run happens at least every maxInterval, counted from the end of the last run', async () => {
  const h = harness({ minIntervalMs: 1_000, maxIntervalMs: 5_000 });
  h.runner.start();
  await h.step(4_990);
  // t=4990: nothing requested, no run yet
  expect(h.runs).toEqual([]);
  await h.step(10);
  // t=5000: periodic run
  expect(h.runs).toEqual([{ at: 5_000, reason: 'period' }]);
  await h.step(2_000);
  h.runner.request();
  await h.step(0);
  // t=7000: requested run
  expect(at(h)).toEqual([5_000, 7_000]);
  await h.step(4_990);
  // t=11990: the period restarted at t=7000
  expect(at(h)).toEqual([5_000, 7_000]);
  await h.step(10);
  // t=12000
  expect(at(h)).toEqual([5_000, 7_000, 12_000]);
});

test('a failed run is retried with backoff up to the period; success resets the backoff', async () => {
  const h = harness({ minIntervalMs: 1_000, maxIntervalMs: 10_000, retryInitialMs: 2_000 });
  h.runner.start();
  h.nextFails();
  h.nextFails();
  h.nextFails();
  h.nextFails();
  h.runner.request();
  await h.step(0);
  // t=0: fails; retry at t=2000
  await h.step(1_990);
  expect(at(h)).toEqual([0]);
  await h.step(10);
  // t=2000: retry 1 fails; next in 4 s
  expect(h.runs[1]).toEqual({ at: 2_000, reason: 'retry' });
  await h.step(4_000);
  // t=6000: retry 2 fails; next in 8 s
  expect(at(h)).toEqual([0, 2_000, 6_000]);
  await h.step(8_000);
  // t=14000: retry 3 fails; next capped at the period, 10 s
  expect(at(h)).toEqual([0, 2_000, 6_000, 14_000]);
  await h.step(9_990);
  expect(at(h)).toEqual([0, 2_000, 6_000, 14_000]);
  await h.step(10);
  // t=24000: retry 4 succeeds
  expect(at(h)).toEqual([0, 2_000, 6_000, 14_000, 24_000]);
  expect(h.runner.consecutiveFailures).toBe(0);
  h.nextFails();
  h.runner.request();
  await h.step(1_000);
  // t=25000: a new failure starts the backoff from 2 s again
  expect(at(h)).toEqual([0, 2_000, 6_000, 14_000, 24_000, 25_000]);
  await h.step(2_000);
  // t=27000
  expect(at(h).at(-1)).toBe(27_000);
});

test('a request during the retry backoff still runs at the minimum interval', async () => {
  const h = harness({ minIntervalMs: 1_000, maxIntervalMs: 30_000, retryInitialMs: 8_000 });
  h.runner.start();
  h.nextFails();
  h.runner.request();
  await h.step(0);
  // t=0: fails; retry due at t=8000
  await h.step(3_000);
  h.runner.request();
  await h.step(0);
  // t=3000: the request runs now, not at t=8000
  expect(at(h)).toEqual([0, 3_000]);
  await h.step(10_000);
  // t=13000: that run succeeded, so no retry is left over
  expect(at(h)).toEqual([0, 3_000]);
});

test('adaptive mode stretches the minimum interval while runs are slow and shrinks it back by halves', async () => {
  const h = harness({ minIntervalMs: 1_000, maxIntervalMs: 60_000, adaptive: { ratio: 1, maxMinIntervalMs: 5_000 } });
  h.runner.start();
  h.nextTakes(3_000);
  h.runner.request();
  await h.step(3_000);
  // t=3000: a 3 s run ended; the minimum interval is now 3 s
  expect(h.runner.currentMinIntervalMs).toBe(3_000);
  h.runner.request();
  await h.step(2_990);
  // t=5990: not yet
  expect(at(h)).toEqual([0]);
  h.nextTakes(8_000);
  await h.step(10);
  // t=6000: runs (3 s after the end), takes 8 s → stretched, capped at 5 s
  expect(at(h)).toEqual([0, 6_000]);
  await h.step(8_000);
  // t=14000
  expect(h.runner.currentMinIntervalMs).toBe(5_000);
  h.runner.request();
  await h.step(5_000);
  // t=19000: fast run (0 ms): halves to 2.5 s
  expect(at(h)).toEqual([0, 6_000, 19_000]);
  expect(h.runner.currentMinIntervalMs).toBe(2_500);
  h.runner.request();
  await h.step(2_500);
  // t=21500: halves again, but not below the configured 1 s
  expect(h.runner.currentMinIntervalMs).toBe(1_250);
  h.runner.request();
  await h.step(1_250);
  // t=22750
  expect(h.runner.currentMinIntervalMs).toBe(1_000);
});

test('stop() waits for the run in progress and nothing runs afterwards', async () => {
  const h = harness({ minIntervalMs: 0, maxIntervalMs: 1_000 });
  h.runner.start();
  h.nextTakes(500);
  h.runner.request();
  await h.step(0);
  let stopped = false;
  const done = h.runner.stop().then(() => { stopped = true; });
  await h.step(200);
  // t=200: the run is still going
  expect(stopped).toBe(false);
  await h.step(300);
  await done;
  // t=500: it finished; stop resolved
  expect(stopped).toBe(true);
  h.runner.request();
  await h.step(5_000);
  expect(at(h)).toEqual([0]);
});
