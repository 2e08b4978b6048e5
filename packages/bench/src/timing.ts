import type { Progress } from './progress.js';
import { median, min } from './stats.js';
import type { Result, Runner } from './types.js';

export interface TimingPlan {
  /** Timed repetitions per row (rows that are too slow for the budget get fewer, ≥ minReps). */
  readonly reps: number;
  /** Fixed steps per repetition, or undefined to calibrate to ≥ minRepMs. */
  readonly steps: number | undefined;
  readonly minRepMs: number;
  readonly budgetMs: number;
}

/** The fewest repetitions a row is cut down to by the time budget (the "≥ 5"). */
export const MIN_REPS = 5;

interface Row {
  readonly runner: Runner;
  readonly steps: number;
  readonly reps: number;
  readonly stepMs: number;
  readonly samples: number[];
}

const describe = (r: Runner): string =>
  [r.key.backend, r.key.variant, r.key.checks && r.key.checks !== 'default' ? r.key.checks : undefined, r.key.threads > 1 ? `${r.key.threads} threads` : undefined]
    .filter(Boolean)
    .join(' ');

/**
 * Warm-up (page faults, JIT tiers, caches) and calibration: batches of steps, doubling while a
 * batch is short, until ≥ 3 batches and 2 × minRepMs have run (one step for rows slower than
 * 4 × minRepMs). Batches keep the number of round trips to child processes small. Returns the
 * warm time per step of the last batch.
 */
async function warmUp(runner: Runner, plan: TimingPlan): Promise<number> {
  let steps = 1;
  let total = 0;
  for (let calls = 1; ; calls++) {
    const ms = await runner.run(steps);
    const perStep = Math.max(ms / steps, 1e-5);
    total += ms;
    if (perStep >= 4 * plan.minRepMs || (calls >= 3 && total >= 2 * plan.minRepMs)) return perStep;
    if (ms < plan.minRepMs / 4) steps *= 2;
  }
}

/** Warms up and calibrates every runner, then times them rep by rep, interleaved. */
export async function measure(
  runners: readonly Runner[],
  plan: TimingPlan,
  progress: Progress,
  report: (done: number, label: string) => void,
  notes: (message: string) => void,
): Promise<Result[]> {
  const rows: Row[] = [];
  const failed = new Set<Row>();
  const failure = (runner: Runner, error: unknown) =>
    notes(`${describe(runner)} at ${runner.size} params failed and was dropped: ${error instanceof Error ? error.message : String(error)}`);
  for (const [i, runner] of runners.entries()) {
    report(0, `warming up ${describe(runner)} (${i + 1}/${runners.length})`);
    let stepMs: number;
    try {
      stepMs = await warmUp(runner, plan);
    } catch (error) {
      failure(runner, error);
      continue;
    }
    const steps = plan.steps ?? Math.max(1, Math.ceil(plan.minRepMs / stepMs));
    const perRep = steps * stepMs;
    let reps = plan.reps;
    if (reps * perRep > plan.budgetMs) {
      const floor = Math.min(MIN_REPS, plan.reps);
      reps = Math.max(floor, Math.floor(plan.budgetMs / perRep));
      if (reps * perRep > plan.budgetMs * 1.5 && reps === floor) {
        notes(`${describe(runner)} at ${runner.size} params skipped: ${floor} repetitions of ${(perRep / 1e3).toFixed(1)} s exceed --budget ${(plan.budgetMs / 1e3).toFixed(0)} s`);
        continue;
      }
      notes(`${describe(runner)} at ${runner.size} params: ${reps} repetitions instead of ${plan.reps} (one takes ${(perRep / 1e3).toFixed(1)} s; --budget ${(plan.budgetMs / 1e3).toFixed(0)} s)`);
    }
    rows.push({ runner, steps, reps, stepMs, samples: [] });
  }

  const totalMs = rows.reduce((s, r) => s + r.reps * r.steps * r.stepMs, 0);
  let doneMs = 0;
  const maxReps = Math.max(0, ...rows.map((r) => r.reps));
  for (let rep = 0; rep < maxReps; rep++) {
    for (const row of rows) {
      if (rep >= row.reps || failed.has(row)) continue;
      report(totalMs > 0 ? doneMs / totalMs : 0, `rep ${rep + 1}/${row.reps} ${describe(row.runner)}`);
      try {
        const ms = await row.runner.run(row.steps);
        if (!(ms > 0) || !Number.isFinite(ms)) throw new Error(`reported ${ms} ms for ${row.steps} steps`);
        row.samples.push(ms / row.steps);
      } catch (error) {
        failed.add(row);
        failure(row.runner, error);
      }
      doneMs += row.steps * row.stepMs;
    }
  }
  progress.clear();

  return rows.filter((row) => !failed.has(row)).map(({ runner, samples, steps }) => {
    const medianMs = median(samples);
    const minMs = min(samples);
    return {
      ...runner.key,
      size: runner.size,
      nsPerParam: (medianMs * 1e6) / runner.size,
      minNsPerParam: (minMs * 1e6) / runner.size,
      gbPerSecond: (runner.bytesPerParam * runner.size) / (medianMs * 1e6),
      medianMs,
      minMs,
      runs: samples.length,
      stepsPerRep: steps,
    };
  });
}
