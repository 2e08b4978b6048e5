/**
 * Hyperparameter fields shared by the optimizer families: each key's validator, and the merge
 * that lays validated values over defaults. One table per family keeps validation, defaults
 * and per-group overrides in one place.
 */
import type { Schedule } from '../schedules/index.js';
import {
  checkKnownKeys,
  rangeError,
  typeError,
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
/** Names the tensors a group's weight decay skips: an exact name, or a RegExp tested against it. */
export type TensorPattern = string | RegExp;
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
  excludeFromWeightDecay: checkPatterns,
} as const;

/**
 * excludeFromWeightDecay: tensor names and RegExps (or their saved form `{ regexp, flags }`).
 * RegExps are copied without the g and y flags, which would make `test` depend on earlier calls
 * through `lastIndex`, and frozen, so neither the caller's object nor ours can change the rule.
 */
function checkPatterns(who: string, path: string, value: unknown): readonly TensorPattern[] {
  const rule = 'an array of tensor names and RegExps';
  if (!Array.isArray(value)) typeError(who, path, rule, value);
  return Object.freeze(
    Array.from(value as unknown[], (pattern, i): TensorPattern => {
      const at = `${path}[${i}]`;
      if (typeof pattern === 'string') {
        if (pattern === '') rangeError(who, at, 'a non-empty tensor name', pattern);
        return pattern;
      }
      const saved = typeof pattern === 'object' && pattern !== null && !(pattern instanceof RegExp) ? (pattern as Record<string, unknown>) : undefined;
      if (saved !== undefined) checkKnownKeys(who, at, saved, ['regexp', 'flags']);
      const [source, flags] = pattern instanceof RegExp ? [pattern.source, pattern.flags] : [saved?.regexp, saved?.flags ?? ''];
      if (typeof source !== 'string' || typeof flags !== 'string') typeError(who, at, 'a tensor name, a RegExp or { regexp, flags }', pattern);
      try {
        return Object.freeze(new RegExp(source, flags.replace(/[gy]/g, '')));
      } catch (cause) {
        return rangeError(who, at, `a valid regular expression (${(cause as Error).message})`, source);
      }
    }),
  );
}

/** Whether `patterns` name the tensor `name`. */
export const matchesTensor = (patterns: readonly TensorPattern[], name: string): boolean =>
  patterns.some((p) => (typeof p === 'string' ? p === name : p.test(name)));

/** A group's hyperparameters as they apply to tensor `name`: weight decay 0 when it is excluded. */
export function effectiveHyper<H extends { readonly weightDecay: number; readonly excludeFromWeightDecay: readonly TensorPattern[] }>(
  hyper: H,
  name: string,
): H {
  return matchesTensor(hyper.excludeFromWeightDecay, name) ? freezeHyper({ ...hyper, weightDecay: 0 }) : hyper;
}

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
