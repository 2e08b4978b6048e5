/** The adamw-wasm optimizer state format, version 1: see docs/state-format.md. */
export { encodeState } from './encode.js';
export { decodeState, describeState } from './decode.js';
export { STATE_FORMAT_VERSION } from './layout.js';
export type { JsonValue, OptimizerState, StateDescription, StateGroup, StateGroupDescription } from './types.js';
