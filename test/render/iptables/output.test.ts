import { buildProxyState } from '../../../src/model/build.js';
import {
  IPV6_LINE_PREFIX, iptablesFiles, iptablesJumps, renderIptablesFamilies, scriptRestoreParts, splitRestoreOutput,
  toIptablesOutput, toIptablesRestore,
} from '../../../src/render/iptables/index.js';
import { node } from '../../model/fixtures.js';

const { state } = buildProxyState({ services: [], endpointSlices: [], node: node('node-a', ['10.100.0.10', 'fd00:100::10']) }, { nodeName: 'node-a' });
const rulesets = renderIptablesFamilies(state);

describe('toIptablesOutput (default): the load script', () => {
  const text = toIptablesOutput(rulesets);

  it('is a sh script: each family restored with --noflush, kpx chains only, no built-in chain or policy', () => {
    expect(rulesets.map((r) => r.family)).toEqual(['ipv4', 'ipv6']);
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(scriptRestoreParts(text)).toEqual({ ipv4: toIptablesRestore(rulesets[0]!), ipv6: toIptablesRestore(rulesets[1]!) });
    for (const restore of Object.values(scriptRestoreParts(text))) {
      expect(restore).not.toMatch(/^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /m);
      expect(restore).not.toMatch(/^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /m);
      for (const m of restore!.matchAll(/^:(\S+) /gm)) expect(m[1]).toMatch(/^(KUBE|KPX)-/);
    }
  });

  it('ensures every jump from a built-in chain with -C before -I, last one first', () => {
    const jumps = iptablesJumps(rulesets[0]!);
    expect(jumps.length).toBeGreaterThan(5);
    const lines = text.split('\n').filter((l) => l.startsWith('kpx_jump "$IPTABLES" '));
    expect(lines).toHaveLength(jumps.length);
    expect(lines[lines.length - 1]).toBe(`kpx_jump "$IPTABLES" ${[jumps[0]!.table, jumps[0]!.chain, ...jumps[0]!.args].map((w) => `'${w}'`).join(' ')}`);
    expect(text).toMatch(/-C "\$kpx_chain" "\$@" 2>\/dev\/null \|\| "\$kpx_tool" -w -t "\$kpx_table" -I "\$kpx_chain" 1 "\$@"/);
  });

  it('--out writes the script and each family\'s --noflush restore input', () => {
    expect([...iptablesFiles(rulesets).keys()]).toEqual(['iptables.sh', 'iptables.rules', 'ip6tables.rules']);
    expect(iptablesFiles(rulesets).get('iptables.sh')).toBe(text);
  });
});

describe('toIptablesOutput(full): whole tables', () => {
  const text = toIptablesOutput(rulesets, 'full');

  it('is iptables-restore input as printed: every IPv6 line is a comment', () => {
    const active = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(`${active.join('\n')}\n`).toBe(toIptablesRestore(rulesets[0]!, { form: 'full' }));
    expect(text).toContain(`${IPV6_LINE_PREFIX}*filter`);
    expect(text).toContain(':INPUT ACCEPT [0:0]');
  });

  it('splits back into one restore input per family', () => {
    expect(splitRestoreOutput(text)).toEqual({ ipv4: toIptablesRestore(rulesets[0]!, { form: 'full' }), ipv6: toIptablesRestore(rulesets[1]!, { form: 'full' }) });
    expect([...iptablesFiles(rulesets, 'full').keys()]).toEqual(['iptables.rules', 'ip6tables.rules']);
  });
});
