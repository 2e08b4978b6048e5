import type { Progress } from './progress.js';
import { nextWarmUp, SETTLED_WITHIN, spread, UNSTABLE_SPREAD, warmUpRule, type Batch } from './stability.js';
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

/** The fewest repetitions a row is cut down to by the time budget (the issue's "≥ 5"). */
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

interface WarmUp {
  readonly stepMs: number;
  readonly settled: boolean | undefined;
  readonly rounds: number;
  readonly batches: number;
  readonly ms: number;
}

/**
 * Runs batches of steps until the step time has settled (or the cap is reached; see
 * stability.ts). Batches keep the number of round trips to child processes small.
 */
async function warmUp(runner: Runner, plan: TimingPlan): Promise<WarmUp> {
  const rule = warmUpRule(plan.minRepMs, plan.budgetMs);
  const batches: Batch[] = [];
  for (;;) {
    const next = nextWarmUp(batches, rule);
    if (!('run' in next)) return { ...next, batches: batches.length, ms: batches.reduce((sum, b) => sum + b.ms, 0) };
    const ms = await runner.run(next.run);
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new Error(`reported ${ms} ms for ${next.run} steps`);
    batches.push({ steps: next.run, ms });
  }
}

const seconds = (ms: number): string => `${(ms / 1e3).toFixed(ms < 10_000 ? 2 : 0)} s`;

function warmUpSummary(w: WarmUp): string {
  const how = w.settled === true ? `settled after ${w.rounds} rounds` : w.settled === false ? `still changing after ${w.rounds} rounds` : 'too slow to check for a settled time';
  return `${how} (${w.batches} batches, ${seconds(w.ms)}), ${w.stepMs < 1 ? `${(w.stepMs * 1e3).toFixed(1)} µs` : `${w.stepMs.toFixed(2)} ms`} a step`;
}

/** Warms up and calibrates every runner, then times them rep by rep, interleaved. */
export async function measure(
  runners: readonly Runner[],
  plan: TimingPlan,
  progress: Progress,
  /** What the progress stages are called, e.g. "size 16M (7/7)". */
  sizeLabel: string,
  notes: (message: string) => void,
): Promise<Result[]> {
  const rows: Row[] = [];
  const failed = new Set<Row>();
  const failure = (runner: Runner, error: unknown) =>
    notes(`${describe(runner)} at ${runner.size} params failed and was dropped: ${error instanceof Error ? error.message : String(error)}`);

  progress.stage(`${sizeLabel}: warm-up`, runners.length);
  for (const [i, runner] of runners.entries()) {
    progress.advance(i, `${describe(runner)} (${i + 1}/${runners.length})`);
    let warm: WarmUp;
    try {
      warm = await warmUp(runner, plan);
    } catch (error) {
      failure(runner, error);
      continue;
    }
    if (warm.settled === false) {
      notes(`${describe(runner)} at ${runner.size} params: the step time was still changing by more than ${SETTLED_WITHIN * 100}% between warm-up rounds when warm-up ended (${seconds(warm.ms)}): a busy machine, or a row that needs longer to warm up`);
    }
    const { stepMs } = warm;
    const steps = plan.steps ?? Math.max(1, Math.ceil(plan.minRepMs / stepMs));
    const perRep = steps * stepMs;
    let reps = plan.reps;
    if (reps * perRep > plan.budgetMs) {
      const floor = Math.min(MIN_REPS, plan.reps);
      reps = Math.max(floor, Math.floor(plan.budgetMs / perRep));
      if (reps * perRep > plan.budgetMs * 1.5 && reps === floor) {
        notes(`${describe(runner)} at ${runner.size} params skipped: ${floor} repetitions of ${(perRep / 1e3).toFixed(1)} s exceed --budget ${(plan.budgetMs / 1e3).toFixed(0)} s`);
        progress.detail(`${describe(runner)}: ${warmUpSummary(warm)}; skipped (over --budget)`);
        continue;
      }
      notes(`${describe(runner)} at ${runner.size} params: ${reps} repetitions instead of ${plan.reps} (one takes ${(perRep / 1e3).toFixed(1)} s; --budget ${(plan.budgetMs / 1e3).toFixed(0)} s)`);
    }
    progress.detail(`${describe(runner)}: ${warmUpSummary(warm)}; ${reps} repetitions of ${steps} step${steps === 1 ? '' : 's'}`);
    rows.push({ runner, steps, reps, stepMs, samples: [] });
  }

  // The timed stage counts estimated milliseconds, so its ETA is known before the first rep.
  const totalMs = rows.reduce((sum, r) => sum + r.reps * r.steps * r.stepMs, 0);
  const maxReps = Math.max(0, ...rows.map((r) => r.reps));
  progress.stage(`${sizeLabel}: timing`, totalMs, { unitsAreMs: true });
  let doneMs = 0;
  for (let rep = 0; rep < maxReps; rep++) {
    for (const row of rows) {
      if (rep >= row.reps || failed.has(row)) continue;
      progress.advance(doneMs, `repetition ${rep + 1}/${row.reps}: ${describe(row.runner)}`);
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
  progress.end();

  return rows.filter((row) => !failed.has(row)).map(toResult);
}

function toResult({ runner, samples, steps }: Row): Result {
  const medianMs = median(samples);
  const minMs = min(samples);
  const rowSpread = spread(samples);
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
    spread: rowSpread,
    // A warm-up that never settled only gets a note: if the time kept drifting while timed,
    // the interleaved repetitions disagree and the spread says so.
    unstable: rowSpread > UNSTABLE_SPREAD,
  };
}
