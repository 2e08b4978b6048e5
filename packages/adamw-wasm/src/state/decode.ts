/**
 * decodeState and describeState: check a state blob completely (prefix, length, checksum, header,
 * layout, padding) before returning anything, and throw an error prefixed by `who` naming the
 * first problem found.
 */
import { crc32 } from './crc32.js';
import { ownBytes, prefix } from '../validate.js';
import { readFloat32LE } from './float32.js';
import { checkHeader, type Header } from './header.js';
import {
  ALIGNMENT, CRC_BYTES, MAGIC, OFFSET_HEADER_LENGTH, OFFSET_TOTAL_LENGTH, OFFSET_VERSION, PREFIX_BYTES, SUPPORTED_VERSIONS,
} from './layout.js';
import type { OptimizerState, StateDescription } from './types.js';

interface Checked {
  version: number;
  header: Header;
  /** The caller's bytes as a plain Uint8Array (a copy when they live in shared memory). */
  bytes: Uint8Array;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function checkZero(who: string, bytes: Uint8Array, from: number, to: number, what: string): void {
  for (let i = from; i < to; i++) {
    if (bytes[i] !== 0) throw new Error(`${prefix(who)}invalid state: padding byte ${i} (${what}) is ${bytes[i]}, not 0`);
  }
}

function checkBlob(who: string, input: unknown): Checked {
  const p = prefix(who);
  const bytes = ownBytes(who, 'the state', input);
  const n = bytes.length;
  for (let i = 0; i < Math.min(n, MAGIC.length); i++) {
    if (bytes[i] !== MAGIC[i]) {
      throw new Error(`${p}not an adamw-wasm state (its first bytes are not the magic "ADAMWST\\0")`);
    }
  }
  const minimum = PREFIX_BYTES + CRC_BYTES;
  if (n < minimum) throw new RangeError(`${p}truncated state: too short, expected at least ${minimum} bytes, got ${n}`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(OFFSET_VERSION, true);
  if (!SUPPORTED_VERSIONS.includes(version)) {
    throw new Error(`${p}unsupported state format version ${version}; this adamw-wasm reads version ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const headerLength = view.getUint32(OFFSET_HEADER_LENGTH, true);
  const declared = view.getBigUint64(OFFSET_TOTAL_LENGTH, true);
  if (declared > BigInt(n)) throw new RangeError(`${p}truncated state: expected ${declared} bytes (the length recorded in the state), got ${n}`);
  if (declared < BigInt(n)) {
    throw new RangeError(`${p}invalid state: expected ${declared} bytes (the length recorded in the state), got ${n}: ${n - Number(declared)} extra bytes at the end`);
  }
  const payloadEnd = n - CRC_BYTES;
  const headerEnd = PREFIX_BYTES + headerLength;
  if (headerEnd > payloadEnd) {
    throw new RangeError(`${p}invalid state: a ${headerLength}-byte header does not fit in a ${n}-byte state (bytes ${PREFIX_BYTES} to ${payloadEnd} at most)`);
  }

  const stored = view.getUint32(payloadEnd, true);
  const computed = crc32(bytes.subarray(0, payloadEnd));
  if (stored !== computed) {
    throw new Error(`${p}checksum mismatch: the state is corrupted (stored CRC-32 ${hex(stored)}, computed ${hex(computed)})`);
  }

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX_BYTES, headerEnd));
  } catch (cause) {
    throw new Error(`${p}invalid state: the header is not valid UTF-8`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${p}invalid state: malformed header JSON (${(cause as Error).message})`, { cause });
  }
  const header = checkHeader(who, json, version);

  // Arrays in stored order, each 64-byte aligned, after the header and the previous array, before
  // the checksum; every byte between them zero.
  let cursor = headerEnd;
  let after = 'the header';
  header.tensors.forEach((g, i) =>
    g.arrays.forEach((a, j) => {
      const path = `${version === 1 ? 'header.groups' : 'header.tensors'}[${i}].arrays[${j}] (${JSON.stringify(a.name)})`;
      if (a.offset % ALIGNMENT !== 0) throw new RangeError(`${p}invalid state: ${path} offset ${a.offset} is not a multiple of ${ALIGNMENT}`);
      if (a.offset < cursor) {
        throw new RangeError(
          `${p}invalid state: ${path} starts at byte ${a.offset}, before the end of ${after} at byte ${cursor} ` +
            '(arrays must follow the header and each other in order, without overlapping)',
        );
      }
      const end = a.offset + 4 * g.size;
      if (end > payloadEnd) {
        throw new RangeError(
          `${p}invalid state: ${path} needs bytes ${a.offset} to ${end} (${g.size} float32) but the arrays end at byte ${payloadEnd} of ${n}`,
        );
      }
      checkZero(who, bytes, cursor, a.offset, `before ${path}`);
      cursor = end;
      after = path;
    }),
  );
  checkZero(who, bytes, cursor, payloadEnd, 'before the checksum');
  return { version, header, bytes };
}

/**
 * Decodes a state blob written by `encodeState`. Everything is checked before anything is
 * returned; the arrays are fresh copies (the input may be reused or freed).
 */
export function decodeState(input: Uint8Array, who: string): OptimizerState {
  const { version, header, bytes } = checkBlob(who, input);
  return {
    version,
    optimizer: header.optimizer,
    stepCount: header.stepCount,
    options: header.options,
    includesParams: header.includesParams,
    groups: header.groups,
    tensors: header.tensors.map((t) => ({
      name: t.name,
      size: t.size,
      stepCount: t.stepCount,
      // fromEntries defines own properties, so even a name like "__proto__" is safe.
      arrays: Object.fromEntries(t.arrays.map((a) => [a.name, readFloat32LE(bytes, a.offset, t.size)])),
    })),
  };
}

/**
 * The header of a state blob, checked exactly as decodeState checks it (magic, version, length,
 * checksum, fields, layout), without copying its arrays.
 */
export function describeState(input: Uint8Array, who: string): StateDescription {
  const { version, header, bytes } = checkBlob(who, input);
  return {
    version,
    byteLength: bytes.length,
    optimizer: header.optimizer,
    stepCount: header.stepCount,
    options: header.options,
    includesParams: header.includesParams,
    groups: header.groups,
    tensors: header.tensors.map((t) => ({ name: t.name, size: t.size, stepCount: t.stepCount, arrayNames: t.arrays.map((a) => a.name) })),
  };
}
