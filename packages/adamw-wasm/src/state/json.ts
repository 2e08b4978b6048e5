/**
 * The JSON values stored in a state header (options, hyperparameters): checked strictly, since
 * JSON.stringify would silently drop `undefined` and functions and turn NaN/±Infinity into null,
 * and written canonically (object keys sorted) so that equal states encode to identical bytes.
 */
import { typeError } from '../validate.js';
import type { JsonValue } from './types.js';

const MAX_DEPTH = 64;

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Throws unless `value` is a JSON value that survives JSON.stringify → JSON.parse unchanged (up to -0 → 0). */
export function checkJson(who: string, path: string, value: unknown, depth = 0): JsonValue {
  if (depth > MAX_DEPTH) typeError(who, path, `nested at most ${MAX_DEPTH} deep (a cycle?)`, value);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) typeError(who, path, 'a finite number (JSON has no NaN or Infinity)', value);
      return value;
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) checkJson(who, `${path}[${i}]`, value[i], depth + 1);
        return value as JsonValue[];
      }
      if (!isPlainObject(value)) typeError(who, path, 'a JSON value (plain object, array, string, finite number, boolean or null)', value);
      for (const [k, v] of Object.entries(value)) checkJson(who, `${path}.${k}`, v, depth + 1);
      return value as { [k: string]: JsonValue };
    }
    default:
      return typeError(who, path, 'a JSON value (plain object, array, string, finite number, boolean or null)', value);
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON text of a value already passed through `checkJson`: no whitespace, object keys sorted by UTF-16 code units. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort(compareKeys);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k]!)}`).join(',')}}`;
}
