export { createIptablesProxier, DEFAULT_FULL_SYNC_INTERVAL_MS, type IptablesProxier, type IptablesProxierOptions } from './proxier.js';
export { CANARY, CANARY_TABLES } from './plan.js';
