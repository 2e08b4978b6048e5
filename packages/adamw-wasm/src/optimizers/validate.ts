/**
 * Input checks shared by every optimizer. Each failure names the parameter (as a path such as
 * `groups[1].betas[0]`), the rule and the offending value, and happens before any allocation.
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

export function typeError(who: string, path: string, rule: string, got: unknown): never {
  throw new TypeError(`${who}: ${path} must be ${rule} (got ${show(got)})`);
}

export function rangeError(who: string, path: string, rule: string, got: unknown): never {
  throw new RangeError(`${who}: ${path} must be ${rule} (got ${show(got)})`);
}

export function checkPlainObject(who: string, path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) typeError(who, path, 'an object', value);
  return value as Record<string, unknown>;
}

/** Unknown names are almost always typos (`weight_decay`, `beta1`): refuse them. */
export function checkKnownKeys(who: string, path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${who}: unknown option ${path}.${key}; known options are ${known.join(', ')}`);
    }
  }
}

function checkNumber(who: string, path: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, path, 'a number', value);
  if (Number.isNaN(value)) rangeError(who, path, 'a number, not NaN', value);
  if (!Number.isFinite(value)) rangeError(who, path, 'finite', value);
  return value;
}

/** lr, eps, weightDecay: finite and ≥ 0. */
export function checkNonNegative(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (x < 0) rangeError(who, path, '>= 0', x);
  return x;
}

/** A β in [0, 1), as torch requires. */
export function checkBeta(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (!(x >= 0 && x < 1)) rangeError(who, path, 'in [0, 1)', x);
  return x;
}

export function checkBetas(who: string, path: string, value: unknown): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2) typeError(who, path, 'a pair [beta1, beta2]', value);
  return [checkBeta(who, `${path}[0]`, value[0]), checkBeta(who, `${path}[1]`, value[1])];
}

export function checkBoolean(who: string, path: string, value: unknown): boolean {
  if (typeof value !== 'boolean') typeError(who, path, 'true or false', value);
  return value;
}

export function checkOneOf<T extends string>(who: string, path: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    typeError(who, path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

export function checkSize(who: string, path: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, path, 'a positive integer', value);
  if (!Number.isInteger(value) || value < 1) rangeError(who, path, 'a positive integer', value);
  return value;
}

/** Initial parameters: a Float32Array of finite values (it is copied, never kept). */
export function checkInit(who: string, path: string, value: unknown): Float32Array {
  if (!(value instanceof Float32Array)) {
    typeError(who, path, 'a Float32Array (convert with Float32Array.from(values))', value);
  }
  if (value.length === 0) rangeError(who, `${path}.length`, 'at least 1', 0);
  for (let i = 0; i < value.length; i++) {
    if (!Number.isFinite(value[i])) rangeError(who, `${path}[${i}]`, 'finite', value[i]);
  }
  return value;
}

/** clipGradNorm: finite and > 0. */
export function checkPositive(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (!(x > 0)) rangeError(who, path, '> 0', x);
  return x;
}

/** dampening: in [0, 1]. */
export function checkUnitInterval(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (!(x >= 0 && x <= 1)) rangeError(who, path, 'in [0, 1]', x);
  return x;
}

/** A schedule: a function of the number of completed steps (see `schedules`). */
export function checkSchedule<F extends (t: number) => number>(who: string, path: string, value: unknown): F {
  if (typeof value !== 'function') typeError(who, path, 'a function (completedSteps) => multiplier, e.g. from schedules', value);
  return value as F;
}
