/** Adam and AdamW: hyperparameters, presets and the scalars of one fused update. */
import type { AdamScalars } from '../kernels/kernel.js';
import { FIELDS, type DecayOrder, type EpsMode, type TensorPattern, type WeightDecayScale } from './fields.js';
import { decayCoefficient, f32, freezePresets, gradScale, type CommonHyper, type Family, type Preset } from './family.js';

export interface AdamHyperparameters extends CommonHyper {
  readonly betas: readonly [number, number];
  readonly eps: number;
  /** AdamW: decoupled decay λ; Adam: coupled L2 coefficient. */
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /** 'torch': ε added to sqrt(v)/sqrt(1−β2^t); 'hat': ε̂ added to sqrt(v) (Keras, TF, HF). */
  readonly epsMode: EpsMode;
}

export interface AdamWHyperparameters extends AdamHyperparameters {
  /** 'lr': decay c_t = lr_t·λ (torch, Keras); 'schedule': c_t = η_t·λ (paper, tfa). */
  readonly weightDecayScale: WeightDecayScale;
  /** 'before': θ ← θ·(1 − c_t) then the Adam step (torch); 'after': θ ← θ − c_t·θ after it (HF). */
  readonly decayOrder: DecayOrder;
}

export type AdamPreset = 'torch' | 'keras';
export type AdamWPreset = 'torch' | 'keras' | 'tfa' | 'transformers' | 'paper';

const common = {
  lr: 1e-3,
  betas: Object.freeze([0.9, 0.999] as const),
  eps: 1e-8,
  amsgrad: false,
  maximize: false,
  schedule: undefined,
  excludeFromWeightDecay: Object.freeze([]) as readonly TensorPattern[],
};

export const ADAMW_DEFAULTS: AdamWHyperparameters = Object.freeze({
  ...common,
  weightDecay: 1e-2,
  epsMode: 'torch',
  weightDecayScale: 'lr',
  decayOrder: 'before',
});

export const ADAM_DEFAULTS: AdamHyperparameters = Object.freeze({ ...common, weightDecay: 0, epsMode: 'torch' });

export const ADAMW_PRESETS = freezePresets<AdamWHyperparameters>({
  torch: { source: 'torch.optim.AdamW', values: {} },
  keras: { source: 'keras.optimizers.AdamW', values: { eps: 1e-7, weightDecay: 4e-3, epsMode: 'hat' } },
  tfa: {
    source: 'tfa.optimizers.AdamW',
    values: { eps: 1e-7, epsMode: 'hat', weightDecayScale: 'schedule' },
    requires: ['weightDecay'],
  },
  transformers: { source: 'transformers.AdamW', values: { eps: 1e-6, weightDecay: 0, epsMode: 'hat', decayOrder: 'after' } },
  paper: { source: 'Loshchilov & Hutter, Algorithm 2', values: { weightDecayScale: 'schedule' }, requires: ['weightDecay'] },
}) as Readonly<Record<AdamWPreset, Preset<AdamWHyperparameters>>>;

export const ADAM_PRESETS = freezePresets<AdamHyperparameters>({
  torch: { source: 'torch.optim.Adam', values: {} },
  keras: { source: 'keras.optimizers.Adam', values: { eps: 1e-7, epsMode: 'hat' } },
}) as Readonly<Record<AdamPreset, Preset<AdamHyperparameters>>>;

const adamSchema = {
  lr: FIELDS.lr,
  betas: FIELDS.betas,
  eps: FIELDS.eps,
  weightDecay: FIELDS.weightDecay,
  amsgrad: FIELDS.amsgrad,
  maximize: FIELDS.maximize,
  epsMode: FIELDS.epsMode,
  schedule: FIELDS.schedule,
  excludeFromWeightDecay: FIELDS.excludeFromWeightDecay,
};

/** The part of the update both variants share; `decay` adds AdamW's decoupled decay. */
function adamScalars(
  h: AdamHyperparameters,
  step: number,
  eta: number,
  clipCoef: number,
  decay: { before: number; after: number; decayAfter: boolean; l2: number },
): AdamScalars {
  const [beta1, beta2] = h.betas;
  const lrT = h.lr * eta;
  const biasCorrection1 = 1 - beta1 ** step;
  const biasCorrection2 = 1 - beta2 ** step;
  const hat = h.epsMode === 'hat';
  // ε̂ form: step size lr·sqrt(bc2)/bc1 (HF's order of operations) and division by 1 (exact).
  const negStepSize = hat ? -((lrT * Math.sqrt(biasCorrection2)) / biasCorrection1) : -(lrT / biasCorrection1);
  return {
    gradScale: gradScale(h.maximize, clipCoef),
    decayFactor: f32(1 - decay.before),
    afterDecay: f32(-decay.after),
    decayAfter: decay.decayAfter,
    l2: f32(decay.l2),
    coupledL2: decay.l2 !== 0,
    beta1: f32(beta1),
    oneMinusBeta1: f32(1 - beta1),
    beta2: f32(beta2),
    oneMinusBeta2: f32(1 - beta2),
    biasCorrection2Sqrt: hat ? 1 : f32(Math.sqrt(biasCorrection2)),
    eps: f32(h.eps),
    negStepSize: f32(negStepSize),
    amsgrad: h.amsgrad,
  };
}

const adamState = (h: AdamHyperparameters) => (h.amsgrad ? (['expAvg', 'expAvgSq', 'maxExpAvgSq'] as const) : (['expAvg', 'expAvgSq'] as const));

export const ADAMW_FAMILY: Family<AdamWHyperparameters, AdamScalars> = {
  name: 'AdamW',
  schema: { ...adamSchema, weightDecayScale: FIELDS.weightDecayScale, decayOrder: FIELDS.decayOrder },
  defaults: ADAMW_DEFAULTS,
  presets: ADAMW_PRESETS,
  check: () => {},
  state: adamState,
  scalars: (h, { step, eta, clipCoef }) => {
    const c = decayCoefficient(h.weightDecayScale, h.lr * eta, eta, h.weightDecay);
    const after = h.decayOrder === 'after';
    return adamScalars(h, step, eta, clipCoef, { before: after ? 0 : c, after: after ? c : 0, decayAfter: after && c !== 0, l2: 0 });
  },
  run: (kernel, regions, s) => kernel.adam(regions, s),
};

export const ADAM_FAMILY: Family<AdamHyperparameters, AdamScalars> = {
  name: 'Adam',
  schema: adamSchema,
  defaults: ADAM_DEFAULTS,
  presets: ADAM_PRESETS,
  check: () => {},
  state: adamState,
  scalars: (h, { step, eta, clipCoef }) =>
    adamScalars(h, step, eta, clipCoef, { before: 0, after: 0, decayAfter: false, l2: h.weightDecay }),
  run: (kernel, regions, s) => kernel.adam(regions, s),
};
