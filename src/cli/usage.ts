/** Help texts of kpx's commands (what `kpx help [command]` prints). */
import type { CommandName } from './args.js';
import { EXIT_CODES_HELP } from './exit.js';

export const GLOBAL_USAGE = `Usage: kpx <command> [options]

Commands:
  render    print the complete ruleset for one node
  explain   trace a packet through the rules: path and every possible outcome
  diff      print what a sync would change in this network namespace
  run       run the proxy controller (kube-proxy's flags; nftables mode)
  cleanup   remove every rule kpx or kube-proxy created in this network namespace

Run 'kpx <command> --help' for a command's options.

${EXIT_CODES_HELP}`;

export const RENDER_USAGE = `Usage: kpx render --backend nftables|iptables|ipvs [options]

Prints the complete ruleset for one node, directly loadable, touching only kpx's own
tables and chains (nftables: nft -f -; iptables: sh, a script that loads kube-proxy's
chains with iptables-restore --noflush and adds the jumps to them when missing; ipvs:
one part per tool, each under a header naming its load command).

Input:
  -f, --filename FILE|DIR    manifests (YAML or JSON: Service, EndpointSlice, Node,
                             List). Repeatable. A DIR contributes every *.yaml, *.yml
                             and *.json file directly in it (not subfolders), sorted
                             by name. '-' reads stdin. Without -f: the live cluster.
      --kubeconfig FILE      kubeconfig for the live cluster
      --node-name NAME       the node to render for; its Node object gives the node
                             IPs. Default: the only Node in the input, if there is
                             exactly one, else the host name (as kube-proxy does)

kube-proxy options (repeatable ones also accept comma-separated values):
      --backend MODE         nftables, iptables or ipvs (required)
      --cluster-cidr CIDR    pod CIDR(s): the local-traffic detector. Without it,
                             there is no detector
      --nodeport-addresses CIDR|primary|all
                             where NodePorts are served: local addresses in the
                             CIDRs, the node's primary IP, or every local address.
                             Default as kube-proxy: primary for nftables, all for
                             iptables and ipvs. Without a Node object (or node IP),
                             primary means loopback only (a warning says so)
      --service-cidr CIDR    service CIDR(s); unallocated IPs in them are dropped
                             (nftables)
      --masquerade-all       masquerade all traffic to cluster IPs
      --masquerade-bit N     mark bit for masquerade, 0..31 (default 14 = 0x4000)
      --ipvs-scheduler S     IPVS scheduler: rr (default), wrr, lc, wlc, lblc, lblcr, dh,
                             sh, sed, nq, mh

Output:
      --out DIR              write files into DIR instead of stdout
      --full-tables          iptables/ipvs: whole-table iptables-restore input instead,
                             for a plain iptables-restore: it REPLACES the filter and
                             nat tables (foreign rules and chains are removed, policies
                             reset to ACCEPT). Only for a node nothing else programs
  -h, --help                 print this help

Skipped objects are reported on stderr, one line each.
${EXIT_CODES_HELP}`;

export const EXPLAIN_USAGE = `Usage: kpx explain [render options] --src IP --dst IP --dport N [--proto tcp|udp|sctp]

Traces the first packet of a new connection through the rules kpx renders for the node
and prints the path (hooks, chains, rules that matched) and every possible outcome with
its probability: DNAT to an endpoint (masqueraded or not), reject, drop, or none (kpx's
rules leave the packet alone). A source that is one of the node's addresses (from its
Node object) is traced as generated on the node (output hooks); any other as arriving
(prerouting hooks).

Packet:
      --src IP               source address
      --dst IP               destination address (same family)
      --dport N              destination port, 1..65535
      --proto P              tcp (default), udp or sctp

Every 'kpx render' option is accepted (-f, --node-name, --cluster-cidr,
--nodeport-addresses, --service-cidr, --masquerade-all, --masquerade-bit, --kubeconfig);
--backend defaults to nftables here.

Output:
      --output text|json     human-readable (default) or JSON:
                             {"outcomes": [{"verdict", "endpoint", "probability",
                             "masquerade"}], "path": [...]}
  -h, --help                 print this help

${EXIT_CODES_HELP}`;

export const RUN_USAGE = `Usage: kpx run [kube-proxy flags]

Runs the proxy for this node until SIGTERM/SIGINT (then exits 0 and leaves the rules in
place). Waits for the Node object to exist before programming anything; rules left by a
previous kpx or kube-proxy keep working until the first sync replaces them atomically.

      --kubeconfig FILE          kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)
      --master URL               API server address, overrides the kubeconfig's
      --hostname-override NAME   this node's name (default: $NODE_NAME, else the host name)
      --proxy-mode MODE          nftables (default), iptables or ipvs
      --iptables-flavour F       iptables mode: nft, legacy or auto (default: as kube-proxy's
                                 image, legacy when kubelet's KUBE-IPTABLES-HINT or
                                 KUBE-KUBELET-CANARY chain is only in legacy mangle, else nft)
      --cluster-cidr CIDR[,CIDR] pod CIDRs (dual-stack: comma-separated)
      --nodeport-addresses LIST  CIDRs, primary or all (default: primary for nftables,
                                 all for iptables and ipvs)
      --service-cidr CIDR[,CIDR] unallocated IPs in them are dropped
      --masquerade-all           masquerade all traffic to Service IPs
      --masquerade-bit N         mark bit for masquerade, 0..31 (default 14; also
                                 --iptables-masquerade-bit)
      --healthz-bind-address A   /healthz and /livez (default 0.0.0.0:10256; "" off)
      --metrics-bind-address A   /metrics (default 127.0.0.1:10249; "" off)
      --sync-period D            periodic sync (default 30s); also --iptables-sync-period
                                 (nftables, iptables) and --ipvs-sync-period (ipvs)
      --min-sync-period D        minimum time between syncs, from the end of one to the
                                 start of the next (default 1s); also
                                 --iptables-min-sync-period and --ipvs-min-sync-period
      --conntrack-max-per-core N (default 32768; 0 leaves nf_conntrack_max alone)
      --conntrack-min N          (default 131072)
      --conntrack-tcp-timeout-established D   (default 24h0m0s; 0 leaves it alone)
      --conntrack-tcp-timeout-close-wait D    (default 1h0m0s; 0 leaves it alone)
      --cleanup                  remove every proxy mode's leftovers (as 'kpx cleanup')
                                 and exit: 0 all gone, 1 something could not be removed
      --ipvs-scheduler S         ipvs: rr (default), wrr, lc, wlc, lblc, lblcr, dh, sh,
                                 sed, nq, mh
      --ipvs-strict-arp          ipvs: arp_ignore=1, arp_announce=2 (this namespace)
      --ipvs-exclude-cidrs LIST  ipvs: virtual servers in these CIDRs are never deleted
      --ipvs-tcp-timeout D, --ipvs-tcpfin-timeout D, --ipvs-udp-timeout D
                                 ipvs: IPVS connection timeouts (0: leave alone)
  -v, --v N                      log verbosity: 0-2 info, 3-4 debug, 5+ trace
  -h, --help                     print this help

Durations in Go syntax: 500ms, 1s, 1m0s. Logs: JSON lines on stderr.
Exit status: 0 after SIGTERM/SIGINT, 1 if it could not start (kubeconfig, conntrack),
2 on a usage error.
`;

export const DIFF_USAGE = `Usage: kpx diff [render options] [--proxy-mode nftables|iptables|ipvs] [--output text|json]

Prints what a sync would change in this network namespace: the rules 'kpx render' builds
(from -f manifests or the live cluster) against kpx's current rules, grouped by Service
(node-wide items under "(node)"): added (+), removed (-) and changed (~) set and map
elements, chains and their rules, ipset entries, IPVS virtual and real servers. The
desired rules are loaded into a scratch network namespace (unshare --net) and listed back,
so both sides are compared in the kernel tools' own form. Needs root (as nft, iptables).

      --proxy-mode MODE      nftables (default), iptables or ipvs (also --backend)
      --iptables-flavour F   iptables, ipvs: nft, legacy or auto (default: as kpx run
                             picks it: legacy when kubelet's KUBE-IPTABLES-HINT or
                             KUBE-KUBELET-CANARY chain is only in legacy mangle, else nft)
      --output text|json     human-readable (default) or JSON: {"changed", "total",
                             "groups": [{"group", "changes": [{"op": "add"|"remove"|
                             "change", "kind", "where", "item", "from", "to"}]}]}
  -h, --help                 print this help

Every 'kpx render' option is accepted (-f, --node-name, --cluster-cidr,
--nodeport-addresses, --service-cidr, --masquerade-all, --masquerade-bit, --kubeconfig,
--ipvs-scheduler).

Exit status (as diff and kubectl diff): 0 nothing would change, 1 something would,
2 error (usage, input that cannot be read, kernel state that cannot be read).
`;

export const CLEANUP_USAGE = `Usage: kpx cleanup [--proxy-mode nftables|iptables|ipvs]... [--all]

Removes what kube-proxy (v1.36, any mode) or kpx created in this network namespace, and
nothing else: the nftables tables ip/ip6 kube-proxy; kube-proxy's KUBE-* chains (and kpx's
KPX-* ones) in nat, filter and mangle with the jumps to them from the built-in chains,
for iptables-nft and iptables-legacy, IPv4 and IPv6; every IPVS virtual server (as
kube-proxy: ipvsadm -C, only when ip_vs is loaded); the kube-ipvs0 device; kube-proxy's
IPVS ipsets (KUBE-CLUSTER-IP, KUBE-6-..., kpx's KPX-DROP...). kubelet's chains
(KUBE-FIREWALL, KUBE-MARK-DROP, KUBE-KUBELET-CANARY) and every foreign table, chain,
rule and set stay. A chain a foreign chain still jumps to stays and is reported.

      --proxy-mode MODE      only that mode's leftovers (repeatable, or comma-separated)
      --all                  every mode (the default)
  -h, --help                 print this help

One line per item on stdout (removed/absent); failures on stderr.
Exit status: 0 nothing of kube-proxy's is left, 1 something could not be removed,
2 usage error. 'kpx run --cleanup' does the same for every mode.
`;

export function usageFor(topic?: CommandName): string {
  return topic === 'render' ? RENDER_USAGE : topic === 'explain' ? EXPLAIN_USAGE : topic === 'run' ? RUN_USAGE
    : topic === 'diff' ? DIFF_USAGE : topic === 'cleanup' ? CLEANUP_USAGE : GLOBAL_USAGE;
}
