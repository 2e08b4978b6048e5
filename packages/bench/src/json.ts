import { writeFileSync } from 'node:fs';
import type { Machine } from './machine.js';
import type { TargetCheck } from './targets.js';
import type { Check, Result } from './types.js';

export interface RunDescription {
  /** The exact command line, e.g. `node packages/bench/dist/cli.js --reps 9`. */
  readonly command: string;
  readonly sizes: readonly number[];
  readonly backends: readonly string[];
  readonly threads: readonly number[];
  readonly reps: number;
  readonly steps: number | null;
  readonly minRepMs: number;
  readonly budgetSeconds: number;
  readonly amsgrad: boolean;
  readonly checks: readonly Check[];
  readonly bytesPerParam: number;
}

/**
 * `--json`: { machine, config, results, targets, notes } (targets whether or not --targets shows them). Every row of `results` has backend,
 * threads, size, nsPerParam, gbPerSecond, medianMs, minMs, runs (+ minNsPerParam, stepsPerRep,
 * spread: the repetitions' (p75 − p25) / median, unstable: too noisy to trust);
 * torch rows add variant 'foreach' | 'for-loop', bandwidth rows variant 'stream' | 'copy',
 * our rows (wasm-simd, wasm, js) add checks 'default' | 'no-guard' | 'clip'.
 */
export interface JsonDocument {
  readonly machine: Machine;
  readonly config: RunDescription;
  readonly results: readonly Result[];
  readonly targets: readonly TargetCheck[];
  readonly notes: readonly string[];
}

/** Rows with a fixed key order (backend first), so files diff well between runs. */
function orderRow(r: Result): Record<string, unknown> {
  const { backend, threads, variant, checks, size, nsPerParam, minNsPerParam, gbPerSecond, medianMs, minMs, runs, stepsPerRep, spread, unstable } = r;
  return { backend, ...(variant === undefined ? {} : { variant }), ...(checks === undefined ? {} : { checks }), threads, size, nsPerParam, minNsPerParam, gbPerSecond, medianMs, minMs, runs, stepsPerRep, spread, unstable };
}

export function writeJson(file: string, doc: JsonDocument): void {
  writeFileSync(file, `${JSON.stringify({ ...doc, results: doc.results.map(orderRow) }, null, 2)}\n`);
}
