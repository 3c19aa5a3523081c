/**
 * `kpx run`'s flags: kube-proxy's names and meanings (cmd/kube-proxy/app/options.go).
 * Pure: argv in, RunArgs or an error out. `--flag=value` and `--flag value` (booleans:
 * `--flag` or `--flag=true|false`); durations in Go syntax (`500ms`, `1s`, `1m0s`).
 */
import { isCIDR } from './args.js';
import { DEFAULT_CONNTRACK, type ConntrackConfig } from '../sync/conntrack.js';
import { parseBindAddress, type BindAddress } from '../observe/http.js';
import { IPTABLES_FLAVOURS, type FlavourChoice } from '../sync/kernel/iptables-flavour.js';
import { IPVS_SCHEDULERS, type IpvsScheduler } from '../render/ipvs/types.js';

export const PROXY_MODES = ['nftables', 'iptables', 'ipvs'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export interface RunArgs {
  readonly kubeconfig?: string;
  /** Overrides the kubeconfig's server (kube-proxy's --master). */
  readonly master?: string;
  /** --hostname-override; undefined: $NODE_NAME, then the host name (lower-cased). */
  readonly hostnameOverride?: string;
  readonly proxyMode: ProxyMode;
  readonly clusterCIDRs: readonly string[];
  /** CIDRs and the keywords `primary`/`all`; empty: the mode's default (nftables: primary). */
  readonly nodePortAddresses: readonly string[];
  readonly serviceCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  readonly masqueradeBit: number;
  /** undefined: disabled (empty flag value). */
  readonly healthz?: BindAddress;
  readonly metrics?: BindAddress;
  readonly syncPeriodMs: number;
  readonly minSyncPeriodMs: number;
  readonly conntrack: ConntrackConfig;
  readonly verbosity: number;
  /** IPVS mode's own flags (--ipvs-*). */
  readonly ipvs: IpvsArgs;
  /** kube-proxy flags accepted but not acted on (reported at start). */
  readonly ignored: readonly string[];
  /** --cleanup: remove every mode's leftovers and exit (kube-proxy's CleanupAndExit). */
  readonly cleanup?: boolean;
  /** kpx's --iptables-flavour (iptables mode): nft, legacy, or auto (as kube-proxy's image detects it). */
  readonly iptablesFlavour: FlavourChoice;
  /** --detect-local-mode and its companions: how "traffic from a local pod" is recognised. */
  readonly detectLocal: DetectLocal;
}

/** kube-proxy's LocalMode values (pkg/proxy/apis/config/types.go); the default is ClusterCIDR. */
export const DETECT_LOCAL_MODES = ['ClusterCIDR', 'NodeCIDR', 'BridgeInterface', 'InterfaceNamePrefix'] as const;
export type DetectLocalMode = (typeof DETECT_LOCAL_MODES)[number];

/**
 * ClusterCIDR: source in --cluster-cidr; NodeCIDR: source in this Node's spec.podCIDRs;
 * BridgeInterface: arrives on --pod-bridge-interface; InterfaceNamePrefix: arrives on an
 * interface whose name starts with --pod-interface-name-prefix.
 */
export type DetectLocal =
  | { readonly mode: 'ClusterCIDR' }
  | { readonly mode: 'NodeCIDR' }
  | { readonly mode: 'BridgeInterface'; readonly bridgeInterface: string }
  | { readonly mode: 'InterfaceNamePrefix'; readonly interfaceNamePrefix: string };

/** --ipvs-scheduler, --ipvs-strict-arp, --ipvs-exclude-cidrs, --ipvs-{tcp,tcpfin,udp}-timeout (seconds; 0: kernel default). */
export interface IpvsArgs {
  readonly scheduler: IpvsScheduler;
  readonly strictARP: boolean;
  readonly excludeCIDRs: readonly string[];
  readonly timeouts: { readonly tcp: number; readonly tcpfin: number; readonly udp: number };
}

/** Exit code of `kpx run --proxy-mode iptables|ipvs` until those modes land. */
export const EXIT_MODE_NOT_IMPLEMENTED = 3;

type Kind = 'string' | 'list' | 'bool' | 'duration' | 'int';
type Key =
  | 'kubeconfig' | 'master' | 'hostnameOverride' | 'proxyMode' | 'clusterCIDRs' | 'nodePortAddresses' | 'serviceCIDRs'
  | 'masqueradeAll' | 'masqueradeBit' | 'healthz' | 'metrics' | 'syncPeriod' | 'minSyncPeriod'
  | 'iptablesSyncPeriod' | 'iptablesMinSyncPeriod' | 'ipvsSyncPeriod' | 'ipvsMinSyncPeriod'
  | 'ctMaxPerCore' | 'ctMin' | 'ctEstablished' | 'ctCloseWait' | 'verbosity' | 'config' | 'ignored' | 'ignoredBool'
  | 'cleanup' | 'iptablesFlavour' | 'detectLocalMode' | 'podBridgeInterface' | 'podInterfaceNamePrefix'
  | 'ipvsScheduler' | 'ipvsStrictARP' | 'ipvsExcludeCIDRs' | 'ipvsTCPTimeout' | 'ipvsTCPFinTimeout' | 'ipvsUDPTimeout';

const FLAGS: Readonly<Record<string, { key: Key; kind: Kind }>> = {
  '--kubeconfig': { key: 'kubeconfig', kind: 'string' },
  '--master': { key: 'master', kind: 'string' },
  '--hostname-override': { key: 'hostnameOverride', kind: 'string' },
  '--proxy-mode': { key: 'proxyMode', kind: 'string' },
  '--iptables-flavour': { key: 'iptablesFlavour', kind: 'string' },
  '--cluster-cidr': { key: 'clusterCIDRs', kind: 'list' },
  '--nodeport-addresses': { key: 'nodePortAddresses', kind: 'list' },
  '--service-cidr': { key: 'serviceCIDRs', kind: 'list' },
  '--masquerade-all': { key: 'masqueradeAll', kind: 'bool' },
  '--masquerade-bit': { key: 'masqueradeBit', kind: 'int' },
  '--iptables-masquerade-bit': { key: 'masqueradeBit', kind: 'int' },
  '--healthz-bind-address': { key: 'healthz', kind: 'string' },
  '--metrics-bind-address': { key: 'metrics', kind: 'string' },
  '--sync-period': { key: 'syncPeriod', kind: 'duration' },
  '--min-sync-period': { key: 'minSyncPeriod', kind: 'duration' },
  '--iptables-sync-period': { key: 'iptablesSyncPeriod', kind: 'duration' },
  '--iptables-min-sync-period': { key: 'iptablesMinSyncPeriod', kind: 'duration' },
  '--ipvs-sync-period': { key: 'ipvsSyncPeriod', kind: 'duration' },
  '--ipvs-min-sync-period': { key: 'ipvsMinSyncPeriod', kind: 'duration' },
  '--ipvs-scheduler': { key: 'ipvsScheduler', kind: 'string' },
  '--ipvs-strict-arp': { key: 'ipvsStrictARP', kind: 'bool' },
  '--ipvs-exclude-cidrs': { key: 'ipvsExcludeCIDRs', kind: 'list' },
  '--ipvs-tcp-timeout': { key: 'ipvsTCPTimeout', kind: 'duration' },
  '--ipvs-tcpfin-timeout': { key: 'ipvsTCPFinTimeout', kind: 'duration' },
  '--ipvs-udp-timeout': { key: 'ipvsUDPTimeout', kind: 'duration' },
  '--conntrack-max-per-core': { key: 'ctMaxPerCore', kind: 'int' },
  '--conntrack-min': { key: 'ctMin', kind: 'int' },
  '--conntrack-tcp-timeout-established': { key: 'ctEstablished', kind: 'duration' },
  '--conntrack-tcp-timeout-close-wait': { key: 'ctCloseWait', kind: 'duration' },
  '--v': { key: 'verbosity', kind: 'int' },
  '-v': { key: 'verbosity', kind: 'int' },
  '--config': { key: 'config', kind: 'string' },
  '--cleanup': { key: 'cleanup', kind: 'bool' },
  '--detect-local-mode': { key: 'detectLocalMode', kind: 'string' },
  '--pod-bridge-interface': { key: 'podBridgeInterface', kind: 'string' },
  '--pod-interface-name-prefix': { key: 'podInterfaceNamePrefix', kind: 'string' },
  // kube-proxy flags kpx accepts and does not act on (yet).
  '--bind-address': { key: 'ignored', kind: 'string' },
  '--feature-gates': { key: 'ignored', kind: 'string' },
  '--oom-score-adj': { key: 'ignored', kind: 'string' },
  '--kube-api-qps': { key: 'ignored', kind: 'string' },
  '--kube-api-burst': { key: 'ignored', kind: 'string' },
  '--kube-api-content-type': { key: 'ignored', kind: 'string' },
  '--config-sync-period': { key: 'ignored', kind: 'string' },
  '--logging-format': { key: 'ignored', kind: 'string' },
  '--profiling': { key: 'ignoredBool', kind: 'bool' },
  '--bind-address-hard-fail': { key: 'ignoredBool', kind: 'bool' },
};

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration, in milliseconds (no sign). */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!/^(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  return ms;
}

export type RunParse = { readonly ok: true; readonly args: RunArgs } | { readonly ok: false; readonly error: string };

export function parseRunArgs(argv: readonly string[]): RunParse {
  const fail = (error: string): RunParse => ({ ok: false, error });
  const strings: Partial<Record<Key, string>> = {};
  const lists: Partial<Record<Key, string[]>> = {};
  const bools: Partial<Record<Key, boolean>> = {};
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-') || arg === '-' || arg === '--') return fail(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const spec = FLAGS[name];
    if (spec === undefined) return fail(`unknown flag ${name}`);
    if (spec.key === 'ignored' || spec.key === 'ignoredBool') ignored.push(name);
    if (spec.kind === 'bool') {
      if (inline === undefined || inline === 'true') bools[spec.key] = true;
      else if (inline === 'false') bools[spec.key] = false;
      else return fail(`${name} takes no value or =true|=false, got "${inline}"`);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) return fail(`${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.kind === 'list') {
      (lists[spec.key] ??= []).push(...value.split(',').map((v) => v.trim()).filter((v) => v !== ''));
    } else {
      strings[spec.key] = value;
    }
  }

  if (strings.config !== undefined) return fail('--config (a KubeProxyConfiguration file) is not supported yet; give the settings as flags');
  const mode = strings.proxyMode === undefined || strings.proxyMode === '' ? 'nftables' : strings.proxyMode;
  if (!(PROXY_MODES as readonly string[]).includes(mode)) return fail(`--proxy-mode must be one of ${PROXY_MODES.join(', ')}, got "${mode}"`);

  const iptablesFlavour = strings.iptablesFlavour ?? 'auto';
  if (!(IPTABLES_FLAVOURS as readonly string[]).includes(iptablesFlavour)) {
    return fail(`--iptables-flavour must be one of ${IPTABLES_FLAVOURS.join(', ')}, got "${iptablesFlavour}"`);
  }

  const clusterCIDRs = lists.clusterCIDRs ?? [];
  const serviceCIDRs = lists.serviceCIDRs ?? [];
  for (const [flag, list] of [['--cluster-cidr', clusterCIDRs], ['--service-cidr', serviceCIDRs]] as const) {
    const bad = list.find((c) => !isCIDR(c));
    if (bad !== undefined) return fail(`${flag}: "${bad}" is not a CIDR`);
  }
  const nodePortAddresses = lists.nodePortAddresses ?? [];
  const badNP = nodePortAddresses.find((c) => c !== 'primary' && c !== 'all' && !isCIDR(c));
  if (badNP !== undefined) return fail(`--nodeport-addresses: "${badNP}" is neither a CIDR nor "primary" or "all"`);

  const ipvsExcludeCIDRs = lists.ipvsExcludeCIDRs ?? [];
  const badEx = ipvsExcludeCIDRs.find((c) => !isCIDR(c));
  if (badEx !== undefined) return fail(`--ipvs-exclude-cidrs: "${badEx}" is not a CIDR`);
  // kube-proxy: an empty --ipvs-scheduler means rr (pkg/proxy/ipvs/proxier.go NewProxier).
  const scheduler = strings.ipvsScheduler === undefined || strings.ipvsScheduler === '' ? 'rr' : strings.ipvsScheduler;
  if (!(IPVS_SCHEDULERS as readonly string[]).includes(scheduler)) return fail(`--ipvs-scheduler must be one of ${IPVS_SCHEDULERS.join(', ')}, got "${scheduler}"`);

  const detectLocal = parseDetectLocal(strings.detectLocalMode, strings.podBridgeInterface, strings.podInterfaceNamePrefix);
  if (typeof detectLocal === 'string') return fail(detectLocal);

  const ints: Partial<Record<Key, number>> = {};
  const durations: Partial<Record<Key, number>> = {};
  for (const [flag, spec] of Object.entries(FLAGS)) {
    const text = strings[spec.key];
    if (text === undefined || spec.key === 'ignored') continue;
    if (spec.kind === 'int') {
      if (!/^\d+$/.test(text)) return fail(`${flag} must be a non-negative integer, got "${text}"`);
      ints[spec.key] = Number(text);
    } else if (spec.kind === 'duration') {
      const ms = parseGoDuration(text);
      if (ms === undefined) return fail(`${flag}: "${text}" is not a duration (e.g. 500ms, 1s, 1m0s)`);
      durations[spec.key] = ms;
    }
  }
  const masqueradeBit = ints.masqueradeBit ?? 14;
  if (masqueradeBit > 31) return fail(`--masquerade-bit must be 0..31, got ${masqueradeBit}`);

  // The mode's own pair (iptables-* also for nftables, as kube-proxy's nftables mode
  // shares them), then the mode-independent pair, which wins.
  const modePair = mode === 'ipvs' ? ['ipvsSyncPeriod', 'ipvsMinSyncPeriod'] as const : ['iptablesSyncPeriod', 'iptablesMinSyncPeriod'] as const;
  const syncPeriodMs = durations.syncPeriod ?? durations[modePair[0]] ?? 30_000;
  const minSyncPeriodMs = durations.minSyncPeriod ?? durations[modePair[1]] ?? 1_000;
  if (syncPeriodMs <= 0) return fail('the sync period must be greater than 0');
  if (minSyncPeriodMs > syncPeriodMs) return fail(`the minimum sync period (${minSyncPeriodMs} ms) must not exceed the sync period (${syncPeriodMs} ms)`);

  const addr = (key: 'healthz' | 'metrics', flag: string, fallback: string, port: number): BindAddress | undefined | string => {
    const text = strings[key] ?? fallback;
    if (text === '') return undefined;
    const a = parseBindAddress(text, port);
    return typeof a === 'string' ? `${flag}: ${a}` : a;
  };
  const healthz = addr('healthz', '--healthz-bind-address', '0.0.0.0:10256', 10256);
  if (typeof healthz === 'string') return fail(healthz);
  const metrics = addr('metrics', '--metrics-bind-address', '127.0.0.1:10249', 10249);
  if (typeof metrics === 'string') return fail(metrics);

  const args: RunArgs = {
    proxyMode: mode as ProxyMode,
    clusterCIDRs, nodePortAddresses, serviceCIDRs,
    masqueradeAll: bools.masqueradeAll ?? false,
    masqueradeBit,
    syncPeriodMs, minSyncPeriodMs,
    conntrack: {
      maxPerCore: ints.ctMaxPerCore ?? DEFAULT_CONNTRACK.maxPerCore,
      min: ints.ctMin ?? DEFAULT_CONNTRACK.min,
      tcpEstablishedTimeout: durations.ctEstablished !== undefined ? Math.floor(durations.ctEstablished / 1000) : DEFAULT_CONNTRACK.tcpEstablishedTimeout,
      tcpCloseWaitTimeout: durations.ctCloseWait !== undefined ? Math.floor(durations.ctCloseWait / 1000) : DEFAULT_CONNTRACK.tcpCloseWaitTimeout,
    },
    verbosity: ints.verbosity ?? 0,
    ipvs: {
      scheduler: scheduler as IpvsScheduler,
      strictARP: bools.ipvsStrictARP ?? false,
      excludeCIDRs: ipvsExcludeCIDRs,
      timeouts: {
        tcp: Math.floor((durations.ipvsTCPTimeout ?? 0) / 1000),
        tcpfin: Math.floor((durations.ipvsTCPFinTimeout ?? 0) / 1000),
        udp: Math.floor((durations.ipvsUDPTimeout ?? 0) / 1000),
      },
    },
    ignored,
    iptablesFlavour: iptablesFlavour as FlavourChoice,
    detectLocal,
    ...(healthz !== undefined ? { healthz } : {}),
    ...(metrics !== undefined ? { metrics } : {}),
    ...(strings.kubeconfig !== undefined ? { kubeconfig: strings.kubeconfig } : {}),
    ...(strings.master !== undefined ? { master: strings.master } : {}),
    ...(bools.cleanup === true ? { cleanup: true } : {}),
    ...(strings.hostnameOverride !== undefined && strings.hostnameOverride !== '' ? { hostnameOverride: strings.hostnameOverride } : {}),
  };
  return { ok: true, args };
}

/**
 * kube-proxy's rules (pkg/proxy/apis/config/validation/validation.go validateDetectLocalMode
 * and validateDetectLocalConfiguration): an empty mode is ClusterCIDR; BridgeInterface and
 * InterfaceNamePrefix need a non-empty interface name (or prefix).
 */
export function parseDetectLocal(mode: string | undefined, bridge: string | undefined, prefix: string | undefined): DetectLocal | string {
  const m = mode === undefined || mode === '' ? 'ClusterCIDR' : mode;
  switch (m) {
    case 'ClusterCIDR': case 'NodeCIDR': return { mode: m };
    case 'BridgeInterface':
      if (bridge === undefined || bridge === '') return '--detect-local-mode BridgeInterface needs --pod-bridge-interface';
      return { mode: m, bridgeInterface: bridge };
    case 'InterfaceNamePrefix':
      if (prefix === undefined || prefix === '') return '--detect-local-mode InterfaceNamePrefix needs --pod-interface-name-prefix';
      return { mode: m, interfaceNamePrefix: prefix };
    default:
      return `--detect-local-mode must be one of ${DETECT_LOCAL_MODES.join(', ')}, got "${m}"`;
  }
}
