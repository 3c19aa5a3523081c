/**
 * The model stage every proxier starts a sync with: keep the IncrementalModel and update
 * only the changed Services, or build a new one from the view's snapshot on the first
 * sync, `changes: 'all'`, a Node change or other options.
 */
import { IncrementalModel } from '../model/incremental.js';
import type { SyncRequest } from './types.js';

export interface ModelStep {
  readonly model: IncrementalModel;
  /** Service keys whose ports may have changed; undefined when the model was rebuilt. */
  readonly affected: Set<string> | undefined;
  /** JSON of the options the model was built with (pass it back next time). */
  readonly optionsKey: string;
  /** The options differ from the last sync's: fixed chains/sets follow them, replace everything. */
  readonly optionsChanged: boolean;
}

export function advanceModel(model: IncrementalModel | undefined, optionsKey: string, req: SyncRequest): ModelStep {
  const key = JSON.stringify(req.options);
  const optionsChanged = key !== optionsKey;
  if (!model || req.changes === 'all' || req.changes.node || optionsChanged) {
    return { model: new IncrementalModel(req.view.snapshot(), req.options), affected: undefined, optionsKey: key, optionsChanged };
  }
  return { model, affected: model.update(req.changes.services, (k) => req.view.service(k)), optionsKey: key, optionsChanged };
}
