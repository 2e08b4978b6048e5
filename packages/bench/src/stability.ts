// When a row is warm enough to time, and whether its timings agree well enough to trust.
// Pure functions of timings, so they are tested with synthetic numbers (test/stability.test.ts).
//
// Why: a freshly created optimizer's first steps pay first-touch page faults, JIT tiers and,
// with threads, worker start-up. A fixed, short warm-up left threaded rows timing part of that
// (torch foreach on 2 threads at 4K once read 2040 ns/param with a fastest repetition of 716).
import { median } from './stats.js';

/** One warm-up call: `steps` back-to-back steps that took `ms`. */
export interface Batch {
  readonly steps: number;
  readonly ms: number;
}

export interface WarmUpRule {
  /** Batches are doubled from one step until one lasts this long; then their size is fixed. */
  readonly minBatchMs: number;
  /** Fixed-size batches per round: a round's median step time is compared with the last round's. */
  readonly batchesPerRound: number;
  /** Settled when the last round's median is within this fraction of the round before's. */
  readonly tolerance: number;
  /** Give up after this many rounds... */
  readonly maxRounds: number;
  /** ...or before a batch would take the warm-up past this many ms. */
  readonly maxMs: number;
}

/** Warm-up rounds whose median step times differ by at most this fraction have settled. */
export const SETTLED_WITHIN = 0.1;

/** Batch sizes stop doubling here even if a batch is still short (a runner reporting ~0 ms). */
const MAX_BATCH_STEPS = 1 << 20;

/**
 * The warm-up for a plan: batches of a quarter repetition, rounds of 3, settled within SETTLED_WITHIN,
 * at most 8 rounds or a sixth of the row's --budget.
 */
export function warmUpRule(minRepMs: number, budgetMs: number): WarmUpRule {
  return { minBatchMs: minRepMs / 4, batchesPerRound: 3, tolerance: SETTLED_WITHIN, maxRounds: 8, maxMs: budgetMs / 6 };
}

/**
 * What the warm-up does next, given the batches so far: run a batch of `run` steps, or stop.
 * `settled`: true when the step time stopped changing; false when it was still changing at the
 * cap; undefined when the row is too slow for two rounds within the cap (its first step, with
 * the page faults, was still run untimed). `stepMs`: the warm time of one step (the last
 * round's median), which sizes the timed repetitions.
 */
export type WarmUpNext = { readonly run: number } | { readonly settled: boolean | undefined; readonly stepMs: number; readonly rounds: number };

const perStep = (b: Batch): number => Math.max(b.ms / b.steps, 1e-6);

export function nextWarmUp(batches: readonly Batch[], rule: WarmUpRule): WarmUpNext {
  const last = batches.at(-1);
  if (!last) return { run: 1 };
  const elapsedMs = batches.reduce((sum, b) => sum + b.ms, 0);
  const fitsCap = (steps: number) => elapsedMs + perStep(last) * steps <= rule.maxMs;

  // Calibration: the first batch long enough fixes the batch size; it is not part of a round
  // (it may be the very first, cold step).
  const calibrated = batches.findIndex((b) => b.ms >= rule.minBatchMs || b.steps >= MAX_BATCH_STEPS);
  if (calibrated < 0) {
    const steps = last.steps * 2;
    return fitsCap(steps) ? { run: steps } : { settled: undefined, stepMs: perStep(last), rounds: 0 };
  }
  const size = batches[calibrated]!.steps;
  const timed = batches.slice(calibrated + 1).map(perStep);
  const rounds = Math.floor(timed.length / rule.batchesPerRound);
  const roundMedian = (r: number) => median(timed.slice(r * rule.batchesPerRound, (r + 1) * rule.batchesPerRound));
  const current = rounds > 0 ? roundMedian(rounds - 1) : median(timed.length ? timed : [perStep(last)]);

  if (rounds >= 2 && timed.length === rounds * rule.batchesPerRound) {
    const previous = roundMedian(rounds - 2);
    if (Math.abs(current - previous) <= rule.tolerance * previous) return { settled: true, stepMs: current, rounds };
    if (rounds >= rule.maxRounds) return { settled: false, stepMs: current, rounds };
  }
  if (!fitsCap(size)) return { settled: rounds >= 2 ? false : undefined, stepMs: current, rounds };
  return { run: size };
}

/** Spread above this marks a row as too noisy to trust. */
export const UNSTABLE_SPREAD = 0.1;

/** The q-quantile (0…1) with linear interpolation between order statistics. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) throw new RangeError('quantile of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

/**
 * How far a row's timed repetitions disagree: their interquartile range over their median.
 * Robust to one slow outlier (a GC pause), large when the time drifts or jumps between values.
 */
export function spread(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  return (quantile(samples, 0.75) - quantile(samples, 0.25)) / median(samples);
}
