/**
 * Lays out groups' arrays once, each 64-byte aligned (a cache line; also what a threaded
 * kernel needs so that slices never share a line).
 */
import type { GroupRegions, StateName } from '../kernels/kernel.js';

export const ALIGNMENT = 64;
/** wasm32 linear memory tops out at 65536 pages of 64 KiB. */
export const MAX_MEMORY_BYTES = 2 ** 32;
const F32_BYTES = 4;

export interface GroupShape {
  readonly length: number;
  readonly state: readonly StateName[];
}

export interface ArenaLayout {
  readonly groups: readonly GroupRegions[];
  /** One past the last byte used. */
  readonly endByte: number;
}

export const alignUp = (n: number, to = ALIGNMENT): number => Math.ceil(n / to) * to;

/**
 * Lays out groups of tensors (each a list of tensor shapes) and returns every tensor's regions,
 * in order. Within a group each array is laid out for all its tensors back to back (params of
 * every tensor, then grads, then each state array), each tensor's part aligned: consecutive
 * tensors stepped with the same scalars then form one run in every array, which one kernel call
 * can update (the zero padding between them stays zero under every update rule).
 */
export function layoutArena(firstFreeByte: number, groups: readonly (readonly GroupShape[])[]): ArenaLayout {
  let cursor = alignUp(firstFreeByte);
  const take = (bytes: number): number => {
    const at = cursor;
    cursor = alignUp(cursor + bytes);
    return at;
  };
  const regions: GroupRegions[] = [];
  for (const tensors of groups) {
    const sizes = tensors.map(({ length }) => length * F32_BYTES);
    const params = sizes.map(take);
    const grads = sizes.map(take);
    const names = [...new Set(tensors.flatMap((t) => t.state))];
    const state = new Map(names.map((name) => [name, tensors.map((t, i) => (t.state.includes(name) ? take(sizes[i]!) : -1))]));
    tensors.forEach(({ length, state: own }, i) => {
      regions.push({ length, params: params[i]!, grads: grads[i]!, state: Object.fromEntries(own.map((name) => [name, state.get(name)![i]!])) });
    });
  }
  return { groups: regions, endByte: cursor };
}

const fits = (layout: ArenaLayout): boolean => layout.endByte <= MAX_MEMORY_BYTES;

/** Throws before anything is allocated when the groups cannot fit in one memory. */
export function assertFits(layout: ArenaLayout, who: string, backend: string): void {
  if (fits(layout)) return;
  const params = layout.groups.reduce((n, g) => n + g.length, 0);
  const limit =
    backend === 'js'
      ? `the ${MAX_MEMORY_BYTES} bytes (4 GiB) one memory holds (the 'js' backend keeps WebAssembly's limit, so that every backend accepts the same models)`
      : `the ${MAX_MEMORY_BYTES} bytes (4 GiB) a WebAssembly memory can hold`;
  throw new RangeError(
    `${who}: ${params} parameters need ${layout.endByte} bytes of memory ` +
      `(params, grads and optimizer state, ${ALIGNMENT}-byte aligned), more than ${limit}; ` +
      'split the model across groups added with addParamGroup (each gets a memory of its own)',
  );
}

/**
 * Splits consecutive groups (each a list of tensor shapes) into as few memories as fit, each
 * group whole: how fromState lays out a model that was saved from several memories
 * (addParamGroup). Returns [first, end) ranges of groups.
 */
export function packArenas(firstFreeByte: number, groups: readonly (readonly GroupShape[])[], who: string, backend: string): [number, number][] {
  const arenas: [number, number][] = [];
  const layout = (first: number, end: number) => layoutArena(firstFreeByte, groups.slice(first, end));
  for (let first = 0; first < groups.length; ) {
    assertFits(layout(first, first + 1), who, backend);
    let end = first + 1;
    while (end < groups.length && fits(layout(first, end + 1))) end++;
    arenas.push([first, end]);
    first = end;
  }
  return arenas;
}
