/**
 * The reproduction's own checks: the loader refuses missing or damaged files, the analysis
 * measures what it claims on grids whose answer is known, one real run learns and is
 * deterministic, and `--quick` on a tiny subset goes end to end (runs, charts, README).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { init } from 'adamw-wasm-tfjs';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bestCell, cellErrors, separability, smoothedArgmin, spearman, type Grid } from '../src/analysis.js';
import { DEFAULT_DATA_DIR, INPUTS, loadFashionMnist, parseIdx, subset, type FashionMnist } from '../src/data.js';
import { FULL, QUICK } from '../src/plan.js';
import { train } from '../src/train.js';
import type { RunResult, RunSpec } from '../src/types.js';

const run = promisify(execFile);
const CLI = new URL('../dist/cli.js', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'paper-repro-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function idx(magic: number, dims: number[], values: number): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, magic);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.byteLength + values);
  out.set(new Uint8Array(header.buffer));
  return out;
}

describe('the Fashion-MNIST loader', () => {
  it('refuses damaged IDX data with the rule that failed', () => {
    const ok = idx(0x803, [3, 28, 28], 3 * 784);
    expect(parseIdx(ok, 'f', 0x803, 3, [28, 28]).length).toBe(3 * 784);
    expect(() => parseIdx(ok.subarray(0, 10), 'f', 0x803, 3, [28, 28])).toThrow(/f is damaged: 10 bytes is shorter than its 16-byte header/);
    expect(() => parseIdx(idx(0x801, [3, 28, 28], 3 * 784), 'f', 0x803, 3, [28, 28])).toThrow(/magic number 0x00000801, expected 0x00000803/);
    expect(() => parseIdx(idx(0x803, [4, 28, 28], 4 * 784), 'f', 0x803, 3, [28, 28])).toThrow(/4 items, expected 3/);
    expect(() => parseIdx(idx(0x803, [3, 28, 27], 3 * 784), 'f', 0x803, 3, [28, 28])).toThrow(/dimension 2 is 27, expected 28/);
    expect(() => parseIdx(ok.subarray(0, ok.length - 1), 'f', 0x803, 3, [28, 28])).toThrow(/2367 bytes, expected 2368/);
  });

  it('says what is missing or unreadable, and how to get it', () => {
    expect(() => loadFashionMnist(join(scratch, 'nowhere'))).toThrow(/train-images-idx3-ubyte\.gz is missing; install Debian's dataset-fashion-mnist/);
    const dir = join(scratch, 'damaged');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    for (const f of ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz']) copyFileSync(join(DEFAULT_DATA_DIR, f), join(dir, f));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), Buffer.from('not gzip'));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idx(0x801, [10000], 10000)));
    expect(() => loadFashionMnist(dir)).toThrow(/t10k-images-idx3-ubyte\.gz is not a readable gzip file/);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idx(0x803, [10000, 28, 28], 10000 * 784)));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(Uint8Array.from([...idx(0x801, [10000], 0), ...new Uint8Array(10000).fill(10)])));
    expect(() => loadFashionMnist(dir)).toThrow(/label 10 at 0 is not a class 0–9/);
  });
});

describe('the data', () => {
  let data: FashionMnist;
  beforeAll(() => {
    data = loadFashionMnist();
  });

  it('has 60,000 + 10,000 pooled images in [0, 1] and balanced labels', () => {
    expect([data.train.count, data.test.count]).toEqual([60000, 10000]);
    expect(data.train.images.length).toBe(60000 * INPUTS);
    let min = Infinity;
    let max = -Infinity;
    for (const v of data.test.images) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 1]);
    expect(Array.from({ length: 10 }, (_, c) => data.test.labels.filter((l) => l === c).length)).toEqual(new Array(10).fill(1000));
  });

  it('subsets are class-balanced and the same for the same seed', () => {
    const a = subset(data.train, 1000, 7);
    expect(Array.from({ length: 10 }, (_, c) => a.labels.filter((l) => l === c).length)).toEqual(new Array(10).fill(100));
    expect(subset(data.train, 1000, 7).images).toEqual(a.images);
    expect(subset(data.train, 1000, 8).images).not.toEqual(a.images);
  });

  it('one run learns (far below the 90% of chance) and is reproducible bit for bit', async () => {
    await init();
    await tf.setBackend('wasm');
    const spec: RunSpec = { id: 't', phase: 'grid', method: 'adamw-paper', model: 'mlp-bn', lr: 3e-3, weightDecay: 1e-4, schedule: 'cosine', epochs: 5, batchSize: 128, trainSize: 2000, testSize: 2000, seed: 1, dataSeed: 1 };
    const split = { train: subset(data.train, 2000, 1), test: subset(data.test, 2000, 2) };
    const first = await train(spec, split);
    expect(first.testError).toHaveLength(5);
    expect(first.finalTestError).toBeLessThan(0.3);
    expect(first.trainLoss[4]).toBeLessThan(first.trainLoss[0]! / 2);
    const again = await train(spec, split);
    expect(again.testError).toEqual(first.testError);
    expect(again.trainLoss).toEqual(first.trainLoss);
    const otherSeed = await train({ ...spec, seed: 2 }, split);
    expect(otherSeed.trainLoss).not.toEqual(first.trainLoss);
  });
});

/** A grid whose seed-1 errors are given by err(lrIndex, wdIndex). */
function syntheticGrid(err: (l: number, w: number) => number): Grid {
  const config = { lrs: [1e-4, 1e-3, 1e-2, 1e-1], weightDecays: { ...FULL.weightDecays, 'adamw-paper': [1e-5, 1e-4, 1e-3, 1e-2] }, epochs: 1 };
  const runs = config.lrs.flatMap((lr, l) =>
    [0, ...config.weightDecays['adamw-paper']].map((weightDecay, w) => ({ model: 'mlp', method: 'adamw-paper', schedule: 'cosine', epochs: 1, lr, weightDecay, seed: 1, finalTestError: err(l, w) }) as unknown as RunResult),
  );
  return cellErrors(runs, config, 'mlp', 'adamw-paper');
}

describe('the analysis', () => {
  it('Spearman: ±1 for monotone pairs, ties averaged, null for a constant side', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 45])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3], [1, 1, 2])).toBeCloseTo(Math.sqrt(3) / 2, 12);
    expect(spearman([1, 2, 3], [5, 5, 5])).toBeNull();
  });

  it('a diagonal valley reads as coupled, an axis-aligned one as separable', () => {
    // The best decay index is 4 − lr index: more learning rate wants less decay.
    const diagonal = separability(syntheticGrid((l, w) => 0.1 + 0.02 * Math.abs(w - (4 - l))));
    expect(diagonal.bestDecayIndex).toEqual([4, 3, 2, 1]);
    expect(diagonal.rhoBest).toBeCloseTo(-1, 12);
    expect(diagonal.rhoLargestGood).toBeCloseTo(-1, 12);
    // The best decay is index 2 in every row; the learning rate only shifts the level.
    const separable = separability(syntheticGrid((l, w) => 0.1 + 0.005 * l + 0.02 * Math.abs(w - 2)));
    expect(separable.bestDecayIndex).toEqual([2, 2, 2, 2]);
    expect(separable.rhoBest).toBeNull();
    // A flat valley: the largest decay within 1 point tracks its edge, not the noisy winner.
    const flat = separability(syntheticGrid((l, w) => (w <= 4 - l ? 0.1 + 0.001 * ((l * 7 + w * 3) % 5) : 0.2)));
    expect(flat.largestGoodDecayIndex).toEqual([4, 3, 2, 1]);
    // Rows more than 5 points worse than the grid's best take no part.
    expect(separability(syntheticGrid((l, w) => (l === 0 ? 0.5 : 0.1 + 0.01 * w))).rows).toEqual([1, 2, 3]);
  });

  it('best cell and a parabola refined minimum', () => {
    const grid = syntheticGrid((l, w) => 0.1 + 0.01 * Math.abs(l - 2) + 0.01 * Math.abs(w - 1));
    expect([bestCell(grid).lr, bestCell(grid).weightDecay]).toEqual([1e-2, 1e-5]);
    const xs = [-2, -1, 0, 1, 2];
    expect(smoothedArgmin(xs, xs.map((x) => (x - 0.3) ** 2))).toBeCloseTo(0.3, 12);
    expect(smoothedArgmin(xs, [5, 4, 3, 2, 1])).toBe(2);
  });

  it('the full run is at least 6 × 6 (+ λ = 0) per method; --quick a sub-grid of it', () => {
    expect(FULL.lrs.length).toBeGreaterThanOrEqual(6);
    for (const m of ['adam-l2', 'adamw-paper', 'adamw-torch'] as const) {
      expect(FULL.weightDecays[m].length).toBeGreaterThanOrEqual(6);
      expect(QUICK.weightDecays[m].every((w) => FULL.weightDecays[m].includes(w))).toBe(true);
    }
  });
});

describe('pnpm repro --quick on a tiny subset', () => {
  const out = join(scratch, 'quick');
  let stderr = '';
  beforeAll(async () => {
    ({ stderr } = await run('node', [CLI, '--', '--quick', '--grid', '2', '--train-size', '300', '--test-size', '300', '--epochs', '1', '--workers', '2', '--out', out]));
  }, 60_000);

  it('records every run with its hyperparameters, seed, per-epoch errors and time', () => {
    const { meta, runs } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { meta: { workers: number; backend: string }; runs: RunResult[] };
    expect(meta).toMatchObject({ workers: 2, backend: 'wasm' });
    const count = (phase: string) => runs.filter((r) => r.phase === phase).length;
    // 2 learning rates × (λ = 0 shared + 3 methods × 2 decays); a 3-point sweep at 1 and 2 epochs; AdamWR × 3 seeds.
    expect([count('grid'), count('normalized'), count('restarts')]).toEqual([14, 6, 3]);
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
    for (const r of runs) {
      expect(r.testError).toHaveLength(r.epochs);
      expect(r.testError.every((e) => e >= 0 && e <= 1)).toBe(true);
      expect(r.wallMs).toBeGreaterThan(0);
      expect(r.trainSize).toBe(300);
    }
    // Each method's best cell has three seeds.
    for (const method of ['adam-l2', 'adamw-paper', 'adamw-torch'] as const) {
      const best = bestCell(cellErrors(runs, { ...QUICK, lrs: [...new Set(runs.filter((r) => r.phase === 'grid').map((r) => r.lr))].sort((a, b) => a - b), weightDecays: { ...QUICK.weightDecays, [method]: [...new Set(runs.filter((r) => r.phase === 'grid' && r.method === method && r.weightDecay > 0).map((r) => r.weightDecay))] }, epochs: 1 }, 'mlp-bn', method));
      expect(best.errors).toHaveLength(3);
    }
    expect(stderr).toMatch(/phase 2\/2/);
  });

  it('draws the charts as SVG and PNG and a README that shows them', () => {
    for (const name of ['heatmap-mlp-bn', 'warm-restarts', 'normalized-decay']) {
      expect(readFileSync(join(out, `${name}.svg`), 'utf8')).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
      expect(readFileSync(join(out, `${name}.png`)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    }
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    for (const text of ['![heatmaps](heatmap-mlp-bn.png)', '![warm restarts](warm-restarts.png)', '![normalized decay](normalized-decay.png)', '| Adam + L2 (coupled) |', 'Separability']) {
      expect(readme).toContain(text);
    }
  });

  it('refuses bad options with the rule, and explains itself', async () => {
    await expect(run('node', [CLI, '--epochs', '0'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--epochs must be an integer >= 1 \(got "0"\)/) });
    await expect(run('node', [CLI, '--models', 'resnet'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--models must list mlp-bn and\/or mlp/) });
    await expect(run('node', [CLI, '--bogus'])).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--bogus'/) });
    const { stdout } = await run('node', [CLI, '--', '--help']);
    expect(stdout).toMatch(/^pnpm repro \[--quick\] \[options\]/);
  });
});
