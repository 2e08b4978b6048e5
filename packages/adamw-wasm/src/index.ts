export { AdamW, ADAMW_DEFAULTS } from './optimizers/adamw.js';
export { Adam, ADAM_DEFAULTS } from './optimizers/adam.js';
export type { AdamBase, AdamGroupSpec, AdamOptions } from './optimizers/adam-base.js';
export type { AdamHyperparameters } from './optimizers/adam-hyper.js';
export type { AdamParamGroup, AdamGroupState } from './optimizers/param-group.js';
export type { BackendChoice, BackendName } from './kernels/kernel.js';
export { isBackendAvailable } from './kernels/select.js';
export { MAX_MEMORY_BYTES } from './memory/arena.js';
