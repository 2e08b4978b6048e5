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
  static create(groups: readonly AdamGroupSpec[], options?: AdamOptions): Promise<Adam> {
    return Optimizer.build(ADAM_FAMILY, groups, options, (f, o, b) => new Adam(f, o, b));
  }

  static fromState(bytes: Uint8Array, options?: RestoreOptions<AdamHyperparameters>): Promise<Adam> {
    return Optimizer.restoreBytes(ADAM_FAMILY, bytes, options, (f, o, b) => new Adam(f, o, b));
  }

  /** Recreates an optimizer from a `stateDict()` (tensors, groups, hyperparameters, state). */
  static fromStateDict(dict: StateDict, options?: RestoreOptions<AdamHyperparameters>): Promise<Adam> {
    return Optimizer.restore(ADAM_FAMILY, () => dict, options, (f, o, b) => new Adam(f, o, b), 'Adam.fromStateDict');
  }

  /** `fromState` from a file written by `saveStateToFile` (Node, Deno). */
  static fromStateFile(path: string | URL, options?: RestoreOptions<AdamHyperparameters>): Promise<Adam> {
    return Optimizer.restoreFile(ADAM_FAMILY, path, options, (f, o, b) => new Adam(f, o, b));
  }
}
