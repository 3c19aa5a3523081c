/**
 * Real packets through kpx's IPVS rules in a real IPVS kernel. This machine's kernel has
 * no IPVS, so Debian's linux-image-amd64 boots under qemu (software emulation, no network
 * device) with a small initramfs (build-image.sh, cached in .cache/ipvs-vm). Inside it:
 * the kernel harness's topology (private namespaces: node, pods, remote node, external
 * client), for every scenario the files `kpx render --backend ipvs --out DIR` wrote
 * (ipset restore, ipvsadm -R, ip -batch on kube-ipvs0, iptables-restore and
 * ip6tables-restore), and that scenario's flow cases from test/kernel/flows.ts sent as
 * real TCP/UDP probes. Probe results come back over the serial console and are judged
 * here with the kernel tests' own judge (test/kernel/check.ts).
 *
 * Cases IPVS mode cannot honour are listed in NOT_HONOURED with the reason and what
 * happens instead; they still run and must behave as written.
 *
 * Needs root, qemu-system-x86, busybox-static, ipvsadm, ipset, iptables, iproute2, kmod,
 * cpio, Go and a built CLI; build-image.sh installs the Debian packages when missing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KPX, ROOT, SCENARIOS, scenarioArgs, scenarioNames } from '../helpers/scenarios.js';
import { checkFlow, summarize } from '../kernel/check.js';
import { FLOWS, type FlowCase } from '../kernel/flows.js';
import type { ProbeResult } from '../kernel/harness.js';
import { caseGroups, caseResults, judgedCase } from '../kernel/groups.js';
import { DEFAULT_RENDER_ARGS } from '../kernel/topology.js';
import { buildJob, namespaceOf, type JobScenario } from './job.js';
import { NOT_HONOURED } from './not-honoured.js';
import { serverSpecs } from '../kernel/suite.js';
import { VM_DIR, ensureImage, runVm, type VmRun } from './vm.js';

const scenarios = scenarioNames().filter((s) => existsSync(join(SCENARIOS, s, 'cluster.yaml')));
const VM_TIMEOUT_MS = 15 * 60 * 1000;

function renderArgs(scenario: string, out: string): string[] {
  const extra = scenarioArgs(scenario);
  return [KPX, 'render', '--backend', 'ipvs', '-f', join(SCENARIOS, scenario, 'cluster.yaml'), ...(extra.length > 0 ? extra : DEFAULT_RENDER_ARGS), '--out', out];
}


function describeCase(c: FlowCase): string {
  return `${c.from} → ${c.proto} ${c.dst.includes(':') ? `[${c.dst}]` : c.dst}:${c.dport}`;
}

describe('IPVS backend with real packets in a real IPVS kernel (qemu)', () => {
  const rendered = new Map<string, { code: number; stderr: string; files: Map<string, string> }>();
  const results = new Map<string, ProbeResult[]>();
  const loads = new Map<string, { ok: boolean; output: string }>();
  let vm: VmRun | undefined;
  let imageMs = 0;
  let outRoot = '';

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
      throw new Error('dist/cli/main.js is missing: run `npm run build` first (npm test builds).');
    }
    imageMs = ensureImage().ms;
    outRoot = mkdtempSync(join(tmpdir(), 'kpx-ipvs-out-'));
    const jobScenarios: JobScenario[] = [];
    const files = new Map<string, string>();
    for (const s of scenarios) {
      const out = join(outRoot, s);
      const r = spawnSync(process.execPath, renderArgs(s, out), { encoding: 'utf8' });
      const written = new Map<string, string>();
      if (r.status === 0) for (const f of readdirSync(out)) written.set(f, readFileSync(join(out, f), 'utf8'));
      rendered.set(s, { code: r.status ?? -1, stderr: r.stderr, files: written });
      if (r.status !== 0) continue;
      for (const [f, text] of written) files.set(`job/scenarios/${s}/${f}`, text);
      jobScenarios.push({ name: s, files: written, cases: FLOWS.filter((f) => f.scenario === s) });
    }
    files.set('job/job.json', JSON.stringify(buildJob(jobScenarios, serverSpecs((ip) => namespaceOf(ip) !== undefined))));
    vm = await runVm(files, VM_TIMEOUT_MS);
    for (const l of vm.lines) {
      if (l.tag === 'KPX-LOAD') loads.set(String(l.data['scenario']), { ok: l.data['ok'] === true, output: String(l.data['output'] ?? '') });
      if (l.tag === 'KPX-RESULT') results.set(`${String(l.data['scenario'])}#${String(l.data['id'])}`, l.data['results'] as ProbeResult[]);
    }
    const tag = (t: string): Record<string, unknown> | undefined => vm?.lines.find((l) => l.tag === t)?.data;
    const timings = {
      imageMs, vmWallMs: vm.wallMs, bootUptime: tag('KPX-BOOT')?.['uptime'], modulesUptime: tag('KPX-MODULES')?.['uptime'],
      setupMs: tag('KPX-READY')?.['setupMs'], jobMs: tag('KPX-DONE')?.['ms'],
      scenarios: Object.fromEntries(vm.lines.filter((l) => l.tag === 'KPX-SCENARIO').map((l) => [l.data['scenario'], l.data['ms']])),
    };
    writeFileSync(join(VM_DIR, 'last-run.json'), `${JSON.stringify(timings, null, 2)}\n`);
    writeFileSync(join(VM_DIR, 'last-console.log'), vm.console);
  }, VM_TIMEOUT_MS + 5 * 60 * 1000);

  afterAll(() => {
    if (outRoot !== '') rmSync(outRoot, { recursive: true, force: true });
  });

  test('the VM boots, builds the topology and finishes the job', () => {
    const done = vm?.lines.find((l) => l.tag === 'KPX-DONE');
    if (done?.data['ok'] !== true) {
      throw new Error(`VM job did not finish: ${JSON.stringify(done?.data)}\nconsole tail:\n${(vm?.console ?? '').slice(-3000)}`);
    }
    expect(vm?.lines.some((l) => l.tag === 'KPX-WARN')).toBe(false);
  });

  test('every not-honoured case names a real flow case', () => {
    expect(Object.keys(NOT_HONOURED).filter((n) => !FLOWS.some((f) => f.name === n))).toEqual([]);
  });

  describe.each(scenarios)('%s', (scenario) => {
    const cases = FLOWS.filter((f) => f.scenario === scenario);

    test('renders with exit 0 and loads with ipset, ipvsadm, ip and iptables-restore as written', () => {
      const r = rendered.get(scenario);
      if (r === undefined) throw new Error('render did not run');
      if (r.code !== 0) throw new Error(`kpx render exited ${r.code}:\n${r.stderr}`);
      expect([...r.files.keys()].sort()).toEqual(expect.arrayContaining(['ipset.restore', 'ipvsadm.rules', 'iptables.sh', 'kube-ipvs0.batch']));
      const load = loads.get(scenario);
      if (load?.ok !== true) throw new Error(`load failed in the VM:\n${load?.output ?? '(no KPX-LOAD line)'}`);
    });

    test.each(cases.map((c, i) => [c.name, c, i] as const))('%s', (name, c, i) => {
      const res = caseResults(caseGroups(judgedCase(c, NOT_HONOURED), String(i), 10), (id) => results.get(`${scenario}#${id}`));
      if (res === undefined) throw new Error(`no probe results from the VM (load ok: ${loads.get(scenario)?.ok})`);
      const limit = NOT_HONOURED[name];
      const judged: FlowCase = limit ? { ...c, expect: limit.instead } : c;
      const problems = checkFlow(judged, res);
      if (problems.length > 0) {
        const note = limit ? ` [not honoured by IPVS mode: ${limit.reason}; expected instead: ${limit.instead.kind}]` : '';
        throw new Error(`${describeCase(c)}: ${problems.join('; ')}${note}\n  outcomes: ${summarize(res)}`);
      }
    });
  });
});
