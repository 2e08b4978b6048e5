/** Names as they appear in the table, the JSON (`results[].backend`) and `--backends`. */
export const OUR_BACKENDS = ['wasm-simd', 'wasm', 'js'] as const;
export const PEER_BACKENDS = ['tfjs-cpu', 'tfjs-wasm', 'torch', 'native', 'bandwidth'] as const;
export const ALL_BACKENDS = [...OUR_BACKENDS, ...PEER_BACKENDS] as const;
export type OurBackend = (typeof OUR_BACKENDS)[number];
export type BackendId = (typeof ALL_BACKENDS)[number];

/** Optimizer-wide options our rows are measured with (`--checks` adds the last two). */
export const CHECKS = ['default', 'no-guard', 'clip'] as const;
export type Check = (typeof CHECKS)[number];

/** What one row measures. `variant`: torch 'foreach' | 'for-loop'; bandwidth 'stream' | 'copy'. */
export interface RowKey {
  readonly backend: BackendId;
  readonly threads: number;
  readonly variant?: string;
  readonly checks?: Check;
}

/**
 * Something that can run n back-to-back steps of one configuration at one size and say how
 * long they took (measured where they run: in this thread, a worker or a child process).
 */
export interface Runner {
  readonly key: RowKey;
  /** Bytes one step moves per parameter, for GB/s (28; 36 with amsgrad). */
  readonly bytesPerParam: number;
  /** Parameters one step actually processes (the probe rounds up to whole 32-byte blocks). */
  readonly size: number;
  run(steps: number): number | Promise<number>;
  dispose(): void | Promise<void>;
}

/** A row of `--json`'s `results`. */
export interface Result extends RowKey {
  readonly size: number;
  readonly nsPerParam: number;
  readonly minNsPerParam: number;
  readonly gbPerSecond: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly runs: number;
  readonly stepsPerRep: number;
  /**
   * (p75 − p25) / median of the repetitions' step times (absent in files recorded before it
   * was measured).
   */
  readonly spread?: number;
  /** Too noisy to trust: spread over UNSTABLE_SPREAD (stability.ts). */
  readonly unstable?: boolean;
}

/** Options every peer sees. */
export interface RunConfig {
  readonly amsgrad: boolean;
  readonly checks: readonly Check[];
  readonly threads: readonly number[];
}

/** The outcome of preparing one backend at one size: runners, or a reason it cannot run. */
export type Prepared = { readonly runners: Runner[]; readonly notes?: string[] } | { readonly skip: string };
