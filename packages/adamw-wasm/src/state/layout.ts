/**
 * Fixed facts of the state blob layout (see docs/state-format.md):
 *
 *   0   8 B  magic "ADAMWST\0"
 *   8   u32  format version (LE)
 *   12  u32  header length H in bytes (LE)
 *   16  u64  total blob length in bytes, checksum included (LE)
 *   24  H B  header: UTF-8 JSON
 *   …        zero padding, then each array as float32 LE at a 64-byte-aligned offset
 *   end-4 u32 CRC-32 of every byte before it (LE)
 */

export const STATE_FORMAT_VERSION = 2;
export const SUPPORTED_VERSIONS: readonly number[] = [1, 2];

/** "ADAMWST" and a NUL. */
export const MAGIC: Uint8Array = new Uint8Array([0x41, 0x44, 0x41, 0x4d, 0x57, 0x53, 0x54, 0x00]);

export const OFFSET_VERSION = 8;
export const OFFSET_HEADER_LENGTH = 12;
export const OFFSET_TOTAL_LENGTH = 16;
/** Bytes before the header JSON. */
export const PREFIX_BYTES = 24;
export const CRC_BYTES = 4;
/** Every array payload starts at a multiple of this, counted from the start of the blob. */
export const ALIGNMENT = 64;

export function align(offset: number): number {
  return Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
}
