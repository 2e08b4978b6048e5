/** The state format's checks, on the one error idiom of optimizers/validate.ts: every message starts with `who: `. */
import { checkPlainObject, rangeError, typeError } from '../optimizers/validate.js';

export { prefix, rangeError, show, typeError } from '../optimizers/validate.js';
export const plainObject = checkPlainObject;

/** A step count or an array size: a safe integer ≥ 0. */
export function count(who: string, path: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, path, 'a number', value);
  if (!Number.isSafeInteger(value) || value < 0) rangeError(who, path, 'an integer >= 0', value);
  return value;
}
