/**
 * The judges (check.ts) against the real kernel: each verdict must FAIL when the rule it
 * guards is broken. For each judge, one flow case is run twice with the nftables backend:
 * with the ruleset as rendered (the case must pass), then with the guarded rule deleted
 * (or a stray rule added) in the node namespace's ruleset (the case must fail, with the
 * reason given). Before the topology answered unprogrammed addresses (plan.ts), the
 * `dropped` cases passed with their drop rule deleted.
 *
 * Needs root, iproute2, nftables, conntrack and a built CLI.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { checkFlow } from './check.js';
import { FLOWS, type FlowCase } from './flows.js';
import { KernelHarness } from './harness.js';
import { probeCases, renderScenario, requireBuiltCli, serverSpecs } from './suite.js';

/** The script without the lines matching `re` (at least one must match). */
function withoutLines(script: string, re: RegExp): string {
  const lines = script.split('\n');
  const kept = lines.filter((l) => !re.test(l));
  if (kept.length === lines.length) throw new Error(`no line of the rendered script matches ${re}`);
  return kept.join('\n');
}

interface Breakage {
  readonly judge: string;
  readonly scenario: string;
  readonly caseName: string;
  readonly how: string;
  /** The rendered script with the guarded rule broken, or nft commands to run after loading it. */
  readonly script?: (s: string) => string;
  readonly after?: readonly (readonly string[])[];
  /** What the judge must say once it is broken. */
  readonly fails: RegExp;
}

const BREAKAGES: readonly Breakage[] = [
  {
    judge: 'dropped', scenario: 'kube-proxy-options', caseName: 'service-cidr: pod → unallocated service IP is dropped',
    how: 'the service-CIDR drop rule deleted', script: (s) => withoutLines(s, /^\s*ip6? daddr @service-cidrs drop$/),
    fails: /expected every probe to time out/,
  },
  {
    judge: 'dropped', scenario: 'kube-proxy-options', caseName: 'service-cidr: node → unallocated service IP is dropped',
    how: 'the service-CIDR drop rule deleted', script: (s) => withoutLines(s, /^\s*ip6? daddr @service-cidrs drop$/),
    fails: /expected every probe to time out/,
  },
  {
    judge: 'dropped', scenario: 'kube-proxy-options', caseName: 'service-cidr: pod → unallocated IPv6 service IP is dropped',
    how: 'the service-CIDR drop rule deleted', script: (s) => withoutLines(s, /^\s*ip6? daddr @service-cidrs drop$/),
    fails: /expected every probe to time out/,
  },
  {
    judge: 'unanswered', scenario: 'bad-input', caseName: 'Service with a hostile name is not served',
    how: 'a stray drop rule for the address added',
    after: [['insert', 'rule', 'ip', 'kube-proxy', 'filter-forward', 'ip', 'daddr', '10.96.13.40', 'drop']],
    fails: /answered by the network as unreachable/,
  },
  {
    judge: 'sticky', scenario: 'session-affinity', caseName: 'pod → cluster IP sticks to one endpoint',
    how: 'the affinity lookups deleted (every connection chooses anew)', script: (s) => withoutLines(s, /^\s*meta l4proto \S+ ip6? saddr @affinity-/),
    fails: /not sticky: client \d+ reached/,
  },
  {
    judge: 'sticky', scenario: 'session-affinity', caseName: 'external → NodePort sticks',
    how: 'the random choice deleted (every client gets the last endpoint)', script: (s) => withoutLines(s, /^\s*meta l4proto \S+ numgen random mod \d+ == 0 update @affinity-/),
    fails: /clients landed on .*: a fixed choice/,
  },
];

function flow(scenario: string, name: string): FlowCase {
  const c = FLOWS.find((f) => f.scenario === scenario && f.name === name);
  if (c === undefined) throw new Error(`no flow case ${scenario}/${name}`);
  return c;
}

describe('each kernel judge fails when the rule it guards is broken (nftables, real packets)', () => {
  let h: KernelHarness;
  const rendered = new Map<string, string>();

  beforeAll(async () => {
    requireBuiltCli();
    for (const s of new Set(BREAKAGES.map((b) => b.scenario))) {
      const r = await renderScenario('nftables', s);
      if (r.code !== 0) throw new Error(`render ${s}: exit ${r.code}\n${r.stderr}`);
      rendered.set(s, r.stdout);
    }
    h = await KernelHarness.create();
    await h.startServers(serverSpecs((ip) => h.hosts(ip)));
  }, 120000);

  afterAll(async () => {
    await h?.dispose();
  }, 30000);

  async function problems(c: FlowCase, script: string, after: readonly (readonly string[])[] = []): Promise<string[]> {
    await h.resetNft();
    await h.applyNft(script);
    for (const args of after) await h.nodeExec('nft', args);
    await h.flushConntrack();
    const results = (await probeCases(h, [c])).get('0');
    if (results === undefined) throw new Error('no probe results');
    return checkFlow(c, results);
  }

  test.each(BREAKAGES.map((b) => [`${b.judge}: ${b.caseName}, ${b.how}`, b] as const))('%s', async (_label, b) => {
    const c = flow(b.scenario, b.caseName);
    expect(c.expect.kind).toBe(b.judge);
    const script = rendered.get(b.scenario)!;
    expect(await problems(c, script)).toEqual([]);
    const broken = await problems(c, b.script ? b.script(script) : script, b.after);
    expect(broken.join('; ')).toMatch(b.fails);
  }, 60000);
});
