/**
 * Runs a job in the IPVS test VM: Debian's kernel under qemu-system-x86_64 with software
 * emulation (TCG; /dev/kvm is not used: it fails mid-boot on this machine's kind), no
 * network device, the cached base initramfs (build-image.sh) plus a per-run initramfs
 * holding /job. Everything happens inside the VM; the host's network is never touched.
 * Results come back over the serial console as `KPX-<TAG> {json}` lines.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT } from '../helpers/scenarios.js';

export const VM_DIR = join(ROOT, '.cache', 'ipvs-vm');
const BUILD = join(ROOT, 'test', 'ipvs-vm', 'build-image.sh');

export interface VmLine { readonly tag: string; readonly data: Record<string, unknown> }

export interface VmRun {
  readonly lines: readonly VmLine[];
  /** Everything the console printed (for diagnostics). */
  readonly console: string;
  readonly wallMs: number;
  readonly exitCode: number | null;
}

/** Builds (or reuses) the cached image; throws with the script's output on failure. */
export function ensureImage(): { readonly ms: number } {
  const t0 = Date.now();
  const r = spawnSync('bash', [BUILD], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`build-image.sh failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return { ms: Date.now() - t0 };
}

/** A newc cpio archive of `files` (path → content), written with the host's cpio. */
export function cpioOf(files: ReadonlyMap<string, string | Buffer>, options: { executable?: readonly string[] } = {}): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'kpx-vm-job-'));
  try {
    for (const [path, content] of files) {
      mkdirSync(join(dir, dirname(path)), { recursive: true });
      writeFileSync(join(dir, path), content, { mode: options.executable?.includes(path) === true ? 0o755 : 0o644 });
    }
    const list = spawnSync('find', ['.'], { cwd: dir, encoding: 'utf8' }).stdout.split('\n').filter((l) => l !== '').sort().join('\n');
    const r = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet', '-R', '0:0'], { cwd: dir, input: `${list}\n`, maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr.toString()}`);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Boots the VM with `files` added to its initramfs and collects the KPX lines. */
export function runVm(files: ReadonlyMap<string, string>, timeoutMs: number): Promise<VmRun> {
  const initrd = join(VM_DIR, `run-${process.pid}.cpio.gz`);
  writeFileSync(initrd, Buffer.concat([readFileSync(join(VM_DIR, 'base.cpio.gz')), gzipSync(cpioOf(files), { level: 1 })]));
  const args = [
    '-accel', 'tcg', '-m', '768', '-smp', '2', '-nographic', '-no-reboot', '-nic', 'none',
    '-kernel', join(VM_DIR, 'vmlinuz'), '-initrd', initrd,
    '-append', 'console=ttyS0 quiet loglevel=1 panic=-1',
  ];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(initrd, { force: true });
      const lines: VmLine[] = [];
      for (const raw of out.split(/\r?\n/)) {
        const m = /(KPX-[A-Z]+) (\{.*\})\s*$/.exec(raw);
        if (!m) continue;
        try { lines.push({ tag: m[1]!, data: JSON.parse(m[2]!) as Record<string, unknown> }); } catch { /* a line the kernel cut into */ }
      }
      resolve({ lines, console: out, wallMs: Date.now() - t0, exitCode: code });
    });
  });
}
