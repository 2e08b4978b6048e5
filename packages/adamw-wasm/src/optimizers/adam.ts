import type { AdamScalars } from '../kernels/kernel.js';
import { ADAM_FAMILY, type AdamHyperparameters, type AdamPreset } from './adam-family.js';
import type { AdamGroupState, GlobalOptionsInput } from './adamw.js';
import type { Group } from './param-group.js';
import type { StateDict } from './checkpoint.js';
import { Optimizer, type GroupSpec, type RestoreOptions } from './optimizer.js';

export type AdamGroupSpec = GroupSpec<AdamHyperparameters, AdamPreset>;
export type AdamOptions = { readonly [K in keyof AdamHyperparameters]?: AdamHyperparameters[K] } & GlobalOptionsInput & {
  readonly preset?: AdamPreset;
};
export type AdamGroup = Group<AdamHyperparameters, AdamGroupState>;

/** Adam as torch.optim.Adam: `weightDecay` adds wd·θ to the gradient (L2), which AdamW fixes. */
export class Adam extends Optimizer<AdamHyperparameters, AdamGroupState, AdamScalars> {
  /**
   * Builds the optimizer synchronously: after `await init()` once (or use `create`). Every
   * input is validated before anything is allocated.
   */
  constructor(groups: readonly AdamGroupSpec[], options?: AdamOptions) {
    super(ADAM_FAMILY, groups, options);
  }

  /** `init()` and whatever workers the groups' threads need, then `new Adam(groups, options)`. */
  static async create(groups: readonly AdamGroupSpec[], options?: AdamOptions): Promise<Adam> {
    await Optimizer.prepare(ADAM_FAMILY, groups, options);
    return Optimizer.started(new Adam(groups, options));
  }

  /** Recreates an optimizer from `saveState()` bytes (groups, tensors, hyperparameters, state). */
  static fromState(bytes: Uint8Array, options?: RestoreOptions<AdamHyperparameters>): Promise<Adam> {
    return Optimizer.restoreBytes(ADAM_FAMILY, bytes, options, (g, o) => new Adam(g as AdamGroupSpec[], o as AdamOptions));
  }

  /** Recreates an optimizer from a `stateDict()`, synchronously (after `await init()`). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<AdamHyperparameters>): Adam {
    return Optimizer.restore(ADAM_FAMILY, dict, options, (g, o) => new Adam(g as AdamGroupSpec[], o as AdamOptions), 'Adam.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<AdamHyperparameters>): Promise<Adam> {
    return Optimizer.restoreFile(ADAM_FAMILY, path, options, (g, o) => new Adam(g as AdamGroupSpec[], o as AdamOptions));
  }

  /**
   * Recreates an optimizer from a safetensors file written by `exportSafetensors` or by
   * PyTorch's side (docs/safetensors.md): groups, tensors in their shapes, hyperparameters, state.
   */
  static fromSafetensors(bytes: Uint8Array, options?: RestoreOptions<AdamHyperparameters>): Promise<Adam> {
    return Optimizer.restoreSafetensors(ADAM_FAMILY, bytes, options, (g, o) => new Adam(g as AdamGroupSpec[], o as AdamOptions));
  }
}
