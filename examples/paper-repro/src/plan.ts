/**
 * The experiment, as data: the grid of Figure 2 (phase 1), then what depends on its winners
 * (phase 2): more seeds for the best cells and their neighbours, AdamW vs AdamWR at the best
 * setting, and a fine λ sweep at two training lengths for normalized weight decay.
 */
import { normalizedWeightDecay } from 'adamw-wasm-tfjs';
import { bestCell, cellErrors, neighbours, separability } from './analysis.js';
import { METHODS, type Method, type ModelKind, type RunResult, type RunSpec } from './types.js';

export interface ReproConfig {
  readonly quick: boolean;
  /** The first model is the main one: seeds around every best cell, warm restarts, normalized decay. */
  readonly models: readonly ModelKind[];
  readonly lrs: readonly number[];
  /** Positive decays per method; λ = 0 is added to every row (and shared: all methods are Adam there). */
  readonly weightDecays: Readonly<Record<Method, readonly number[]>>;
  readonly epochs: number;
  readonly batchSize: number;
  readonly trainSize: number;
  readonly testSize: number;
  readonly dataSeed: number;
  /** Seeds beyond the first for the best cells (and, on the main model, their neighbours). */
  readonly extraSeeds: number;
  /** Exponents k of the normalized-decay sweep λ·2^(k/2) around the edge of the main model's best AdamW row. */
  readonly sweepHalfOctaves: readonly number[];
}

const logSpace = (from: number, to: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => Number((from * (to / from) ** (count === 1 ? 0 : i / (count - 1))).toPrecision(2)));

/** The full run: 6 × 6 (+ λ = 0) per method and model; about 20 minutes on 2 cores (measured: 20.1). */
export const FULL: ReproConfig = {
  quick: false,
  models: ['mlp-bn', 'mlp'],
  lrs: logSpace(2e-4, 1e-1, 6),
  weightDecays: {
    'adam-l2': logSpace(1e-6, 1e-2, 6),
    'adamw-paper': logSpace(1e-6, 1e-2, 6),
    'adamw-torch': logSpace(1e-3, 10, 6),
  },
  epochs: 15,
  batchSize: 128,
  trainSize: 4000,
  testSize: 10000,
  dataSeed: 1,
  extraSeeds: 2,
  sweepHalfOctaves: [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8],
};

/** `--quick`: every other row and column of the full grid, one model, fewer epochs: under 2 minutes on 2 cores. */
export const QUICK: ReproConfig = {
  ...FULL,
  quick: true,
  models: ['mlp-bn'],
  lrs: FULL.lrs.filter((_, i) => i % 2 === 1),
  weightDecays: Object.fromEntries(METHODS.map((m) => [m, FULL.weightDecays[m].filter((_, i) => i % 2 === 1)])) as unknown as ReproConfig['weightDecays'],
  epochs: 6,
  trainSize: 3000,
  extraSeeds: 2,
  sweepHalfOctaves: [-2, 0, 2],
};

/** Keeps `count` values spread over the list (both ends included). */
export function spread<T>(values: readonly T[], count: number): T[] {
  if (count >= values.length) return [...values];
  if (count === 1) return [values[Math.floor(values.length / 2)]!];
  return Array.from({ length: count }, (_, i) => values[Math.round((i * (values.length - 1)) / (count - 1))]!);
}

/** Identifies a run by everything that determines it, so a phase never repeats one. */
export function runKey(s: Omit<RunSpec, 'id' | 'phase'>): string {
  return [s.model, s.weightDecay === 0 ? 'no-decay' : s.method, `lr=${s.lr}`, `wd=${s.weightDecay}`, s.schedule, `E=${s.epochs}`, `seed=${s.seed}`].join('/');
}

function spec(config: ReproConfig, phase: RunSpec['phase'], fields: Pick<RunSpec, 'model' | 'method' | 'lr' | 'weightDecay' | 'seed'> & Partial<RunSpec>): RunSpec {
  const s = {
    phase,
    schedule: 'cosine' as const,
    epochs: config.epochs,
    batchSize: config.batchSize,
    trainSize: config.trainSize,
    testSize: config.testSize,
    dataSeed: config.dataSeed,
    ...fields,
  };
  return { id: runKey(s), ...s };
}

function unique(specs: RunSpec[], done: readonly RunResult[] = []): RunSpec[] {
  const seen = new Set(done.map((r) => r.id));
  return specs.filter((s) => !seen.has(s.id) && (seen.add(s.id), true));
}

export function gridPhase(config: ReproConfig): RunSpec[] {
  const specs: RunSpec[] = [];
  for (const model of config.models) {
    for (const lr of config.lrs) {
      // λ = 0 is the same Adam for every method: run once, shared by the three heatmaps.
      specs.push(spec(config, 'grid', { model, method: METHODS[0], lr, weightDecay: 0, seed: 1 }));
      for (const method of METHODS) {
        for (const weightDecay of config.weightDecays[method]) specs.push(spec(config, 'grid', { model, method, lr, weightDecay, seed: 1 }));
      }
    }
  }
  return unique(specs);
}

/** What phase 2 runs, given phase 1's results. */
export function followUpPhase(config: ReproConfig, done: readonly RunResult[]): RunSpec[] {
  const specs: RunSpec[] = [];
  const seeds = Array.from({ length: config.extraSeeds }, (_, i) => i + 2);
  const main = config.models[0]!;
  for (const model of config.models) {
    for (const method of METHODS) {
      const grid = cellErrors(done, config, model, method);
      const best = bestCell(grid);
      const cells = model === main ? [best, ...neighbours(grid, best)] : [best];
      for (const { lr, weightDecay } of cells) {
        for (const seed of seeds) specs.push(spec(config, 'seeds', { model, method, lr, weightDecay, seed }));
      }
    }
  }
  // AdamW (paper's decay) with cosine vs warm restarts at its best cell: the cosine seeds exist.
  const grid = cellErrors(done, config, main, 'adamw-paper');
  const best = bestCell(grid);
  for (const seed of [1, ...seeds]) {
    specs.push(spec(config, 'seeds', { model: main, method: 'adamw-paper', lr: best.lr, weightDecay: best.weightDecay, seed }));
    specs.push(spec(config, 'restarts', { model: main, method: 'adamw-paper', lr: best.lr, weightDecay: best.weightDecay, seed, schedule: 'warm-restarts' }));
  }
  // Normalized decay: λ = λ_norm·sqrt(b/(B·T)), swept at E and 2E epochs around the edge of the
  // best row's valley (its largest decay within 1 point of the row's best), which is steep and
  // so moves measurably; the valley's flat bottom does not.
  const edgeIndex = separability(grid).largestGoodDecayIndex[best.lrIndex]!;
  const centre = grid.weightDecays[edgeIndex]! > 0 ? grid.weightDecays[edgeIndex]! : Math.min(...config.weightDecays['adamw-paper']);
  const atE = normalizedWeightDecay({ lambdaNorm: 1, batchSize: config.batchSize, trainingSize: config.trainSize, epochs: config.epochs });
  for (const epochs of [config.epochs, 2 * config.epochs]) {
    const scale = normalizedWeightDecay({ lambdaNorm: 1, batchSize: config.batchSize, trainingSize: config.trainSize, epochs });
    for (const k of config.sweepHalfOctaves) {
      const lambdaNorm = Number(((centre * 2 ** (k / 2)) / atE).toPrecision(3));
      const weightDecay = lambdaNorm * scale;
      specs.push(spec(config, 'normalized', { model: main, method: 'adamw-paper', lr: best.lr, weightDecay, lambdaNorm, epochs, seed: 1 }));
    }
  }
  return unique(specs, done);
}
