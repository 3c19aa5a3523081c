/** Public API of the nftables backend (see README.md). */
export type * from './types.js';
export { renderNftables, renderFamily } from './render.js';
export { toNftScript, toNftCleanupScript, KPX_TABLES } from './script.js';
export {
  formatTable, formatChain, formatRule, formatMatch, formatStatement, formatSet, formatMap,
  formatSetElement, formatMapElement, sanitizeComment,
} from './format.js';
export {
  TABLE_NAME, N as NAMES, affinityChainName, affinitySetName, lbChainName, lbMapName, base32Sha256, nftFamily,
} from './names.js';
export type { LbKind, PolicySet } from './names.js';
