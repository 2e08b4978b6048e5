/**
 * Argument checks for the schedule factories, on top of the optimizers' primitives (same
 * message shape, `who: name must be rule (got value)`): wrong type → TypeError, wrong value →
 * RangeError.
 */

export { typeError, rangeError, checkNonNegative, checkPositive, F32_MAX } from '../optimizers/validate.js';
import { checkUnitInterval, rangeError, typeError } from '../optimizers/validate.js';

/** The options bag: a plain object whose keys are all known (unknown keys are usually typos). */
export function checkOptions(who: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) typeError(who, 'options', 'an object', value);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TypeError(`${who}: unknown option ${key}; known options are ${known.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

/** Step counts: integers (torch requires ints), safe so that t - start stays exact. */
export function checkInteger(who: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number') typeError(who, name, `an integer >= ${min}`, value);
  if (!Number.isInteger(value) || value < min) rangeError(who, name, `an integer >= ${min}`, value);
  if (value > Number.MAX_SAFE_INTEGER) rangeError(who, name, '<= Number.MAX_SAFE_INTEGER', value);
  return value;
}

/** Multipliers relative to the base lr (startFactor, endFactor, etaMin): in [0, 1]. */
export const checkFactor = checkUnitInterval;

/** `undefined` counts as absent, so `{ etaMin: maybeUndefined }` from JS gets the default. */
export function optional<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}

/** Every returned schedule checks its step count: t is a count of completed steps. */
export function checkStep(who: string, t: unknown): number {
  if (typeof t !== 'number') typeError(`${who} schedule`, 'completedSteps', 'an integer >= 0', t);
  if (!Number.isInteger(t) || t < 0) rangeError(`${who} schedule`, 'completedSteps', 'an integer >= 0', t);
  if (t > Number.MAX_SAFE_INTEGER) rangeError(`${who} schedule`, 'completedSteps', '<= Number.MAX_SAFE_INTEGER', t);
  return t;
}
