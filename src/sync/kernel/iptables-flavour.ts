/**
 * Which iptables flavour (nft or legacy) a node uses, decided as kube-proxy's image
 * decides it: its `iptables` is iptables-wrapper (kubernetes-sigs/iptables-wrappers,
 * internal/iptables/detect.go DetectMode), which looks for the chains kubelet (1.17+)
 * creates in the mangle table — `KUBE-IPTABLES-HINT` or `KUBE-KUBELET-CANARY` — in
 * this order: iptables-nft-save -t mangle, ip6tables-nft-save -t mangle, then
 * iptables-legacy-save, ip6tables-legacy-save (every table: asking legacy for one table
 * would create it); the first that has one wins; none: nft. Errors count as "not found".
 */
export type IptablesFlavour = 'nft' | 'legacy';
export type FlavourChoice = IptablesFlavour | 'auto';

export const IPTABLES_FLAVOURS: readonly FlavourChoice[] = ['auto', 'nft', 'legacy'];

/** `iptables-save` text holds one of kubelet's marker chains. */
export function hasKubeletChains(save: string): boolean {
  return /^:(KUBE-IPTABLES-HINT|KUBE-KUBELET-CANARY) /m.test(save);
}

/** One probe: which flavour it speaks for when it finds kubelet's chains, and the save command. */
export interface FlavourProbe {
  readonly flavour: IptablesFlavour;
  /** Argument array, e.g. ['iptables-nft-save', '-t', 'mangle']. */
  readonly argv: readonly string[];
}

/** The probes in iptables-wrapper's order. */
export const FLAVOUR_PROBES: readonly FlavourProbe[] = [
  { flavour: 'nft', argv: ['iptables-nft-save', '-t', 'mangle'] },
  { flavour: 'nft', argv: ['ip6tables-nft-save', '-t', 'mangle'] },
  { flavour: 'legacy', argv: ['iptables-legacy-save'] },
  { flavour: 'legacy', argv: ['ip6tables-legacy-save'] },
];

/**
 * The decision (pure): the first probe whose output (undefined: the command failed)
 * holds kubelet's chains names the flavour; none does: nft.
 */
export function decideFlavour(outputs: readonly (string | undefined)[], probes: readonly FlavourProbe[] = FLAVOUR_PROBES): IptablesFlavour {
  for (let i = 0; i < probes.length; i++) {
    const out = outputs[i];
    if (out !== undefined && hasKubeletChains(out)) return probes[i]!.flavour;
  }
  return 'nft';
}

/** Runs the probes in order, stopping at the first hit (as the wrapper does). */
export async function detectFlavour(save: (argv: readonly string[]) => Promise<string | undefined>): Promise<IptablesFlavour> {
  const outputs: (string | undefined)[] = [];
  for (const p of FLAVOUR_PROBES) {
    outputs.push(await save(p.argv).catch(() => undefined));
    if (hasKubeletChains(outputs[outputs.length - 1] ?? '')) break;
  }
  return decideFlavour(outputs);
}
