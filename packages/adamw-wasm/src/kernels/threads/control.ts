/**
 * The control block shared by the main thread and the workers: 32-bit slots in shared memory.
 * The main thread writes a job, bumps `gen` and wakes the workers; each worker does its slice
 * and decrements `pending`; the last one wakes the main thread. No message is posted per step.
 *
 * Plain objects rather than enums: the worker's source is built from function text, and these
 * values are passed to it explicitly.
 */
export const SLOT = {
  /** Job generation; workers wait for it to change. */
  gen: 0,
  /** Workers still busy with the current job. */
  pending: 1,
  /** 0, or 1 + the index of a worker whose slice threw. */
  error: 2,
  op: 3,
  hyper: 4,
  params: 5,
  grads: 6,
  stateA: 7,
  stateB: 8,
  stateC: 9,
  length: 10,
  /** Elements per thread: a multiple of NORM_BLOCK, so norms split on block boundaries. */
  chunk: 11,
  /** f64 block sums written by the sum-of-squares job. */
  out: 12,
  /** Per-thread results (all-finite flags) start here. */
  results: 16,
  /** Per-thread: the last job generation the thread picked up (for stall diagnostics). */
  picked: 16 + 64,
} as const;

export const OP = { adam: 1, sgd: 2, sumSquares: 3, allFinite: 4, exit: 5 } as const;

export const MAX_THREADS = 64;
export const CONTROL_BYTES = (SLOT.picked + MAX_THREADS) * 4;
/** Stack per worker instance (the module is linked with the same size for the main instance). */
export const STACK_BYTES = 65536;

/** Polls of a shared slot before sleeping in Atomics.wait (tens of microseconds). */
export const SPIN_POLLS = 20_000;

export interface Constants {
  readonly slot: typeof SLOT;
  readonly op: typeof OP;
  readonly normBlock: number;
  readonly spin: number;
}
