/** The desired-state model: public API. */
export type * from './types.js';
export type { ClusterSnapshot } from './snapshot.js';
export { buildProxyState, OptionsError, DEFAULT_MASQUERADE_BIT } from './build.js';
export { endpointString } from './endpointslice.js';
export { parseIP, parseCIDR, cidrContains, compareIPs } from './ip.js';
export { defaultNodePortAddresses, NODEPORT_ALL, NODEPORT_PRIMARY } from './nodeports.js';
