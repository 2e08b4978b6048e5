/**
 * The safetensors container (docs/safetensors.md, "The container"), without dependencies: a writer
 * whose output is the reference implementation's byte for byte (given the tensors in the order it writes them), and a reader
 * that checks everything before returning views of the caller's bytes.
 */
import { checkInteger, checkKnownKeys, checkOneOf, checkPlainObject, checkShape, ownBytes, prefix, shapeSize, typeError, typedArrayBytes, typedArrayLength, typedArrayTag } from '../validate.js';
import { HOST_LITTLE_ENDIAN, readFloat32LE } from './float32.js';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** A tensor as stored: `data` holds its raw little-endian bytes, row-major. */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/**
 * A Float32Array (F32, shape [length]), or `{ dtype, shape, data }` with `data` a Uint8Array of raw
 * little-endian bytes or the typed array of the dtype (Uint16Array bit patterns for F16 and BF16).
 */
export type SafetensorsInput = Float32Array | { readonly dtype: SafetensorsDtype; readonly shape: readonly number[]; readonly data: ArrayBufferView };

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Bytes per element, and the typed array that holds the dtype's elements. */
const DTYPES: { readonly [D in SafetensorsDtype]: readonly [number, string] } = {
  F64: [8, 'Float64Array'], F32: [4, 'Float32Array'], F16: [2, 'Uint16Array'], BF16: [2, 'Uint16Array'], I64: [8, 'BigInt64Array'],
  I32: [4, 'Int32Array'], I16: [2, 'Int16Array'], I8: [1, 'Int8Array'], U8: [1, 'Uint8Array'], BOOL: [1, 'Uint8Array'],
};
const DTYPE_NAMES = Object.keys(DTYPES) as SafetensorsDtype[];
const METADATA = '__metadata__';
const ENTRY_KEYS = ['dtype', 'shape', 'data_offsets'];
/** The reference implementation's cap, checked before anything is decoded. */
const MAX_HEADER = 100_000_000;

const showShape = (shape: readonly number[]): string => `[${shape.join(', ')}]`;


function checkInput(who: string, path: string, value: unknown): { dtype: SafetensorsDtype; shape: readonly number[]; bytes: Uint8Array; swap: number } {
  const kind = typedArrayTag(value);
  if (kind === 'Float32Array') return { dtype: 'F32', shape: [typedArrayLength(value)], bytes: typedArrayBytes(value as Float32Array), swap: 4 };
  if (kind !== undefined) typeError(who, path, 'a Float32Array or { dtype, shape, data }', value);
  const t = checkPlainObject(who, path, value);
  checkKnownKeys(who, path, t, ['dtype', 'shape', 'data']);
  const dtype = checkOneOf(who, `${path}.dtype`, t.dtype, DTYPE_NAMES);
  const shape = checkShape(who, `${path}.shape`, t.shape);
  const [size, array] = DTYPES[dtype];
  const tag = typedArrayTag(t.data);
  if (tag !== 'Uint8Array' && tag !== array) typeError(who, `${path}.data`, `a Uint8Array of little-endian bytes or a ${array}`, t.data);
  const bytes = typedArrayBytes(t.data as ArrayBufferView);
  const expected = shapeSize(shape) * size;
  if (bytes.length !== expected) throw new RangeError(`${prefix(who)}${path}.data has ${bytes.length} bytes but shape ${showShape(shape)} of ${dtype} needs ${expected}`);
  // Typed arrays hold host-order elements, which the file stores little-endian; raw bytes are taken as they are.
  return { dtype, shape, bytes, swap: tag === 'Uint8Array' ? 1 : size };
}

/** A name the reference reader (serde_json) can read back: no unpaired surrogates. */
function checkText(who: string, path: string, value: unknown, rule: string): string {
  if (typeof value !== 'string' || /\p{Cs}/u.test(value)) typeError(who, path, rule, value);
  return value;
}

/** Encodes tensors (in the given order) and optional string metadata as a safetensors file. */
export function toSafetensors(
  tensors: Readonly<Record<string, SafetensorsInput>> | ReadonlyMap<string, SafetensorsInput>,
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const who = 'toSafetensors';
  // By tag, not instanceof: a Map from another realm (a worker, an iframe) would otherwise read as an empty object.
  const isMap = Object.prototype.toString.call(tensors) === '[object Map]';
  const given = isMap ? [...(tensors as ReadonlyMap<unknown, unknown>)] : Object.entries(checkPlainObject(who, 'tensors', tensors));
  const parts: string[] = [];
  if (metadata !== undefined) {
    const fields = Object.entries(checkPlainObject(who, 'metadata', metadata)).map(([k, v]) => {
      const path = `metadata[${JSON.stringify(k)}]`;
      checkText(who, `${path} (the key)`, k, 'well-formed Unicode');
      return `${JSON.stringify(k)}:${JSON.stringify(checkText(who, path, v, 'a well-formed Unicode string'))}`;
    });
    parts.push(`"${METADATA}":{${fields.join(',')}}`);
  }
  let offset = 0;
  const inputs = given.map(([name, value]) => {
    const rule = `a non-empty well-formed Unicode string other than "${METADATA}"`;
    if (checkText(who, 'each key of tensors', name, rule) === '' || name === METADATA) typeError(who, 'each key of tensors', rule, name);
    const input = checkInput(who, `tensors[${JSON.stringify(name)}]`, value);
    const begin = offset;
    offset += input.bytes.length;
    parts.push(`${JSON.stringify(name)}:{"dtype":"${input.dtype}","shape":[${input.shape.join(',')}],"data_offsets":[${begin},${offset}]}`);
    return { ...input, begin };
  });
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  // Spaces up to a multiple of 8, so that the data section (after the 8-byte length) is 8-aligned.
  const headerLength = Math.ceil(json.length / 8) * 8;
  if (headerLength > MAX_HEADER) throw new RangeError(`${prefix(who)}the header would take ${headerLength} bytes, over the ${MAX_HEADER}-byte limit readers keep`);
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  for (const { bytes, swap, begin } of inputs) {
    const at = 8 + headerLength + begin;
    out.set(bytes, at);
    if (!HOST_LITTLE_ENDIAN && swap > 1) for (let i = at; i < at + bytes.length; i += swap) out.subarray(i, i + swap).reverse();
  }
  return out;
}

/**
 * JSON.parse silently keeps the last of repeated keys, which safetensors refuses. Scans the text
 * (already parsed, so valid JSON) for repeats at every depth, and returns the top-level keys in
 * their order in the text (an object's own key order puts integer-like keys first).
 */
function scanKeys(who: string, text: string): string[] {
  const top: string[] = [];
  const stack: { keys: Set<string> | null; path: string; index: number }[] = [];
  let key = '';
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const frame = stack.at(-1);
      if (expectKey && frame?.keys) {
        key = JSON.parse(text.slice(i, j + 1)) as string;
        if (frame.keys.has(key)) throw new TypeError(`${prefix(who)}${frame.path} has the key ${JSON.stringify(key)} more than once`);
        frame.keys.add(key);
        if (stack.length === 1) top.push(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      const parent = stack.at(-1);
      const path = !parent ? 'header' : parent.keys ? `${parent.path}[${JSON.stringify(key)}]` : `${parent.path}[${parent.index}]`;
      stack.push({ keys: c === '{' ? new Set() : null, path, index: 0 });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const frame = stack.at(-1)!;
      if (frame.keys) expectKey = true;
      else frame.index++;
    }
  }
  return top;
}

function attempt<T>(run: () => T, message: (cause: Error) => string): T {
  try {
    return run();
  } catch (cause) {
    throw new Error(message(cause as Error), { cause });
  }
}

function checkOffsets(who: string, path: string, value: unknown, dataLength: number): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) typeError(who, path, 'a pair [begin, end]', value);
  const [begin, end] = [checkInteger(who, `${path}[0]`, value[0], 0), checkInteger(who, `${path}[1]`, value[1], 0)];
  if (end < begin) throw new RangeError(`${prefix(who)}${path} [${begin}, ${end}] are out of order (end before begin)`);
  if (end > dataLength) throw new RangeError(`${prefix(who)}${path} [${begin}, ${end}] run past the end of the ${dataLength}-byte data section`);
  return [begin, end];
}

/**
 * Decodes a safetensors file, refusing anything malformed (docs/safetensors.md lists what). The
 * tensors' data are views of `bytes` (of a copy when they live in shared memory), in header order.
 */
export function fromSafetensors(bytes: Uint8Array): SafetensorsFile {
  const who = 'fromSafetensors';
  const p = prefix(who);
  const file = ownBytes(who, 'bytes', bytes);
  const n = file.length;
  if (n < 8) throw new RangeError(`${p}truncated safetensors file: ${n} bytes, fewer than the 8 of the header length`);
  // Compared as a BigInt: converting first would round lengths past 2^53.
  const declared = new DataView(file.buffer, file.byteOffset, n).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER)) throw new RangeError(`${p}the header length ${declared} (the first 8 bytes) is over the ${MAX_HEADER}-byte limit`);
  const headerLength = Number(declared);
  if (8 + headerLength > n) throw new RangeError(`${p}truncated safetensors file: a ${headerLength}-byte header needs ${8 + headerLength} bytes, got ${n}`);
  // ignoreBOM keeps a byte-order mark in the text, so that JSON.parse refuses it as the reference reader does.
  const headerBytes = file.subarray(8, 8 + headerLength);
  const text = attempt(() => new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes), () => `${p}the header is not valid UTF-8`);
  const header = checkPlainObject(who, 'header', attempt(() => JSON.parse(text) as unknown, (cause) => `${p}the header is not JSON (${cause.message})`));
  const names = scanKeys(who, text);

  let metadata: Record<string, string> = {};
  if (Object.hasOwn(header, METADATA)) {
    const path = `header["${METADATA}"]`;
    const entries = Object.entries(checkPlainObject(who, path, header[METADATA]));
    for (const [k, v] of entries) if (typeof v !== 'string') typeError(who, `${path}[${JSON.stringify(k)}]`, 'a string', v);
    metadata = Object.fromEntries(entries) as Record<string, string>;
  }

  const dataStart = 8 + headerLength;
  const dataLength = n - dataStart;
  const entries = names
    .filter((name) => name !== METADATA)
    .map((name) => {
      const path = `header[${JSON.stringify(name)}]`;
      const e = checkPlainObject(who, path, header[name]);
      for (const key of ENTRY_KEYS) if (!Object.hasOwn(e, key)) throw new TypeError(`${p}${path} is missing the field '${key}'`);
      const extra = Object.keys(e).find((key) => !ENTRY_KEYS.includes(key));
      if (extra !== undefined) throw new TypeError(`${p}${path} has an unknown field ${JSON.stringify(extra)} (a tensor has ${ENTRY_KEYS.join(', ')})`);
      const dtype = checkOneOf(who, `${path}.dtype`, e.dtype, DTYPE_NAMES);
      const shape = checkShape(who, `${path}.shape`, e.shape);
      const [begin, end] = checkOffsets(who, `${path}.data_offsets`, e.data_offsets, dataLength);
      const expected = shapeSize(shape) * DTYPES[dtype][0];
      if (end - begin !== expected) {
        throw new RangeError(`${p}${path}.data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${showShape(shape)} of ${dtype} needs ${expected}`);
      }
      return { name, path, begin, end, tensor: { dtype, shape, data: file.subarray(dataStart + begin, dataStart + end) } };
    });

  // The tensors, in data order, tile the data section exactly (the header may list them in any order).
  let cursor = 0;
  let previous = 'the start of the data section';
  for (const t of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (t.begin !== cursor) {
      const what = t.begin < cursor ? `overlap ${previous}, which ends at ${cursor}` : `leave a gap after ${previous} (bytes ${cursor} to ${t.begin} belong to no tensor)`;
      throw new RangeError(`${p}${t.path}.data_offsets [${t.begin}, ${t.end}] ${what}`);
    }
    cursor = t.end;
    previous = t.path;
  }
  if (cursor !== dataLength) throw new RangeError(`${p}the tensors cover ${cursor} bytes of the ${dataLength}-byte data section (bytes ${cursor} to ${dataLength} belong to no tensor)`);
  return { tensors: new Map(entries.map((t) => [t.name, t.tensor])), metadata };
}

/** A floating-point tensor's values as a new Float32Array: F32 bit for bit, F16 and BF16 exactly, F64 rounded to nearest. */
export function safetensorsToFloat32(tensor: SafetensorsTensor, who = 'safetensorsToFloat32', path = 'tensor'): Float32Array {
  const t = checkPlainObject(who, path, tensor);
  const dtype = t.dtype as SafetensorsDtype;
  if (!['F32', 'F64', 'F16', 'BF16'].includes(dtype)) typeError(who, `${path}.dtype`, 'F32, F64, F16 or BF16 (only floating-point tensors convert to Float32Array)', dtype);
  const count = shapeSize(checkShape(who, `${path}.shape`, t.shape));
  const data = ownBytes(who, `${path}.data`, t.data);
  const size = DTYPES[dtype][0];
  if (data.length !== count * size) throw new RangeError(`${prefix(who)}${path}.data has ${data.length} bytes but ${count} ${dtype} elements need ${count * size}`);
  if (dtype === 'F32') return readFloat32LE(data, 0, count);
  const out = new Float32Array(count);
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  if (dtype === 'F64') {
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }
  // Every F16 and BF16 value is a float32. Infinities and NaNs go through the bits, keeping NaN payloads.
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) {
    const h = view.getUint16(2 * i, true);
    const exponent = (h >> 10) & 0x1f;
    if (dtype === 'BF16') bits[i] = h << 16;
    else if (exponent === 0x1f) bits[i] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
    else out[i] = (h & 0x8000 ? -1 : 1) * (exponent === 0 ? (h & 0x3ff) * 2 ** -24 : ((h & 0x3ff) + 1024) * 2 ** (exponent - 25));
  }
  return out;
}
