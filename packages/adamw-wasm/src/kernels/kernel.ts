/**
 * The seam between optimizers and the code that runs the per-element loops. Optimizers hand a
 * kernel byte offsets into the kernel's own memory and f32-rounded scalars; only kernels know
 * whether that memory is WebAssembly linear memory or a plain ArrayBuffer. Every kernel writes
 * the same bits, NaNs included: any NaN it writes is the canonical quiet NaN 0x7fc00000.
 */
import type { ADAM_HYPER, SGD_HYPER } from './modules.generated.js';

/** What actually runs a step. */
export type BackendName = 'wasm-simd' | 'wasm' | 'js';
/** What a user may ask for. */
export type BackendChoice = 'auto' | BackendName;

export const BACKEND_NAMES: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

/**
 * One Adam-family update's scalars, each already rounded to f32 (`Math.fround`): one per f32
 * field of the kernel's AdamHyper block (the build generates the field list from the crate, so
 * a field added there fails to compile here until it is provided), and the flags' booleans.
 * See `adam_range` in crates/adamw-kernels/src/scalar.rs for how each is used.
 */
export type AdamScalars = Readonly<Record<keyof typeof ADAM_HYPER.floats, number>> & {
  readonly amsgrad: boolean;
  readonly coupledL2: boolean;
  /** θ ← θ + afterDecay·θ after the update. */
  readonly decayAfter: boolean;
};

/** One SGD-family update's scalars (`sgd_range` in the reference kernel). */
export type SgdScalars = Readonly<Record<keyof typeof SGD_HYPER.floats, number>> & {
  readonly coupledL2: boolean;
  readonly useMomentum: boolean;
  readonly nesterov: boolean;
  /** The group's first step: torch initialises the buffer to g. */
  readonly firstStep: boolean;
};

/** Optimizer state arrays a group can own. */
export type StateName = 'expAvg' | 'expAvgSq' | 'maxExpAvgSq' | 'momentumBuffer';

/** Byte offsets of one group's arrays inside kernel memory; `length` in elements. */
export interface GroupRegions {
  readonly length: number;
  readonly params: number;
  readonly grads: number;
  readonly state: Readonly<Partial<Record<StateName, number>>>;
}

/**
 * One kernel call. Single-threaded kernels finish before returning one; a threaded kernel's runs
 * on its workers (and on the calling thread, which joins in when the job starts). Either way the
 * caller waits for it once, blocking or not: one path for `step()` and `stepAsync()`.
 */
export interface Job<T> {
  /** Blocks until the job is done; only where the kernel's `canBlock` is true. */
  wait(): T;
  /** Resolves when the job is done, without blocking. */
  waitAsync(): Promise<T>;
}

/** A job that is already done. */
export const done = <T>(value: T): Job<T> => ({ wait: () => value, waitAsync: async () => value });

export interface Kernel {
  readonly backend: BackendName;
  /** Threads working on each call (1 for single-threaded kernels). */
  readonly threads: number;
  /**
   * Whether jobs may be waited for synchronously on this thread. False for a threaded kernel
   * on a browser main thread, which must not block: wait there with `waitAsync`.
   */
  readonly canBlock: boolean;
  /** Why the kernel can no longer run (a worker failed or stopped); every call then throws it. */
  readonly fault: Error | undefined;
  /** Resolves once the kernel's worker threads run (absent: nothing to wait for). */
  whenStarted?(): Promise<void>;
  /** First byte the caller may lay arrays out from (before `reserve`). */
  readonly firstFreeByte: number;
  /**
   * Makes bytes [0, `endByte`) usable, once, and returns the buffer to build views over.
   * Memory never moves afterwards, so views stay valid until `dispose`.
   */
  reserve(endByte: number): ArrayBufferLike;
  /** Fused Adam/AdamW update (expAvg, expAvgSq and, with amsgrad, maxExpAvgSq). */
  adam(regions: GroupRegions, scalars: AdamScalars): Job<void>;
  /** Fused SGD/SGDW update (momentumBuffer when momentum is used). */
  sgd(regions: GroupRegions, scalars: SgdScalars): Job<void>;
  /** Σ g² in f64 in the canonical block order (see `NORM_BLOCK`). */
  sumSquares(byteOffset: number, length: number): Job<number>;
  /** Whether no element is NaN or ±Inf. */
  allFinite(byteOffset: number, length: number): Job<boolean>;
  /**
   * Releases the memory: views over a non-shared memory are detached (their length becomes 0),
   * and the kernel drops every reference to it. Later calls throw.
   */
  dispose(): void;
}

/** Sums of squares are formed per block of this many elements (8 lane sums each), blocks added in order. */
export { NORM_BLOCK } from './modules.generated.js';
