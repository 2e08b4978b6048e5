/**
 * pnpm repro [--quick] [options]: trains the grid, then the follow-ups its winners call for,
 * and writes results.json, the charts (SVG + PNG) and a README that reads them.
 */
import { SingleBar } from 'cli-progress';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cellErrors, cellRuns, curve, sweeps } from './analysis.js';
import { curvesSpec, heatmapSpec, render, sweepSpec } from './charts.js';
import { DEFAULT_DATA_DIR } from './data.js';
import { FULL, QUICK, followUpPhase, gridPhase, spread, type ReproConfig } from './plan.js';
import { Pool } from './pool.js';
import { writeReadme, type Meta } from './report.js';
import { METHODS, MODELS, MODEL_LABELS, type Method, type ModelKind, type RunResult, type RunSpec } from './types.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const HELP = `pnpm repro [--quick] [options]

Loshchilov & Hutter's Figure 2 on Fashion-MNIST: Adam + L2 vs AdamW (the paper's and PyTorch's
parameterisations) over a learning rate × weight decay grid, then more seeds around the best
cells, warm restarts and normalized weight decay. Writes results.json, charts and README.md.

  --quick             3 × 3 grid (+ λ = 0), one model, 6 epochs of 3,000 images: under 2 minutes on 2 cores
                      (default output examples/paper-repro/quick-out)
  --out <dir>         output folder (default docs/paper-repro)
  --data <dir>        Fashion-MNIST IDX files (default ${DEFAULT_DATA_DIR})
  --workers <n>       worker processes (default: one per core)
  --backend <name>    tfjs backend: wasm (default, fastest here) or cpu
  --grid <n>          keep n learning rates and n decays of the grid, spread over it
  --models <list>     comma-separated: ${MODELS.join(', ')} (the first is the main one)
  --epochs <n>        epochs per run
  --train-size <n>    training images (class-balanced subset)
  --test-size <n>     test images (10000 = the whole test set)
  --extra-seeds <n>   seeds beyond the first for the best cells
  --resume            reuse the runs already in <out>/results.json
  --help              this text
`;

function fail(message: string): never {
  process.stderr.write(`paper-repro: ${message}\n`);
  process.exit(2);
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) fail(`--${name} must be an integer >= ${min} (got ${JSON.stringify(value)})`);
  return n;
}

function configure(argv: string[]) {
  // `pnpm repro -- --quick` hands the script a literal "--": accept it.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        quick: { type: 'boolean' },
        out: { type: 'string' },
        data: { type: 'string' },
        workers: { type: 'string' },
        backend: { type: 'string' },
        grid: { type: 'string' },
        models: { type: 'string' },
        epochs: { type: 'string' },
        'train-size': { type: 'string' },
        'test-size': { type: 'string' },
        'extra-seeds': { type: 'string' },
        resume: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  let config: ReproConfig = parsed.quick ? QUICK : FULL;
  const grid = integer('grid', parsed.grid, 1);
  if (grid !== undefined) {
    config = {
      ...config,
      lrs: spread(config.lrs, grid),
      weightDecays: Object.fromEntries(METHODS.map((m) => [m, spread(config.weightDecays[m], grid)])) as Record<Method, number[]>,
    };
  }
  if (parsed.models !== undefined) {
    const models = parsed.models.split(',');
    const unknown = models.find((m) => !(MODELS as readonly string[]).includes(m));
    if (unknown !== undefined || models.length === 0) fail(`--models must list ${MODELS.join(' and/or ')} (got ${JSON.stringify(parsed.models)})`);
    config = { ...config, models: models as ModelKind[] };
  }
  config = {
    ...config,
    epochs: integer('epochs', parsed.epochs, 1) ?? config.epochs,
    trainSize: integer('train-size', parsed['train-size'], 10) ?? config.trainSize,
    testSize: integer('test-size', parsed['test-size'], 10) ?? config.testSize,
    extraSeeds: integer('extra-seeds', parsed['extra-seeds'], 0) ?? config.extraSeeds,
  };
  if (config.trainSize < config.batchSize) fail(`--train-size must be at least the batch size ${config.batchSize} (got ${config.trainSize})`);
  if (config.trainSize > 60000 || config.testSize > 10000) fail('--train-size is at most 60000 and --test-size at most 10000');
  const backend = parsed.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') fail(`--backend must be wasm or cpu (got ${JSON.stringify(backend)})`);
  const out = resolve(parsed.out ?? join(ROOT, parsed.quick ? 'examples/paper-repro/quick-out' : 'docs/paper-repro'));
  const workers = integer('workers', parsed.workers, 1) ?? availableParallelism();
  return { config, out, backend: backend as 'wasm' | 'cpu', workers, data: parsed.data ?? DEFAULT_DATA_DIR, resume: parsed.resume === true, command: ['pnpm repro', ...args].join(' ') };
}

function tfjsVersion(): string {
  const require = (path: string) => JSON.parse(readFileSync(fileURLToPath(import.meta.resolve(path)), 'utf8')) as { version: string };
  try {
    return require('@tensorflow/tfjs-core/package.json').version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const options = configure(process.argv.slice(2));
  const { config, out } = options;
  mkdirSync(out, { recursive: true });
  const resultsFile = join(out, 'results.json');
  const saved = options.resume && existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { meta?: Meta; runs: RunResult[] }) : undefined;
  const earlier: RunResult[] = saved?.runs ?? [];
  const started = new Date();
  const runs: RunResult[] = [];
  let reusedCount = 0;
  const save = () => writeFileSync(resultsFile, `${JSON.stringify({ meta: { ...meta(), config }, runs }, null, 1)}\n`);
  // Re-rendering (--resume with every run already there) keeps the description of the run that made them.
  const meta = (): Meta => (saved?.meta && reusedCount === runs.length && runs.length > 0 ? saved.meta : fresh());
  const fresh = (): Meta => ({
    machine: `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    tfjs: tfjsVersion(),
    backend: options.backend,
    workers: pool.size,
    started: started.toISOString(),
    wallSeconds: Math.round((Date.now() - started.getTime()) / 1000),
    command: options.command,
    reused: reusedCount,
  });

  const workers = Math.max(1, Math.min(options.workers, gridPhase(config).length));
  const pool = new Pool(workers, { dir: options.data, trainSize: config.trainSize, testSize: config.testSize, dataSeed: config.dataSeed, backend: options.backend });
  const bar = new SingleBar({
    format: '{bar} {percentage}% | {runs}/{totalRuns} runs | elapsed {duration_formatted} | ETA {eta_formatted} | {phase}',
    etaBuffer: 40,
    noTTYOutput: true,
    notTTYSchedule: 20000,
    hideCursor: true,
  });
  process.stderr.write(
    `paper-repro: ${config.models.map((m) => MODEL_LABELS[m]).join(' and ')}; ${config.lrs.length} learning rates × ${config.lrs.length ? config.weightDecays['adam-l2'].length + 1 : 0} decays × 3 methods; ` +
      `${config.epochs} epochs of ${config.trainSize} images; ${workers} workers on tfjs ${options.backend}; writing ${out}\n`,
  );
  try {
    const phase = async (label: string, specs: RunSpec[]) => {
      const reused = specs.map((s) => earlier.find((r) => r.id === s.id)).filter((r): r is RunResult => r !== undefined);
      runs.push(...reused);
      reusedCount += reused.length;
      const todo = specs.filter((s) => !reused.some((r) => r.id === s.id));
      // Epochs stand in for cost, so the bar and its ETA move evenly over long and short runs.
      const cost = todo.reduce((a, s) => a + s.epochs, 0);
      let finished = 0;
      bar.start(cost, 0, { phase: `${label}${reused.length ? ` (${reused.length} reused)` : ''}`, runs: 0, totalRuns: todo.length });
      await pool.run(todo, (r) => {
        runs.push(r);
        bar.increment(r.epochs, { runs: ++finished });
      });
      bar.stop();
      save();
    };
    await phase('phase 1/2: the grid', gridPhase(config));
    await phase('phase 2/2: seeds, restarts, normalized decay', followUpPhase(config, runs));
  } finally {
    pool.close();
  }

  const subtitle = [`Fashion-MNIST 14×14, ${config.trainSize} training images, ${config.epochs} epochs, batch ${config.batchSize}, cosine annealing, seed 1; tfjs ${options.backend} + adamw-wasm-tfjs`];
  const charts: Record<string, string> = {};
  for (const model of config.models) {
    const grids = METHODS.map((m) => cellErrors(runs, config, model, m));
    charts[`heatmap-${model}`] = (await render(out, `heatmap-${model}`, heatmapSpec(model, grids, subtitle)))[1]!;
  }
  const main = config.models[0]!;
  const restarts = runs.filter((r) => r.phase === 'restarts');
  if (restarts.length) {
    const { lr, weightDecay } = restarts[0]!;
    const cosine = cellRuns(runs, { model: main, method: 'adamw-paper', lr, weightDecay, epochs: config.epochs });
    charts['warm-restarts'] = (
      await render(out, 'warm-restarts', curvesSpec(`AdamW vs AdamWR (warm restarts): test error over epochs — ${MODEL_LABELS[main]}`, [`α ${lr}, λ ${weightDecay} (the paper's AdamW's best cell); mean over seeds, band = min–max`, ...subtitle], [curve('AdamW, one cosine', cosine), curve('AdamWR, T_0 = 1 epoch, T_mult = 2', restarts)]))
    )[1]!;
  }
  const sw = sweeps(runs);
  if (sw.length === 2) charts['normalized-decay'] = (await render(out, 'normalized-decay', sweepSpec([`${MODEL_LABELS[main]}, the paper's AdamW, seed 1; T = training length in epochs, B = ${config.trainSize}, b = ${config.batchSize}`], sw)))[1]!;
  save();
  writeFileSync(join(out, 'README.md'), writeReadme(config, meta(), runs, charts));
  process.stderr.write(`paper-repro: ${runs.length} runs in ${(meta().wallSeconds / 60).toFixed(1)} min; wrote ${join(out, 'README.md')}, results.json and ${Object.keys(charts).length} charts (SVG + PNG)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`paper-repro: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
