/**
 * The conventions users arrive with: presets, ε placement, weight-decay parameterisation,
 * decay order and schedules, each checked against its closed form or defining property.
 */
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, ADAMW_PRESETS, normalizedWeightDecay, schedules, SGD } from 'adamw-wasm';

const f32 = Math.fround;

describe('presets', () => {
  it('set the table of defaults; explicit options and group keys win; a group preset beats the options preset', async () => {
    const opt = await AdamW.create(
      [{ size: 1 }, { size: 1, eps: 1e-3 }, { size: 1, preset: 'keras' }, { size: 1, preset: 'tfa', weightDecay: 1e-4 }],
      { preset: 'transformers', lr: 5e-4 },
    );
    const h = opt.groups.map((g) => g.hyperparameters);
    expect(h[0]).toMatchObject({ lr: 5e-4, eps: 1e-6, weightDecay: 0, epsMode: 'hat', decayOrder: 'after', weightDecayScale: 'lr' });
    expect(h[1]).toMatchObject({ eps: 1e-3, epsMode: 'hat', decayOrder: 'after' });
    expect(h[2]).toMatchObject({ lr: 5e-4, eps: 1e-7, weightDecay: 4e-3, epsMode: 'hat', decayOrder: 'before', weightDecayScale: 'lr' });
    expect(h[3]).toMatchObject({ eps: 1e-7, weightDecay: 1e-4, epsMode: 'hat', weightDecayScale: 'schedule' });
    opt.dispose();
    expect(Object.keys(ADAMW_PRESETS)).toEqual(['torch', 'keras', 'tfa', 'transformers', 'paper']);
  });

  it.each(['tfa', 'paper'] as const)("'%s' has no weight decay default, so one must be given", async (preset) => {
    await expect(AdamW.create([{ size: 1 }], { preset })).rejects.toThrow(
      new RegExp(`^AdamW: preset '${preset}' needs weightDecay to be given \\(options\\.weightDecay or groups\\[0\\]\\.weightDecay\\)`),
    );
    const ok = await AdamW.create([{ size: 1, weightDecay: 1e-4 }], { preset });
    expect(ok.groups[0]!.weightDecayScale).toBe('schedule');
    ok.dispose();
  });

  it('are validated per optimizer', async () => {
    await expect(Adam.create([{ size: 1 }], { preset: 'transformers' as never })).rejects.toThrow(
      /^Adam: options\.preset must be one of 'torch', 'keras' \(got "transformers"\)/,
    );
    await expect(SGD.create([{ size: 1 }], { preset: 'torch' } as never)).rejects.toThrow(/^SGD: unknown option options\.preset/);
  });
});

/** One AdamW step on `init` with gradients `g`; returns the new parameters. */
async function oneStep(init: Float32Array, g: Float32Array, options: Parameters<typeof AdamW.create>[1]): Promise<Float32Array> {
  const opt = await AdamW.create([{ init }], options);
  opt.groups[0]!.grads.set(g);
  opt.step();
  const out = opt.groups[0]!.params.slice();
  opt.dispose();
  return out;
}

describe('weightDecayScale', () => {
  const init = Float32Array.of(3, -0.5, 1e-3);
  const zero = new Float32Array(3);

  it("'schedule' (paper, tfa): the decay is η·λ, independent of the base learning rate α", async () => {
    const eta = 0.5, lambda = 1e-3;
    const schedule = () => eta;
    const a = await oneStep(init, zero, { lr: 1e-3, weightDecay: lambda, weightDecayScale: 'schedule', schedule });
    const b = await oneStep(init, zero, { lr: 0.3, weightDecay: lambda, weightDecayScale: 'schedule', schedule });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).toEqual(Array.from(init, (x) => f32(x * f32(1 - eta * lambda))));
  });

  it("'lr' (torch, Keras): the decay is α·η·λ, so changing α changes it", async () => {
    const a = await oneStep(init, zero, { lr: 1e-3, weightDecay: 0.1 });
    const b = await oneStep(init, zero, { lr: 0.3, weightDecay: 0.1 });
    expect(Array.from(a)).toEqual(Array.from(init, (x) => f32(x * f32(1 - 1e-3 * 0.1))));
    expect(Array.from(b)).toEqual(Array.from(init, (x) => f32(x * f32(1 - 0.3 * 0.1))));
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });
});

describe('epsMode', () => {
  // First step from zero state: m̂ = g, v̂ = g². 'torch': lr·g/(|g| + ε). 'hat': the ε̂ form
  // lr·sqrt(1−β2)/(1−β1)·m/(sqrt(v) + ε) = lr·g/(|g| + ε/sqrt(1−β2)). Visible when |g| ~ ε.
  const lr = 1e-2, eps = 1e-8, g = 1e-8;
  const init = Float32Array.of(1);
  it.each([
    ['torch', lr * (g / (g + eps))],
    ['hat', lr * (g / (g + eps / Math.sqrt(1 - 0.999)))],
  ] as const)("'%s' places ε as its source does", async (epsMode, update) => {
    const [theta] = await oneStep(init, Float32Array.of(g), { lr, eps, weightDecay: 0, epsMode });
    expect(1 - theta!).toBeCloseTo(update, 7);
  });
});

describe('decayOrder', () => {
  it("'after' (transformers) decays the updated weights; 'before' (torch) the old ones", async () => {
    const lr = 0.1, wd = 0.5;
    const init = Float32Array.of(2, -1);
    const g = Float32Array.of(1, 1);
    const update = lr; // first step with |g| ≫ ε: lr·sign(g)
    const before = await oneStep(init, g, { lr, weightDecay: wd });
    const after = await oneStep(init, g, { lr, weightDecay: wd, decayOrder: 'after' });
    init.forEach((t, i) => {
      expect(before[i]).toBeCloseTo(t * (1 - lr * wd) - update, 6);
      expect(after[i]).toBeCloseTo((t - update) * (1 - lr * wd), 6);
    });
  });
});

describe('schedules drive the learning rate', () => {
  it('the k-th step uses schedule(k − 1) as the lr multiplier, for every group', async () => {
    const seen: number[] = [];
    const opt = await AdamW.create([{ init: Float32Array.of(0) }, { init: Float32Array.of(0), lr: 2e-3 }], {
      weightDecay: 0,
      schedule: (t) => {
        seen.push(t);
        return t === 1 ? 0 : 1;
      },
    });
    const moved = (): number[] => opt.groups.map((g) => g.params[0]!);
    for (const g of opt.groups) g.grads[0] = 1;
    opt.step();
    const afterFirst = moved();
    opt.step(); // η = 0: nothing moves
    expect(moved()).toEqual(afterFirst);
    expect(seen).toEqual([0, 0, 1, 1]);
    expect(afterFirst[1]! / afterFirst[0]!).toBeCloseTo(2, 5);
    opt.dispose();
  });

  it('a schedule returning garbage is refused before anything is written', async () => {
    const opt = await AdamW.create([{ init: Float32Array.of(1) }, { init: Float32Array.of(2), schedule: () => NaN }]);
    opt.groups.forEach((g) => g.grads.fill(1));
    expect(() => opt.step()).toThrow(/^AdamW: groups\[1\]\.schedule returned NaN for completed step 0; a schedule must return a finite number >= 0$/);
    expect(Array.from(opt.groups.map((g) => g.params[0]))).toEqual([1, 2]);
    expect(opt.groups[0]!.state.expAvg[0]).toBe(0);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });

  it('AdamWR: AdamW with SGDR warm restarts, lr restarts every t0·tMult^k steps', async () => {
    const schedule = schedules.cosineWarmRestarts({ t0: 2, tMult: 2 });
    expect([0, 1, 2, 3, 4, 5, 6].map(schedule).map((x) => Number(x.toFixed(6)))).toEqual([1, 0.5, 1, 0.853553, 0.5, 0.146447, 1]);
    const opt = await AdamW.create([{ size: 4 }], { schedule });
    expect(opt.groups[0]!.schedule).toBe(schedule);
    opt.dispose();
  });

  it('normalizedWeightDecay is λ_norm·sqrt(b / (B·T))', () => {
    expect(normalizedWeightDecay({ lambdaNorm: 0.05, batchSize: 128, trainingSize: 50_000, epochs: 100 })).toBeCloseTo(
      0.05 * Math.sqrt(128 / (50_000 * 100)),
      15,
    );
  });
});
