export { createIpvsProxier, DEFAULT_GRACEFUL_TIMEOUT_MS, IPVS_SYSCTLS, STRICT_ARP_SYSCTLS } from './proxier.js';
export type { IpvsProxier, IpvsProxierOptions, IpvsTimeouts } from './proxier.js';
