/** Help texts of kpx's commands (what `kpx help [command]` prints). */
import type { CommandName } from './args.js';

export const GLOBAL_USAGE = `Usage: kpx <command> [options]

Commands:
  render    print the complete ruleset for one node
  explain   trace a packet through the rules: path and every possible outcome
  diff      print what a sync would change (not implemented yet)
  run       run the proxy controller (not implemented yet)
  cleanup   remove every rule kpx or kube-proxy created (not implemented yet)

Run 'kpx <command> --help' for a command's options.
`;

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
      --nodeport-addresses CIDR|primary
                             where NodePorts are served (default: primary)
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

Skipped objects are reported on stderr. Exit status: 0 on success (even with skipped
objects), 1 if no object could be read, 2 on a usage error.
`;

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

Exit status: 0 on success, 1 if no object could be read, 2 on a usage error.
`;

export function usageFor(topic?: CommandName): string {
  return topic === 'render' ? RENDER_USAGE : topic === 'explain' ? EXPLAIN_USAGE : GLOBAL_USAGE;
}
