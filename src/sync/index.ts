/** src/sync: proxiers, kernel adapters and the contract with the controller. */
export type * from './types.js';
export { createNftablesProxier, DEFAULT_FULL_SYNC_INTERVAL_MS } from './nftables/index.js';
export type { Logger, NftablesProxier, NftablesProxierOptions } from './nftables/index.js';
export { createNftKernel, versionAtLeast, MIN_NFT_VERSION, type NftKernel, type NftKernelOptions } from './kernel/nft.js';
export { NftError, NftUnavailableError, parseNftStderr, type NftObject } from './kernel/nft-error.js';
export { FakeNftKernel } from './kernel/nft-fake.js';
export { createIptablesProxier, type IptablesProxier, type IptablesProxierOptions } from './iptables/index.js';
export { createIptablesKernel, resolveFlavour, type IptablesKernel, type IptablesKernelOptions } from './kernel/iptables.js';
export { IptablesError, IptablesUnavailableError, parseIptablesStderr } from './kernel/iptables-error.js';
export { FakeIptablesKernel } from './kernel/iptables-fake.js';
