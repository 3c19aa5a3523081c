/**
 * The job the IPVS test VM runs (kpx-vm run /job/job.json): the same topology as the
 * kernel harness (the commands of test/kernel/plan.ts, address plan in topology.ts) built
 * inside the VM, echo servers on every endpoint, and per scenario a load script plus the
 * probe groups of its flow cases. Pure: everything is derived from its arguments.
 */
import type { FlowCase } from '../kernel/flows.js';
import { caseGroups, judgedCase } from '../kernel/groups.js';
import { NOT_HONOURED } from './not-honoured.js';
import { namespaceFor, namespaceNames, namespaceOf as planNamespaceOf, topologyPlan, type NamespaceScript } from '../kernel/plan.js';
import { clientAddress, familyOf } from '../kernel/topology.js';

export interface ServerSpec { readonly ip: string; readonly port: number; readonly proto: 'tcp' | 'udp' }

export interface JobScenario {
  readonly name: string;
  /** File name → content, as `kpx render --backend ipvs --out DIR` wrote them. */
  readonly files: ReadonlyMap<string, string>;
  readonly cases: readonly FlowCase[];
}

export interface VmJob {
  readonly setup: string;
  readonly servers: readonly { readonly ns: string; readonly specs: readonly ServerSpec[] }[];
  readonly scenarios: readonly {
    readonly name: string;
    readonly load: string;
    readonly groups: readonly { ns: string; id: string; concurrency: number; probes: object[] }[];
  }[];
}

/** Namespace names inside the VM (the VM is private: no pid prefix needed). */
export const NS = namespaceNames();

/** Probe timeout in the VM: software emulation is slower than the host. */
export const VM_PROBE_TIMEOUT_MS = 4000;

/**
 * busybox sh (the VM's shell) runs its own `ip` applet before anything on PATH, and that
 * applet knows no netns/veth: every `ip` of the scripts must be iproute2's, by path.
 */
const iproute2 = (script: string): string => script.replace(/(^|[\s'(])ip (?=\S)/gm, '$1/usr/bin/ip ');

/**
 * The topology script: test/kernel/plan.ts with the VM's namespace names, the IPVS
 * sysctls, and sysctls written to /proc/sys (busybox); phase by phase, as the harness.
 */
export function setupScript(): string {
  const plan = topologyPlan(NS, { sysctl: 'proc', ipvs: true });
  // One shell per namespace and phase: every process start is costly under software emulation.
  const inNs = ({ ns, commands }: NamespaceScript): string => `ip netns exec ${ns} sh -ec '\n${commands.join('\n')}\n'`;
  return iproute2([
    ...plan.namespaces.map((ns) => `ip netns add ${ns}`),
    ...plan.phases.flat().map(inNs),
  ].join('\n'));
}

/** The namespace that owns an endpoint address of the plan, or undefined. */
export function namespaceOf(ip: string): string | undefined {
  return planNamespaceOf(NS, ip);
}

/**
 * Resets the node namespace to nothing kpx made, then loads the rendered parts in the
 * order they depend on each other: sets (rules name them), virtual servers, addresses
 * on kube-ipvs0, iptables glue.
 */
export function loadScript(scenario: string, files: ReadonlyMap<string, string>): string {
  const dir = `/job/scenarios/${scenario}`;
  const N = `ip netns exec ${NS.node}`;
  const lines = [
    `${N} ipvsadm -C`,
    ...['iptables', 'ip6tables'].flatMap((t) => ['nat', 'filter'].flatMap((tbl) => [`${N} ${t} -t ${tbl} -F`, `${N} ${t} -t ${tbl} -X`])),
    `${N} ipset destroy`,
    `${N} ip link del kube-ipvs0 2>/dev/null || true`,
    `${N} ip link add kube-ipvs0 type dummy`,
    `${N} ip link set kube-ipvs0 up`,
    `${N} ipset restore -exist < ${dir}/ipset.restore`,
    `${N} ipvsadm -R < ${dir}/ipvsadm.rules`,
    `${N} ip -batch ${dir}/kube-ipvs0.batch`,
    // The glue as documented: the load script (kpx's chains with --noflush, jumps when missing).
    `${N} sh ${dir}/iptables.sh`,
    `echo "virtual servers: $(${N} ipvsadm -Ln | grep -c -E '^(TCP|UDP|SCTP)')"`,
  ];
  return iproute2(lines.join('\n'));
}

export function buildJob(scenarios: readonly JobScenario[], servers: readonly ServerSpec[]): VmJob {
  const byNs = new Map<string, ServerSpec[]>();
  for (const s of servers) {
    const ns = namespaceOf(s.ip);
    if (ns === undefined) continue;
    byNs.set(ns, [...(byNs.get(ns) ?? []), s]);
  }
  return {
    setup: setupScript(),
    servers: [...byNs].map(([ns, specs]) => ({ ns, specs })),
    scenarios: scenarios.map((s) => ({
      name: s.name,
      load: loadScript(s.name, s.files),
      // Case i's groups are i (or i#k, client k of a sticky case: ../kernel/groups.ts).
      groups: s.cases.flatMap((c, i) => caseGroups(judgedCase(c, NOT_HONOURED), String(i), 10).map((g) => ({
        ns: namespaceFor(NS, g.from),
        id: g.id,
        concurrency: g.concurrency,
        probes: g.probes.map((p) => {
          const src = clientAddress(g.from, familyOf(p.dst), g.client ?? 0);
          return { ...p, timeoutMs: VM_PROBE_TIMEOUT_MS, ...(src === undefined ? {} : { src }) };
        }),
      }))),
    })),
  };
}
