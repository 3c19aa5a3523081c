/**
 * `iptables-save` text → Snapshot: the chains a mode owns (and any chain the desired
 * state has), plus, per built-in chain, only the rules that jump to one of those. A rule
 * whose comment names a Service (`"ns/name:port cluster IP"`) is that Service's; a chain
 * is a Service's when its commented rules all name the same one (KUBE-SVC/SEP/EXT/FW…).
 *
 * `KUBE-PROXY-CANARY` (mangle, nat, filter) is never compared: it is the proxy's own
 * flush detector (upstream's iptables Monitor, pkg/util/iptables/monitor.go via
 * pkg/proxy/iptables/proxier.go NewProxier), made when the proxy starts, empty, and
 * not something a sync writes; `kpx render` has no such chain, so the desired side
 * never holds it and a running node always does.
 */
import { BUILTIN_CHAINS, parseSave } from '../kernel/iptables-save.js';
import { CANARY } from '../iptables/plan.js';
import { serviceOfComment, type Chain, type Rule, type Snapshot } from './snapshot.js';

/** The Service a rule's `--comment` names. */
export function ruleService(spec: string): string | undefined {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(spec);
  return serviceOfComment(m?.[1] ?? m?.[2]);
}

/**
 * `label` prefixes every key (`iptables`, `ip6tables`); `include(table, chain)` says
 * which non-built-in chains are compared.
 */
export function parseXtablesSave(text: string, label: string, include: (table: string, chain: string) => boolean): Snapshot {
  const chains = new Map<string, Chain>();
  for (const table of parseSave(text)) {
    const kept = new Set(table.chains.filter((c) => !BUILTIN_CHAINS.has(c) && c !== CANARY && include(table.name, c)));
    const rules = new Map<string, Rule[]>();
    for (const r of table.rules) {
      const mine = kept.has(r.chain) || (BUILTIN_CHAINS.has(r.chain) && r.target !== undefined && kept.has(r.target));
      if (!mine) continue;
      const service = ruleService(r.spec);
      let list = rules.get(r.chain);
      if (list === undefined) rules.set(r.chain, list = []);
      list.push({ text: `-A ${r.spec}`, ...(service !== undefined ? { service } : {}) });
    }
    const names = [...table.chains.filter((c) => BUILTIN_CHAINS.has(c) && rules.has(c)), ...kept];
    for (const name of names) {
      const list = rules.get(name) ?? [];
      const services = new Set(list.map((r) => r.service).filter((s) => s !== undefined));
      const builtin = BUILTIN_CHAINS.has(name);
      const service = services.size === 1 && !builtin ? [...services][0] : undefined;
      chains.set(`${label} ${table.name} ${name}`, { definition: '', rules: list, ...(service !== undefined ? { service } : {}), ...(builtin ? { builtin } : {}) });
    }
  }
  return { containers: new Map(), chains };
}
