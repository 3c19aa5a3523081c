/**
 * ONE packet-flow case table (test/kernel/flows.ts, the table the real-kernel tests run)
 * against every backend's tracer, for every scenario. Rulesets are built exactly as the
 * CLI builds them: test/scenarios/<name>/cluster.yaml + args → parseArgs → loadState
 * (src/cli/pipeline.ts) → tracerFor (src/cli/explain.ts: the renderer `kpx render` uses).
 *
 * A case a backend does not honour is listed in test/kernel/not-honoured.ts (what the real
 * kernel, or the IPVS VM, shows) with the reason and is judged by what happens instead;
 * ./not-honoured.ts adds the few cases where the tracer must be held to something more
 * exact than the kernel suite's judge can see.
 *
 * The node's own connections come from the address the kernel picks for an unbound
 * socket (adapt.ts `nodeSource`): with IPVS, a VIP bound on kube-ipvs0 is its own source.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { parseArgs } from '../../src/cli/args.js';
import { TRACED_BACKENDS, boundAddresses, tracerFor, type TracedBackend } from '../../src/cli/explain.js';
import { loadState } from '../../src/cli/pipeline.js';
import type { Tracer } from '../../src/trace/index.js';
import { SCENARIOS, scenarioArgs, scenarioNames } from '../helpers/scenarios.js';
import { FLOWS, flowScenarios } from '../kernel/flows.js';
import { traceInput } from './adapt.js';
import { describe as describeOutcomes, judge } from './judge.js';
import { tracerNotHonoured } from './not-honoured.js';

/** The scenario's ruleset for `backend`, through the CLI's own path; stderr collected. */
async function tracer(backend: TracedBackend, scenario: string): Promise<{ tracer: Tracer; bound: readonly string[]; stderr: string }> {
  const parsed = parseArgs(['render', '--backend', backend, '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...scenarioArgs(scenario)]);
  if (!parsed.ok || parsed.value.command !== 'render') throw new Error(`bad scenario args: ${JSON.stringify(parsed)}`);
  let stderr = '';
  const loaded = await loadState(parsed.value.args, { stdout: () => undefined, stderr: (t) => { stderr += t; } });
  if (!loaded.ok) throw new Error(`scenario ${scenario}: exit ${loaded.code}\n${stderr}`);
  return { tracer: tracerFor[backend](loaded.state), bound: boundAddresses[backend](loaded.state), stderr };
}

test('every flow scenario exists and every not-honoured entry names a real case', () => {
  expect(flowScenarios().filter((s) => !scenarioNames().includes(s))).toEqual([]);
  for (const b of TRACED_BACKENDS) {
    expect(Object.keys(tracerNotHonoured(b)).filter((n) => !FLOWS.some((f) => f.name === n))).toEqual([]);
  }
});

describe.each(TRACED_BACKENDS)('%s tracer', (backend) => {
  describe.each(flowScenarios())('%s', (scenario) => {
    let t: Tracer;
    let bound: readonly string[] = [];
    beforeAll(async () => { ({ tracer: t, bound } = await tracer(backend, scenario)); });

    test.each(FLOWS.filter((f) => f.scenario === scenario).map((c) => [c.name, c] as const))('%s', (name, c) => {
      const limit = tracerNotHonoured(backend)[name];
      const input = traceInput(c, bound);
      const result = t.trace(input);
      const problems = judge(limit?.instead ?? c.expect, result.outcomes, input);
      if (problems.length > 0) {
        const note = limit ? ` [not honoured by ${backend}: ${limit.reason}; expected instead: ${limit.instead.kind}]` : '';
        throw new Error(`${c.from} (${input.origin} ${input.src}) → ${c.proto} ${c.dst}:${c.dport}: ${problems.join('; ')}${note}\n`
          + `  outcomes: ${describeOutcomes(result.outcomes)}`);
      }
    });
  });
});
