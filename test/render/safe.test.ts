/**
 * Defence in depth at the printers: hostile values fed straight to each printer (past the
 * model's validation) throw UnsafeRenderTextError instead of becoming rule text.
 */
import { describe, expect, test } from '@jest/globals';
import type { IptRule, IptablesRuleset } from '../../src/render/iptables/types.js';
import { formatRule, iptablesJumps, toIptablesRestore, toIptablesScript } from '../../src/render/iptables/index.js';
import { formatVirtualServer, toAddressBatch, toGlueRestore, toIpsetRestore } from '../../src/render/ipvs/index.js';
import type { IpvsFamilyRuleset } from '../../src/render/ipvs/types.js';
import { formatTable, toNftCleanupScript } from '../../src/render/nftables/index.js';
import type { NftTable } from '../../src/render/nftables/types.js';
import { UnsafeRenderTextError } from '../../src/render/safe.js';

/** Values that would end a line, a string, a statement or a block in nft/iptables-restore/sh text. */
const HOSTILE = [
  'a\n-A INPUT -j ACCEPT', 'x"; flush ruleset; "', "it's", 'a}b', 'a{b', 'a;b', 'a#b', 'a$(id)', 'a`id`', 'a\\b', 'a\rb', 'a\u0000b',
];
/** Hostile words (no whitespace needed to break out). */
const HOSTILE_WORDS = [...HOSTILE, 'a b', '-j ACCEPT'];

const unsafe = (f: () => unknown): void => expect(f).toThrow(UnsafeRenderTextError);

describe('nft printer', () => {
  const table = (over: Partial<NftTable> = {}): NftTable => ({ family: 'ip', name: 'kube-proxy', sets: [], maps: [], chains: [], ...over });
  const set = (name: string, key: string[], comment?: string) => ({
    name, key: { type: 'ipv4_addr' }, flags: [], elements: [{ key, ...(comment === undefined ? {} : { comment }) }],
  });

  test('a plain table prints', () => {
    expect(formatTable(table({ sets: [set('cluster-ips', ['10.96.0.1'], 'ns/svc:http')] }))).toContain('10.96.0.1 comment "ns/svc:http"');
  });

  test.each(HOSTILE_WORDS)('rejects %j as table, chain, set or map name, element key, map value, verdict chain, address', (bad) => {
    unsafe(() => formatTable(table({ name: bad })));
    unsafe(() => toNftCleanupScript([{ family: 'ip', name: bad }]));
    unsafe(() => formatTable(table({ chains: [{ name: bad, rules: [] }] })));
    unsafe(() => formatTable(table({ sets: [set(bad, ['10.96.0.1'])] })));
    unsafe(() => formatTable(table({ sets: [set('s', [bad])] })));
    unsafe(() => formatTable(table({ maps: [{ name: bad, key: { type: 'ipv4_addr' }, value: { type: 'verdict' }, flags: [], elements: [] }] })));
    unsafe(() => formatTable(table({
      maps: [{ name: 'm', key: { type: 'ipv4_addr' }, value: { type: 'ipv4_addr' }, flags: [], elements: [{ key: ['10.0.0.1'], value: { kind: 'data', parts: [bad] } }] }],
    })));
    unsafe(() => formatTable(table({ chains: [{ name: 'c', rules: [{ matches: [], statements: [{ kind: 'verdict', verdict: { kind: 'jump', chain: bad } }] }] }] })));
    unsafe(() => formatTable(table({ chains: [{ name: 'c', rules: [{ matches: [], statements: [{ kind: 'dnat', addr: bad, port: 80 }] }] }] })));
  });

  test('comments are sanitised: nothing can leave the quotes', () => {
    const text = formatTable(table({ sets: [set('s', ['10.96.0.1'], 'x"; flush ruleset; {\n}')] }));
    expect(text).toContain('comment "x__ flush ruleset_ ___"');
  });
});

describe('iptables-restore printer and load script', () => {
  const rule = (over: Partial<IptRule> = {}): IptRule => ({ matches: [], target: { kind: 'ACCEPT' }, ...over });
  const ruleset = (chain: string, r: IptRule, builtin = false): IptablesRuleset => ({
    family: 'ipv4',
    tables: [{ name: 'nat', chains: [{ name: 'PREROUTING', builtin: true, rules: builtin ? [r] : [] }, { name: chain, builtin: false, rules: builtin ? [] : [r] }] }],
  });

  test('a plain rule prints', () => {
    expect(formatRule('KUBE-SERVICES', rule({ matches: [{ kind: 'comment', text: 'ns/svc:http -> 10.0.0.1:80' }] })))
      .toBe('-A KUBE-SERVICES -m comment --comment "ns/svc:http -> 10.0.0.1:80" -j ACCEPT');
  });

  // `;` is allowed in a quoted iptables comment: upstream's own "kubernetes service
  // nodeports; NOTE: …" has one, and neither iptables-restore nor the single-quoted sh
  // words give it a meaning there.
  test.each(HOSTILE.filter((h) => h !== 'a;b'))('rejects %j as a comment, also in a jump the script ensures', (bad) => {
    const r = rule({ matches: [{ kind: 'comment', text: bad }] });
    unsafe(() => formatRule('KUBE-SERVICES', r));
    unsafe(() => iptablesJumps(ruleset('KUBE-SERVICES', r, true)));
    unsafe(() => toIptablesScript([ruleset('KUBE-SERVICES', r, true)]));
  });

  test.each(HOSTILE_WORDS)('rejects %j as a chain name, jump target, address or recent-list name', (bad) => {
    unsafe(() => toIptablesRestore(ruleset(bad, rule())));
    unsafe(() => formatRule(bad, rule()));
    unsafe(() => formatRule('KUBE-SERVICES', rule({ target: { kind: 'jump', chain: bad } })));
    unsafe(() => formatRule('KUBE-SERVICES', rule({ matches: [{ kind: 'source', cidr: bad, negate: false }] })));
    unsafe(() => formatRule('KUBE-SERVICES', rule({ matches: [{ kind: 'recent-set', name: bad }] })));
    unsafe(() => formatRule('KUBE-SERVICES', rule({ target: { kind: 'DNAT', ip: bad, port: 80 } })));
  });

  test('a word that is not text (a printer case gone missing) is refused, not printed as nothing', () => {
    unsafe(() => formatRule('KUBE-SERVICES', rule({ matches: [{ kind: 'unknown-match' } as unknown as IptRule['matches'][number]] })));
  });

  test('chain names longer than iptables allows (28) are refused', () => {
    unsafe(() => formatRule(`KUBE-${'A'.repeat(24)}`, rule()));
    expect(formatRule(`KUBE-${'A'.repeat(23)}`, rule())).toContain('-A KUBE-');
  });
});

describe('IPVS printers', () => {
  const VS = { family: 'ipv4', protocol: 'tcp', service: 'ns/svc:http', frontend: 'cluster-ip' } as const;
  const fam = (over: Partial<IpvsFamilyRuleset>): IpvsFamilyRuleset => ({ family: 'ipv4', virtualServers: [], ipsets: [], addresses: [], tables: [], ...over });

  test.each(HOSTILE_WORDS)('rejects %j as a set name, set entry, address, virtual server or glue word', (bad) => {
    unsafe(() => toIpsetRestore([fam({ ipsets: [{ name: bad, type: 'hash:ip,port', family: 'ipv4', comment: 'c', entries: [] }] })]));
    unsafe(() => toIpsetRestore([fam({ ipsets: [{ name: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', family: 'ipv4', comment: 'c', entries: [bad] }] })]));
    unsafe(() => toAddressBatch([fam({ addresses: [bad] })]));
    unsafe(() => formatVirtualServer({ ...VS, address: bad, port: 80, scheduler: 'rr', schedulerFlags: [], realServers: [] }));
    unsafe(() => formatVirtualServer({ ...VS, address: '10.0.0.1', port: 80, scheduler: 'rr', schedulerFlags: [], realServers: [{ ip: bad, port: 80, weight: 1 }] }));
    unsafe(() => toGlueRestore(fam({ tables: [{ name: 'nat', chains: [{ name: 'KUBE-SERVICES', builtin: false, rules: [{ matches: [{ kind: 'set', name: bad, flags: 'dst', negate: false }], target: { kind: 'ACCEPT' } }] }] }] })));
  });
});
