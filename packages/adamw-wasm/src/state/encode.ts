/** encodeState: checks an OptimizerState and writes it as one self-checking blob (docs/state-format.md). */
import { crc32 } from './crc32.js';
import { checkInteger, checkPlainObject, prefix, rangeError, typeError } from '../validate.js';
import { writeFloat32LE } from './float32.js';
import { canonicalJson, checkJson } from './json.js';
import {
  align, CRC_BYTES, MAGIC, OFFSET_HEADER_LENGTH, OFFSET_TOTAL_LENGTH, OFFSET_VERSION, PREFIX_BYTES, STATE_FORMAT_VERSION,
} from './layout.js';
import type { JsonValue, OptimizerState } from './types.js';

interface CheckedGroup {
  size: number;
  stepCount: number;
  hyperparameters: { [k: string]: JsonValue };
  arrays: [name: string, data: Float32Array][];
}

function isFloat32Array(value: unknown): value is Float32Array {
  return value instanceof Float32Array || Object.prototype.toString.call(value) === '[object Float32Array]';
}

function jsonObject(who: string, path: string, value: unknown): { [k: string]: JsonValue } {
  return checkJson(who, path, checkPlainObject(who, path, value)) as { [k: string]: JsonValue };
}

function checkGroup(who: string, path: string, value: unknown, includesParams: boolean): CheckedGroup {
  const g = checkPlainObject(who, path, value);
  const size = checkInteger(who, `${path}.size`, g.size, 0);
  const stepCount = checkInteger(who, `${path}.stepCount`, g.stepCount, 0);
  const hyperparameters = jsonObject(who, `${path}.hyperparameters`, g.hyperparameters);
  const arrays: [string, Float32Array][] = [];
  for (const [name, data] of Object.entries(checkPlainObject(who, `${path}.arrays`, g.arrays))) {
    if (name === '') throw new TypeError(`${prefix(who)}${path}.arrays has an array with an empty name`);
    const p = `${path}.arrays[${JSON.stringify(name)}]`;
    if (!isFloat32Array(data)) typeError(who, p, 'a Float32Array', data);
    if (data.length !== size) rangeError(who, `${p}.length`, `${size}, the group's size`, data.length);
    arrays.push([name, data]);
  }
  const hasParams = arrays.some(([name]) => name === 'params');
  if (hasParams !== includesParams) {
    throw new TypeError(
      `${prefix(who)}${path}.arrays ${hasParams ? 'has' : 'lacks'} 'params' but state.includesParams is ${includesParams}; ` +
        'either every group stores its params or none does',
    );
  }
  return { size, stepCount, hyperparameters, arrays };
}

/**
 * The header JSON for arrays laid out after a header of `headerBytes` bytes, and where each array
 * starts. Keys in a fixed order for the structure, sorted inside options and hyperparameters.
 */
function layOut(state: OptimizerState, groups: CheckedGroup[], headerBytes: number): { text: string; offsets: number[][]; end: number } {
  let cursor = PREFIX_BYTES + headerBytes;
  const offsets = groups.map((g) =>
    g.arrays.map(() => {
      const offset = align(cursor);
      cursor = offset + 4 * g.size;
      return offset;
    }),
  );
  const groupTexts = groups.map((g, i) => {
    const arrays = g.arrays.map(([name], j) => `{"name":${JSON.stringify(name)},"offset":${offsets[i]![j]!}}`);
    return `{"size":${g.size},"stepCount":${g.stepCount},"hyperparameters":${canonicalJson(g.hyperparameters)},"arrays":[${arrays.join(',')}]}`;
  });
  const text =
    `{"optimizer":${JSON.stringify(state.optimizer)},"stepCount":${state.stepCount},"options":${canonicalJson(state.options)},` +
    `"includesParams":${state.includesParams},"groups":[${groupTexts.join(',')}]}`;
  return { text, offsets, end: cursor };
}

/**
 * Encodes `state` as a version-1 state blob. Checks the input first and throws a TypeError or
 * RangeError (prefixed by `who`) naming the offending field. Equal states give identical bytes.
 */
export function encodeState(state: OptimizerState, who = 'encodeState'): Uint8Array {
  const s = checkPlainObject(who, 'state', state);
  if (typeof s.optimizer !== 'string' || s.optimizer === '') typeError(who, 'state.optimizer', 'a non-empty string', s.optimizer);
  checkInteger(who, 'state.stepCount', s.stepCount, 0);
  jsonObject(who, 'state.options', s.options);
  if (typeof s.includesParams !== 'boolean') typeError(who, 'state.includesParams', 'a boolean', s.includesParams);
  if (!Array.isArray(s.groups)) typeError(who, 'state.groups', 'an array', s.groups);
  // Array.from visits holes (as undefined), which map would skip.
  const groups = Array.from(s.groups as unknown[], (g, i) => checkGroup(who, `state.groups[${i}]`, g, state.includesParams));

  // The offsets in the header depend on the header's length; iterate to the (least) fixed point,
  // which takes one or two rounds: a longer header can only push offsets later.
  const encoder = new TextEncoder();
  let headerBytes = 0;
  let laid = layOut(state, groups, headerBytes);
  let header = encoder.encode(laid.text);
  while (align(PREFIX_BYTES + header.length) !== align(PREFIX_BYTES + headerBytes)) {
    headerBytes = header.length;
    laid = layOut(state, groups, headerBytes);
    header = encoder.encode(laid.text);
  }
  if (header.length > 0xffffffff) throw new RangeError(`${prefix(who)}the state header is ${header.length} bytes, over the 4 GiB limit`);
  // With no arrays the checksum follows the header directly.
  const payloadEnd = groups.some((g) => g.arrays.length > 0) ? laid.end : PREFIX_BYTES + header.length;
  const total = payloadEnd + CRC_BYTES;

  let out: Uint8Array;
  try {
    out = new Uint8Array(total);
  } catch (cause) {
    throw new RangeError(`${prefix(who)}cannot allocate ${total} bytes for the encoded state`, { cause });
  }
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint32(OFFSET_VERSION, STATE_FORMAT_VERSION, true);
  view.setUint32(OFFSET_HEADER_LENGTH, header.length, true);
  view.setBigUint64(OFFSET_TOTAL_LENGTH, BigInt(total), true);
  out.set(header, PREFIX_BYTES);
  groups.forEach((g, i) => g.arrays.forEach(([, data], j) => writeFloat32LE(out, laid.offsets[i]![j]!, data)));
  view.setUint32(payloadEnd, crc32(out.subarray(0, payloadEnd)), true);
  return out;
}
