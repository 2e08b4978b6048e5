/**
 * AdamW (decoupled weight decay), Adam, SGDW and SGD for TensorFlow.js: tf.Optimizer subclasses
 * usable wherever `tf.train.adam(…)` is (model.compile, model.fit, minimize, applyGradients),
 * stepping in adamw-wasm. Call `await init()` once first (it compiles the WebAssembly).
 */
import { serialization } from '@tensorflow/tfjs-core';
import { ADAM, ADAMW, SGD_SPEC, SGDW_SPEC } from './families.js';
import type { AdamOptions, AdamWOptions, SgdOptions, SgdwOptions } from './options.js';
import { WasmOptimizer } from './optimizer.js';

export { init, canBlock, schedules, normalizedWeightDecay, type InitResult, type Schedule, type ScheduleJson } from 'adamw-wasm';
export type { AdamMomentOptions, AdamOptions, AdamWOptions, SgdOptions, SgdwOptions, CommonOptions, ExclusionPattern, SavedExclusion, ScheduleOption } from './options.js';
export { WasmOptimizer };

/** AdamW, as torch.optim.AdamW by default (decay lr·λ·θ before the update, ε outside the root). */
export class AdamWOptimizer extends WasmOptimizer {
  /** @nocollapse */
  static get className(): string {
    return 'adamw-wasm/AdamW';
  }

  constructor(options: AdamWOptions = {}) {
    super(ADAMW, options);
  }
}

/** Adam with coupled L2 weight decay, as torch.optim.Adam (for comparison with AdamW). */
export class AdamOptimizer extends WasmOptimizer {
  /** @nocollapse */
  static get className(): string {
    return 'adamw-wasm/Adam';
  }

  constructor(options: AdamOptions = {}) {
    super(ADAM, options);
  }
}

/** SGD with momentum and coupled L2 decay, as torch.optim.SGD (tf.train.momentum without decay). */
export class SGDOptimizer extends WasmOptimizer {
  /** @nocollapse */
  static get className(): string {
    return 'adamw-wasm/SGD';
  }

  constructor(options: SgdOptions = {}) {
    super(SGD_SPEC, options);
  }
}

/** SGDW: the paper's Algorithm 1, momentum with decoupled weight decay. */
export class SGDWOptimizer extends WasmOptimizer {
  /** @nocollapse */
  static get className(): string {
    return 'adamw-wasm/SGDW';
  }

  constructor(options: SgdwOptions = {}) {
    super(SGDW_SPEC, options);
  }
}

// Registered so that tfjs-layers can rebuild them from a saved model (model.save with includeOptimizer).
for (const cls of [AdamWOptimizer, AdamOptimizer, SGDOptimizer, SGDWOptimizer]) serialization.registerClass(cls);

export const adamw = (options?: AdamWOptions): AdamWOptimizer => new AdamWOptimizer(options);
export const adam = (options?: AdamOptions): AdamOptimizer => new AdamOptimizer(options);
export const sgd = (options?: SgdOptions): SGDOptimizer => new SGDOptimizer(options);
export const sgdw = (options?: SgdwOptions): SGDWOptimizer => new SGDWOptimizer(options);
