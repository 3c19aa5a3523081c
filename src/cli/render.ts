/**
 * `kpx render`: manifests (or the live cluster) → model → one backend's
 * ruleset, printed or written to --out. Effects stay here; the deciding is done by the
 * pure parts (manifests.ts, src/model, src/render).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderNftables, toNftScript } from '../render/nftables/index.js';
import { IPTABLES_OUT_FILES, renderIptablesFamilies, toIptablesOutput, toIptablesRestore } from '../render/iptables/index.js';
import { ipvsFiles, renderIpvsFamilies, toIpvsOutput } from '../render/ipvs/index.js';
import type { RenderArgs } from './args.js';
import type { CliIO } from './output.js';
import { loadState } from './pipeline.js';

/** File written by `--out DIR` for the nftables backend. */
export const NFTABLES_OUT_FILE = 'kube-proxy.nft';

export async function renderCommand(args: RenderArgs, io: CliIO): Promise<number> {
  const loaded = await loadState(args, io);
  if (!loaded.ok) return loaded.code;
  const { state } = loaded;

  if (args.backend === 'iptables') {
    const rulesets = renderIptablesFamilies(state);
    if (args.out === undefined) {
      io.stdout(toIptablesOutput(rulesets));
      return 0;
    }
    await mkdir(args.out, { recursive: true });
    for (const r of rulesets) {
      const file = join(args.out, IPTABLES_OUT_FILES[r.family]);
      await writeFile(file, toIptablesRestore(r));
      io.stderr(`kpx: wrote ${file}\n`);
    }
    return 0;
  }

  if (args.backend === 'ipvs') {
    const ruleset = renderIpvsFamilies(state);
    if (args.out === undefined) {
      io.stdout(toIpvsOutput(ruleset));
      return 0;
    }
    await mkdir(args.out, { recursive: true });
    for (const [name, text] of ipvsFiles(ruleset)) {
      const file = join(args.out, name);
      await writeFile(file, text);
      io.stderr(`kpx: wrote ${file}\n`);
    }
    return 0;
  }

  const script = toNftScript(renderNftables(state));
  if (args.out !== undefined) {
    await mkdir(args.out, { recursive: true });
    const file = join(args.out, NFTABLES_OUT_FILE);
    await writeFile(file, script);
    io.stderr(`kpx: wrote ${file}\n`);
  } else {
    io.stdout(script);
  }
  return 0;
}
