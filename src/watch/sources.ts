/**
 * The three collections kpx watches, with kube-proxy's selectors. Each selector is used
 * for the list and for the watch alike (the ListWatch passes it on the watch; `list`
 * passes the same constant).
 */
import {
  CoreV1Api, DiscoveryV1Api, Observable,
  type ConfigurationOptions, type KubeConfig, type RequestContext, type ResponseContext, type V1EndpointSlice, type V1Node, type V1Service,
} from '@kubernetes/client-node';
import { HEADLESS_LABEL, SERVICE_PROXY_NAME_LABEL } from '../model/labels.js';
import type { InformerSource } from './informer.js';

/**
 * kube-proxy's informer selectors (cmd/kube-proxy/app/server.go, v1.36: `noProxyName`
 * for Services, `noHeadlessEndpoints` for EndpointSlices). Services: objects another
 * proxy implements are not ours; the headless label does NOT filter Services (kube-proxy
 * proxies a Service with a cluster IP whatever its labels; one without, "None", is left
 * alone by the model). EndpointSlices: headless Services' slices are not proxied, and kpx
 * also drops slices labelled for another proxy: slices inherit their Service's labels,
 * so such a slice would only arrive as an orphan of a Service kpx does not see.
 */
export const SERVICE_LABEL_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL}`;
export const ENDPOINTSLICE_LABEL_SELECTOR = `!${SERVICE_PROXY_NAME_LABEL},!${HEADLESS_LABEL}`;

export function nodeFieldSelector(nodeName: string): string {
  return `metadata.name=${nodeName}`;
}

/**
 * Per-request options for client-node's generated API: a middleware that hands `signal`
 * to the request, so a list can be abandoned (list timeout, shutdown).
 */
function withSignal(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [{
      pre: (ctx: RequestContext) => { ctx.setSignal(signal); return new Observable(Promise.resolve(ctx)); },
      post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
    }],
    middlewareMergeStrategy: 'append',
  };
}

export function serviceSource(kc: KubeConfig): InformerSource<V1Service> {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    name: 'services',
    path: '/api/v1/services',
    labelSelector: SERVICE_LABEL_SELECTOR,
    list: (signal) => api.listServiceForAllNamespaces({ labelSelector: SERVICE_LABEL_SELECTOR }, withSignal(signal)),
  };
}

export function endpointSliceSource(kc: KubeConfig): InformerSource<V1EndpointSlice> {
  const api = kc.makeApiClient(DiscoveryV1Api);
  return {
    name: 'endpointslices',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
    labelSelector: ENDPOINTSLICE_LABEL_SELECTOR,
    list: (signal) => api.listEndpointSliceForAllNamespaces({ labelSelector: ENDPOINTSLICE_LABEL_SELECTOR }, withSignal(signal)),
  };
}

export function nodeSource(kc: KubeConfig, nodeName: string): InformerSource<V1Node> {
  const api = kc.makeApiClient(CoreV1Api);
  const fieldSelector = nodeFieldSelector(nodeName);
  return {
    name: 'node',
    path: '/api/v1/nodes',
    fieldSelector,
    list: (signal) => api.listNode({ fieldSelector }, withSignal(signal)),
  };
}
