/** The in-memory shape of an optimizer's saved state, as `encodeState` takes and `decodeState` returns it. */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface StateGroup {
  /** Elements in every array of this group. */
  size: number;
  /** This group's own completed steps (used for bias correction). */
  stepCount: number;
  /** e.g. lr, betas, eps, weightDecay, amsgrad, maximize. */
  hyperparameters: { [k: string]: JsonValue };
  /** e.g. params (only when `includesParams`), expAvg, expAvgSq, maxExpAvgSq, momentumBuffer; each of length `size`. */
  arrays: { [name: string]: Float32Array };
}

export interface OptimizerState {
  /** 'AdamW' | 'Adam' | 'SGD' | 'SGDW' (any non-empty string is stored). */
  optimizer: string;
  /** Optimizer-wide completed step() calls (schedules use it). */
  stepCount: number;
  /** Optimizer-wide serializable options. */
  options: { [k: string]: JsonValue };
  /** Whether every group's arrays contain `params` (and, when false, none does). */
  includesParams: boolean;
  groups: StateGroup[];
}

/** What `describeState` returns: the header of a state, checked, without its arrays. */
export interface StateDescription {
  /** The blob's format version. */
  version: number;
  /** The blob's total length in bytes. */
  byteLength: number;
  optimizer: string;
  stepCount: number;
  options: { [k: string]: JsonValue };
  includesParams: boolean;
  groups: StateGroupDescription[];
}

export interface StateGroupDescription {
  size: number;
  stepCount: number;
  hyperparameters: { [k: string]: JsonValue };
  /** The group's array names in stored order. */
  arrayNames: string[];
}
