/** `--full-tables`: the whole-table iptables form only when asked for; the default touches only kpx's chains. */
import { describe, expect, test } from '@jest/globals';
import { parseArgs } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';

async function render(args: readonly string[]): Promise<string> {
  let out = '';
  const code = await main(['render', '-f', 'examples/', '--node-name', 'node-a', ...args], { stdout: (t) => { out += t; }, stderr: () => undefined });
  expect(code).toBe(0);
  return out;
}

describe('kpx render --full-tables', () => {
  test('parses for render, not for explain', () => {
    const r = parseArgs(['render', '--backend', 'iptables', '--full-tables']);
    expect(r.ok && r.value.command === 'render' && r.value.args.fullTables).toBe(true);
    const d = parseArgs(['render', '--backend', 'iptables']);
    expect(d.ok && d.value.command === 'render' && d.value.args.fullTables).toBeFalsy();
    expect(parseArgs(['explain', '--full-tables', '--src', '10.0.0.1', '--dst', '10.0.0.2', '--dport', '80']))
      .toEqual({ ok: false, error: 'unknown flag --full-tables', topic: 'explain' });
  });

  test.each(['iptables', 'ipvs'])('%s: default output declares no built-in chain (no policy reset); --full-tables does', async (backend) => {
    const safe = await render(['--backend', backend]);
    expect(safe).toContain('--noflush');
    expect(safe).not.toMatch(/^(#6 )?:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ACCEPT/m);
    const full = await render(['--backend', backend, '--full-tables']);
    expect(full).toMatch(/^:INPUT ACCEPT \[0:0\]$/m);
    expect(full).not.toContain('--noflush');
  });
});
