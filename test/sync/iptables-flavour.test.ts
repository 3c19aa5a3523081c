/** The flavour decision (pure), as kube-proxy's image (iptables-wrapper) makes it. */
import { decideFlavour, hasKubeletChains } from '../../src/sync/kernel/iptables-flavour.js';
import { parseIptablesStderr } from '../../src/sync/kernel/iptables-error.js';

const HINT = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
const CANARY = '*mangle\n:KUBE-KUBELET-CANARY - [0:0]\nCOMMIT\n';
const OTHER = '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m comment --comment "KUBE-IPTABLES-HINT" -j ACCEPT\nCOMMIT\n';

describe('decideFlavour', () => {
  test.each([
    ['nothing anywhere', [undefined, undefined, undefined, undefined], 'nft'],
    ['every tool failed', [], 'nft'],
    ['hint in nft mangle', [HINT, '', '', ''], 'nft'],
    ['canary in ip6 nft mangle', ['', CANARY, '', ''], 'nft'],
    ['hint in legacy', ['', '', HINT, ''], 'legacy'],
    ['canary in ip6 legacy', ['', '', '', CANARY], 'legacy'],
    ['both: nft is asked first', [CANARY, '', HINT, ''], 'nft'],
    ['only a rule mentioning the name, not the chain', [OTHER, OTHER, OTHER, OTHER], 'nft'],
  ] as const)('%s', (_, outputs, expected) => {
    expect(decideFlavour(outputs)).toBe(expected);
  });

  test('hasKubeletChains looks for the chain declarations', () => {
    expect(hasKubeletChains(HINT)).toBe(true);
    expect(hasKubeletChains(CANARY)).toBe(true);
    expect(hasKubeletChains(OTHER)).toBe(false);
  });
});

describe('parseIptablesStderr', () => {
  const input = '*filter\n:KUBE-F - [0:0]\nCOMMIT\n*nat\n:KUBE-C - [0:0]\n-A KUBE-C -j KUBE-NOPE\nCOMMIT\n';
  test.each([
    ['legacy', "iptables-restore v1.8.9 (legacy): Couldn't load target `KUBE-NOPE':No such file or directory\n\nError occurred at line: 6\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.\n", 6, "Couldn't load target `KUBE-NOPE':No such file or directory"],
    ['nft', 'iptables-nft-restore: line 5 failed: No chain/target/match by that name.\n', 5, 'line 5 failed: No chain/target/match by that name.'],
    ['commit', 'iptables-restore: COMMIT expected at line 3\n', 3, 'COMMIT expected at line 3'],
  ] as const)('%s form', (_, stderr, line, message) => {
    const e = parseIptablesStderr('iptables-restore', stderr, 1, input);
    expect(e.line).toBe(line);
    expect(e.message).toContain(message);
    expect(e.table).toBe(line >= 4 ? 'nat' : 'filter');
  });
});
