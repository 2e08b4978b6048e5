/** The adamw-wasm optimizer state format, version 2 (reads 1 too): see docs/state-format.md. */
export { encodeState } from './encode.js';
export { decodeState, describeState } from './decode.js';
export { STATE_FORMAT_VERSION } from './layout.js';
export type { JsonValue, OptimizerState, StateDescription, StateGroup, StateTensor, StateTensorDescription } from './types.js';
