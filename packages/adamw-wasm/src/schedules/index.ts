/**
 * Learning-rate schedules as pure functions of the completed step count (see types.ts). They
 * hold no state, so an optimizer can be saved, restored or replayed at any step without
 * scheduler state; each factory validates its options up front, and records them (json.ts) so
 * that a schedule can be saved as JSON and rebuilt.
 */
import { checkKnownKeys, checkOneOf, checkPlainObject, checkSchedule, typeError } from '../validate.js';
import { cosine, cosineWarmRestarts } from './cosine.js';
import { descriptionOf, type ScheduleFactory, type ScheduleJson } from './json.js';
import { constant, linear, linearWarmup } from './linear.js';
import { sequence } from './sequence.js';
import type { Schedule } from './types.js';

export type { Schedule } from './types.js';
export type { ScheduleJson, ScheduleFactory } from './json.js';
export type { CosineOptions, CosineWarmRestartsOptions } from './cosine.js';
export type { LinearOptions, LinearWarmupOptions } from './linear.js';
export type { LastSchedulePart, SchedulePart } from './sequence.js';
export type { NormalizedWeightDecayOptions } from './weight-decay.js';
export { normalizedWeightDecay } from './weight-decay.js';

const FACTORIES: readonly ScheduleFactory[] = ['constant', 'linearWarmup', 'linear', 'cosine', 'cosineWarmRestarts', 'sequence'];

/** Rebuilds a schedule from `toJSON`'s description; the factory validates the options again. */
function fromJSON(json: ScheduleJson, path = 'json'): Schedule {
  const who = 'schedules.fromJSON';
  const desc = checkPlainObject(who, path, json);
  checkKnownKeys(who, path, desc, ['factory', 'options']);
  const factory = checkOneOf(who, `${path}.factory`, desc.factory, FACTORIES);
  if (factory === 'constant') {
    if (desc.options !== undefined) checkKnownKeys(who, `${path}.options`, checkPlainObject(who, `${path}.options`, desc.options), []);
    return constant();
  }
  if (factory !== 'sequence') return { linearWarmup, linear, cosine, cosineWarmRestarts }[factory](desc.options as never);
  if (!Array.isArray(desc.options)) typeError(who, `${path}.options`, 'an array of { schedule, steps }', desc.options);
  const parts = Array.from(desc.options as unknown[], (raw, i) => {
    const part = checkPlainObject(who, `${path}.options[${i}]`, raw);
    checkKnownKeys(who, `${path}.options[${i}]`, part, ['schedule', 'steps']);
    return { ...part, schedule: fromJSON(part.schedule as ScheduleJson, `${path}.options[${i}].schedule`) };
  });
  return sequence(parts as never);
}

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
  /**
   * How a schedule made by these factories was built, as JSON (`{ factory, options }`, defaults
   * filled in; a sequence lists its parts); undefined for a function written by hand, or a
   * sequence with one. `fromJSON` rebuilds the same schedule.
   */
  toJSON: (schedule: Schedule): ScheduleJson | undefined => descriptionOf(checkSchedule('schedules.toJSON', 'schedule', schedule)),
  fromJSON: (json: ScheduleJson): Schedule => fromJSON(json),
});
