/** Error construction shared by the state encoder and decoder: every message starts with `who: `. */

export function prefix(who: string): string {
  return who ? `${who}: ` : '';
}

/** A short description of an offending value for error messages. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

export function typeError(who: string, path: string, rule: string, got: unknown): never {
  throw new TypeError(`${prefix(who)}${path} must be ${rule} (got ${show(got)})`);
}

export function rangeError(who: string, path: string, rule: string, got: unknown): never {
  throw new RangeError(`${prefix(who)}${path} must be ${rule} (got ${show(got)})`);
}

export function plainObject(who: string, path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) typeError(who, path, 'an object', value);
  return value as Record<string, unknown>;
}

/** A step count or an array size: a safe integer ≥ 0. */
export function count(who: string, path: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, path, 'a number', value);
  if (!Number.isSafeInteger(value) || value < 0) rangeError(who, path, 'an integer >= 0', value);
  return value;
}
