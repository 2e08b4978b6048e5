/**
 * The three backends run the same f32 operations in the same order, so parameters and state
 * must agree bit for bit: on every length (SIMD body + scalar tail), every flag combination,
 * per-group overrides, hyperparameter changes between steps, and non-finite inputs.
 */
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, schedules, SGD, SGDW, type BackendName } from 'adamw-wasm';
import { fillVaried, firstBitDifference, varied } from './helpers.js';

const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];
const LENGTHS = [...Array.from({ length: 40 }, (_, i) => i + 1), 63, 64, 65, 127, 1000, 1023, 4099, 65_537];

type Optimizer = AdamW | Adam | SGD | SGDW;
const CREATE = { AdamW: AdamW.create, Adam: Adam.create, SGD: SGD.create, SGDW: SGDW.create } as const;

interface Run {
  readonly optimizer: keyof typeof CREATE;
  readonly groups: (n: number) => Record<string, unknown>[];
  readonly options: Record<string, unknown>;
  readonly steps: number;
  /** Called before each step, e.g. to change hyperparameters mid-run. */
  readonly between?: (opt: Optimizer, step: number) => void;
  /** Gradient magnitude, so some runs sit in the ε-dominated regime. */
  readonly gradScale?: number;
  /** Overrides how gradients are written (default: finite varied values). */
  readonly fillGrads?: (grads: Float32Array, seed: number) => void;
}

async function runOn(backend: BackendName, run: Run, n: number): Promise<Float32Array[]> {
  const create = CREATE[run.optimizer] as (g: unknown, o: unknown) => Promise<Optimizer>;
  const opt = await create(run.groups(n), { ...run.options, backend });
  expect(opt.backend).toBe(backend);
  for (let t = 1; t <= run.steps; t++) {
    run.between?.(opt, t);
    (opt.groups as readonly { grads: Float32Array }[]).forEach((g, k) => {
      const seed = 1000 * t + k + n;
      if (run.fillGrads) run.fillGrads(g.grads, seed);
      else fillVaried(g.grads, seed, run.gradScale ?? 1);
    });
    opt.step();
  }
  const out = (opt.groups as readonly { params: Float32Array; state: object }[]).flatMap((g) =>
    [g.params, ...Object.values(g.state as Record<string, Float32Array>)].map((a) => a.slice()),
  );
  opt.dispose();
  return out;
}

async function expectAllBackendsEqual(run: Run, n: number): Promise<void> {
  const [reference, ...others] = await Promise.all(BACKENDS.map((b) => runOn(b, run, n)));
  others.forEach((arrays, k) => {
    arrays.forEach((a, j) => {
      const at = firstBitDifference(reference![j]!, a, true);
      const bits = (x: Float32Array) => (at < 0 ? '' : new Uint32Array(x.buffer, x.byteOffset + 4 * at, 1)[0]!.toString(16));
      expect(at, `${BACKENDS[k + 1]} vs wasm-simd, n=${n}, array ${j}, element ${at}: 0x${bits(reference![j]!)} vs 0x${bits(a)}`).toBe(-1);
    });
  });
}

const single = (init: (n: number) => Float32Array) => (n: number): Record<string, unknown>[] => [{ init: init(n) }];

const RUNS: Record<string, Run> = {
  'AdamW defaults': { optimizer: 'AdamW', groups: single((n) => varied(n, 1)), options: {}, steps: 5 },
  'AdamW amsgrad + maximize, tuned': {
    optimizer: 'AdamW',
    groups: single((n) => varied(n, 2, 10)),
    options: { lr: 3e-2, betas: [0.5, 0.9], eps: 1e-6, weightDecay: 0.3, amsgrad: true, maximize: true },
    steps: 6,
  },
  'Adam coupled L2 + amsgrad': {
    optimizer: 'Adam',
    groups: single((n) => varied(n, 3)),
    options: { weightDecay: 1e-2, amsgrad: true },
    steps: 5,
  },
  'Adam maximize, eps-dominated gradients': {
    optimizer: 'Adam',
    groups: single((n) => varied(n, 4)),
    options: { maximize: true, eps: 1e-3 },
    steps: 4,
    gradScale: 1e-6,
  },
  'groups with overrides, lr and betas changed between steps': {
    optimizer: 'AdamW',
    groups: (n) => [
      { init: varied(n, 5) },
      { size: n + 3, lr: 1e-2, weightDecay: 0, amsgrad: true },
      { init: varied(Math.max(1, n >> 1), 6), betas: [0, 0], maximize: true },
    ],
    options: { weightDecay: 0.05 },
    steps: 5,
    between: (opt, t) => {
      const groups = (opt as AdamW).groups;
      groups[0]!.lr = 1e-3 * t;
      groups[2]!.betas = [0.1 * t, 0.5];
    },
  },
  'AdamW presets (ε̂, decay after, decay by schedule), SGDR, clipping': {
    optimizer: 'AdamW',
    groups: (n) => [
      { init: varied(n, 7), preset: 'transformers', weightDecay: 0.1 },
      { init: varied(n, 8), preset: 'tfa', weightDecay: 1e-3, amsgrad: true },
      { init: varied(n, 9), preset: 'keras', maximize: true },
    ],
    options: { schedule: schedules.cosineWarmRestarts({ t0: 2, tMult: 2, etaMin: 0.1 }), clipGradNorm: 0.05 },
    steps: 6,
  },
  'SGD: plain, momentum + dampening + L2, Nesterov, maximize, clipping': {
    optimizer: 'SGD',
    groups: (n) => [
      { init: varied(n, 10) },
      { init: varied(n, 11), momentum: 0.9, dampening: 0.2, weightDecay: 0.01 },
      { init: varied(n, 12), momentum: 0.8, nesterov: true, maximize: true },
    ],
    options: { lr: 0.05, clipGradNorm: 3 },
    steps: 5,
  },
  'SGDW with SGDR, both weight-decay scales': {
    optimizer: 'SGDW',
    groups: (n) => [{ init: varied(n, 13), weightDecay: 1e-2 }, { init: varied(n, 14), weightDecay: 0.5, weightDecayScale: 'lr' }],
    options: { lr: 0.1, schedule: schedules.cosineWarmRestarts({ t0: 3 }) },
    steps: 5,
  },
};

describe('wasm-simd, wasm and js are bit-identical', () => {
  for (const [name, run] of Object.entries(RUNS)) {
    it(name, async () => {
      for (const n of LENGTHS) await expectAllBackendsEqual(run, n);
    });
  }

  it('non-finite gradients and parameters propagate identically, NaN payloads included', async () => {
    const specials = [NaN, Infinity, -Infinity, -0, 0, 3.4e38, 1e-45, -1e-40];
    const withSpecials = (n: number, seed: number): Float32Array => {
      const a = varied(n, seed);
      for (let i = 0; i < n; i += 3) a[i] = specials[i % specials.length]!;
      return a;
    };
    for (const optimizer of ['AdamW', 'Adam', 'SGD', 'SGDW'] as const) {
      const run: Run = {
        optimizer,
        groups: (n) =>
          optimizer.startsWith('Adam')
            ? [{ size: n, amsgrad: true }, { size: n, weightDecay: 0.1 }]
            : [{ size: n, momentum: 0.9 }, { size: n, weightDecay: 0.1 }],
        // The guard would refuse these steps; here the kernels' own propagation is under test.
        options: { nonFinite: 'ignore' },
        steps: 3,
        // Poison gradients and parameters; every backend must produce the same NaN/Inf pattern.
        between: (opt, t) =>
          (opt.groups as readonly { params: Float32Array; size: number }[]).forEach((g, k) => g.params.set(withSpecials(g.size, 77 + k + t))),
        fillGrads: (grads, seed) => grads.set(withSpecials(grads.length, seed)),
      };
      for (const n of [1, 5, 17, 64, 67]) await expectAllBackendsEqual(run, n);
    }
  });
});
