/**
 * Float32 arrays ⇄ little-endian bytes, bit for bit (NaN payloads and -0 included). On
 * little-endian hosts (all mainstream ones) this is a byte copy; elsewhere bytes are swapped.
 */

export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Writes `src` as float32 LE into `dst` at byte `offset`. */
export function writeFloat32LE(dst: Uint8Array, offset: number, src: Float32Array, littleEndianHost = HOST_LITTLE_ENDIAN): void {
  const raw = new Uint8Array(src.buffer, src.byteOffset, src.byteLength);
  if (littleEndianHost) {
    dst.set(raw, offset);
    return;
  }
  for (let i = 0; i < raw.length; i += 4) {
    dst[offset + i] = raw[i + 3]!;
    dst[offset + i + 1] = raw[i + 2]!;
    dst[offset + i + 2] = raw[i + 1]!;
    dst[offset + i + 3] = raw[i]!;
  }
}

/** Reads `size` float32 LE values from `src` at byte `offset` into a new (copied, aligned) Float32Array. */
export function readFloat32LE(src: Uint8Array, offset: number, size: number, littleEndianHost = HOST_LITTLE_ENDIAN): Float32Array {
  const out = new Float32Array(size);
  const raw = new Uint8Array(out.buffer);
  const bytes = src.subarray(offset, offset + 4 * size);
  if (littleEndianHost) {
    raw.set(bytes);
    return out;
  }
  for (let i = 0; i < bytes.length; i += 4) {
    raw[i] = bytes[i + 3]!;
    raw[i + 1] = bytes[i + 2]!;
    raw[i + 2] = bytes[i + 1]!;
    raw[i + 3] = bytes[i]!;
  }
  return out;
}
