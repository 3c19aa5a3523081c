/**
 * `kpx diff`'s --iptables-flavour: the same name, values and detection as `kpx run`'s
 * (src/sync/kernel/iptables-flavour.ts). The exec here is a fake that answers the
 * save commands from a table of outputs, as the tools would print them.
 */
import { describe, expect, test } from '@jest/globals';
import { parseDiffArgs, pickFlavour } from '../../src/cli/diff.js';
import type { Exec } from '../../src/sync/kernel/exec.js';

function args(argv: string[]): unknown {
  const r = parseDiffArgs(['-f', 'x', ...argv]);
  return r.ok === true ? r.args.iptablesFlavour : r.ok === false ? r.error : 'help';
}

/** Fake exec: `outputs` maps a joined argv to its stdout; anything else fails (exit 1). Records the calls. */
function fakeExec(outputs: Record<string, string>): { exec: Exec; calls: string[] } {
  const calls: string[] = [];
  const exec: Exec = async (argv) => {
    const key = argv.join(' ');
    calls.push(key);
    const out = outputs[key];
    return out === undefined ? { code: 1, stdout: '', stderr: 'no such table', missing: false } : { code: 0, stdout: out, stderr: '', missing: false };
  };
  return { exec, calls };
}

describe('kpx diff --iptables-flavour', () => {
  test('auto by default, nft or legacy; anything else (and the old --iptables-variant) is a usage error', () => {
    expect(args([])).toBe('auto');
    expect(args(['--iptables-flavour', 'legacy'])).toBe('legacy');
    expect(args(['--iptables-flavour=nft'])).toBe('nft');
    expect(args(['--iptables-flavour', 'xtables'])).toBe('--iptables-flavour must be one of auto, nft, legacy, got "xtables"');
    expect(args(['--iptables-variant', 'nft'])).toMatch(/^unknown flag --iptables-variant/);
  });

  test('auto detects as kpx run does: kubelet\'s chains, nft probes first; kube-proxy\'s own chains do not decide', async () => {
    const hint = '*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';
    const legacy = fakeExec({ 'iptables-nft-save -t mangle': '*mangle\nCOMMIT\n', 'iptables-legacy-save': hint });
    expect(await pickFlavour('auto', legacy.exec)).toBe('legacy');
    expect(legacy.calls).toEqual(['iptables-nft-save -t mangle', 'ip6tables-nft-save -t mangle', 'iptables-legacy-save']);
    const both = fakeExec({ 'ip6tables-nft-save -t mangle': hint, 'iptables-legacy-save': hint });
    expect(await pickFlavour('auto', both.exec)).toBe('nft');
    expect(await pickFlavour('auto', fakeExec({ 'iptables-legacy-save': '*nat\n:KUBE-SERVICES - [0:0]\nCOMMIT\n' }).exec)).toBe('nft');
    const named = fakeExec({ 'iptables-nft-save -t mangle': hint });
    expect(await pickFlavour('legacy', named.exec)).toBe('legacy');
    expect(named.calls).toEqual([]);
  });
});
