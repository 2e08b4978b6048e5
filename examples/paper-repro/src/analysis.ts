/** What the runs say: per-cell errors over seeds, best cells, separability, restarts, normalized decay. */
import type { ReproConfig } from './plan.js';
import type { Method, ModelKind, RunResult } from './types.js';

export interface Cell {
  readonly lrIndex: number;
  /** 0 is λ = 0; i > 0 is the method's i-th positive decay. */
  readonly wdIndex: number;
  readonly lr: number;
  readonly weightDecay: number;
  /** Final test errors, one per seed (seed 1 first). */
  readonly errors: number[];
}

export interface Grid {
  readonly model: ModelKind;
  readonly method: Method;
  readonly lrs: readonly number[];
  /** [0, ...positive decays]. */
  readonly weightDecays: readonly number[];
  /** cells[lrIndex][wdIndex]; errors empty where a run is missing. */
  readonly cells: Cell[][];
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Sample standard deviation (n − 1); 0 for a single value. */
export function std(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The cosine runs of one cell at the grid's length (any phase, any seed); λ = 0 is shared by all methods. */
export function cellRuns(runs: readonly RunResult[], cell: { model: ModelKind; method: Method; lr: number; weightDecay: number; epochs: number }): RunResult[] {
  return runs
    .filter(
      (r) =>
        r.model === cell.model &&
        r.schedule === 'cosine' &&
        r.epochs === cell.epochs &&
        r.lr === cell.lr &&
        r.weightDecay === cell.weightDecay &&
        r.lambdaNorm === undefined &&
        (cell.weightDecay === 0 || r.method === cell.method),
    )
    .sort((a, b) => a.seed - b.seed);
}

/** The cosine-schedule runs of the grid's cells (any phase), grouped by cell, seed order. */
export function cellErrors(runs: readonly RunResult[], config: Pick<ReproConfig, 'lrs' | 'weightDecays' | 'epochs'>, model: ModelKind, method: Method): Grid {
  const weightDecays = [0, ...config.weightDecays[method]];
  const cells = config.lrs.map((lr, lrIndex) =>
    weightDecays.map((weightDecay, wdIndex) => {
      const matching = cellRuns(runs, { model, method, lr, weightDecay, epochs: config.epochs });
      // λ = 0 is shared: one run per seed, whichever method label it carries.
      const bySeed = new Map(matching.map((r) => [r.seed, r.finalTestError]));
      return { lrIndex, wdIndex, lr, weightDecay, errors: [...bySeed.values()] };
    }),
  );
  return { model, method, lrs: config.lrs, weightDecays, cells };
}

/** Seed 1's error, the value every cell of the grid has. */
const firstSeed = (c: Cell): number => c.errors[0] ?? Infinity;

/**
 * The cell with the lowest seed-1 error: every cell has that run, so cells are compared on equal
 * terms (a mean over three seeds against single runs would favour the single runs' lucky draws).
 * More seeds then give the chosen cell's spread.
 */
export function bestCell(grid: Grid): Cell {
  let best: Cell | undefined;
  for (const row of grid.cells) {
    for (const cell of row) {
      if (cell.errors.length === 0) continue;
      if (!best || firstSeed(cell) < firstSeed(best)) best = cell;
    }
  }
  if (!best) throw new Error(`paper-repro: no runs for ${grid.model} ${grid.method}`);
  return best;
}

/** The up-to-four grid neighbours of a cell. */
export function neighbours(grid: Grid, cell: Cell): Cell[] {
  const steps = [[-1, 0], [1, 0], [0, -1], [0, 1]] as const;
  return steps.map(([dl, dw]) => grid.cells[cell.lrIndex + dl]?.[cell.wdIndex + dw]).filter((c): c is Cell => c !== undefined);
}

/** Average ranks (ties share the mean of their ranks). */
function ranks(xs: readonly number[]): number[] {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation; null when either side is constant (no ordering to correlate). */
export function spearman(xs: readonly number[], ys: readonly number[]): number | null {
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? null : sxy / Math.sqrt(sxx * syy);
}

export interface Separability {
  /** Per learning rate: index into weightDecays of the row's lowest seed-1 error. */
  readonly bestDecayIndex: number[];
  /** Per learning rate: the largest decay index within `tolerance` of the row's best. */
  readonly largestGoodDecayIndex: number[];
  /** Spearman between log lr and the row's best decay (λ = 0 ranks lowest). */
  readonly rhoBest: number | null;
  /** The same for the largest decay within `tolerance`: sturdier, since valleys are flat. */
  readonly rhoLargestGood: number | null;
  /** Rows that take part: those whose best error is within `usable` of the grid's best (a diverged or hopeless lr row has no meaningful optimum). */
  readonly rows: number[];
  readonly tolerance: number;
}

/**
 * How far the best decay moves with the learning rate. ρ ≈ −1: the good region is a diagonal
 * (more lr wants less decay: coupled); ρ ≈ 0 or null (the same decay in every row): separable.
 */
export function separability(grid: Grid, tolerance = 0.01, usable = 0.05): Separability {
  const rowBest = grid.cells.map((row) => Math.min(...row.map(firstSeed)));
  const overall = Math.min(...rowBest);
  const rows = rowBest.map((e, i) => [e, i] as const).filter(([e]) => e <= overall + usable).map(([, i]) => i);
  const bestDecayIndex = grid.cells.map((row, i) => row.findIndex((c) => firstSeed(c) === rowBest[i]));
  const largestGoodDecayIndex = grid.cells.map((row, i) => {
    let last = 0;
    row.forEach((c, j) => {
      if (firstSeed(c) <= rowBest[i]! + tolerance) last = j;
    });
    return last;
  });
  const pick = (xs: number[]) => rows.map((i) => xs[i]!);
  return {
    bestDecayIndex,
    largestGoodDecayIndex,
    rhoBest: rows.length >= 3 ? spearman(rows, pick(bestDecayIndex)) : null,
    rhoLargestGood: rows.length >= 3 ? spearman(rows, pick(largestGoodDecayIndex)) : null,
    rows,
    tolerance,
  };
}

export interface Curve {
  readonly label: string;
  /** Per epoch: mean, min and max over seeds. */
  readonly mean: number[];
  readonly min: number[];
  readonly max: number[];
  readonly seeds: number;
}

export function curve(label: string, runs: readonly RunResult[]): Curve {
  const epochs = Math.min(...runs.map((r) => r.testError.length));
  const at = (e: number) => runs.map((r) => r.testError[e]!);
  return {
    label,
    mean: Array.from({ length: epochs }, (_, e) => mean(at(e))),
    min: Array.from({ length: epochs }, (_, e) => Math.min(...at(e))),
    max: Array.from({ length: epochs }, (_, e) => Math.max(...at(e))),
    seeds: runs.length,
  };
}

/** Minimum of a parabola through the lowest point and its two neighbours (in x = log2 λ), clamped to the sweep. */
export function smoothedArgmin(xs: readonly number[], ys: readonly number[]): number {
  const i = ys.indexOf(Math.min(...ys));
  if (i === 0 || i === ys.length - 1) return xs[i]!;
  const [x0, x1, x2] = [xs[i - 1]!, xs[i]!, xs[i + 1]!];
  const [y0, y1, y2] = [ys[i - 1]!, ys[i]!, ys[i + 1]!];
  const denominator = (x0 - x1) * (x0 - x2) * (x1 - x2);
  const a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / denominator;
  const b = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / denominator;
  if (!(a > 0)) return x1;
  return Math.min(x2, Math.max(x0, -b / (2 * a)));
}

export interface Sweep {
  readonly epochs: number;
  readonly lambdaNorm: number[];
  readonly weightDecay: number[];
  readonly error: number[];
  /** The lowest point refined by a parabola in log λ (noisy where the valley is flat). */
  readonly bestLambdaNorm: number;
  /**
   * The largest λ_norm whose error is within `tolerance` of the sweep's best, interpolated in
   * log λ where the curve crosses that level: the edge of the valley, which is steep and so
   * located far more reliably than its flat bottom. Null when the sweep never leaves the valley.
   */
  readonly edgeLambdaNorm: number | null;
  /** raw λ = λ_norm · scale at this length. */
  readonly scale: number;
}

/** Where the error first rises above `level` after the sweep's minimum, interpolated in log λ. */
function edge(xs: readonly number[], ys: readonly number[], level: number): number | null {
  const from = ys.indexOf(Math.min(...ys));
  for (let i = from + 1; i < xs.length; i++) {
    if (ys[i]! > level) {
      const [x0, x1] = [Math.log2(xs[i - 1]!), Math.log2(xs[i]!)];
      const t = (level - ys[i - 1]!) / (ys[i]! - ys[i - 1]!);
      return 2 ** (x0 + t * (x1 - x0));
    }
  }
  return null;
}

export function sweeps(runs: readonly RunResult[], tolerance = 0.01): Sweep[] {
  const normalized = runs.filter((r) => r.phase === 'normalized');
  return [...new Set(normalized.map((r) => r.epochs))].sort((a, b) => a - b).map((epochs) => {
    const points = normalized.filter((r) => r.epochs === epochs).sort((a, b) => a.lambdaNorm! - b.lambdaNorm!);
    const lambdaNorm = points.map((r) => r.lambdaNorm!);
    const error = points.map((r) => r.finalTestError);
    return {
      epochs,
      lambdaNorm,
      weightDecay: points.map((r) => r.weightDecay),
      error,
      bestLambdaNorm: 2 ** smoothedArgmin(lambdaNorm.map(Math.log2), error),
      edgeLambdaNorm: edge(lambdaNorm, error, Math.min(...error) + tolerance),
      scale: points[0]!.weightDecay / points[0]!.lambdaNorm!,
    };
  });
}
