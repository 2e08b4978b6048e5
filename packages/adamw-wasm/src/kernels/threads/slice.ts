import type { Constants } from './control.js';

/** What a thread needs to run its slice of the current job. */
export interface SliceExports {
  adam_step(hyper: number, params: number, grads: number, a: number, b: number, c: number, len: number): void;
  sgd_step(hyper: number, params: number, grads: number, buffer: number, len: number): void;
  sum_squares_blocks(ptr: number, len: number, out: number): void;
  all_finite(ptr: number, len: number): number;
}

/**
 * Runs thread `index`'s slice of the job in `ctrl` (a Uint32Array at the control block).
 * Slices are contiguous runs of whole NORM_BLOCKs (so 64-byte aligned) and may be empty.
 * Uses nothing but its arguments: the worker source embeds this function's text.
 */
export function runSlice(ex: SliceExports, ctrl: Uint32Array, index: number, k: Constants): void {
  const s = k.slot;
  const length = ctrl[s.length]!;
  const start = Math.min(length, index * ctrl[s.chunk]!);
  const n = Math.min(length, start + ctrl[s.chunk]!) - start;
  const at = (slot: number): number => ctrl[slot]! + 4 * start;
  const op = ctrl[s.op];
  if (op === k.op.allFinite) {
    ctrl[s.results + index] = n > 0 ? ex.all_finite(at(s.grads), n) : 1;
  } else if (n === 0) {
    return;
  } else if (op === k.op.adam) {
    ex.adam_step(ctrl[s.hyper]!, at(s.params), at(s.grads), at(s.stateA), at(s.stateB), at(s.stateC), n);
  } else if (op === k.op.sgd) {
    ex.sgd_step(ctrl[s.hyper]!, at(s.params), at(s.grads), at(s.stateA), n);
  } else if (op === k.op.sumSquares) {
    ex.sum_squares_blocks(at(s.grads), n, ctrl[s.out]! + 8 * (start / k.normBlock));
  }
}
