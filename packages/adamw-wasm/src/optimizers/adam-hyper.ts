import type { AdamScalars } from '../kernels/kernel.js';
import { checkBetas, checkBoolean, checkNonNegative } from './validate.js';

/** Hyperparameters of Adam and AdamW, settable per group. */
export interface AdamHyperparameters {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  readonly maximize: boolean;
}

export const ADAM_HYPER_KEYS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'] as const;

/** How `weightDecay` acts: AdamW decays θ directly; Adam adds wd·θ to the gradient (L2). */
export type DecayStyle = 'decoupled' | 'coupled-l2';

/** Validates the hyperparameters present in `spec` and lays them over `base`. */
export function mergeAdamHyper(
  who: string,
  path: string,
  spec: Readonly<Record<string, unknown>>,
  base: AdamHyperparameters,
): AdamHyperparameters {
  const at = (key: string): string => (path ? `${path}.${key}` : key);
  return {
    lr: spec.lr === undefined ? base.lr : checkNonNegative(who, at('lr'), spec.lr),
    betas: spec.betas === undefined ? base.betas : checkBetas(who, at('betas'), spec.betas),
    eps: spec.eps === undefined ? base.eps : checkNonNegative(who, at('eps'), spec.eps),
    weightDecay: spec.weightDecay === undefined ? base.weightDecay : checkNonNegative(who, at('weightDecay'), spec.weightDecay),
    amsgrad: spec.amsgrad === undefined ? base.amsgrad : checkBoolean(who, at('amsgrad'), spec.amsgrad),
    maximize: spec.maximize === undefined ? base.maximize : checkBoolean(who, at('maximize'), spec.maximize),
  };
}

const f32 = Math.fround;

/**
 * The kernel's scalars for step `step` (1-based). Like PyTorch, they are computed in f64 and
 * rounded to f32 once, where the tensor op would read them.
 */
export function adamScalars(hp: AdamHyperparameters, step: number, decay: DecayStyle): AdamScalars {
  const [beta1, beta2] = hp.betas;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const decoupled = decay === 'decoupled';
  return {
    decayFactor: decoupled ? f32(1 - hp.lr * hp.weightDecay) : 1,
    l2: decoupled ? 0 : f32(hp.weightDecay),
    coupledL2: !decoupled && hp.weightDecay !== 0,
    beta1: f32(beta1),
    oneMinusBeta1: f32(1 - beta1),
    beta2: f32(beta2),
    oneMinusBeta2: f32(1 - beta2),
    biasCorrection2Sqrt: f32(Math.sqrt(biasCorrection2)),
    eps: f32(hp.eps),
    negStepSize: f32(-(hp.lr / biasCorrection1)),
    amsgrad: hp.amsgrad,
    maximize: hp.maximize,
  };
}
