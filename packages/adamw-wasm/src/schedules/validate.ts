/**
 * Argument checks for the schedule factories. Same message shape as the optimizers'
 * (`who: name must be rule (got value)`): wrong type → TypeError, wrong value → RangeError.
 * Kept local so the schedules stay a self-contained, dependency-free module.
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

export function typeError(who: string, name: string, rule: string, got: unknown): never {
  throw new TypeError(`${who}: ${name} must be ${rule} (got ${show(got)})`);
}

export function rangeError(who: string, name: string, rule: string, got: unknown): never {
  throw new RangeError(`${who}: ${name} must be ${rule} (got ${show(got)})`);
}

/** The options bag: a plain object whose keys are all known (unknown keys are usually typos). */
export function checkOptions(who: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) typeError(who, 'options', 'an object', value);
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new TypeError(`${who}: unknown option ${key}; known options are ${known.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

function checkNumber(who: string, name: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, name, 'a number', value);
  if (!Number.isFinite(value)) rangeError(who, name, 'finite', value);
  return value;
}

/** Step counts: integers (torch requires ints), safe so that t - start stays exact. */
export function checkInteger(who: string, name: string, value: unknown, min: number): number {
  if (typeof value !== 'number') typeError(who, name, `an integer >= ${min}`, value);
  if (!Number.isInteger(value) || value < min) rangeError(who, name, `an integer >= ${min}`, value);
  if (value > Number.MAX_SAFE_INTEGER) rangeError(who, name, '<= Number.MAX_SAFE_INTEGER', value);
  return value;
}

/** Multipliers relative to the base lr (startFactor, endFactor, etaMin): in [0, 1]. */
export function checkFactor(who: string, name: string, value: unknown): number {
  const x = checkNumber(who, name, value);
  if (!(x >= 0 && x <= 1)) rangeError(who, name, 'in [0, 1]', x);
  return x;
}

export function checkPositive(who: string, name: string, value: unknown): number {
  const x = checkNumber(who, name, value);
  if (!(x > 0)) rangeError(who, name, '> 0', x);
  return x;
}

export function checkNonNegative(who: string, name: string, value: unknown): number {
  const x = checkNumber(who, name, value);
  if (!(x >= 0)) rangeError(who, name, '>= 0', x);
  return x;
}

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
