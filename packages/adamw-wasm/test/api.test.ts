/** The public API contract: defaults, views, step counting, lifecycle, and the maths it promises. */
import { describe, expect, it } from 'vitest';
import { Adam, ADAM_DEFAULTS, AdamW, ADAMW_DEFAULTS, type BackendName } from 'adamw-wasm';
import { varied } from './helpers.js';

const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

describe('creation', () => {
  it("'auto' runs the SIMD module in Node", async () => {
    const opt = await AdamW.create([{ size: 3 }]);
    expect(opt.backend).toBe('wasm-simd');
    opt.dispose();
  });

  it('defaults are torch.optim.AdamW / torch.optim.Adam defaults', async () => {
    const torchAdamW = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false };
    const none = { schedule: undefined, excludeFromWeightDecay: [] };
    expect(ADAMW_DEFAULTS).toEqual({ ...torchAdamW, epsMode: 'torch', weightDecayScale: 'lr', decayOrder: 'before', ...none });
    expect(ADAM_DEFAULTS).toEqual({ ...torchAdamW, weightDecay: 0, epsMode: 'torch', ...none });
    const w = await AdamW.create([{ size: 1 }]);
    const a = await Adam.create([{ size: 1 }]);
    expect(w.groups[0]!.hyperparameters).toEqual(ADAMW_DEFAULTS);
    expect(a.groups[0]!.hyperparameters).toEqual(ADAM_DEFAULTS);
    w.dispose();
    a.dispose();
  });

  it('options apply to every group and group keys override them', async () => {
    const opt = await AdamW.create([{ size: 2 }, { size: 2, lr: 0.5, betas: [0.8, 0.9], amsgrad: true }], { lr: 0.1, eps: 1e-6 });
    expect(opt.groups[0]!.hyperparameters).toEqual({ ...ADAMW_DEFAULTS, lr: 0.1, eps: 1e-6 });
    expect(opt.groups[1]!.hyperparameters).toEqual({ ...ADAMW_DEFAULTS, lr: 0.5, eps: 1e-6, betas: [0.8, 0.9], amsgrad: true });
    opt.dispose();
  });
});

describe.each(BACKENDS)('views (%s)', (backend) => {
  it('are zero-copy Float32Arrays over one buffer, 64-byte aligned, disjoint, initialised', async () => {
    const init = varied(17, 9);
    const opt = await AdamW.create([{ init }, { size: 5, amsgrad: true }, { size: 1 }], { backend });
    const arrays = opt.groups.flatMap((g) => [g.params, g.grads, g.state.expAvg, g.state.expAvgSq, ...(g.state.maxExpAvgSq ? [g.state.maxExpAvgSq] : [])]);
    expect(arrays.length).toBe(4 + 5 + 4);
    const buffer = arrays[0]!.buffer;
    for (const a of arrays) {
      expect(a).toBeInstanceOf(Float32Array);
      expect(a.buffer).toBe(buffer);
      expect(a.byteOffset % 64).toBe(0);
    }
    const spans = arrays.map((a) => [a.byteOffset, a.byteOffset + a.byteLength] as const).sort((x, y) => x[0] - y[0]);
    spans.slice(1).forEach((s, i) => expect(s[0]).toBeGreaterThanOrEqual(spans[i]![1]));
    expect(Array.from(opt.groups[0]!.params)).toEqual(Array.from(init));
    init[0] = 12345; // the init array is copied, not kept
    expect(opt.groups[0]!.params[0]).not.toBe(12345);
    expect(opt.groups[1]!.params.every((x) => x === 0)).toBe(true);
    expect(opt.groups[0]!.state.maxExpAvgSq).toBeUndefined();
    expect(opt.groups[1]!.state.maxExpAvgSq?.length).toBe(5);
    expect(opt.groups.map((g) => g.size)).toEqual([17, 5, 1]);
    opt.dispose();
  });

  it('stay valid across steps, and writes through them are what step() reads', async () => {
    const opt = await AdamW.create([{ size: 1000 }], { backend, weightDecay: 0 });
    const { params, grads } = opt.groups[0]!;
    params.fill(1);
    for (let t = 1; t <= 20; t++) {
      grads.fill(t % 2 ? 1 : 0.5);
      opt.step();
      expect(opt.stepCount).toBe(t);
    }
    expect(params.byteLength).toBe(4000); // not detached
    expect(opt.groups[0]!.params).toBe(params);
    expect(params[999]).toBeLessThan(1);
    expect(opt.groups[0]!.state.expAvg[0]).toBeGreaterThan(0);
    opt.zeroGrad();
    expect(grads.every((x) => x === 0)).toBe(true);
    opt.dispose();
  });
});

describe('the update rule', () => {
  // From zero state the first step is θ·(1 − lr·wd) − lr·g/(|g| + ε): bias correction makes
  // m̂ = g and v̂ = g². Checked against f64 to a few f32 ulps on every backend.
  it.each(BACKENDS)('first AdamW step matches the closed form (%s)', async (backend) => {
    const lr = 1e-2, wd = 0.1, eps = 1e-8;
    const init = Float32Array.of(0.5, -1.5, 2, 1e-3, 7);
    const g = Float32Array.of(0.25, -3, 1e-9, 0, -1e-4);
    const opt = await AdamW.create([{ init }], { backend, lr, weightDecay: wd });
    opt.groups[0]!.grads.set(g);
    opt.step();
    init.forEach((theta, i) => {
      const expected = theta * (1 - lr * wd) - (lr * g[i]!) / (Math.abs(g[i]!) + eps);
      const got = opt.groups[0]!.params[i]!;
      expect(Math.abs(got - expected) / Math.abs(expected), `element ${i}`).toBeLessThan(4 * 2 ** -23);
    });
    opt.dispose();
  });

  it('AdamW decays weights directly; Adam’s L2 goes through the adaptive denominator', async () => {
    // With zero gradients AdamW shrinks θ by exactly (1 − lr·wd) per step, whatever θ's size;
    // Adam+L2 sees g = wd·θ and moves every weight by ≈ lr regardless of its size (the paper's point).
    const init = Float32Array.of(10, 1, 0.01);
    const lr = 1e-3, wd = 0.1;
    const w = await AdamW.create([{ init }], { lr, weightDecay: wd });
    const a = await Adam.create([{ init }], { lr, weightDecay: wd });
    w.step();
    a.step();
    const f = Math.fround;
    expect(Array.from(w.groups[0]!.params)).toEqual(Array.from(init, (x) => f(x * f(1 - lr * wd))));
    Array.from(a.groups[0]!.params).forEach((x, i) => expect(init[i]! - x).toBeCloseTo(lr, 5));
    w.dispose();
    a.dispose();
  });

  it('hyperparameters changed between steps take effect on the next step', async () => {
    const make = () => AdamW.create([{ init: Float32Array.of(1, 1) }]);
    const [x, y] = await Promise.all([make(), make()]);
    for (const o of [x, y]) o.groups[0]!.grads.fill(1);
    x.groups[0]!.lr = 0.1;
    x.step();
    y.step();
    expect(1 - x.groups[0]!.params[0]!).toBeCloseTo(100 * (1 - y.groups[0]!.params[0]!), 3);
    x.dispose();
    y.dispose();
  });
});

describe('lifecycle', () => {
  it('dispose() is idempotent and later calls fail clearly', async () => {
    const opt = await Adam.create([{ size: 4 }]);
    opt.dispose();
    opt.dispose();
    expect(() => opt.step()).toThrow(/^Adam: step\(\) called after dispose\(\)$/);
    expect(() => opt.zeroGrad()).toThrow(/^Adam: zeroGrad\(\) called after dispose\(\)$/);
    expect(opt.stepCount).toBe(0);
  });

  it('optimizers are independent (one memory each)', async () => {
    const a = await AdamW.create([{ init: Float32Array.of(1) }]);
    const b = await AdamW.create([{ init: Float32Array.of(1) }]);
    expect(a.groups[0]!.params.buffer).not.toBe(b.groups[0]!.params.buffer);
    a.groups[0]!.grads[0] = 1;
    a.step();
    expect(b.groups[0]!.params[0]).toBe(1);
    a.dispose();
    b.dispose();
  });
});
