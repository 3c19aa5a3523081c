/** Public API of the IPVS backend (see README.md). */
export type * from './types.js';
export { IPVS_SCHEDULERS } from './types.js';
export { renderIpvs, renderIpvsFamilies, nodePortIPs, DEFAULT_SCHEDULER } from './render.js';
export {
  toIpsetRestore, toIpvsadmRestore, toGlueRestore, glueJumps, toAddressBatch, formatVirtualServer, formatGlueTable, glueRuleArgs,
  ipvsAddress, formatMark,
} from './format.js';
export type { GlueRestoreOptions } from './format.js';
export { toIpvsOutput, splitIpvsOutput, ipvsFiles, IPVS_OUT_FILES, IPVS_LOAD_COMMANDS } from './output.js';
export type { IpvsPart } from './output.js';
export { C as CHAINS, S as SETS, SET_INFO, setName, DUMMY_DEVICE, MAX_SET_NAME } from './names.js';
export type { SetRole } from './names.js';
