/**
 * Hyperparameter fields shared by the optimizer families: each key's validator, and the merge
 * that lays validated values over defaults. One table per family keeps validation, defaults
 * and per-group overrides in one place.
 */
import type { Schedule } from '../schedules/index.js';
import {
  checkBeta,
  checkBetas,
  checkBoolean,
  checkNonNegative,
  checkOneOf,
  checkSchedule,
  checkUnitInterval,
} from '../validate.js';

export type Field<T> = (who: string, path: string, value: unknown) => T;
export type Schema<H> = { readonly [K in keyof H]-?: Field<H[K]> };

export type WeightDecayScale = 'lr' | 'schedule';
export type EpsMode = 'torch' | 'hat';
export type DecayOrder = 'before' | 'after';

const oneOf =
  <T extends string>(allowed: readonly T[]): Field<T> =>
  (who, path, value) =>
    checkOneOf(who, path, value, allowed);

export const FIELDS = {
  lr: checkNonNegative,
  eps: checkNonNegative,
  weightDecay: checkNonNegative,
  betas: checkBetas,
  amsgrad: checkBoolean,
  maximize: checkBoolean,
  nesterov: checkBoolean,
  /** torch.optim.SGD only requires momentum ≥ 0. */
  momentum: checkNonNegative,
  /** The paper's β1 for SGDW. */
  beta: checkBeta,
  dampening: checkUnitInterval,
  weightDecayScale: oneOf<WeightDecayScale>(['lr', 'schedule']),
  epsMode: oneOf<EpsMode>(['torch', 'hat']),
  decayOrder: oneOf<DecayOrder>(['before', 'after']),
  schedule: ((who, path, value) => (value === undefined ? undefined : checkSchedule<Schedule>(who, path, value))) as Field<
    Schedule | undefined
  >,
} as const;

/**
 * Validates the keys of `schema` present in `spec` and lays them over `base`. In options and
 * group specs an `undefined` value counts as absent (`{ lr: maybeUndefined }`); in a change
 * (`undefined: 'value'`) it is a value like any other, which only `schedule` accepts.
 */
export function mergeFields<H extends object>(
  who: string,
  path: string,
  spec: Readonly<Record<string, unknown>>,
  base: H,
  schema: Schema<H>,
  undefinedIs: 'absent' | 'value' = 'absent',
): H {
  const out = { ...base } as Record<string, unknown>;
  for (const key of Object.keys(schema)) {
    // Own keys only: an inherited one would slip past the unknown-key check.
    const own = Object.hasOwn(spec, key);
    const value = own ? spec[key] : undefined;
    const present = undefinedIs === 'value' ? own : value !== undefined;
    if (present) out[key] = (schema as Record<string, Field<unknown>>)[key]!(who, path ? `${path}.${key}` : key, value);
  }
  return out as H;
}

/** A copy of `h` that nothing can change: arrays (betas) copied and frozen too. */
export function freezeHyper<H extends object>(h: H): H {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(h)) out[key] = Array.isArray(value) ? Object.freeze([...value]) : value;
  return Object.freeze(out) as H;
}
