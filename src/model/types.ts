/**
 * The desired-state model: what every Service means for this node, decided once.
 *
 * Everything here is plain readonly data. Renderers (src/render/*) translate it to a
 * backend's rules and must not re-decide any Service semantics: which endpoints a
 * frontend may reach, whether it rejects or drops, whether it masquerades — all of that
 * is already in these fields.
 */

/** Transport protocols a Service port can use, lower-case as nft and iptables print them. */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/** An IP family; dual-stack nodes get one FamilyState per family. */
export type IPFamily = 'ipv4' | 'ipv6';

export const IP_FAMILIES: readonly IPFamily[] = ['ipv4', 'ipv6'];

/** One endpoint (first address of an EndpointSlice endpoint) for one Service port. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  readonly nodeName?: string;
  readonly zone?: string;
  /** EndpointSlice conditions; a missing ready/serving counts as true, missing terminating as false. */
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  /** nodeName equals this node's name. */
  readonly local: boolean;
}

/** What happens to a packet for a frontend that has no usable endpoint. */
export type NoEndpointVerdict = 'reject' | 'drop';

/**
 * One Service port in one IP family, with every decision a renderer needs.
 *
 * Traffic classes, as kube-proxy names them:
 * - internal: to a cluster IP. Goes to `internalEndpoints`.
 * - external: to a NodePort, an externalIP or a LoadBalancer ingress IP. Goes to
 *   `externalEndpoints`, except the short-circuits when `externalPolicyLocal`: traffic
 *   from a pod (source in a cluster CIDR) or from the node itself goes to
 *   `clusterEndpoints`; the node's own traffic is masqueraded.
 */
export interface ServicePort {
  /** kube-proxy's ServicePortName string: `namespace/name:portName` (portName may be empty). */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  /** The Service's cluster IP of this family. */
  readonly clusterIP: string;
  readonly port: number;
  /** Present for NodePort and LoadBalancer Services that allocate node ports. */
  readonly nodePort?: number;
  /** spec.externalIPs of this family. */
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress[].ip of this family, any Service type (ipMode unset or VIP only). */
  readonly loadBalancerIPs: readonly string[];
  /**
   * spec.loadBalancerSourceRanges of this family, normalised CIDRs. Empty: no firewall.
   * When non-empty, traffic to a loadBalancerIP from any other source is dropped.
   */
  readonly loadBalancerSourceRanges: readonly string[];
  /**
   * Sources allowed through the firewall beyond loadBalancerSourceRanges: kube-proxy
   * also admits the LB IP itself when a source range contains the node IP it uses (the
   * Node's first address of this family, else loopback; traffic hairpinned by the
   * node). Empty when there is no firewall.
   */
  readonly firewallExtraSources: readonly string[];
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** spec.healthCheckNodePort, for LoadBalancer Services with externalTrafficPolicy Local. */
  readonly healthCheckNodePort?: number;
  /** Present when sessionAffinity is ClientIP. */
  readonly affinityTimeoutSeconds?: number;

  /** Every endpoint of this port in this family, as the slices list them (deduplicated). */
  readonly allEndpoints: readonly Endpoint[];
  /** Endpoints for Cluster policy (ready; else serving+terminating; topology applied). */
  readonly clusterEndpoints: readonly Endpoint[];
  /** Endpoints for Local policy (local ready; else local serving+terminating). */
  readonly localEndpoints: readonly Endpoint[];
  /** The Service has a usable endpoint somewhere in the cluster. */
  readonly hasEndpoints: boolean;

  /** Where internal traffic goes; empty means `internalNoEndpoints`. */
  readonly internalEndpoints: readonly Endpoint[];
  /** Where external traffic goes (before short-circuits); empty means `externalNoEndpoints`. */
  readonly externalEndpoints: readonly Endpoint[];
  /** Set when internalEndpoints is empty: reject (no endpoints at all) or drop (none local). */
  readonly internalNoEndpoints?: NoEndpointVerdict;
  /** Set when externalEndpoints is empty. */
  readonly externalNoEndpoints?: NoEndpointVerdict;
}

/** Everything one IP family's ruleset needs. */
export interface FamilyState {
  readonly family: IPFamily;
  /** This node's addresses of this family, from its Node object (InternalIP first). */
  readonly nodeIPs: readonly string[];
  /**
   * Destinations on which NodePorts are served, as CIDRs: the zero CIDR (`0.0.0.0/0`,
   * `::/0`) for every local address; with ProxyOptions.localAddresses, the host CIDRs
   * (/32, /128) of `nodePortIPs` (empty when no local address qualifies: no NodePort is
   * served); in a dry run, the --nodeport-addresses CIDRs (`primary` as the node IP's
   * host CIDR). Rules also require the destination to be a local address.
   */
  readonly nodePortAddresses: readonly string[];
  /** The local addresses NodePorts are served on (every local address for the zero CIDR). */
  readonly nodePortIPs: readonly string[];
  /** Local-traffic detector: pod CIDRs. Empty means no detector. */
  readonly clusterCIDRs: readonly string[];
  /** --service-cidr: unallocated IPs in these ranges are dropped. */
  readonly serviceCIDRs: readonly string[];
  readonly masqueradeAll: boolean;
  /** The packet mark bit that asks for masquerade, e.g. 0x4000. */
  readonly masqueradeMark: number;
  /** Sorted by key. */
  readonly services: readonly ServicePort[];
}

export interface ProxyState {
  readonly nodeName: string;
  readonly ipv4: FamilyState;
  readonly ipv6: FamilyState;
}

export type ObjectKind = 'Service' | 'EndpointSlice' | 'Node';

/** One reason an input object was skipped (or partly ignored). */
export interface Problem {
  readonly kind: ObjectKind;
  /** `namespace/name` (or `name` for cluster-scoped objects). */
  readonly object: string;
  /** Field path, e.g. `spec.ports[1].port`. */
  readonly path: string;
  readonly message: string;
  /**
   * skipped: the whole object was invalid and left out; ignored: one value was left out;
   * not-proxied: a valid object kube-proxy also leaves alone (ExternalName, headless,
   * another proxy's Service); warning: nothing is invalid, but the outcome is not what
   * the operator likely meant (the Node to render for is missing).
   */
  readonly effect: 'skipped' | 'ignored' | 'not-proxied' | 'warning';
}

/** Options a node's proxy is started with (kube-proxy's flags of the same meaning). */
export interface ProxyOptions {
  readonly nodeName: string;
  readonly clusterCIDRs?: readonly string[];
  /**
   * kube-proxy's --nodeport-addresses: CIDRs, `primary` (the node's primary IP per
   * family, from its Node object) or `all` (every local address). Absent: `primary`.
   * Defaults differ per proxy mode upstream; the caller picks them with
   * `defaultNodePortAddresses(backend)` (nftables `primary`, iptables and IPVS `all`).
   */
  readonly nodePortAddresses?: readonly string[];
  /**
   * The IP addresses of the interfaces of the network namespace kpx runs in (the
   * controller passes os.networkInterfaces(), loopback included). NodePorts are served
   * on those inside nodePortAddresses. Absent (a dry run from manifests): the Node
   * object's addresses plus loopback stand in for them.
   */
  readonly localAddresses?: readonly string[];
  readonly serviceCIDRs?: readonly string[];
  readonly masqueradeAll?: boolean;
  /** Bit number of the masquerade mark; default 14 (0x4000). */
  readonly masqueradeBit?: number;
}

/** The model's result: the state plus every problem found on the way. */
export interface BuildResult {
  readonly state: ProxyState;
  readonly problems: readonly Problem[];
}
