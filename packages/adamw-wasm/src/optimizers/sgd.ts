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
  static create(groups: readonly SgdGroupSpec[], options?: SgdOptions): Promise<SGD> {
    return Optimizer.build(SGD_FAMILY, groups, options, (f, o, b) => new SGD(f, o, b));
  }

  static fromState(bytes: Uint8Array, options?: RestoreOptions<SgdHyperparameters>): Promise<SGD> {
    return Optimizer.restoreBytes(SGD_FAMILY, bytes, options, (f, o, b) => new SGD(f, o, b));
  }

  /** Recreates an optimizer from a `stateDict()` (tensors, groups, hyperparameters, state). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<SgdHyperparameters>): Promise<SGD> {
    return Optimizer.restore(SGD_FAMILY, () => dict, options, (f, o, b) => new SGD(f, o, b), 'SGD.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<SgdHyperparameters>): Promise<SGD> {
    return Optimizer.restoreFile(SGD_FAMILY, path, options, (f, o, b) => new SGD(f, o, b));
  }
}

/**
 * SGDW, the paper's Algorithm 1: m_t = β1·m_{t−1} + η_t·α·g_t, θ_t = θ_{t−1} − m_t − η_t·λ·θ_{t−1}
 * (`lr` = α, `momentum` = β1, `weightDecay` = λ, η_t from `schedule`).
 */
export class SGDW extends Optimizer<SgdwHyperparameters, SgdGroupState, SgdScalars> {
  static create(groups: readonly SgdwGroupSpec[], options?: SgdwOptions): Promise<SGDW> {
    return Optimizer.build(SGDW_FAMILY, groups, options, (f, o, b) => new SGDW(f, o, b));
  }

  static fromState(bytes: Uint8Array, options?: RestoreOptions<SgdwHyperparameters>): Promise<SGDW> {
    return Optimizer.restoreBytes(SGDW_FAMILY, bytes, options, (f, o, b) => new SGDW(f, o, b));
  }

  /** Recreates an optimizer from a `stateDict()` (tensors, groups, hyperparameters, state). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<SgdwHyperparameters>): Promise<SGDW> {
    return Optimizer.restore(SGDW_FAMILY, () => dict, options, (f, o, b) => new SGDW(f, o, b), 'SGDW.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<SgdwHyperparameters>): Promise<SGDW> {
    return Optimizer.restoreFile(SGDW_FAMILY, path, options, (f, o, b) => new SGDW(f, o, b));
  }
}
