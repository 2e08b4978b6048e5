/** Checks a parsed version-1 header JSON value field by field; the byte layout is checked in decode.ts. */
import { checkInteger, checkPlainObject, prefix, typeError } from '../validate.js';
import { checkJson } from './json.js';
import type { JsonValue } from './types.js';

export interface HeaderArray {
  name: string;
  offset: number;
}

export interface HeaderGroup {
  size: number;
  stepCount: number;
  hyperparameters: { [k: string]: JsonValue };
  arrays: HeaderArray[];
}

export interface Header {
  optimizer: string;
  stepCount: number;
  options: { [k: string]: JsonValue };
  includesParams: boolean;
  groups: HeaderGroup[];
}

/** `value` as an object with exactly the fields `keys`. */
function record(who: string, path: string, value: unknown, keys: readonly string[]): Record<string, unknown> {
  const obj = checkPlainObject(who, path, value);
  for (const key of keys) {
    if (!Object.hasOwn(obj, key)) throw new TypeError(`${prefix(who)}${path} is missing the field '${key}'`);
  }
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) throw new TypeError(`${prefix(who)}${path} has an unknown field '${key}' (version 1 has ${keys.join(', ')})`);
  }
  return obj;
}

function jsonObject(who: string, path: string, value: unknown): { [k: string]: JsonValue } {
  // JSON.parse gives JSON values, except that a literal like 1e999 becomes Infinity.
  return checkJson(who, path, checkPlainObject(who, path, value)) as { [k: string]: JsonValue };
}

function array(who: string, path: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) typeError(who, path, 'an array', value);
  return value;
}

function checkGroup(who: string, path: string, value: unknown, includesParams: boolean): HeaderGroup {
  const g = record(who, path, value, ['size', 'stepCount', 'hyperparameters', 'arrays']);
  const size = checkInteger(who, `${path}.size`, g.size, 0);
  const stepCount = checkInteger(who, `${path}.stepCount`, g.stepCount, 0);
  const hyperparameters = jsonObject(who, `${path}.hyperparameters`, g.hyperparameters);
  const names = new Set<string>();
  const arrays = array(who, `${path}.arrays`, g.arrays).map((entry, j): HeaderArray => {
    const p = `${path}.arrays[${j}]`;
    const a = record(who, p, entry, ['name', 'offset']);
    if (typeof a.name !== 'string' || a.name === '') typeError(who, `${p}.name`, 'a non-empty string', a.name);
    if (names.has(a.name)) throw new TypeError(`${prefix(who)}${p}.name ${JSON.stringify(a.name)} repeats an earlier array name of the group`);
    names.add(a.name);
    return { name: a.name, offset: checkInteger(who, `${p}.offset`, a.offset, 0) };
  });
  if (names.has('params') !== includesParams) {
    throw new TypeError(`${prefix(who)}${path} ${includesParams ? 'lacks' : 'has'} a 'params' array but header.includesParams is ${includesParams}`);
  }
  return { size, stepCount, hyperparameters, arrays };
}

export function checkHeader(who: string, value: unknown): Header {
  const h = record(who, 'header', value, ['optimizer', 'stepCount', 'options', 'includesParams', 'groups']);
  if (typeof h.optimizer !== 'string' || h.optimizer === '') typeError(who, 'header.optimizer', 'a non-empty string', h.optimizer);
  const stepCount = checkInteger(who, 'header.stepCount', h.stepCount, 0);
  const options = jsonObject(who, 'header.options', h.options);
  if (typeof h.includesParams !== 'boolean') typeError(who, 'header.includesParams', 'a boolean', h.includesParams);
  const includesParams = h.includesParams;
  const groups = array(who, 'header.groups', h.groups).map((g, i) => checkGroup(who, `header.groups[${i}]`, g, includesParams));
  return { optimizer: h.optimizer, stepCount, options, includesParams, groups };
}
