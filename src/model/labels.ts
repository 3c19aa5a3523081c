/** The well-known labels kpx reads; one definition each (watch and model share them). */

/** EndpointSlice → its Service (discovery.k8s.io/v1 LabelServiceName). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** A Service (and its slices, which inherit its labels) implemented by another proxy (apis.LabelServiceProxyName). */
export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
/** Slices of a headless Service (v1.IsHeadlessService). */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
/** A Node's topology zone (v1.LabelTopologyZone). */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
