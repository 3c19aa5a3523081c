/** Public API of the iptables backend (see README.md). */
export type * from './types.js';
export { renderIptables, renderIptablesFamilies, LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from './render.js';
export {
  toIptablesRestore, iptablesJumps, formatTable, formatRule, formatChainLine, ruleArgs, quoteArg, formatMark, formatProbability,
} from './format.js';
export type { BuiltinJump, RestoreOptions } from './format.js';
export {
  toIptablesOutput, toIptablesScript, toIptablesFullTables, iptablesFiles, splitRestoreOutput,
  RESTORE_TOOL, IPTABLES_OUT_FILES, IPTABLES_SCRIPT_FILE, IPV6_LINE_PREFIX,
} from './output.js';
export { scriptRestoreParts } from '../xtables-script.js';
export {
  C as CHAINS, PREFIX as CHAIN_PREFIX, base32Sha256, endpointString, serviceChainName, endpointChainName, isServiceChainName,
} from './names.js';
export type { ServiceChainKind } from './names.js';
