/** SGD (torch.optim.SGD) and SGDW (the paper's Algorithm 1): hyperparameters and scalars. */
import type { SgdScalars } from '../kernels/kernel.js';
import { FIELDS, type TensorPattern, type WeightDecayScale } from './fields.js';
import { decayCoefficient, f32, gradScale, type CommonHyper, type Family } from './family.js';
import { rangeError } from '../validate.js';

export interface SgdHyperparameters extends CommonHyper {
  readonly momentum: number;
  readonly dampening: number;
  /** Coupled: g ← g + wd·θ, as torch.optim.SGD. */
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

export interface SgdwHyperparameters extends CommonHyper {
  /** β1 of Algorithm 1: m_t = β1·m_{t−1} + η_t·α·g_t. */
  readonly momentum: number;
  /** λ: θ_t = θ_{t−1} − m_t − c_t·θ_{t−1}. */
  readonly weightDecay: number;
  /** 'schedule' (default, the paper): c_t = η_t·λ; 'lr': c_t = α·η_t·λ. */
  readonly weightDecayScale: WeightDecayScale;
}

export const SGD_DEFAULTS: SgdHyperparameters = Object.freeze({
  lr: 1e-3,
  momentum: 0,
  dampening: 0,
  weightDecay: 0,
  nesterov: false,
  maximize: false,
  schedule: undefined,
  excludeFromWeightDecay: Object.freeze([]) as readonly TensorPattern[],
});

export const SGDW_DEFAULTS: SgdwHyperparameters = Object.freeze({
  lr: 1e-3,
  momentum: 0.9,
  weightDecay: 0,
  weightDecayScale: 'schedule',
  maximize: false,
  schedule: undefined,
  excludeFromWeightDecay: Object.freeze([]) as readonly TensorPattern[],
});

export const SGD_FAMILY: Family<SgdHyperparameters, SgdScalars> = {
  name: 'SGD',
  schema: {
    lr: FIELDS.lr,
    momentum: FIELDS.momentum,
    dampening: FIELDS.dampening,
    weightDecay: FIELDS.weightDecay,
    nesterov: FIELDS.nesterov,
    maximize: FIELDS.maximize,
    schedule: FIELDS.schedule,
    excludeFromWeightDecay: FIELDS.excludeFromWeightDecay,
  },
  defaults: SGD_DEFAULTS,
  presets: {},
  check: (who, path, h) => {
    // torch.optim.SGD's rule: Nesterov needs a momentum and zero dampening.
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      rangeError(who, path ? `${path}.nesterov` : 'nesterov', 'used with momentum > 0 and dampening 0', true);
    }
  },
  state: (h) => (h.momentum !== 0 ? ['momentumBuffer'] : []),
  scalars: (h, { step, eta, clipCoef }) => ({
    gradScale: gradScale(h.maximize, clipCoef),
    decayFactor: 1,
    l2: f32(h.weightDecay),
    coupledL2: h.weightDecay !== 0,
    momentum: f32(h.momentum),
    gradCoeff: f32(1 - h.dampening),
    negLr: f32(-(h.lr * eta)),
    useMomentum: h.momentum !== 0,
    nesterov: h.nesterov,
    firstStep: step === 1,
  }),
  run: (kernel, regions, s) => kernel.sgd(regions, s),
};

export const SGDW_FAMILY: Family<SgdwHyperparameters, SgdScalars> = {
  name: 'SGDW',
  schema: {
    lr: FIELDS.lr,
    momentum: FIELDS.beta,
    weightDecay: FIELDS.weightDecay,
    weightDecayScale: FIELDS.weightDecayScale,
    maximize: FIELDS.maximize,
    schedule: FIELDS.schedule,
    excludeFromWeightDecay: FIELDS.excludeFromWeightDecay,
  },
  defaults: SGDW_DEFAULTS,
  presets: {},
  check: () => {},
  state: () => ['momentumBuffer'],
  scalars: (h, { eta, clipCoef }) => ({
    gradScale: gradScale(h.maximize, clipCoef),
    decayFactor: f32(1 - decayCoefficient(h.weightDecayScale, h.lr * eta, eta, h.weightDecay)),
    l2: 0,
    coupledL2: false,
    momentum: f32(h.momentum),
    gradCoeff: f32(eta * h.lr),
    // θ + (−1)·m = θ − m exactly.
    negLr: -1,
    useMomentum: true,
    nesterov: false,
    // m_0 = 0, so the first step needs no special case.
    firstStep: false,
  }),
  run: (kernel, regions, s) => kernel.sgd(regions, s),
};
