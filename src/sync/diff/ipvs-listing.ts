/**
 * The IPVS mode's non-iptables state → Snapshot: `ipset save` (sets and entries),
 * `ipvsadm -Sn` (virtual servers and their real servers) and the addresses on
 * kube-ipvs0 (`ip -o addr show dev kube-ipvs0`). Neither ipset entries nor virtual
 * servers carry comments, so the Service comes from an index of the model (frontends,
 * NodePorts, endpoints) built by serviceIndex.
 */
import type { ProxyState, ServicePort } from '../../model/types.js';
import type { Container, Entry, Snapshot } from './snapshot.js';

/** Who owns an address/port: `proto ip port` → `ns/name` (undefined: node-wide or several). */
export type Owner = (proto: string, ip: string, port: string) => string | undefined;

function serviceOf(sp: ServicePort): string {
  return `${sp.namespace}/${sp.name}`;
}

/** The model's frontends, NodePorts and endpoints, each to the one Service that has it. */
export function serviceIndex(state: ProxyState): Owner {
  const index = new Map<string, string | null>();
  const put = (k: string, v: string): void => { index.set(k, index.has(k) && index.get(k) !== v ? null : v); };
  for (const fs of [state.ipv4, state.ipv6]) {
    for (const sp of fs.services) {
      const proto = sp.protocol.toLowerCase();
      const svc = serviceOf(sp);
      for (const ip of [sp.clusterIP, ...sp.externalIPs, ...sp.loadBalancerIPs]) {
        put(`${proto} ${ip} ${sp.port}`, svc);
        put(`addr ${ip}`, svc);
      }
      if (sp.nodePort !== undefined) put(`${proto} * ${sp.nodePort}`, svc);
      if (sp.healthCheckNodePort !== undefined) put(`tcp * ${sp.healthCheckNodePort}`, svc);
      for (const ep of sp.allEndpoints) put(`${proto} ${ep.ip} ${ep.port}`, svc);
    }
  }
  return (proto, ip, port) => {
    const v = index.get(`${proto} ${ip} ${port}`) ?? index.get(`${proto} * ${port}`) ?? (port === '' ? index.get(`addr ${ip}`) : undefined);
    return v ?? undefined;
  };
}

const strip = (ip: string): string => ip.replace(/^\[|\]$/g, '');

/** `ipset save` (or restore input): the sets `include` names. */
export function parseIpsetSave(text: string, include: (name: string) => boolean, owner: Owner): Snapshot {
  const sets = new Map<string, { definition: string; entries: Map<string, Entry> }>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const [verb, name] = words;
    if (name === undefined || !include(name)) continue;
    // `initval` is the kernel's random hash seed, different in every namespace: not compared.
    if (verb === 'create') sets.set(name, { definition: words.slice(2).join(' ').replace(/ initval \S+/, ''), entries: sets.get(name)?.entries ?? new Map() });
    else if (verb === 'add') {
      const entry = words[2] ?? '';
      let set = sets.get(name);
      if (set === undefined) sets.set(name, set = { definition: '', entries: new Map() });
      // ip,proto:port[,ip|net] or a bare port (bitmap:port: the protocol is in the set's name).
      const m = /^([^,]+),(\w+):(\d+)/.exec(entry);
      const service = m ? owner(m[2] ?? '', strip(m[1] ?? ''), m[3] ?? '')
        : /^\d+$/.test(entry) ? owner(/UDP/.test(name) ? 'udp' : /SCTP/.test(name) ? 'sctp' : 'tcp', '*', entry)
        : owner('', entry, '');
      set.entries.set(entry, service !== undefined ? { service } : {});
    }
  }
  const containers = new Map<string, Container>();
  for (const [name, s] of sets) containers.set(`ipset ${name}`, { kind: 'ipset', definition: s.definition, entries: s.entries, entryKind: 'entry' });
  return { containers, chains: new Map() };
}

/** `ipvsadm -Sn` / ipvsadm-restore input: one container per virtual server, real servers as entries. */
export function parseIpvsadm(text: string, owner: Owner): Snapshot {
  const vs = new Map<string, { definition: string; entries: Map<string, Entry>; service?: string }>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if ((words[0] !== '-A' && words[0] !== '-a') || words.length < 3) continue;
    const key = `${words[1]} ${words[2]}`;
    const m = /^(.*):(\d+)$/.exec(words[2] ?? '');
    const proto = ({ '-t': 'tcp', '-u': 'udp', '--sctp-service': 'sctp' } as Record<string, string>)[words[1] ?? ''] ?? '';
    let v = vs.get(key);
    if (v === undefined) {
      const service = m ? owner(proto, strip(m[1] ?? ''), m[2] ?? '') : undefined;
      vs.set(key, v = { definition: '', entries: new Map(), ...(service !== undefined ? { service } : {}) });
    }
    if (words[0] === '-A') v.definition = words.slice(3).join(' ');
    else {
      const r = words.indexOf('-r');
      const rs = words[r + 1] ?? '';
      v.entries.set(rs, { value: words.filter((_, i) => i > 2 && i !== r && i !== r + 1).join(' '), ...(v.service !== undefined ? { service: v.service } : {}) });
    }
  }
  const containers = new Map<string, Container>();
  for (const [key, v] of vs) {
    containers.set(`ipvs ${key}`, { kind: 'virtual server', definition: v.definition, entries: v.entries, entryKind: 'real server', ...(v.service !== undefined ? { service: v.service } : {}) });
  }
  return { containers, chains: new Map() };
}

/** Addresses of kube-ipvs0: from `ip -o addr show dev kube-ipvs0` (`inet 10.96.0.1/32 …`) or the batch (`address add 10.96.0.1/32 dev kube-ipvs0 …`). */
export function parseDeviceAddresses(text: string, device: string, owner: Owner): Snapshot {
  const entries = new Map<string, Entry>();
  for (const m of text.matchAll(/(?:\binet6?|address add)\s+([0-9a-fA-F.:]+\/\d+)/g)) {
    const addr = m[1] ?? '';
    const service = owner('', addr.split('/')[0] ?? '', '');
    entries.set(addr, service !== undefined ? { service } : {});
  }
  return { containers: new Map([[`device ${device}`, { kind: 'device', definition: '', entries, entryKind: 'address' }]]), chains: new Map() };
}
