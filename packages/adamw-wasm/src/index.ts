export { AdamW, type AdamWGroupSpec, type AdamWOptions, type AdamWGroup, type AdamGroupState, type GlobalOptionsInput } from './optimizers/adamw.js';
export { Adam, type AdamGroupSpec, type AdamOptions, type AdamGroup } from './optimizers/adam.js';
export {
  SGD,
  SGDW,
  type SgdGroupSpec,
  type SgdOptions,
  type SgdGroup,
  type SgdwGroupSpec,
  type SgdwOptions,
  type SgdwGroup,
  type SgdGroupState,
} from './optimizers/sgd.js';
export {
  ADAMW_DEFAULTS,
  ADAM_DEFAULTS,
  ADAMW_PRESETS,
  ADAM_PRESETS,
  type AdamHyperparameters,
  type AdamWHyperparameters,
  type AdamPreset,
  type AdamWPreset,
} from './optimizers/adam-family.js';
export { SGD_DEFAULTS, SGDW_DEFAULTS, type SgdHyperparameters, type SgdwHyperparameters } from './optimizers/sgd-family.js';
export type { Optimizer, StepResult, StepOptions, SaveStateOptions, ExportSafetensorsOptions, RestoreOptions, GroupSpec, TensorSpec } from './optimizers/optimizer.js';
export type { ParamGroup, Group, Tensor } from './optimizers/param-group.js';
export type { StateDict, TensorState } from './optimizers/checkpoint.js';
export type { NonFinitePolicy } from './optimizers/plan.js';
export type { WeightDecayScale, EpsMode, DecayOrder, TensorPattern } from './optimizers/fields.js';
export { NonFiniteGradientError } from './optimizers/gradient-check.js';
export { schedules, normalizedWeightDecay } from './schedules/index.js';
export type * from './schedules/index.js';
export type { BackendChoice, BackendName } from './kernels/kernel.js';
export { init, isBackendAvailable, type InitResult } from './kernels/select.js';
/** Whether this thread may block waiting for worker threads (false on a browser page's main thread), i.e. whether `step()` works with threads here. */
export { canBlockHere as canBlock } from './kernels/threads/spawn.js';
export { MAX_MEMORY_BYTES } from './memory/arena.js';
export { STATE_FORMAT_VERSION } from './state/index.js';
export {
  toSafetensors,
  fromSafetensors,
  safetensorsToFloat32,
  type SafetensorsDtype,
  type SafetensorsTensor,
  type SafetensorsInput,
  type SafetensorsFile,
} from './state/safetensors.js';
