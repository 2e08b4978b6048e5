/**
 * Learning-rate schedules as pure functions of the completed step count (see types.ts). They
 * hold no state, so an optimizer can be saved, restored or replayed at any step without
 * scheduler state; each factory validates its options up front.
 */
import { cosine, cosineWarmRestarts } from './cosine.js';
import { constant, linear, linearWarmup } from './linear.js';
import { sequence } from './sequence.js';

export type { Schedule } from './types.js';
export type { CosineOptions, CosineWarmRestartsOptions } from './cosine.js';
export type { LinearOptions, LinearWarmupOptions } from './linear.js';
export type { LastSchedulePart, SchedulePart } from './sequence.js';
export type { NormalizedWeightDecayOptions } from './weight-decay.js';
export { normalizedWeightDecay } from './weight-decay.js';

export const schedules = Object.freeze({
  /** η_t = 1. */
  constant,
  /** From startFactor (default 0) to 1 over `steps`, then 1: transformers' warmup; torch LinearLR(start_factor, 1, steps). */
  linearWarmup,
  /** From startFactor (default 1) to endFactor (default 0) over `steps`, then endFactor: torch LinearLR, transformers' linear decay. */
  linear,
  /** etaMin + (1 − etaMin)(1 + cos(π·min(t, steps)/steps))/2: torch CosineAnnealingLR's closed form, held at etaMin after `steps`. */
  cosine,
  /** SGDR: cycles of length t0, t0·tMult, t0·tMult², …, as torch CosineAnnealingWarmRestarts (etaMin relative to the base lr). */
  cosineWarmRestarts,
  /** Parts in turn, each on its local step count; the last continues for ever (torch SequentialLR). */
  sequence,
});
