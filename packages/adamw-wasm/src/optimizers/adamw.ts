import type { AdamScalars } from '../kernels/kernel.js';
import { ADAMW_FAMILY, type AdamWHyperparameters, type AdamWPreset } from './adam-family.js';
import type { NonFinitePolicy } from './plan.js';
import type { Group } from './param-group.js';
import type { StateDict } from './checkpoint.js';
import { Optimizer, type GroupSpec, type RestoreOptions } from './optimizer.js';
import type { BackendChoice } from '../kernels/kernel.js';

/** Adam family state views. */
export interface AdamGroupState {
  /** First moment m. */
  readonly expAvg: Float32Array;
  /** Second moment v. */
  readonly expAvgSq: Float32Array;
  /** Running max of v; only with amsgrad. */
  readonly maxExpAvgSq?: Float32Array;
}

/** Options every optimizer takes besides its hyperparameters. */
export interface GlobalOptionsInput {
  /** 'auto' (default) picks 'wasm-simd', else 'wasm', else 'js'. */
  readonly backend?: BackendChoice;
  /**
   * Worker threads stepping slices of each group: 'auto' (default) uses them where they pay
   * (wasm-simd, large models, shared memory available), else 1; a number asks for exactly that.
   */
  readonly threads?: 'auto' | number;
  /** Clip the total gradient norm to this value, as torch.nn.utils.clip_grad_norm_. */
  readonly clipGradNorm?: number;
  /** On a NaN/±Inf gradient: 'throw' (default), 'skip' the step, or 'ignore' the check. */
  readonly nonFinite?: NonFinitePolicy;
}

export type AdamWGroupSpec = GroupSpec<AdamWHyperparameters, AdamWPreset>;
export type AdamWOptions = { readonly [K in keyof AdamWHyperparameters]?: AdamWHyperparameters[K] } & GlobalOptionsInput & {
  readonly preset?: AdamWPreset;
};
export type AdamWGroup = Group<AdamWHyperparameters, AdamGroupState>;

/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay applied to θ directly, by default
 * θ ← θ·(1 − lr·wd) before the adaptive step, exactly as torch.optim.AdamW.
 */
export class AdamW extends Optimizer<AdamWHyperparameters, AdamGroupState, AdamScalars> {
  /**
   * Builds the optimizer synchronously: after `await init()` once (or use `create`). Every
   * input is validated before anything is allocated.
   */
  constructor(groups: readonly AdamWGroupSpec[], options?: AdamWOptions) {
    super(ADAMW_FAMILY, groups, options);
  }

  /** `init()` and whatever workers the groups' threads need, then `new AdamW(groups, options)`. */
  static async create(groups: readonly AdamWGroupSpec[], options?: AdamWOptions): Promise<AdamW> {
    await Optimizer.prepare(ADAMW_FAMILY, groups, options);
    return Optimizer.started(new AdamW(groups, options));
  }

  /** Recreates an optimizer from `saveState()` bytes (groups, tensors, hyperparameters, state). */
  static fromState(bytes: Uint8Array, options?: RestoreOptions<AdamWHyperparameters>): Promise<AdamW> {
    return Optimizer.restoreBytes(ADAMW_FAMILY, bytes, options, (g, o) => new AdamW(g as AdamWGroupSpec[], o as AdamWOptions));
  }

  /** Recreates an optimizer from a `stateDict()`, synchronously (after `await init()`). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<AdamWHyperparameters>): AdamW {
    return Optimizer.restore(ADAMW_FAMILY, dict, options, (g, o) => new AdamW(g as AdamWGroupSpec[], o as AdamWOptions), 'AdamW.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<AdamWHyperparameters>): Promise<AdamW> {
    return Optimizer.restoreFile(ADAMW_FAMILY, path, options, (g, o) => new AdamW(g as AdamWGroupSpec[], o as AdamWOptions));
  }

  /**
   * Recreates an optimizer from a safetensors file written by `exportSafetensors` or by
   * PyTorch's side (docs/safetensors.md): groups, tensors in their shapes, hyperparameters, state.
   */
  static fromSafetensors(bytes: Uint8Array, options?: RestoreOptions<AdamWHyperparameters>): Promise<AdamW> {
    return Optimizer.restoreSafetensors(ADAMW_FAMILY, bytes, options, (g, o) => new AdamW(g as AdamWGroupSpec[], o as AdamWOptions));
  }
}
