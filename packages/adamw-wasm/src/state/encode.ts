/** encodeState: checks an OptimizerState and writes it as one self-checking blob (docs/state-format.md). */
import { crc32 } from './crc32.js';
import { checkInteger, checkPlainObject, prefix, rangeError, typeError, typedArrayTag } from '../validate.js';
import { writeFloat32LE } from './float32.js';
import { canonicalJson, checkJson } from './json.js';
import {
  align, CRC_BYTES, MAGIC, OFFSET_HEADER_LENGTH, OFFSET_TOTAL_LENGTH, OFFSET_VERSION, PREFIX_BYTES, STATE_FORMAT_VERSION,
} from './layout.js';
import { checkMembership } from './header.js';
import type { JsonValue, OptimizerState, StateGroup } from './types.js';

interface CheckedTensor {
  name: string;
  size: number;
  stepCount: number;
  arrays: [name: string, data: Float32Array][];
}

function jsonObject(who: string, path: string, value: unknown): { [k: string]: JsonValue } {
  return checkJson(who, path, checkPlainObject(who, path, value)) as { [k: string]: JsonValue };
}

function checkGroup(who: string, path: string, value: unknown): StateGroup {
  const g = checkPlainObject(who, path, value);
  if (!Array.isArray(g.tensors)) typeError(who, `${path}.tensors`, 'an array of tensor names', g.tensors);
  const tensors = Array.from(g.tensors as unknown[], (name, j) => {
    if (typeof name !== 'string' || name === '') typeError(who, `${path}.tensors[${j}]`, 'a non-empty string', name);
    return name;
  });
  return { hyperparameters: jsonObject(who, `${path}.hyperparameters`, g.hyperparameters), tensors };
}

function checkTensor(who: string, path: string, value: unknown, includesParams: boolean): CheckedTensor {
  const t = checkPlainObject(who, path, value);
  if (typeof t.name !== 'string' || t.name === '') typeError(who, `${path}.name`, 'a non-empty string', t.name);
  const size = checkInteger(who, `${path}.size`, t.size, 0);
  const stepCount = checkInteger(who, `${path}.stepCount`, t.stepCount, 0);
  const arrays: [string, Float32Array][] = [];
  for (const [name, data] of Object.entries(checkPlainObject(who, `${path}.arrays`, t.arrays))) {
    if (name === '') throw new TypeError(`${prefix(who)}${path}.arrays has an array with an empty name`);
    const p = `${path}.arrays[${JSON.stringify(name)}]`;
    if (typedArrayTag(data) !== 'Float32Array') typeError(who, p, 'a Float32Array', data);
    if ((data as Float32Array).length !== size) rangeError(who, `${p}.length`, `${size}, the tensor's size`, (data as Float32Array).length);
    arrays.push([name, data as Float32Array]);
  }
  const hasParams = arrays.some(([name]) => name === 'params');
  if (hasParams !== includesParams) {
    throw new TypeError(
      `${prefix(who)}${path}.arrays ${hasParams ? 'has' : 'lacks'} 'params' but state.includesParams is ${includesParams}; ` +
        'either every tensor stores its params or none does',
    );
  }
  return { name: t.name, size, stepCount, arrays };
}

/**
 * The header JSON for arrays laid out after a header of `headerBytes` bytes, and where each array
 * starts. Keys in a fixed order for the structure, sorted inside options and hyperparameters.
 */
function layOut(state: OptimizerState, groups: StateGroup[], tensors: CheckedTensor[], headerBytes: number): { text: string; offsets: number[][]; end: number } {
  let cursor = PREFIX_BYTES + headerBytes;
  const offsets = tensors.map((t) =>
    t.arrays.map(() => {
      const offset = align(cursor);
      cursor = offset + 4 * t.size;
      return offset;
    }),
  );
  const groupTexts = groups.map((g) => `{"hyperparameters":${canonicalJson(g.hyperparameters)},"tensors":${JSON.stringify(g.tensors)}}`);
  const tensorTexts = tensors.map((t, i) => {
    const arrays = t.arrays.map(([name], j) => `{"name":${JSON.stringify(name)},"offset":${offsets[i]![j]!}}`);
    return `{"name":${JSON.stringify(t.name)},"size":${t.size},"stepCount":${t.stepCount},"arrays":[${arrays.join(',')}]}`;
  });
  const text =
    `{"optimizer":${JSON.stringify(state.optimizer)},"stepCount":${state.stepCount},"options":${canonicalJson(state.options)},` +
    `"includesParams":${state.includesParams},"groups":[${groupTexts.join(',')}],"tensors":[${tensorTexts.join(',')}]}`;
  return { text, offsets, end: cursor };
}

/**
 * Encodes `state` as a version-2 state blob. Checks the input first and throws a TypeError or
 * RangeError (prefixed by `who`) naming the offending field. Equal states give identical bytes.
 */
export function encodeState(state: OptimizerState, who = 'encodeState'): Uint8Array {
  const s = checkPlainObject(who, 'state', state);
  if (typeof s.optimizer !== 'string' || s.optimizer === '') typeError(who, 'state.optimizer', 'a non-empty string', s.optimizer);
  checkInteger(who, 'state.stepCount', s.stepCount, 0);
  jsonObject(who, 'state.options', s.options);
  if (typeof s.includesParams !== 'boolean') typeError(who, 'state.includesParams', 'a boolean', s.includesParams);
  if (!Array.isArray(s.groups)) typeError(who, 'state.groups', 'an array', s.groups);
  if (!Array.isArray(s.tensors)) typeError(who, 'state.tensors', 'an array', s.tensors);
  // Array.from visits holes (as undefined), which map would skip.
  const groups = Array.from(s.groups as unknown[], (g, i) => checkGroup(who, `state.groups[${i}]`, g));
  const tensors = Array.from(s.tensors as unknown[], (t, i) => checkTensor(who, `state.tensors[${i}]`, t, state.includesParams));
  checkMembership(who, 'state', groups, tensors);

  // The offsets in the header depend on the header's length; iterate to the (least) fixed point,
  // which takes one or two rounds: a longer header can only push offsets later.
  const encoder = new TextEncoder();
  let headerBytes = 0;
  let laid = layOut(state, groups, tensors, headerBytes);
  let header = encoder.encode(laid.text);
  while (align(PREFIX_BYTES + header.length) !== align(PREFIX_BYTES + headerBytes)) {
    headerBytes = header.length;
    laid = layOut(state, groups, tensors, headerBytes);
    header = encoder.encode(laid.text);
  }
  if (header.length > 0xffffffff) throw new RangeError(`${prefix(who)}the state header is ${header.length} bytes, over the 4 GiB limit`);
  // With no arrays the checksum follows the header directly.
  const payloadEnd = tensors.some((t) => t.arrays.length > 0) ? laid.end : PREFIX_BYTES + header.length;
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
  tensors.forEach((t, i) => t.arrays.forEach(([, data], j) => writeFloat32LE(out, laid.offsets[i]![j]!, data)));
  view.setUint32(payloadEnd, crc32(out.subarray(0, payloadEnd)), true);
  return out;
}
