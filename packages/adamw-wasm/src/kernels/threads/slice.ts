import type { Constants, SyncOps } from './control.js';

/** What a thread needs to run a slice of the current job. */
export interface SliceExports {
  adam_step(hyper: number, params: number, grads: number, a: number, b: number, c: number, len: number): void;
  sgd_step(hyper: number, params: number, grads: number, buffer: number, len: number): void;
  sum_squares_blocks(ptr: number, len: number, out: number): void;
  all_finite(ptr: number, len: number): number;
}

/**
 * Runs slice `index` of the job in `ctrl` (a Uint32Array at the control block). Slices are
 * contiguous runs of whole NORM_BLOCKs (so 64-byte aligned) and may be empty.
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
    ctrl[s.result + index] = n > 0 ? ex.all_finite(at(s.grads), n) : 1;
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

/** The thread that claimed a slice, from its claim word; -1 while the slice is open. */
export const claimOwner = (claim: number): number => (claim & 127) - 1;

/**
 * Claims and runs slices of job `gen` for thread `thread`: from its own share of the slices
 * onwards (so threads start apart and each mostly runs a contiguous range), then any other
 * still open, until none is left. The main thread opens each slice for the job before starting
 * it, writing `gen << 7` to its claim word; a thread claims a slice by moving that word to
 * `(gen << 7) | (1 + thread)` with a compare-and-swap, so each slice runs exactly once per job,
 * and a thread still holding an older generation (it woke late) matches no open word, whatever
 * it read of the job's fields. A slice that throws is recorded in `error` and still counts as
 * finished, so the main thread never waits on it.
 * Uses nothing but its arguments: the worker source embeds this function's text.
 */
export function runJob(sync: SyncOps, i32: Int32Array, gen: number, thread: number, threads: number, k: Constants, run: (slice: number) => void): void {
  const s = k.slot;
  const slices = sync.load(i32, s.slices);
  const open = gen << 7;
  const first = Math.floor((thread * slices) / threads);
  for (let n = 0; n < slices; n++) {
    const slice = (first + n) % slices;
    if (sync.compareExchange(i32, s.claim + slice, open, open | (thread + 1)) !== open) continue;
    try {
      run(slice);
    } catch {
      sync.store(i32, s.error, slice + 1);
    }
    sync.store(i32, s.finished + slice, gen);
    if (sync.add(i32, s.done, 1) + 1 === slices) sync.notify(i32, s.done);
  }
}
