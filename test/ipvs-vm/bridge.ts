/**
 * The host side of kpx-vm-bridge (bridge/main.go): boots the IPVS test VM with a second
 * serial port on a unix socket, and gives tests an Exec (src/sync/kernel/exec.ts) that
 * runs each command inside the VM. kpx's real IPVS adapter then drives the VM's real
 * tools and kernel from the host. Everything still happens inside the VM: it has no
 * network device, and its commands run in its own namespaces.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../helpers/scenarios.js';
import type { Exec, ExecResult } from '../../src/sync/kernel/exec.js';
import { VM_DIR, cpioOf } from './vm.js';

/** /init of the bridge run: the base image's module loading, then the bridge on ttyS1. */
const INIT = `#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /run
mkdir -p /run/netns /var/run
echo "KPX-BOOT {\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"
while read -r m; do insmod "$m" || echo "KPX-WARN {\\"insmod\\":\\"$m\\"}"; done < /etc/modules.load
echo "KPX-MODULES {\\"uptime\\":\\"$(cut -d' ' -f1 /proc/uptime)\\"}"
stty -F /dev/ttyS1 raw -echo
/bin/kpx-vm-bridge /job/job.json /dev/ttyS1
echo 'KPX-DONE {"ok":true}'
sync
poweroff -f
`;

/** Builds the bridge (Go, stdlib only) into a temporary file; throws with go's output. */
export function buildBridge(dir: string): string {
  const out = join(dir, 'kpx-vm-bridge');
  const r = spawnSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
    cwd: join(ROOT, 'test', 'ipvs-vm', 'bridge'), encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' },
  });
  if (r.status !== 0) throw new Error(`go build of the bridge failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return out;
}

export interface BridgeVm {
  readonly exec: Exec;
  readonly setupMs: number;
  /** Ends the bridge; the VM powers off. Resolves with the console text. */
  stop(): Promise<string>;
  console(): string;
}

/** Boots the VM with `job` (job.ts's setup and servers) and waits for the bridge to be ready. */
export async function startBridgeVm(job: { setup: string; servers: readonly object[] }, timeoutMs: number): Promise<BridgeVm> {
  const tmp = mkdtempSync(join(tmpdir(), 'kpx-bridge-'));
  const bin = buildBridge(tmp);
  const files = new Map<string, string | Buffer>([
    ['init', INIT],
    ['bin/kpx-vm-bridge', readFileSync(bin)],
    ['job/job.json', JSON.stringify(job)],
  ]);
  const initrd = join(tmp, 'run.cpio.gz');
  writeFileSync(initrd, Buffer.concat([readFileSync(join(VM_DIR, 'base.cpio.gz')), gzipSync(cpioOf(files, { executable: ['init', 'bin/kpx-vm-bridge'] }), { level: 1 })]));
  const sock = join(tmp, 'bridge.sock');
  const child: ChildProcess = spawn('qemu-system-x86_64', [
    '-accel', 'tcg', '-m', '768', '-smp', '2', '-display', 'none', '-monitor', 'none', '-no-reboot', '-nic', 'none',
    '-serial', 'stdio', '-serial', `unix:${sock},server=on,wait=off`,
    '-kernel', join(VM_DIR, 'vmlinuz'), '-initrd', initrd,
    '-append', 'console=ttyS0 quiet loglevel=1 panic=-1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let consoleText = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { consoleText += d; });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { consoleText += d; });
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const cleanup = (): void => { clearTimeout(timer); rmSync(tmp, { recursive: true, force: true }); };

  let socket: Socket | undefined;
  for (let i = 0; i < 100 && socket === undefined; i++) {
    socket = await new Promise<Socket | undefined>((resolve) => {
      const s = createConnection(sock);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(undefined));
    });
    if (socket === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  if (socket === undefined) { child.kill('SIGKILL'); await exited; cleanup(); throw new Error(`no bridge socket:\n${consoleText}`); }

  const waiting = new Map<number, (r: ExecResult) => void>();
  let ready: (v: Record<string, unknown>) => void = () => {};
  const readyP = new Promise<Record<string, unknown>>((r) => { ready = r; });
  let buf = '';
  socket.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      let msg: Record<string, unknown>;
      try { msg = JSON.parse(line) as Record<string, unknown>; } catch { continue; }
      if ('ready' in msg) { ready(msg); continue; }
      const id = Number(msg['id']);
      const dec = (k: string): string => Buffer.from(String(msg[k] ?? ''), 'base64').toString('utf8');
      waiting.get(id)?.({ code: Number(msg['code']), stdout: dec('stdout'), stderr: dec('stderr') });
      waiting.delete(id);
    }
  });
  const first: Record<string, unknown> = await Promise.race([readyP, exited.then(() => ({ ready: false, error: 'the VM exited' }))]);
  if (first['ready'] !== true) { child.kill('SIGKILL'); await exited; cleanup(); throw new Error(`bridge not ready: ${JSON.stringify(first)}\n${consoleText.slice(-3000)}`); }

  let next = 1;
  const s = socket;
  const exec: Exec = (argv, stdin = '') => new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    s.write(`${JSON.stringify({ id, argv, stdin: Buffer.from(stdin).toString('base64') })}\n`);
  });
  return {
    exec,
    setupMs: Number(first['setupMs']),
    console: () => consoleText,
    async stop() {
      s.write(`${JSON.stringify({ quit: true })}\n`);
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => { grace = setTimeout(r, 30_000); })]);
      clearTimeout(grace);
      child.kill('SIGKILL');
      s.destroy();
      await exited;
      cleanup();
      return consoleText;
    },
  };
}
