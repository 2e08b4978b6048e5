/**
 * Checks a parsed header JSON value (format version 1 or 2) field by field and returns it in
 * version 2's terms; the byte layout is checked in decode.ts.
 */
import { checkInteger, checkPlainObject, prefix, typeError } from '../validate.js';
import { checkJson } from './json.js';
import type { JsonValue, StateGroup } from './types.js';

export interface HeaderArray {
  name: string;
  offset: number;
}

export interface HeaderTensor {
  name: string;
  size: number;
  stepCount: number;
  arrays: HeaderArray[];
}

export interface Header {
  optimizer: string;
  stepCount: number;
  options: { [k: string]: JsonValue };
  includesParams: boolean;
  groups: StateGroup[];
  /** Arrays are laid out tensor by tensor, in this order. */
  tensors: HeaderTensor[];
}

/** `value` as an object with exactly the fields `keys`. */
function record(who: string, path: string, value: unknown, keys: readonly string[], version: number): Record<string, unknown> {
  const obj = checkPlainObject(who, path, value);
  for (const key of keys) {
    if (!Object.hasOwn(obj, key)) throw new TypeError(`${prefix(who)}${path} is missing the field '${key}'`);
  }
  for (const key of Object.keys(obj)) {
    if (!keys.includes(key)) throw new TypeError(`${prefix(who)}${path} has an unknown field '${key}' (version ${version} has ${keys.join(', ')})`);
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

function checkName(who: string, path: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') typeError(who, path, 'a non-empty string', value);
  return value;
}

/** size, stepCount and arrays of a tensor (a group, in version 1). */
function checkArrays(who: string, path: string, entry: Record<string, unknown>, includesParams: boolean): Omit<HeaderTensor, 'name'> {
  const size = checkInteger(who, `${path}.size`, entry.size, 0);
  const stepCount = checkInteger(who, `${path}.stepCount`, entry.stepCount, 0);
  const names = new Set<string>();
  const arrays = array(who, `${path}.arrays`, entry.arrays).map((item, j): HeaderArray => {
    const p = `${path}.arrays[${j}]`;
    const a = record(who, p, item, ['name', 'offset'], 2);
    const name = checkName(who, `${p}.name`, a.name);
    if (names.has(name)) throw new TypeError(`${prefix(who)}${p}.name ${JSON.stringify(name)} repeats an earlier array name of the same tensor`);
    names.add(name);
    return { name, offset: checkInteger(who, `${p}.offset`, a.offset, 0) };
  });
  if (names.has('params') !== includesParams) {
    throw new TypeError(`${prefix(who)}${path} ${includesParams ? 'lacks' : 'has'} a 'params' array but header.includesParams is ${includesParams}`);
  }
  return { size, stepCount, arrays };
}

const TOP = ['optimizer', 'stepCount', 'options', 'includesParams', 'groups'];

export function checkHeader(who: string, value: unknown, version: number): Header {
  const h = record(who, 'header', value, version === 1 ? TOP : [...TOP, 'tensors'], version);
  if (typeof h.optimizer !== 'string' || h.optimizer === '') typeError(who, 'header.optimizer', 'a non-empty string', h.optimizer);
  const stepCount = checkInteger(who, 'header.stepCount', h.stepCount, 0);
  const options = jsonObject(who, 'header.options', h.options);
  if (typeof h.includesParams !== 'boolean') typeError(who, 'header.includesParams', 'a boolean', h.includesParams);
  const includesParams = h.includesParams;
  const top = { optimizer: h.optimizer, stepCount, options, includesParams };
  if (version === 1) {
    // Version 1: one array set per group; its tensor is named after the group, as the optimizers name a one-tensor group.
    const entries = array(who, 'header.groups', h.groups).map((g, i) => {
      const path = `header.groups[${i}]`;
      const entry = record(who, path, g, ['size', 'stepCount', 'hyperparameters', 'arrays'], 1);
      return { hyperparameters: jsonObject(who, `${path}.hyperparameters`, entry.hyperparameters), tensor: { name: `groups[${i}]`, ...checkArrays(who, path, entry, includesParams) } };
    });
    return { ...top, groups: entries.map((e) => ({ hyperparameters: e.hyperparameters, tensors: [e.tensor.name] })), tensors: entries.map((e) => e.tensor) };
  }
  const tensors = array(who, 'header.tensors', h.tensors).map((t, i): HeaderTensor => {
    const path = `header.tensors[${i}]`;
    const entry = record(who, path, t, ['name', 'size', 'stepCount', 'arrays'], 2);
    return { name: checkName(who, `${path}.name`, entry.name), ...checkArrays(who, path, entry, includesParams) };
  });
  const groups = array(who, 'header.groups', h.groups).map((g, i): StateGroup => {
    const path = `header.groups[${i}]`;
    const entry = record(who, path, g, ['hyperparameters', 'tensors'], 2);
    return {
      hyperparameters: jsonObject(who, `${path}.hyperparameters`, entry.hyperparameters),
      tensors: array(who, `${path}.tensors`, entry.tensors).map((name, j) => checkName(who, `${path}.tensors[${j}]`, name)),
    };
  });
  checkMembership(who, 'header', groups, tensors);
  return { ...top, groups, tensors };
}

/** Tensor names are unique, and every tensor is listed by exactly one group. */
export function checkMembership(who: string, path: string, groups: readonly StateGroup[], tensors: readonly { name: string }[]): void {
  const index = new Map<string, number>();
  tensors.forEach((t, i) => {
    if (index.has(t.name)) throw new TypeError(`${prefix(who)}${path}.tensors[${i}].name ${JSON.stringify(t.name)} repeats ${path}.tensors[${index.get(t.name)}]'s`);
    index.set(t.name, i);
  });
  const owner = new Map<string, number>();
  groups.forEach((g, k) =>
    g.tensors.forEach((name, j) => {
      if (!index.has(name)) throw new TypeError(`${prefix(who)}${path}.groups[${k}].tensors[${j}] names no tensor (${JSON.stringify(name)})`);
      if (owner.has(name)) throw new TypeError(`${prefix(who)}${path}.groups[${k}].tensors[${j}] ${JSON.stringify(name)} is already in ${path}.groups[${owner.get(name)}]`);
      owner.set(name, k);
    }),
  );
  const orphans = tensors.filter((t) => !owner.has(t.name)).map((t) => JSON.stringify(t.name));
  if (orphans.length > 0) throw new TypeError(`${prefix(who)}${path}.tensors ${orphans.join(', ')} belong to no group`);
}
