/** docs/paper-repro/README.md, written from results.json: every figure in it is computed. */
import { bestCell, cellErrors, cellRuns, curve, mean, neighbours, separability, std, sweeps, type Grid, type Sweep } from './analysis.js';
import { RESTART_T0_EPOCHS, RESTART_T_MULT, restartEnds } from './train.js';
import type { ReproConfig } from './plan.js';
import { METHOD_LABELS, METHODS, MODEL_LABELS, type ModelKind, type RunResult } from './types.js';

export interface Meta {
  readonly machine: string;
  readonly node: string;
  readonly tfjs: string;
  readonly backend: string;
  readonly workers: number;
  readonly started: string;
  readonly wallSeconds: number;
  readonly command: string;
  /** Runs taken from an earlier results.json (--resume). */
  readonly reused: number;
}

const pct = (x: number, digits = 2) => `${(100 * x).toFixed(digits)}%`;
const pm = (xs: readonly number[]) => (xs.length > 1 ? `${pct(mean(xs))} ± ${(100 * std(xs)).toFixed(2)} (${xs.length} seeds)` : `${pct(xs[0]!)} (1 seed)`);
const num = (x: number) => (x === 0 ? '0' : Number(x.toPrecision(3)).toExponential().replace(/e\+?/, 'e').replace(/\.?0+e/, 'e'));

function verdict(rho: number | null): string {
  if (rho === null) return 'the same decay is best in every usable row: separable';
  if (rho <= -0.7) return 'the best decay falls as the learning rate rises: a diagonal (coupled)';
  if (rho >= 0.7) return 'the best decay rises with the learning rate: a diagonal (coupled)';
  if (Math.abs(rho) < 0.4) return 'no consistent drift: close to separable';
  return 'a partial drift';
}

function rhoText(rho: number | null): string {
  return rho === null ? 'constant' : rho.toFixed(2);
}

/** The best cell, the spread over seeds, and the cells around it. */
function bestRow(grid: Grid): string {
  const best = bestCell(grid);
  const around = neighbours(grid, best).filter((c) => c.errors.length > 1);
  const aroundText = around.length ? around.map((c) => `α ${num(c.lr)}, λ ${num(c.weightDecay)}: ${pct(mean(c.errors))}`).join('; ') : '—';
  return `| ${METHOD_LABELS[grid.method]} | α ${num(best.lr)}, λ ${num(best.weightDecay)} | ${pm(best.errors)} | ${aroundText} |`;
}

function separabilityRows(grid: Grid): string {
  const s = separability(grid);
  const at = (indices: number[]) => s.rows.map((i) => num(grid.weightDecays[indices[i]!]!)).join(', ');
  return `| ${METHOD_LABELS[grid.method]} | ${s.rows.map((i) => num(grid.lrs[i]!)).join(', ')} | ${at(s.bestDecayIndex)} | ${rhoText(s.rhoBest)} | ${at(s.largestGoodDecayIndex)} | ${rhoText(s.rhoLargestGood)} | ${verdict(s.rhoLargestGood)} |`;
}

/** What the runs show, in sentences computed from them (so a rerun that shows otherwise says so). */
function summary(config: ReproConfig, runs: readonly RunResult[]): string[] {
  const main = config.models[0]!;
  const lines = ['## What this run shows', ''];
  for (const model of config.models) {
    const grids = METHODS.map((m) => cellErrors(runs, config, model, m));
    const bests = grids.map((g) => ({ method: g.method, cell: bestCell(g) }));
    const means = bests.map((b) => mean(b.cell.errors));
    const spread = Math.max(...bests.map((b) => std(b.cell.errors)));
    const gap = Math.max(...means) - Math.min(...means);
    const winner = bests[means.indexOf(Math.min(...means))]!;
    const decayHelped = bests.filter((b) => b.cell.weightDecay > 0).map((b) => METHOD_LABELS[b.method]);
    const seps = grids.map((g) => `${METHOD_LABELS[g.method]}: ${verdict(separability(g).rhoLargestGood)} (ρ ${rhoText(separability(g).rhoLargestGood)})`);
    lines.push(
      `- **${MODEL_LABELS[model]}.** Best test errors ${bests.map((b, i) => `${METHOD_LABELS[b.method]} ${pct(means[i]!)}`).join(', ')}: ` +
        (gap <= 2 * spread
          ? `within ${(100 * gap).toFixed(2)} points of each other, no more than twice the largest seed spread (${(100 * spread).toFixed(2)}), so no method generalised better here.`
          : `${METHOD_LABELS[winner.method]} is best by ${(100 * gap).toFixed(2)} points, more than twice the largest seed spread (${(100 * spread).toFixed(2)}).`) +
        ` ${decayHelped.length ? `The best cell has a positive decay for ${decayHelped.join(' and ')}` : 'No method\'s best cell has a positive decay: weight decay did not help this model within this budget'}.` +
        ` Separability: ${seps.join('; ')}.`,
    );
  }
  const restarts = runs.filter((r) => r.phase === 'restarts');
  if (restarts.length) {
    const { lr, weightDecay } = restarts[0]!;
    const a = curve('', cellRuns(runs, { model: main, method: 'adamw-paper', lr, weightDecay, epochs: config.epochs }));
    const b = curve('', restarts);
    const ends = restartEnds(config.epochs);
    const early = ends.filter((e) => e < config.epochs && e <= a.mean.length);
    const better = early.filter((e) => b.mean[e - 1]! < a.mean[e - 1]!);
    const last = a.mean.length;
    lines.push(
      `- **Warm restarts.** At the ends of AdamWR's earlier cycles (epochs ${early.join(', ')}) its mean test error is lower than one cosine's at ${better.length} of ${early.length}` +
        (better.length ? ` (epochs ${better.join(', ')})` : '') +
        `; after all ${last} epochs AdamWR ${pct(b.mean[last - 1]!)} vs AdamW ${pct(a.mean[last - 1]!)}` +
        (better.length * 2 > early.length
          ? b.mean[last - 1]! < a.mean[last - 1]!
            ? ': restarts gave good models earlier and the better final one.'
            : ': restarts gave good models earlier (the paper\'s anytime performance), not a better final one.'
          : ': restarts did not give good models earlier here.'),
    );
  }
  const sw = sweeps(runs);
  if (sw.length === 2) {
    const [short, long] = sw as [Sweep, Sweep];
    const text =
      short.edgeLambdaNorm === null
        ? `the sweep at ${short.epochs} epochs never left the valley, so it cannot tell`
        : long.edgeLambdaNorm === null
          ? `the longer run tolerates more raw decay than the shorter one (its valley's edge lies beyond the sweep, above ${num(Math.max(...long.weightDecay))} against ${num(short.edgeLambdaNorm * short.scale)}), the opposite of what normalizing predicts (less raw decay for more steps)`
          : `the valley's edge moves by ${((long.edgeLambdaNorm * long.scale) / (short.edgeLambdaNorm * short.scale)).toFixed(2)}× in raw λ and ${(long.edgeLambdaNorm / short.edgeLambdaNorm).toFixed(2)}× in λ_norm from ${short.epochs} to ${long.epochs} epochs`;
    lines.push(`- **Normalized weight decay.** For the paper's AdamW, ${text}.`);
  }
  return lines;
}

export function writeReadme(config: ReproConfig, meta: Meta, runs: readonly RunResult[], charts: Record<string, string>): string {
  const main = config.models[0]!;
  const lines: string[] = [];
  const push = (...xs: string[]) => lines.push(...xs);
  push(
    '# Decoupled weight decay on Fashion-MNIST: the paper\'s Figure 2, reproduced with adamw-wasm-tfjs',
    '',
    `Generated by \`${meta.command}\` (${(meta.wallSeconds / 60).toFixed(1)} minutes${meta.reused ? ` for ${runs.length - meta.reused} runs, reusing ${meta.reused} of an earlier invocation` : ''}; every run's training time adds up to ${(runs.reduce((a, r) => a + r.wallMs, 0) / 60000).toFixed(0)} core-minutes; on ${meta.machine}, ${meta.workers} worker processes, Node ${meta.node}, TensorFlow.js ${meta.tfjs} on its \`${meta.backend}\` backend, started ${meta.started}). Every number below is computed from [\`results.json\`](results.json), which holds every run: hyperparameters, seed, test error after every epoch, training loss, wall time.`,
    '',
    '## Set-up',
    '',
    `- **Data**: Fashion-MNIST (Debian's \`dataset-fashion-mnist\`), images average-pooled 2×2 to 14×14. A class-balanced training subset of ${config.trainSize} images (data seed ${config.dataSeed}) so that the networks overfit and regularisation matters; test error on ${config.testSize === 10000 ? 'the whole 10,000-image test set' : `${config.testSize} test images`}.`,
    `- **Models**: ${config.models.map((m) => MODEL_LABELS[m]).join('; ')} (ReLU, He-normal initialisation, softmax output), trained from seed 1 (initialisation and shuffling; more seeds where stated).`,
    `- **Budget**: ${config.epochs} epochs of batch ${config.batchSize} (${Math.floor(config.trainSize / config.batchSize)} steps per epoch, the last partial batch dropped), cosine annealing of the learning rate and of the decay to 0 over the run (η_t).`,
    '- **Methods**, all stepping in adamw-wasm through `adamw-wasm-tfjs`, identical at λ = 0 (plain Adam, so that column is run once and shared):',
    "  - **Adam + L2**: `adam({ weightDecay: λ })`, the gradient gets +λ·θ before Adam's moments (what `tf.train.adam` with an L2 regulariser or PyTorch's `Adam(weight_decay=λ)` do);",
    "  - **AdamW, the paper's parameterisation**: `adamw({ weightDecay: λ, weightDecayScale: 'schedule' })`, θ shrinks by η_t·λ per step, independent of α (Algorithm 2);",
    "  - **AdamW, PyTorch's parameterisation**: `adamw({ weightDecay: λ, weightDecayScale: 'lr' })`, θ shrinks by α·η_t·λ per step (torch.optim.AdamW, Keras).",
    '- Every weight is decayed (kernels, biases, batch-norm scales and offsets), as in the paper.',
    '',
  );
  push(...summary(config, runs), '');
  for (const model of config.models) {
    const grids = METHODS.map((m) => cellErrors(runs, config, model, m));
    push(`## Learning rate × weight decay: ${MODEL_LABELS[model]}`, '', `![heatmaps](${charts[`heatmap-${model}`]})`, '');
    push(
      'Best cell of each method (lowest final test error of seed 1, the run every cell has; it' + (model === main ? ' and its grid neighbours' : '') + ` were rerun with ${config.extraSeeds} more seeds, giving the mean ± standard deviation):`,
      '',
      '| method | best cell | test error (mean ± std) | neighbours (mean over seeds) |',
      '|---|---|---|---|',
      ...grids.map(bestRow),
      '',
      'Separability: for each learning rate whose best error is within 5 points of the grid\'s best (diverging or hopeless rows have no meaningful optimum), the best decay and the largest decay within 1 point of that row\'s best (sturdier: single-seed winners in a flat valley are noisy); ρ is Spearman\'s rank correlation of each with the learning rate (λ = 0 ranks lowest). ρ near −1 means the good region is a diagonal; near 0, or the same decay in every row, means the two hyperparameters can be tuned separately.',
      '',
      '| method | learning rates | best λ per row | ρ | largest λ within 1 pt per row | ρ | reading (from the sturdier ρ) |',
      '|---|---|---|---|---|---|---|',
      ...grids.map(separabilityRows),
      '',
    );
  }

  const restarts = runs.filter((r) => r.phase === 'restarts');
  if (restarts.length) {
    const { lr, weightDecay } = restarts[0]!;
    const cosineRuns = cellRuns(runs, { model: main, method: 'adamw-paper', lr, weightDecay, epochs: config.epochs });
    const a = curve('AdamW, one cosine', cosineRuns);
    const b = curve(`AdamWR, restarts every ${RESTART_T0_EPOCHS}·${RESTART_T_MULT}^k epochs`, restarts);
    const ends = restartEnds(config.epochs);
    push(
      '## Warm restarts (AdamWR)',
      '',
      `![warm restarts](${charts['warm-restarts']})`,
      '',
      `${MODEL_LABELS[main]}, the paper's AdamW at its best cell (α ${num(lr)}, λ ${num(weightDecay)}): one cosine over ${config.epochs} epochs against SGDR restarts (T_0 = ${RESTART_T0_EPOCHS} epoch, T_mult = ${RESTART_T_MULT}), whose cycles end at epochs ${ends.join(', ')}. Test error, mean over seeds (min–max):`,
      '',
      `| epoch | ${a.label} | ${b.label} |`,
      '|---|---|---|',
      ...ends.filter((e) => e <= a.mean.length).map((e) => `| ${e} | ${pct(a.mean[e - 1]!)} (${pct(a.min[e - 1]!)}–${pct(a.max[e - 1]!)}) | ${pct(b.mean[e - 1]!)} (${pct(b.min[e - 1]!)}–${pct(b.max[e - 1]!)}) |`),
      '',
    );
  }

  const sw = sweeps(runs);
  if (sw.length === 2) {
    const [short, long] = sw as [(typeof sw)[0], (typeof sw)[0]];
    const alpha = runs.find((r) => r.phase === 'normalized')!.lr;
    // λ_norm ratios; the raw λ ratio is that times the ratio of the scales (1/√2 for 2× the epochs).
    const scaleRatio = long.scale / short.scale;
    const judge = (normRatio: number) =>
      Math.abs(Math.log(normRatio)) < Math.abs(Math.log(normRatio * scaleRatio)) ? 'closer to λ_norm transferring' : 'closer to raw λ transferring';
    const ratios = (label: string, a: number | null, b: number | null, bLowerBound = false) => {
      if (a === null || b === null) return `| ${label} | — | — | the error at ${short.epochs} epochs never rose 1 point above its best within the sweep |`;
      const r = b / a;
      const at = bLowerBound ? '> ' : '';
      const reading = bLowerBound && r * scaleRatio > 1 ? 'neither: the longer run tolerates more raw decay than the shorter, not less' : judge(r);
      return `| ${label} | ${at}${(r * scaleRatio).toFixed(2)} | ${at}${r.toFixed(2)} | ${reading} |`;
    };
    // A sweep that never leaves the valley bounds its edge from below by its largest λ_norm.
    const longEdge = long.edgeLambdaNorm ?? Math.max(...long.lambdaNorm);
    push(
      '## Normalized weight decay',
      '',
      `![normalized decay](${charts['normalized-decay']})`,
      '',
      `${MODEL_LABELS[main]}, the paper's AdamW at α ${num(alpha)}, λ swept in half-octaves around the edge of that row's valley (its largest decay within 1 point of the best), at ${short.epochs} and ${long.epochs} epochs (seed 1), with λ = λ_norm·sqrt(b/(B·T)) (Appendix B.1). If λ_norm transfers, the best raw λ at ${long.epochs} epochs is ${scaleRatio.toFixed(2)}× the one at ${short.epochs} and the λ_norm ratio is 1; if raw λ transfers, the raw ratio is 1 and the λ_norm ratio ${(1 / scaleRatio).toFixed(2)}.`,
      '',
      '| training length | lowest error | at λ_norm (parabola) | edge: largest λ_norm within 1 point (interpolated) | raw λ at the edge | error span over the sweep |',
      '|---|---|---|---|---|---|',
      ...sw.map(
        (s) =>
          `| ${s.epochs} epochs | ${pct(Math.min(...s.error))} | ${num(s.bestLambdaNorm)} | ${s.edgeLambdaNorm === null ? `> ${num(Math.max(...s.lambdaNorm))} (not reached)` : num(s.edgeLambdaNorm)} | ${s.edgeLambdaNorm === null ? `> ${num(Math.max(...s.weightDecay))}` : num(s.edgeLambdaNorm * s.scale)} | ${(100 * (Math.max(...s.error) - Math.min(...s.error))).toFixed(2)} points |`,
      ),
      '',
      `| ${long.epochs} vs ${short.epochs} epochs | raw λ ratio | λ_norm ratio | reading |`,
      '|---|---|---|---|',
      ratios('edge of the valley (sturdy)', short.edgeLambdaNorm, longEdge, long.edgeLambdaNorm === null),
      ratios('lowest point (noisy: the valley floor is flat)', short.bestLambdaNorm, long.bestLambdaNorm),
      '',
      'One seed per point; a ratio within a half-octave (0.71–1.41) of a hypothesis is within the sweep\'s resolution.',
      '',
    );
  }
  push(
    '## Rerun',
    '',
    '```sh',
    'bash scripts/setup.sh        # Debian packages (dataset-fashion-mnist among them) and npm deps',
    'pnpm repro                   # this page: the full run (about 20 minutes on 2 cores)',
    'pnpm repro --quick           # a 3 × 3 grid on one model in under 2 minutes, written to examples/paper-repro/quick-out/',
    '```',
    '',
    'Options: `pnpm repro --help`. Runs are deterministic for a given machine and backend (seeded initialisation, shuffles and subsets); `--resume` reuses the runs already in the output\'s results.json.',
    '',
  );
  return lines.join('\n');
}
