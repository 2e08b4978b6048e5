/**
 * Gradient clipping (torch.nn.utils.clip_grad_norm_ semantics over all groups) and the
 * non-finite guard: a refused or skipped step leaves parameters and state bitwise unchanged.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, NonFiniteGradientError, SGD, type BackendName } from 'adamw-wasm';
import { fillVaried, firstBitDifference, varied } from './helpers.js';

const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];
const f32 = Math.fround;

/** Snapshot of every array of every group. */
const snapshot = (opt: AdamW): Float32Array[] =>
  opt.groups.flatMap((g) => [g.params, g.state.expAvg, g.state.expAvgSq, ...(g.state.maxExpAvgSq ? [g.state.maxExpAvgSq] : [])].map((a) => a.slice()));

function expectSameBits(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(firstBitDifference(x, b[i]!), `array ${i}`).toBe(-1));
}

describe.each(BACKENDS)('non-finite guard (%s)', (backend) => {
  async function primed(nonFinite: 'throw' | 'skip' | 'ignore', clipGradNorm?: number): Promise<AdamW> {
    const opt = await AdamW.create([{ init: varied(37, 1) }, { init: varied(9, 2), amsgrad: true }], {
      backend,
      nonFinite,
      ...(clipGradNorm === undefined ? {} : { clipGradNorm }),
    });
    for (let t = 0; t < 3; t++) {
      opt.groups.forEach((g, k) => fillVaried(g.grads, 10 * t + k));
      opt.step();
    }
    return opt;
  }

  it.each([NaN, Infinity, -Infinity])("'throw' (default) refuses a step with a %s gradient and changes nothing", async (bad) => {
    for (const clip of [undefined, 1]) {
      const opt = await primed('throw', clip);
      const before = snapshot(opt);
      opt.groups[1]!.grads[5] = bad;
      let error: unknown;
      try {
        opt.step();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(NonFiniteGradientError);
      expect((error as NonFiniteGradientError).message).toMatch(/^AdamW: non-finite gradient groups\[1\]\.grads\[5\] = /);
      expect(error).toMatchObject({ group: 1, index: 5 });
      expectSameBits(snapshot(opt), before);
      expect(opt.stepCount).toBe(3);
      expect(opt.groups.map((g) => g.stepCount)).toEqual([3, 3]);
      opt.dispose();
    }
  });

  it("'skip' skips the step: nothing changes and stepCount stays", async () => {
    const opt = await primed('skip', 1);
    const before = snapshot(opt);
    opt.groups[0]!.grads[36] = NaN;
    const result = opt.step();
    expect(result.skipped).toBe(true);
    expect(result.gradNorm).toBeNaN();
    expectSameBits(snapshot(opt), before);
    expect(opt.stepCount).toBe(3);
    opt.groups[0]!.grads[36] = 0;
    expect(opt.step().skipped).toBe(false);
    expect(opt.stepCount).toBe(4);
    opt.dispose();
  });

  it("'ignore' applies the step, NaN and all, as torch would", async () => {
    const opt = await primed('ignore');
    opt.groups[0]!.grads[0] = NaN;
    expect(opt.step()).toEqual({ skipped: false });
    expect(opt.groups[0]!.params[0]).toBeNaN();
    expect(opt.groups[0]!.params[1]).not.toBeNaN();
    opt.dispose();
  });
});

describe('gradient clipping', () => {
  it('reports the total norm over all groups and scales gradients by clamp(maxNorm/(norm + 1e-6), 1)', async () => {
    const grads = [Float32Array.of(3, 4), Float32Array.of(12)]; // ‖g‖ = 13
    for (const maxNorm of [1, 13, 100]) {
      const clipped = await SGD.create([{ size: 2 }, { size: 1 }], { lr: 1, clipGradNorm: maxNorm });
      clipped.groups.forEach((g, k) => g.grads.set(grads[k]!));
      const result = clipped.step();
      expect(result.gradNorm).toBe(13);
      // SGD with lr 1: θ = 0 − coef·g, so the parameters show the coefficient exactly.
      const coef = Math.min(1, f32(f32(1 / f32(13 + f32(1e-6))) * maxNorm));
      expect(Array.from(clipped.groups[0]!.params)).toEqual([f32(-f32(3 * coef)), f32(-f32(4 * coef))]);
      expect(clipped.groups[1]!.params[0]).toBe(f32(-f32(12 * coef)));
      expect(clipped.groups[0]!.grads[0], 'the user’s gradients are left as written').toBe(3);
      clipped.dispose();
    }
  });

  it('gives the same bits on every backend, including the norm (canonical block order)', async () => {
    const results = await Promise.all(
      BACKENDS.map(async (backend) => {
        const opt = await AdamW.create([{ init: varied(10_007, 3) }, { init: varied(70_001, 4) }], { backend, clipGradNorm: 0.5 });
        const norms: number[] = [];
        for (let t = 1; t <= 3; t++) {
          opt.groups.forEach((g, k) => fillVaried(g.grads, t * 7 + k, 3));
          norms.push(opt.step().gradNorm!);
        }
        let plain = 0;
        for (const g of opt.groups) for (const x of g.grads) plain += x * x;
        const out = { norms, plain: Math.sqrt(plain), arrays: snapshot(opt) };
        opt.dispose();
        return out;
      }),
    );
    for (const r of results.slice(1)) {
      expect(r.norms).toEqual(results[0]!.norms);
      expectSameBits(r.arrays, results[0]!.arrays);
    }
    // The norm agrees with a plain sequential f64 sum to rounding.
    const { norms, plain } = results[0]!;
    expect(Math.abs(norms[2]! - plain) / plain).toBeLessThan(1e-13);
  });

  it('rejects a non-positive max norm', async () => {
    await expect(AdamW.create([{ size: 1 }], { clipGradNorm: 0 })).rejects.toThrow(/^AdamW: options\.clipGradNorm must be > 0 \(got 0\)$/);
    await expect(AdamW.create([{ size: 1 }], { nonFinite: 'warn' as never })).rejects.toThrow(
      /options\.nonFinite must be one of 'throw', 'skip', 'ignore'/,
    );
  });
});
