/**
 * What distinguishes one optimizer from another: its hyperparameters (schema, defaults,
 * presets), which state arrays a group needs, and how a step's scalars are formed and run.
 * The generic `Optimizer` does everything else (groups, memory, guard, clipping, save/load).
 */
import type { GroupRegions, Job, Kernel, StateName } from '../kernels/kernel.js';
import type { Schedule } from '../schedules/index.js';
import type { Schema, TensorPattern, WeightDecayScale } from './fields.js';

/** Every family's hyperparameters include these. */
export interface CommonHyper {
  readonly lr: number;
  readonly maximize: boolean;
  /** Every family has a weight decay (decoupled or L2). */
  readonly weightDecay: number;
  /** Tensors whose weight decay is 0 (biases, norm gains): names or RegExps; default none. */
  readonly excludeFromWeightDecay: readonly TensorPattern[];
  /** Multiplier η_t of the base lr, from the number of completed steps; none = constant 1. */
  readonly schedule: Schedule | undefined;
}

export interface Preset<H> {
  /** Defaults this preset sets (explicit options and group keys still win). */
  readonly values: Partial<H>;
  /** Keys the source has no default for, which the user must give explicitly. */
  readonly requires?: readonly (keyof H & string)[];
  /** Where the values come from, for error messages and docs. */
  readonly source: string;
}

/** Per-group facts of one step, computed before any memory is touched. */
export interface StepContext {
  /** This group's 1-based step number (bias correction, SGD's first step). */
  readonly step: number;
  /** The schedule multiplier η_t. */
  readonly eta: number;
  /** Gradient clipping coefficient (f32), 1 without clipping. */
  readonly clipCoef: number;
}

export interface Family<H extends CommonHyper, S> {
  readonly name: string;
  readonly schema: Schema<H>;
  readonly defaults: H;
  readonly presets: Readonly<Record<string, Preset<H>>>;
  /** Rules that span fields (e.g. nesterov needs momentum); throws with the group's path. */
  check(who: string, path: string, h: H): void;
  /** The state arrays a group with these hyperparameters owns. */
  state(h: H): readonly StateName[];
  scalars(h: H, ctx: StepContext): S;
  /** Starts the fused update of one region. */
  run(kernel: Kernel, regions: GroupRegions, scalars: S): Job<void>;
}

const f32 = Math.fround;

/** Presets as exported: frozen all the way down, so no caller can change them for everyone. */
export function freezePresets<H>(presets: Record<string, Preset<H>>): Readonly<Record<string, Preset<H>>> {
  for (const preset of Object.values(presets)) {
    for (const value of Object.values(preset.values)) if (Array.isArray(value)) Object.freeze(value);
    Object.freeze(preset.values);
    if (preset.requires) Object.freeze(preset.requires);
    Object.freeze(preset);
  }
  return Object.freeze(presets);
}

/** g ← grad·gradScale: the clip coefficient, negated for maximize (exact either way). */
export const gradScale = (maximize: boolean, clipCoef: number): number => (maximize ? -clipCoef : clipCoef);

/**
 * Decoupled decay coefficient c_t: lr·η_t·λ ('lr', torch/Keras) or η_t·λ ('schedule', the
 * paper's Algorithm 1/2 and tfa), in f64.
 */
export const decayCoefficient = (scale: WeightDecayScale, lrT: number, eta: number, weightDecay: number): number =>
  scale === 'lr' ? lrT * weightDecay : eta * weightDecay;

export { f32 };
