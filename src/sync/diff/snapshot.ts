/**
 * `kpx diff`'s common form of kernel state, whatever the backend: keyed entries of
 * containers (nft set/map elements, ipset entries, IPVS virtual and real servers, device
 * addresses) and ordered rules of chains (nft chains, iptables chains), each with the
 * Service it belongs to when that can be told. Pure; desired and current are read into
 * this same form, then compared (diff.ts).
 */

/** `(node)`: node-wide items, not one Service's. */
export const NODE_GROUP = '(node)';

export interface Entry {
  /** A map's value, a real server's weight …; compared for "changed". */
  readonly value?: string;
  /** `namespace/name`, or undefined for node-wide entries. */
  readonly service?: string;
}

export interface Container {
  /** What kind of thing holds the entries, for the printout: `set`, `map`, `ipset`, `virtual server`, `device`. */
  readonly kind: string;
  /** Its definition (type, flags, …); a difference is a change of the container. */
  readonly definition: string;
  readonly entries: ReadonlyMap<string, Entry>;
  /** Entry kind for the printout: `element`, `entry`, `real server`, `address`. */
  readonly entryKind: string;
  readonly service?: string;
}

export interface Rule {
  readonly text: string;
  /** The Service its own comment names (iptables); else the chain's. */
  readonly service?: string;
}

export interface Chain {
  /** Hook, priority, policy (nft base chains); empty for regular chains. */
  readonly definition: string;
  readonly rules: readonly Rule[];
  readonly service?: string;
  /** A built-in chain (iptables): only the rules kpx put in it are compared, never the chain itself. */
  readonly builtin?: boolean;
}

export interface Snapshot {
  /** Keyed by a printable place, e.g. `ip kube-proxy map service-ips`, `ipset KUBE-CLUSTER-IP`. */
  readonly containers: ReadonlyMap<string, Container>;
  /** Keyed by e.g. `ip kube-proxy chain services`, `iptables nat KUBE-SERVICES`. */
  readonly chains: ReadonlyMap<string, Chain>;
}

export function emptySnapshot(): Snapshot {
  return { containers: new Map(), chains: new Map() };
}

/** Both snapshots in one (disjoint keys: each backend part uses its own prefix). */
export function mergeSnapshots(...parts: readonly Snapshot[]): Snapshot {
  return {
    containers: new Map(parts.flatMap((p) => [...p.containers])),
    chains: new Map(parts.flatMap((p) => [...p.chains])),
  };
}

/**
 * The Service a kube-proxy comment names: `ns/name` from `ns/name`, `ns/name:port`,
 * `ns/name:port cluster IP`, `ns/name:port -> 10.0.0.1:80`. Undefined for anything else.
 */
export function serviceOfComment(comment: string | undefined): string | undefined {
  if (comment === undefined) return undefined;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)(:|\s|$)/.exec(comment);
  return m ? `${m[1]}/${m[3]}` : undefined;
}
