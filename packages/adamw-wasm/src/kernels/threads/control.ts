/**
 * The control block shared by the main thread and the workers: 32-bit slots in shared memory.
 *
 * The protocol (slice.ts): the main thread writes a job's fields, opens the job's slices for
 * the new generation, bumps `gen` and wakes the workers. A job is split into several slices per
 * thread (so that a thread the OS has not scheduled holds up at most one small slice, and the
 * others, the main thread included, take the rest); any thread may run any slice, but only
 * after claiming it for that generation with a compare-and-swap, so every slice runs exactly
 * once, and a thread that wakes late (or twice) finds nothing open for its generation. Whoever
 * finishes a slice counts it in `done`; the main thread waits for `done` to reach the slice
 * count. No message is posted per step.
 *
 * Plain objects rather than enums: the worker's source is built from function text, and these
 * values are passed to it explicitly.
 */
/** Threads per kernel: 1 + a thread index fits in the low 7 bits of a claim word. */
export const MAX_THREADS = 64;
/** Slices per job at most (the control block's per-slice arrays). */
export const MAX_SLICES = 512;

const PER_SLICE = 32;
export const SLOT = {
  /** Job generation; workers wait for it to change. Wraps around (compared as serial numbers). */
  gen: 0,
  /** Slices of the current job finished (run or failed). */
  done: 1,
  /** 0, or 1 + the index of a slice that threw. */
  error: 2,
  op: 3,
  hyper: 4,
  params: 5,
  grads: 6,
  stateA: 7,
  stateB: 8,
  stateC: 9,
  length: 10,
  /** Elements per slice: a multiple of NORM_BLOCK, so norms split on block boundaries. */
  chunk: 11,
  /** f64 block sums written by the sum-of-squares job. */
  out: 12,
  /** Slices in the current job. */
  slices: 13,
  /** Per slice: `gen << 7` while open for job `gen`, then `(gen << 7) | (1 + thread)` once claimed (see slice.ts). */
  claim: PER_SLICE,
  /** Per slice: the generation it last finished. */
  finished: PER_SLICE + MAX_SLICES,
  /** Per slice: the all-finite result (1 or 0). */
  result: PER_SLICE + 2 * MAX_SLICES,
  /** Per thread: the last generation it woke up for (diagnostics). */
  woke: PER_SLICE + 3 * MAX_SLICES,
  /** Per thread: 0 while it starts, 1 while its loop runs, -1 once it has left it, for whatever reason. */
  alive: PER_SLICE + 3 * MAX_SLICES + MAX_THREADS,
} as const;

export const OP = { adam: 1, sgd: 2, sumSquares: 3, allFinite: 4, exit: 5 } as const;

export const CONTROL_WORDS = SLOT.alive + MAX_THREADS;
export const CONTROL_BYTES = CONTROL_WORDS * 4;
/** Stack per worker instance (the module is linked with the same size for the main instance). */
export { STACK_BYTES } from '../modules.generated.js';

/** Polls of a shared slot before sleeping in Atomics.wait (tens of microseconds). */
export const SPIN_POLLS = 20_000;

export interface Constants {
  readonly slot: typeof SLOT;
  readonly op: typeof OP;
  readonly normBlock: number;
  readonly spin: number;
  readonly words: number;
}

/**
 * The Atomics operations the protocol uses. Production passes `Atomics` itself; a stress test
 * passes a wrapper that sleeps at random around each one, to provoke every interleaving.
 */
export type SyncOps = Pick<typeof Atomics, 'load' | 'store' | 'add' | 'compareExchange' | 'wait' | 'notify'>;
