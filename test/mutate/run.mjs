// `npm run mutate [-- --count N --seed S --only nftables,iptables,ipvs]`: mutation check of
// the renderers. Takes a seeded sample of rule-producing lines in src/render/*, breaks one
// at a time (deletes it, or flips a negation / swaps a verdict in it), and runs the suites
// that must notice: first the tracer conformance suite for that backend (fast, typed
// rulesets), then, for mutants that survive it, that backend's real-kernel suite (real
// packets; iptables: the iptables-nft half). Reports which mutants survived and the kill
// rate, and writes test/mutate/last-run.json. See ./README.md.
//
// Works in a copy of the project under /tmp (node_modules symlinked), never in the
// checkout: a mutant is applied to the copy's src/ (for ts-jest) and transpiled into the
// copy's dist/ (for the CLI the kernel tests run), and undone after.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..', '..');
const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : def; };
const COUNT = Number(arg('count', '30'));
const SEED = Number(arg('seed', '9'));
const ONLY = arg('only', 'nftables,iptables,ipvs').split(',');
const KEEP = process.argv.includes('--keep');

/** Files whose lines build or print rules, per backend. */
const FILES = {
  nftables: ['chains.ts', 'frontends.ts', 'render.ts', 'format.ts'],
  iptables: ['render.ts', 'service.ts', 'format.ts'],
  ipvs: ['glue.ts', 'render.ts', 'format.ts'],
};
/**
 * Real-kernel suite per backend. IPVS's packets need the qemu VM (not run per mutant, see
 * README); what this kernel can check is that the IPVS output loads (ipsets, then the
 * iptables glue that names them) next to foreign rules: safe-load.test.ts.
 */
const KERNEL = {
  nftables: ['test/kernel/nftables.test.ts'],
  iptables: ['test/kernel/iptables.test.ts', '-t', 'iptables-nft'],
  ipvs: ['test/kernel/safe-load.test.ts', '-t', 'ipvs'],
};

// mulberry32: a small seeded PRNG, so a run can be repeated.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RULE_LINE = /\brule\(|\bjump\(|\bvmap\(|\blookup\(|\.push\(|\badd(Map|Set|Verdict)\(|\bnewJump\(|\bwhen\(|\bcase '[a-z-]+':|\bmarkMasq\b/;
const balanced = (l) => ['()', '[]', '{}'].every(([o, c]) => l.split(o).length === l.split(c).length);

/** The alterations a line allows: [description, mutated line]. */
function alterations(line) {
  const out = [];
  const swap = (from, to) => { if (line.includes(from)) out.push([`${from} → ${to}`, line.replace(from, to)]); };
  swap('negate: false', 'negate: true');
  swap('negate: true', 'negate: false');
  swap(', true)', ', false)');
  swap('DROP)', 'RETURN)');
  swap('ACCEPT)', 'RETURN)');
  swap('RETURN)', 'ACCEPT)');
  swap("'drop'", "'accept'");
  swap("'reject'", "'drop'");
  swap("'!'", "''");
  swap('goto(', 'jump(');
  return out;
}

function candidates() {
  const out = [];
  for (const [backend, files] of Object.entries(FILES)) {
    if (!ONLY.includes(backend)) continue;
    for (const f of files) {
      const file = join('src', 'render', backend, f);
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((l, i) => {
        const t = l.trim();
        if (t.startsWith('//') || t.startsWith('*') || t.startsWith('import') || !RULE_LINE.test(t)) return;
        const deletable = balanced(t) && /[,;]$/.test(t) && !/^(const|let|return|export|function|if|for)\b/.test(t);
        const alts = alterations(l);
        if (deletable || alts.length > 0) out.push({ backend, file, line: i + 1, text: l, deletable, alts });
      });
    }
  }
  return out;
}

function pick(cands, n, rand) {
  const pool = [...cands];
  const chosen = [];
  while (chosen.length < n && pool.length > 0) chosen.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]);
  return chosen.map((c) => {
    const useAlt = c.alts.length > 0 && (!c.deletable || rand() < 0.5);
    const [what, replacement] = useAlt ? c.alts[Math.floor(rand() * c.alts.length)] : ['delete line', null];
    return { ...c, what, replacement };
  });
}

function sh(cmd, args, cwd, timeoutMs) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' } });
  // Ctrl-C reaches the child too (same process group): stop, and let main's finally clean up.
  if (r.signal === 'SIGINT' || r.signal === 'SIGTERM') throw new Error(`interrupted (${r.signal})`);
  return { ok: r.status === 0, ms: Date.now() - t0, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function jest(cwd, args) {
  return sh(process.execPath, [join(cwd, 'node_modules', 'jest', 'bin', 'jest.js'), '--runInBand', ...args], cwd, 30 * 60 * 1000);
}

/** First failing test names of a jest run, and the first failure's message, for the report. */
function failures(out) {
  const names = [...out.matchAll(/^\s+✕ (.+?)(?: \(\d+ ms\))?$/gm)].slice(0, 3).map((m) => m[1]);
  const first = /^\s+● (.+)\n\n([\s\S]*?)\n\n/m.exec(out);
  return first === null ? names : [...names, `${first[1]}: ${first[2].trim().slice(0, 400)}`];
}

/** ESM, as tsc builds dist/ (package type module); NodeNext would give CommonJS here. */
function transpile(src) {
  return ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false } }).outputText;
}

/** The mutated dist/ module still loads (else every CLI run would fail for the wrong reason). */
function loads(distFile) {
  return sh(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(distFile)})`], ROOT, 60000).ok;
}

function main() {
  const rand = prng(SEED);
  const all = candidates();
  // --recheck FILE [--ids 3,12]: the survivors (or the mutants with these ids) of an earlier
  // run (its last-run.json) instead of a sample.
  const recheck = arg('recheck', undefined);
  const ids = arg('ids', undefined)?.split(',').map(Number);
  const mutants = recheck === undefined ? pick(all, COUNT, rand) : JSON.parse(readFileSync(recheck, 'utf8')).results
    .filter((r) => (ids === undefined ? r.status === 'survived' : ids.includes(r.id)) && ONLY.includes(r.backend))
    .map((r) => {
      const m = all.find((c) => c.file === r.file && c.line === r.line);
      if (m === undefined) throw new Error(`${r.file}:${r.line} is no longer a candidate line`);
      const alt = m.alts.find(([what]) => what === r.what);
      return { ...m, id: r.id, what: r.what, replacement: alt === undefined ? null : alt[1] };
    });
  if (process.argv.includes('--dry')) {
    for (const m of mutants) process.stdout.write(`${m.file}:${m.line} (${m.what}): ${m.text.trim()}\n`);
    process.stdout.write(`${all.length} candidates\n`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'kpx-mutate-'));
  process.stdout.write(`kpx mutate: ${all.length} candidate lines, ${mutants.length} mutants (seed ${SEED}); work dir ${work}\n`);
  const cleanup = () => { if (!KEEP) rmSync(work, { recursive: true, force: true }); };
  try {
    for (const e of readdirSync(ROOT)) {
      if (['node_modules', '.git', '.cache', 'dist'].includes(e)) continue;
      cpSync(join(ROOT, e), join(work, e), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(work, 'node_modules'));
    const build = sh(process.execPath, [join(work, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], work, 10 * 60 * 1000);
    if (!build.ok) throw new Error(`build of the copy failed:\n${build.out}`);
    const base = jest(work, ['test/conformance']);
    if (!base.ok) throw new Error(`the unmutated conformance suite fails; fix that first:\n${base.out.slice(-3000)}`);

    const results = [];
    for (const [i, m] of mutants.entries()) {
      const srcFile = join(work, m.file);
      const distFile = join(work, 'dist', relative('src', m.file).replace(/\.ts$/, '.js'));
      const original = readFileSync(srcFile, 'utf8');
      const originalJs = readFileSync(distFile, 'utf8');
      const lines = original.split('\n');
      if (m.replacement === null) lines.splice(m.line - 1, 1); else lines[m.line - 1] = m.replacement;
      const mutated = lines.join('\n');
      const r = { id: m.id ?? i + 1, backend: m.backend, file: m.file, line: m.line, what: m.what, text: m.text.trim() };
      try {
        writeFileSync(srcFile, mutated);
        writeFileSync(distFile, transpile(mutated));
        const conf = !loads(distFile) ? undefined : jest(work, ['test/conformance', '-t', `^${m.backend} tracer`]);
        if (conf === undefined) {
          // Not a valid mutant: the module no longer loads (every CLI run would fail).
          Object.assign(r, { status: 'invalid', by: 'does not load', ms: 0 });
        } else if (!conf.ok) {
          Object.assign(r, { status: 'killed', by: 'conformance', tests: failures(conf.out), ms: conf.ms });
        } else {
          const kern = jest(work, KERNEL[m.backend]);
          Object.assign(r, kern.ok
            ? { status: 'survived', by: 'conformance + kernel', ms: conf.ms + kern.ms }
            : { status: 'killed', by: 'kernel', tests: failures(kern.out), ms: conf.ms + kern.ms });
        }
      } finally {
        writeFileSync(srcFile, original);
        writeFileSync(distFile, originalJs);
      }
      results.push(r);
      process.stdout.write(`#${r.id} ${r.status.padEnd(8)} ${r.file}:${r.line} (${r.what}) by ${r.by} [${Math.round(r.ms / 1000)} s]\n    ${r.text}\n`);
    }
    const valid = results.filter((r) => r.status !== 'invalid');
    const killed = valid.filter((r) => r.status === 'killed').length;
    const summary = { seed: SEED, count: valid.length, invalid: results.length - valid.length, killed, killRate: valid.length > 0 ? killed / valid.length : 0, results };
    writeFileSync(join(ROOT, 'test', 'mutate', recheck === undefined ? 'last-run.json' : 'last-recheck.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(`\nkill rate: ${killed}/${valid.length} = ${(summary.killRate * 100).toFixed(0)}% (${summary.invalid} invalid)\n`);
    for (const r of results.filter((x) => x.status === 'survived')) process.stdout.write(`SURVIVED #${r.id} ${r.file}:${r.line} (${r.what}): ${r.text}\n`);
  } finally {
    cleanup();
  }
}

main();
