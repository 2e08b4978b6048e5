/**
 * The seam between optimizers and the code that runs the per-element loop. Optimizers hand a
 * kernel byte offsets into the kernel's own memory and f32-rounded scalars; only kernels know
 * whether that memory is WebAssembly linear memory or a plain ArrayBuffer.
 */

/** What actually runs a step. */
export type BackendName = 'wasm-simd' | 'wasm' | 'js';
/** What a user may ask for. */
export type BackendChoice = 'auto' | BackendName;

export const BACKEND_NAMES: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

/**
 * One Adam-family update's scalars, each already rounded to f32 (`Math.fround`), in the
 * order the reference kernel (`crates/adamw-kernels/src/scalar.rs`) uses them.
 */
export interface AdamScalars {
  /** θ multiplier applied first: f32(1 − lr·wd) for AdamW, 1 for Adam. */
  readonly decayFactor: number;
  /** Coupled L2 coefficient (Adam), used when `coupledL2`. */
  readonly l2: number;
  readonly beta1: number;
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  readonly oneMinusBeta2: number;
  /** f32(sqrt(1 − β2^t)). */
  readonly biasCorrection2Sqrt: number;
  readonly eps: number;
  /** f32(−lr / (1 − β1^t)). */
  readonly negStepSize: number;
  readonly amsgrad: boolean;
  readonly maximize: boolean;
  readonly coupledL2: boolean;
}

/** Byte offsets of one group's arrays inside kernel memory; `length` in elements. */
export interface AdamRegions {
  readonly params: number;
  readonly grads: number;
  readonly expAvg: number;
  readonly expAvgSq: number;
  /** Present only for amsgrad groups. */
  readonly maxExpAvgSq?: number;
  readonly length: number;
}

export interface Kernel {
  readonly backend: BackendName;
  /** First byte the caller may lay arrays out from (before `reserve`). */
  readonly firstFreeByte: number;
  /**
   * Makes bytes [0, `endByte`) usable, once, and returns the buffer to build views over.
   * Memory never moves afterwards, so views stay valid until `dispose`.
   */
  reserve(endByte: number): ArrayBuffer;
  /** One fused Adam/AdamW update over a group's arrays. */
  adam(regions: AdamRegions, scalars: AdamScalars): void;
  dispose(): void;
}
