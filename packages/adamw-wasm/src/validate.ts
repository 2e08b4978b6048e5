/**
 * The one validation module: every check of caller input, for optimizers, schedules and the
 * state format. Each failure is a TypeError (wrong type, unknown key) or RangeError (value out of
 * range) whose message is `who: path must be rule (got value)`, and happens before any
 * allocation or change.
 */

/**
 * A short, unambiguous description of an offending value: strings quoted ('0.5' is not 0.5),
 * bigints with their n, -0 as -0; objects by kind, never by calling anything of theirs.
 */
export function show(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (value === null) return 'null';
  const tag = typedArrayTag(value);
  if (tag !== undefined) return `a ${tag}`;
  try {
    // Proxies and getters can run code here; this is only a message, so any failure is ignored.
    if (Array.isArray(value)) return `an array of length ${(value as unknown[]).length}`;
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  } catch {
    return 'an object';
  }
}

/** Messages start with `who: ` (nothing when `who` is empty). */
export const prefix = (who: string): string => (who ? `${who}: ` : '');

export function typeError(who: string, path: string, rule: string, got: unknown): never {
  throw new TypeError(`${prefix(who)}${path} must be ${rule} (got ${show(got)})`);
}

export function rangeError(who: string, path: string, rule: string, got: unknown): never {
  throw new RangeError(`${prefix(who)}${path} must be ${rule} (got ${show(got)})`);
}

export function checkPlainObject(who: string, path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) typeError(who, path, 'an object', value);
  return value as Record<string, unknown>;
}

/** Unknown names are almost always typos (`weight_decay`, `beta1`): refuse them. An empty `path` names keys bare. */
export function checkKnownKeys(who: string, path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${prefix(who)}unknown option ${path ? `${path}.` : ''}${key}; known options are ${known.join(', ')}`);
    }
  }
}

/** An options bag of a schedule factory: a plain object of known keys, named bare in errors. */
export function checkOptions(who: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  const options = checkPlainObject(who, 'options', value);
  checkKnownKeys(who, '', options, known);
  return options;
}

/** Counts, sizes and steps: integers from `min`, and safe, so that arithmetic on them stays exact. */
export function checkInteger(who: string, path: string, value: unknown, min: number, rule = `an integer >= ${min}`): number {
  if (typeof value !== 'number') typeError(who, path, rule, value);
  if (!Number.isInteger(value) || value < min) rangeError(who, path, rule, value);
  if (value > Number.MAX_SAFE_INTEGER) rangeError(who, path, '<= Number.MAX_SAFE_INTEGER', value);
  return value;
}

/** `undefined` counts as absent, so `{ etaMin: maybeUndefined }` from JS gets the default. */
export function optional<T>(value: unknown, fallback: T, check: (v: unknown) => T): T {
  return value === undefined ? fallback : check(value);
}

function checkNumber(who: string, path: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, path, 'a number', value);
  if (Number.isNaN(value)) rangeError(who, path, 'a number, not NaN', value);
  if (!Number.isFinite(value)) rangeError(who, path, 'finite', value);
  return value;
}

/** −0, once accepted, is 0: a saved state (JSON) could not keep the sign, and resuming must be exact. */
const unsignedZero = (x: number): number => (x === 0 ? 0 : x);

/** The largest finite float32: kernels see every hyperparameter rounded to f32. */
export const F32_MAX = 3.4028234663852886e38;

/** lr, eps, weightDecay, momentum: ≥ 0 and finite as a float32. */
export function checkNonNegative(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (x < 0) rangeError(who, path, '>= 0', x);
  if (x > F32_MAX) rangeError(who, path, `at most ${F32_MAX} (the largest float32)`, x);
  return unsignedZero(x);
}

/** A β in [0, 1), as torch requires. */
export function checkBeta(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (!(x >= 0 && x < 1)) rangeError(who, path, 'in [0, 1)', x);
  return unsignedZero(x);
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
  return checkInteger(who, path, value, 1, 'a positive integer');
}

/** More dimensions than any framework allows (PyTorch and NumPy stop at 64): a bound, so a huge sparse array is refused at once. */
export const MAX_DIMS = 64;

/** A tensor's shape: an array of at most MAX_DIMS safe integers >= 0; a frozen copy. */
export function checkShape(who: string, path: string, value: unknown): readonly number[] {
  if (!Array.isArray(value)) typeError(who, path, 'an array of dimensions (integers >= 0)', value);
  if (value.length > MAX_DIMS) rangeError(who, `${path}.length`, `at most ${MAX_DIMS} (dimensions)`, value.length);
  // Array.from visits holes (as undefined, refused), which map would skip.
  return Object.freeze(Array.from(value as unknown[], (d, i) => checkInteger(who, `${path}[${i}]`, d, 0)));
}

/** Elements of a tensor of this shape (1 for a scalar, `[]`). */
/** product(shape); a 0 anywhere wins even over a product that overflowed to Infinity. */
export const shapeSize = (shape: readonly number[]): number => (shape.includes(0) ? 0 : shape.reduce((n, d) => n * d, 1));

/** Throws unless `shape` holds `size` elements (or, with no size to meet, at least one). */
export function checkShapeHolds(who: string, path: string, shape: readonly number[], size: number | undefined): void {
  const elements = shapeSize(shape);
  if (size === undefined ? elements >= 1 : elements === size) return;
  const rule = size === undefined ? 'dimensions whose product is at least 1 (a tensor has at least one element)' : `dimensions whose product is the tensor's size, ${size}`;
  throw new RangeError(`${prefix(who)}${path} must have ${rule} (got [${shape.join(', ')}], ${elements} elements)`);
}

/**
 * Initial parameters: a Float32Array of finite values. The values are copied first and the copy
 * is checked, so nothing the caller does meanwhile (a shared buffer another thread writes, a
 * subclass with a lying `length`) can slip a value past the check.
 */
export function checkInit(who: string, path: string, value: unknown): Float32Array {
  if (typedArrayTag(value) !== 'Float32Array') typeError(who, path, 'a Float32Array (convert with Float32Array.from(values))', value);
  // The built-in length: 0 for a detached buffer, which the copy below would throw on.
  if (TYPED_ARRAY.length.call(value) === 0) rangeError(who, `${path}.length`, 'at least 1', 0);
  const copy = new Float32Array(value as Float32Array);
  for (let i = 0; i < copy.length; i++) {
    if (!Number.isFinite(copy[i])) rangeError(who, `${path}[${i}]`, 'finite', copy[i]);
  }
  return copy;
}

/**
 * A state blob as a plain Uint8Array over the caller's bytes, read through the built-in
 * accessors (a subclass or a Proxy cannot lie about its length); copied when it lives in
 * shared memory, which another thread could change between the checks and the reads.
 */
export function ownBytes(who: string, path: string, value: unknown): Uint8Array {
  if (typedArrayTag(value) !== 'Uint8Array') typeError(who, path, 'a Uint8Array', value);
  const bytes = typedArrayBytes(value as Uint8Array);
  // A detached buffer reads as empty: a truncated state.
  return Object.prototype.toString.call(bytes.buffer) === '[object SharedArrayBuffer]' ? bytes.slice() : bytes;
}

/** A Uint8Array over a typed array's bytes, from the built-in accessors; empty for a detached buffer (no view over it can be made). */
export function typedArrayBytes(value: ArrayBufferView): Uint8Array {
  const length = TYPED_ARRAY.byteLength.call(value) as number;
  return length === 0 ? new Uint8Array(0) : new Uint8Array(TYPED_ARRAY.buffer.call(value) as ArrayBufferLike, TYPED_ARRAY.byteOffset.call(value) as number, length);
}

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const builtinGetter = (key: PropertyKey): ((this: unknown) => unknown) =>
  Object.getOwnPropertyDescriptor(typedArrayPrototype, key)!.get as (this: unknown) => unknown;
/** The typed arrays' own accessors, taken before any caller code runs. */
const TYPED_ARRAY = {
  tag: builtinGetter(Symbol.toStringTag),
  buffer: builtinGetter('buffer'),
  byteOffset: builtinGetter('byteOffset'),
  byteLength: builtinGetter('byteLength'),
  length: builtinGetter('length'),
};

/** A real typed array's length from the built-in accessor (a subclass's `length` getter may lie). */
export const typedArrayLength = (value: unknown): number => TYPED_ARRAY.length.call(value) as number;

/** 'Float32Array', 'Uint8Array', … for a real typed array (subclasses included, Proxies not), else undefined. */
export function typedArrayTag(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? (TYPED_ARRAY.tag.call(value) as string | undefined) : undefined;
}

/** clipGradNorm: > 0 and finite as a float32. */
export function checkPositive(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (!(x > 0)) rangeError(who, path, '> 0', x);
  if (x > F32_MAX) rangeError(who, path, `at most ${F32_MAX} (the largest float32)`, x);
  return x;
}

/** dampening: in [0, 1]. */
export function checkUnitInterval(who: string, path: string, value: unknown): number {
  const x = checkNumber(who, path, value);
  if (!(x >= 0 && x <= 1)) rangeError(who, path, 'in [0, 1]', x);
  return unsignedZero(x);
}

/** A schedule: a function of the number of completed steps (see `schedules`). */
export function checkSchedule<F extends (t: number) => number>(who: string, path: string, value: unknown): F {
  if (typeof value !== 'function') typeError(who, path, 'a function (completedSteps) => multiplier, e.g. from schedules', value);
  return value as F;
}

/** Multipliers relative to the base lr (startFactor, endFactor, etaMin): in [0, 1]. */
export const checkFactor = checkUnitInterval;

/** What every returned schedule checks: t is a count of completed steps. */
export function checkStep(who: string, t: unknown): number {
  return checkInteger(`${who} schedule`, 'completedSteps', t, 0);
}
