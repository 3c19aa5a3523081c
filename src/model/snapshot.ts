/**
 * What the model is built from: the API objects as the API server (or
 * `kubectl get -o yaml`) returns them. Typed with client-node's types, but the model
 * trusts none of their fields: every value is validated before use.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';

export interface ClusterSnapshot {
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  /** This node, when known: its addresses and labels feed NodePorts and topology. */
  readonly node?: V1Node;
}
