import { buildProxyState } from '../../../src/model/build.js';
import {
  IPV6_LINE_PREFIX, renderIptablesFamilies, splitRestoreOutput, toIptablesOutput, toIptablesRestore,
} from '../../../src/render/iptables/index.js';
import { node } from '../../model/fixtures.js';

describe('toIptablesOutput', () => {
  const { state } = buildProxyState({ services: [], endpointSlices: [], node: node('node-a', ['10.100.0.10', 'fd00:100::10']) }, { nodeName: 'node-a' });
  const rulesets = renderIptablesFamilies(state);
  const text = toIptablesOutput(rulesets);

  it('is iptables-restore input as printed: every IPv6 line is a comment', () => {
    expect(rulesets.map((r) => r.family)).toEqual(['ipv4', 'ipv6']);
    const active = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(`${active.join('\n')}\n`).toBe(toIptablesRestore(rulesets[0]!));
    expect(text).toContain(`${IPV6_LINE_PREFIX}*filter`);
  });

  it('splits back into one restore input per family', () => {
    expect(splitRestoreOutput(text)).toEqual({ ipv4: toIptablesRestore(rulesets[0]!), ipv6: toIptablesRestore(rulesets[1]!) });
  });
});
