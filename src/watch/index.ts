/** The watch layer: public API. */
export { WatchLayer, SERVICE_NAME_LABEL } from './layer.js';
export type { ChangeSet, InformerFailure, LayerSources, WatchOptions } from './layer.js';
export { readLiveSnapshot, loadKubeConfig, LiveReadError } from './live.js';
export type { LiveSnapshotOptions } from './live.js';
export { DEFAULT_SUPERVISION } from './supervisor.js';
export type { SupervisionOptions, Phase, RestartReason } from './supervisor.js';
export type { InformerStatus, InformerSource } from './informer.js';
export { ENDPOINTSLICE_LABEL_SELECTOR, SERVICE_LABEL_SELECTOR, nodeFieldSelector } from './sources.js';
export { realClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export type { WatchLogger } from './logger.js';
export { DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
