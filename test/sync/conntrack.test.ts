/** kube-proxy's conntrack settings against an in-memory /proc (the real one is the host's). */
import { conntrackMax, DEFAULT_CONNTRACK, setConntrackSysctls, SYSCTL, type SysctlFiles } from '../../src/sync/conntrack.js';

const quiet = { info: () => undefined, warn: () => undefined };

function files(initial: Record<string, string>, readOnly: readonly string[] = []): SysctlFiles & { values: Record<string, string>; writes: string[] } {
  const values = { ...initial };
  const writes: string[] = [];
  return {
    values, writes,
    read: async (p) => { if (!(p in values)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); return `${values[p]}\n`; },
    write: async (p, v) => {
      if (readOnly.includes(p)) throw Object.assign(new Error(`EACCES: ${p}`), { code: 'EACCES' });
      writes.push(p); values[p] = v;
    },
  };
}

test("upstream's nf_conntrack_max: per-core × CPUs, at least min, capped at 1M; 0 per core: leave alone", () => {
  expect(conntrackMax(DEFAULT_CONNTRACK, 2)).toBe(131072);
  expect(conntrackMax(DEFAULT_CONNTRACK, 8)).toBe(262144);
  expect(conntrackMax(DEFAULT_CONNTRACK, 64)).toBe(1048576);
  expect(conntrackMax({ ...DEFAULT_CONNTRACK, maxPerCore: 0 }, 8)).toBe(0);
});

test('raises only what is lower; timeouts per namespace; values already there are not written', async () => {
  const f = files({ [SYSCTL.max]: '65536', [SYSCTL.hashsize]: '16384', [SYSCTL.established]: '432000', [SYSCTL.closeWait]: '3600' });
  await setConntrackSysctls(DEFAULT_CONNTRACK, quiet, f, 2);
  expect(f.values[SYSCTL.max]).toBe('131072');
  expect(f.values[SYSCTL.hashsize]).toBe('32768');
  expect(f.values[SYSCTL.established]).toBe('86400');
  expect(f.writes).not.toContain(SYSCTL.closeWait);
});

test('a higher nf_conntrack_max is left alone (it is global); 0 leaves timeouts alone', async () => {
  const f = files({ [SYSCTL.max]: '262144', [SYSCTL.hashsize]: '262144', [SYSCTL.established]: '432000', [SYSCTL.closeWait]: '60' });
  await setConntrackSysctls({ ...DEFAULT_CONNTRACK, tcpEstablishedTimeout: 0, tcpCloseWaitTimeout: 0 }, quiet, f, 2);
  expect(f.writes).toEqual([]);
});

test('nf_conntrack_max not writable from a node namespace: reported, the rest still set; other errors fail', async () => {
  const warnings: string[] = [];
  const f = files({ [SYSCTL.max]: '65536', [SYSCTL.hashsize]: '16384', [SYSCTL.established]: '1', [SYSCTL.closeWait]: '1' }, [SYSCTL.max]);
  await setConntrackSysctls(DEFAULT_CONNTRACK, { ...quiet, warn: (_f, m) => { warnings.push(m); } }, f, 2);
  expect(warnings).toEqual([expect.stringContaining('nf_conntrack_max cannot be raised')]);
  expect(f.values[SYSCTL.established]).toBe('86400');
  const missing = files({ [SYSCTL.max]: '262144', [SYSCTL.hashsize]: '262144' });
  await expect(setConntrackSysctls(DEFAULT_CONNTRACK, quiet, { ...missing, write: async () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } }, 2)).rejects.toThrow('ENOENT');
});
