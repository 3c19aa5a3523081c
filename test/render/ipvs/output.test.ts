import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptRestoreParts } from '../../../src/render/iptables/index.js';
import { IPVS_OUT_FILES, splitIpvsOutput } from '../../../src/render/ipvs/index.js';
import { KPX, SCENARIOS, scenarioArgs } from '../../helpers/scenarios.js';

const scenario = (name: string): string[] => ['render', '--backend', 'ipvs', '-f', join(SCENARIOS, name, 'cluster.yaml'), ...scenarioArgs(name)];

describe('kpx render --backend ipvs (built CLI)', () => {
  it('prints every part under its header; --out DIR writes the same parts, one file per tool', () => {
    const printed = spawnSync('node', [KPX, ...scenario('dual-stack')], { encoding: 'utf8' });
    expect(printed.status).toBe(0);
    const parts = splitIpvsOutput(printed.stdout);
    expect([...parts.keys()]).toEqual([IPVS_OUT_FILES.ipset, IPVS_OUT_FILES.ipvsadm, IPVS_OUT_FILES.glue, IPVS_OUT_FILES.addresses]);
    expect(printed.stdout).toMatch(/^#### iptables\.sh: sh ####$/m);
    expect(printed.stdout).toMatch(/^#### ipset\.restore: ipset restore -exist ####$/m);

    const dir = mkdtempSync(join(tmpdir(), 'kpx-ipvs-'));
    try {
      const written = spawnSync('node', [KPX, ...scenario('dual-stack'), '--out', dir], { encoding: 'utf8' });
      expect(written.status).toBe(0);
      expect(written.stdout).toBe('');
      expect(written.stderr).toContain(`kpx: wrote ${join(dir, 'ipvsadm.rules')}`);
      expect(readdirSync(dir).sort()).toEqual([...parts.keys()].sort());
      for (const [file, text] of parts) expect(readFileSync(join(dir, file), 'utf8')).toBe(text);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the glue is one load script for both families, kpx chains only (--noflush)', () => {
    const parts = splitIpvsOutput(spawnSync('node', [KPX, ...scenario('dual-stack')], { encoding: 'utf8' }).stdout);
    const glue = scriptRestoreParts(parts.get('iptables.sh')!);
    expect(glue.ipv6).toContain('KUBE-6-CLUSTER-IP');
    expect(glue.ipv4).not.toContain('KUBE-6-');
    for (const restore of Object.values(glue)) expect(restore).not.toMatch(/^:(INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) /m);
  });

  it('--full-tables: parts hold no comment lines (each loads as written) and IPv6 glue is its own part', () => {
    const parts = splitIpvsOutput(spawnSync('node', [KPX, ...scenario('dual-stack'), '--full-tables'], { encoding: 'utf8' }).stdout);
    for (const text of parts.values()) expect(text).not.toMatch(/^#/m);
    expect(parts.get('iptables.rules')).toContain(':INPUT ACCEPT [0:0]');
    expect(parts.get('ip6tables.rules')).toContain('KUBE-6-CLUSTER-IP');
    expect(parts.get('iptables.rules')).not.toContain('KUBE-6-');
    expect(parts.get('ipvsadm.rules')).toContain('-A -t [fd00:10:96::c10]:80 -s rr');
  });
});
