/** The in-memory shape of an optimizer's saved state, as `encodeState` takes and `decodeState` returns it (format version 2). */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

export interface StateGroup {
  /** e.g. lr, betas, eps, weightDecay, amsgrad, maximize, scheduled. */
  hyperparameters: { [k: string]: JsonValue };
  /** Names of this group's tensors, in order; each names an entry of `tensors`. */
  tensors: string[];
}

export interface StateTensor {
  /** Unique across the state. */
  name: string;
  /** Elements in every array of this tensor. */
  size: number;
  /** This tensor's own completed steps (used for bias correction). */
  stepCount: number;
  /** e.g. params (only when `includesParams`), expAvg, expAvgSq, maxExpAvgSq, momentumBuffer; each of length `size`. */
  arrays: { [name: string]: Float32Array };
}

export interface OptimizerState {
  /** The format version the blob was read from (set by decodeState; encodeState writes the current one). */
  version?: number;
  /** 'AdamW' | 'Adam' | 'SGD' | 'SGDW' (any non-empty string is stored). */
  optimizer: string;
  /** Optimizer-wide completed step() calls (schedules use it). */
  stepCount: number;
  /** Optimizer-wide serializable options. */
  options: { [k: string]: JsonValue };
  /** Whether every tensor's arrays contain `params` (and, when false, none does). */
  includesParams: boolean;
  groups: StateGroup[];
  /** Every tensor of every group, in stored order. */
  tensors: StateTensor[];
}

/** What `describeState` returns: the header of a state, checked, without its arrays. */
export interface StateDescription {
  /** The blob's format version (a version-1 blob is described in version 2's terms). */
  version: number;
  /** The blob's total length in bytes. */
  byteLength: number;
  optimizer: string;
  stepCount: number;
  options: { [k: string]: JsonValue };
  includesParams: boolean;
  groups: StateGroup[];
  tensors: StateTensorDescription[];
}

export interface StateTensorDescription {
  name: string;
  size: number;
  stepCount: number;
  /** The tensor's array names in stored order. */
  arrayNames: string[];
}
