/** The nftables proxier: public API. */
export { createNftablesProxier, DEFAULT_FULL_SYNC_INTERVAL_MS } from './proxier.js';
export type { Logger, NftablesProxier, NftablesProxierOptions } from './proxier.js';
