import type { SgdScalars } from '../kernels/kernel.js';
import { SGD_FAMILY, SGDW_FAMILY, type SgdHyperparameters, type SgdwHyperparameters } from './sgd-family.js';
import type { GlobalOptionsInput } from './adamw.js';
import type { Group } from './param-group.js';
import type { StateDict } from './checkpoint.js';
import { Optimizer, type GroupSpec, type RestoreOptions } from './optimizer.js';

/** SGD family state views: the momentum buffer (SGD only with momentum ≠ 0). */
export interface SgdGroupState {
  readonly momentumBuffer?: Float32Array;
}

export type SgdGroupSpec = GroupSpec<SgdHyperparameters>;
export type SgdOptions = { readonly [K in keyof SgdHyperparameters]?: SgdHyperparameters[K] } & GlobalOptionsInput;
export type SgdGroup = Group<SgdHyperparameters, SgdGroupState>;
export type SgdwGroupSpec = GroupSpec<SgdwHyperparameters>;
export type SgdwOptions = { readonly [K in keyof SgdwHyperparameters]?: SgdwHyperparameters[K] } & GlobalOptionsInput;
export type SgdwGroup = Group<SgdwHyperparameters, SgdGroupState>;

/** SGD as torch.optim.SGD: momentum, dampening, Nesterov, coupled weight decay, maximize. */
export class SGD extends Optimizer<SgdHyperparameters, SgdGroupState, SgdScalars> {
  /**
   * Builds the optimizer synchronously: after `await init()` once (or use `create`). Every
   * input is validated before anything is allocated.
   */
  constructor(groups: readonly SgdGroupSpec[], options?: SgdOptions) {
    super(SGD_FAMILY, groups, options);
  }

  /** `init()` and whatever workers the groups' threads need, then `new SGD(groups, options)`. */
  static async create(groups: readonly SgdGroupSpec[], options?: SgdOptions): Promise<SGD> {
    await Optimizer.prepare(SGD_FAMILY, groups, options);
    return Optimizer.started(new SGD(groups, options));
  }

  /** Recreates an optimizer from `saveState()` bytes (groups, tensors, hyperparameters, state). */
  static fromState(bytes: Uint8Array, options?: RestoreOptions<SgdHyperparameters>): Promise<SGD> {
    return Optimizer.restoreBytes(SGD_FAMILY, bytes, options, (g, o) => new SGD(g as SgdGroupSpec[], o as SgdOptions));
  }

  /** Recreates an optimizer from a `stateDict()`, synchronously (after `await init()`). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<SgdHyperparameters>): SGD {
    return Optimizer.restore(SGD_FAMILY, dict, options, (g, o) => new SGD(g as SgdGroupSpec[], o as SgdOptions), 'SGD.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<SgdHyperparameters>): Promise<SGD> {
    return Optimizer.restoreFile(SGD_FAMILY, path, options, (g, o) => new SGD(g as SgdGroupSpec[], o as SgdOptions));
  }

  /**
   * Recreates an optimizer from a safetensors file written by `exportSafetensors` or by
   * PyTorch's side (docs/safetensors.md): groups, tensors in their shapes, hyperparameters, state.
   */
  static fromSafetensors(bytes: Uint8Array, options?: RestoreOptions<SgdHyperparameters>): Promise<SGD> {
    return Optimizer.restoreSafetensors(SGD_FAMILY, bytes, options, (g, o) => new SGD(g as SgdGroupSpec[], o as SgdOptions));
  }
}

/**
 * SGDW, the paper's Algorithm 1: m_t = β1·m_{t−1} + η_t·α·g_t, θ_t = θ_{t−1} − m_t − η_t·λ·θ_{t−1}
 * (`lr` = α, `momentum` = β1, `weightDecay` = λ, η_t from `schedule`).
 */
export class SGDW extends Optimizer<SgdwHyperparameters, SgdGroupState, SgdScalars> {
  /**
   * Builds the optimizer synchronously: after `await init()` once (or use `create`). Every
   * input is validated before anything is allocated.
   */
  constructor(groups: readonly SgdwGroupSpec[], options?: SgdwOptions) {
    super(SGDW_FAMILY, groups, options);
  }

  /** `init()` and whatever workers the groups' threads need, then `new SGDW(groups, options)`. */
  static async create(groups: readonly SgdwGroupSpec[], options?: SgdwOptions): Promise<SGDW> {
    await Optimizer.prepare(SGDW_FAMILY, groups, options);
    return Optimizer.started(new SGDW(groups, options));
  }

  /** Recreates an optimizer from `saveState()` bytes (groups, tensors, hyperparameters, state). */
  static fromState(bytes: Uint8Array, options?: RestoreOptions<SgdwHyperparameters>): Promise<SGDW> {
    return Optimizer.restoreBytes(SGDW_FAMILY, bytes, options, (g, o) => new SGDW(g as SgdwGroupSpec[], o as SgdwOptions));
  }

  /** Recreates an optimizer from a `stateDict()`, synchronously (after `await init()`). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<SgdwHyperparameters>): SGDW {
    return Optimizer.restore(SGDW_FAMILY, dict, options, (g, o) => new SGDW(g as SgdwGroupSpec[], o as SgdwOptions), 'SGDW.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<SgdwHyperparameters>): Promise<SGDW> {
    return Optimizer.restoreFile(SGDW_FAMILY, path, options, (g, o) => new SGDW(g as SgdwGroupSpec[], o as SgdwOptions));
  }

  /**
   * Recreates an optimizer from a safetensors file written by `exportSafetensors` or by
   * PyTorch's side (docs/safetensors.md): groups, tensors in their shapes, hyperparameters, state.
   */
  static fromSafetensors(bytes: Uint8Array, options?: RestoreOptions<SgdwHyperparameters>): Promise<SGDW> {
    return Optimizer.restoreSafetensors(SGDW_FAMILY, bytes, options, (g, o) => new SGDW(g as SgdwGroupSpec[], o as SgdwOptions));
  }
}
