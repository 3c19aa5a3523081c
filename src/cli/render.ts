/**
 * `kpx render`: manifests (or the live cluster) → model → one backend's ruleset,
 * printed or written to --out (one file per tool). Effects stay here; the deciding is
 * done by the pure parts (src/model, src/render).
 */
import type { ProxyState } from '../model/index.js';
import { renderNftables, toNftScript } from '../render/nftables/index.js';
import { iptablesFiles, renderIptablesFamilies, toIptablesOutput } from '../render/iptables/index.js';
import { ipvsFiles, renderIpvsFamilies, toIpvsOutput } from '../render/ipvs/index.js';
import type { RenderArgs } from './args.js';
import type { CliIO } from './output.js';
import { EXIT } from './exit.js';
import { OutDirError, writeOutDir } from './out-dir.js';
import { loadState } from './pipeline.js';
import { escapeText } from './quote.js';

/** File written by `--out DIR` for the nftables backend. */
export const NFTABLES_OUT_FILE = 'kube-proxy.nft';

/** A backend's output: what stdout gets, and the files `--out DIR` writes instead. */
interface Output {
  readonly stdout: string;
  readonly files: ReadonlyMap<string, string>;
}

const OUTPUTS: Record<RenderArgs['backend'], (state: ProxyState, args: RenderArgs) => Output> = {
  nftables: (state) => {
    const script = toNftScript(renderNftables(state));
    return { stdout: script, files: new Map([[NFTABLES_OUT_FILE, script]]) };
  },
  iptables: (state, args) => {
    const rulesets = renderIptablesFamilies(state);
    const form = args.fullTables === true ? 'full' : 'noflush';
    return { stdout: toIptablesOutput(rulesets, form), files: iptablesFiles(rulesets, form) };
  },
  ipvs: (state, args) => {
    const ruleset = renderIpvsFamilies(state, args.ipvsScheduler !== undefined ? { scheduler: args.ipvsScheduler } : {});
    const form = args.fullTables === true ? 'full' : 'noflush';
    return { stdout: toIpvsOutput(ruleset, form), files: ipvsFiles(ruleset, form) };
  },
};

export async function renderCommand(args: RenderArgs, io: CliIO): Promise<number> {
  const loaded = await loadState(args, io);
  if (!loaded.ok) return loaded.code;
  const output = OUTPUTS[args.backend](loaded.state, args);
  if (args.out === undefined) {
    io.stdout(output.stdout);
    return EXIT.ok;
  }
  try {
    for (const file of await writeOutDir(args.out, output.files)) io.stderr(`kpx: wrote ${escapeText(file)}\n`);
  } catch (err) {
    if (!(err instanceof OutDirError)) throw err;
    io.stderr(`kpx: ${err.message}\n`);
    return EXIT.input;
  }
  return EXIT.ok;
}
