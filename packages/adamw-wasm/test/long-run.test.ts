/**
 * Long run: 100,000 AdamW steps on a small vector stay within a rigorous floating-point error
 * bound of a float64 reference, and wasm-simd, wasm and js stay bit-identical throughout.
 *
 * The f64 reference runs the kernel's recurrence with the kernel's own f32-rounded scalars
 * (decay, β1, 1−β1, β2, 1−β2, sqrt(bc2), ε, −lr/bc1), so f32 and f64 differ only in how
 * each operation is rounded. The gradients are a fixed stream that does not depend on θ, so
 * errors in θ never feed back into what the optimizer sees.
 *
 * ── Error bound ─────────────────────────────────────────────────────────────────────────────
 * x is the value in exact arithmetic (same scalars, same f32 gradient g), x₃₂ the kernel's
 * value, x₆₄ the reference's. We carry two bounds per quantity along the reference
 * trajectory: E³²ₓ ≥ |x₃₂ − x| and E⁶⁴ₓ ≥ |x₆₄ − x|, and assert |x₃₂ − x₆₄| ≤ E³²ₓ + E⁶⁴ₓ.
 *
 * Rounding (round to nearest, no overflow at these magnitudes): u₃₂ = 2⁻²⁴, η₃₂ = 2⁻¹⁵⁰ (half
 * the smallest subnormal: the absolute error in the subnormal range), u₆₄ = 2⁻⁵³,
 * η₆₄ = 2⁻¹⁰⁷⁴. Subnormals occur: with zero gradients m decays by 0.9 a step, reaches f32's
 * subnormal range within about a thousand steps and sticks there at 4·2⁻¹⁴⁹ (k·0.9 rounds
 * back to k for k ≤ 4 ulps), while the exact m keeps decaying to 0.
 *   |fl(c) − c| ≤ u·|c| + η        (used for f32: c, the kernel's unrounded value, is unknown,
 *                                   but |c| ≤ |x| + P ≤ |x₆₄| + E⁶⁴ₓ + P)
 *   |fl(c) − c| ≤ u·|fl(c)| + η    (used for f64: fl(c) = x₆₄ is known)
 * so if P bounds the error carried in from the operands, one rounded operation gives
 *   E⁶⁴ = P⁶⁴ + u₆₄·|x₆₄| + η₆₄                            (after64 below)
 *   E³² = P³²·(1 + u₃₂) + u₃₂·(|x₆₄| + E⁶⁴) + η₃₂            (after32 below)
 * P·(1 + u) is the second-order term kept, not dropped: over the 10⁵ steps of θ's memory
 * (torch defaults: decay 1 − 10⁻⁵) the factor (1 + u) of each of θ's two roundings a step
 * compounds to (1 + u)^(2·10⁵) ≈ 1.012, more than a first-order bound's usual safety
 * factor of 1 + 10⁻³ would cover.
 *
 * Propagated errors P per operation (the same formulas for both precisions, with that
 * precision's bounds; constants c are f32 scalars shared exactly by both; g is exact):
 *   θ' = θ·decay              P = decay·E_θ                  (exact constant)
 *   a₁ = β1·m₋                P = β1·E_m
 *   a₂ = (1−β1)·g             P = 0                          (g exact)
 *   m  = a₁ + a₂              P = E_a₁ + E_a₂
 *   b₁ = β2·v₋                P = β2·E_v
 *   b₂ = (1−β2)·g             P = 0
 *   b₃ = b₂·g                 P = |g|·E_b₂
 *   v  = b₁ + b₃              P = E_b₁ + E_b₃
 *   vmax = max(vmax₋, v)      E = max(E_vmax₋, E_v), no rounding: max is exact, and
 *                             |max(a,b) − max(a',b')| ≤ max(|a−a'|, |b−b'|) (1-Lipschitz).
 *   w = amsgrad ? vmax : v
 *   s = sqrt(w)               |√ŵ − √w| = |ŵ − w|/(√ŵ + √w) ≤ E_w/(√L + √max(0, L − E_w)),
 *                             L a known lower bound on one of ŵ, w (the other is ≥ L − E_w):
 *                             L = w₆₄ for f64, L = w₆₄ − E⁶⁴_w for f32. Also
 *                             |√a − √b| ≤ √|a − b|, so P = min(that, √E_w): this covers
 *                             w = 0 (first steps of an element whose gradient is still 0).
 *   q = s / sqrt(bc2)         P = E_s / sqrt(bc2)
 *   d = q + ε                 P = E_q
 *   n = negStep·m             P = |negStep|·E_m
 *   r = n / d                 n̂/d̂ − n/d = (n̂ − n)/d̂ + (n/d)(d − d̂)/d̂, so
 *                             f32: P = (E_n + |r|·E_d)/d̂ with |r| ≤ |r₆₄| + E⁶⁴_r and
 *                                  d̂ ≥ d − E³²_d ≥ d₆₄ − E⁶⁴_d − E³²_d;
 *                             f64: d̂ = d₆₄ is known; solving for the |r| inside gives
 *                                  P = (E_n + |n̂/d̂|·E_d)/(d₆₄ − E_d), |n̂/d̂| ≤ |r₆₄|(1+2u) + η.
 *                             Both need a positive denominator: the test asserts
 *                             (E³²_d + E⁶⁴_d)/d₆₄ < 1/2 on every step (measured ≤ 1.6·10⁻³).
 *   θ = θ' + r                P = E_θ' + E_r
 *
 * These bounds are rigorous in real arithmetic. The only thing not covered exactly is that
 * they are themselves evaluated in f64: every term is nonnegative and each step's chain has
 * < 50 f64 operations, so after 10⁵ steps the computed bound is low by at most a relative
 * 50·10⁵·2⁻⁵³ ≈ 6·10⁻¹⁰ (the subtractions d − E_d lose at most a factor 2 of that, since
 * they stay above d/2, asserted). BOUND_SLACK = 1 + 10⁻⁶ covers it with a 1000× margin.
 *
 * The bound is worst-case (every rounding in the same direction), so real errors, which
 * mostly cancel, sit well below it; the test prints the worst error/bound ratio and the
 * largest bound on θ, and asserts that the bound on θ stays small in absolute terms.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, type BackendName } from 'adamw-wasm';
import { firstBitDifference, varied } from './helpers.js';

const STEPS = 100_000;
const CHECKPOINT_EVERY = 1_000;
/** Not a multiple of 4, so the SIMD kernel's scalar tail runs too. */
const LENGTH = 67;
const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

const U32 = 2 ** -24;
const ETA32 = 2 ** -150;
const U64 = 2 ** -53;
const ETA64 = 2 ** -1074;
/** Covers the f64 evaluation of the bound recurrences themselves (see the header). */
const BOUND_SLACK = 1 + 1e-6;

interface Config {
  readonly name: string;
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly amsgrad: boolean;
  /**
   * Non-vacuity: the bound on θ (f32 + f64 parts) must stay below this everywhere. Measured:
   * 2.0e-2 and 8.7e-4. The bound grows like 2u·Σ|θ| over the decay's memory (1/(lr·wd) =
   * 10⁵ resp. 3,333 steps); |θ| reaches ~5 here (an element whose gradient resumes after a
   * zero stretch takes steps of several lr), so the largest bound is ~0.4% of the largest |θ|.
   */
  readonly thetaBoundCeiling: number;
}

const CONFIGS: readonly Config[] = [
  { name: 'torch defaults', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, thetaBoundCeiling: 3e-2 },
  { name: 'amsgrad, lr 3e-3, weightDecay 0.1', lr: 3e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, amsgrad: true, thetaBoundCeiling: 2e-3 },
];

// ── Gradient stream ─────────────────────────────────────────────────────────────────────────

/** Per-element gradient magnitudes, 1e-6 … 1e2 (nine decades, ~27 binades). */
const AMPLITUDES = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100];
/** Sinusoid periods in steps, from nearly alternating to ~3,000 steps. */
const PERIODS = [3, 10, 37, 128, 501, 1009, 2999];
/** Tiny enough that (1−β2)·g·g and v are f32 subnormals, so the η terms matter. */
const SUBNORMAL_V_ELEMENT = 33;

interface ElementGradient {
  readonly amplitude: number;
  readonly frequency1: number;
  readonly frequency2: number;
  readonly phase: number;
  readonly weight2: number;
  /** Every this many steps a spike of 30× the amplitude (0: none): large m/√v after quiet stretches. */
  readonly spikeEvery: number;
  readonly isZeroAt: (t: number) => boolean;
}

function elementGradient(i: number): ElementGradient {
  const never = (): boolean => false;
  let isZeroAt: (t: number) => boolean = never;
  // 7,000-step stretches of zero gradient every 21,000 steps: v decays by e^-7 each time.
  if (i % 5 === 0) isZeroAt = (t) => Math.floor(t / 7_000) % 3 === 1;
  // One 40,000-step stretch: v decays by e^-40, m sinks into f32 subnormals and sticks there.
  else if (i % 11 === 3) isZeroAt = (t) => t >= 20_000 && t < 60_000;
  // Zero for the first 10,000 steps: v stays exactly 0 (sqrt(0), denominator ε, no update).
  else if (i % 13 === 7) isZeroAt = (t) => t <= 10_000;
  return {
    amplitude: i === SUBNORMAL_V_ELEMENT ? 1e-19 : AMPLITUDES[i % AMPLITUDES.length]!,
    frequency1: (2 * Math.PI) / PERIODS[i % PERIODS.length]!,
    frequency2: (2 * Math.PI) / PERIODS[(i + 3) % PERIODS.length]!,
    phase: 0.7 * i,
    weight2: 0.25 * (1 + (i % 4)),
    spikeEvery: i % 6 === 5 ? 997 : 0,
    isZeroAt,
  };
}

const ELEMENT_GRADIENTS = Array.from({ length: LENGTH }, (_, i) => elementGradient(i));

/** Gradient of step t (1-based), rounded to f32 as the optimizer stores it. */
function fillGradients(out: Float32Array, t: number): void {
  for (let i = 0; i < LENGTH; i++) {
    const e = ELEMENT_GRADIENTS[i]!;
    if (e.isZeroAt(t)) {
      out[i] = 0;
      continue;
    }
    let g = Math.sin(e.frequency1 * t + e.phase) + e.weight2 * Math.sin(e.frequency2 * t);
    if (e.spikeEvery !== 0 && t % e.spikeEvery === 0) g += 30;
    out[i] = e.amplitude * g;
  }
}

// ── Scalars, exactly as src/optimizers/adam-family.ts forms them ────────────────────────────

interface KernelScalars {
  readonly decayFactor: number;
  readonly beta1: number;
  readonly oneMinusBeta1: number;
  readonly beta2: number;
  readonly oneMinusBeta2: number;
  readonly biasCorrection2Sqrt: number;
  readonly eps: number;
  readonly negStepSize: number;
}

const f32 = Math.fround;

function kernelScalars(c: Config, t: number): KernelScalars {
  const [b1, b2] = c.betas;
  return {
    decayFactor: f32(1 - c.lr * c.weightDecay),
    beta1: f32(b1),
    oneMinusBeta1: f32(1 - b1),
    beta2: f32(b2),
    oneMinusBeta2: f32(1 - b2),
    biasCorrection2Sqrt: f32(Math.sqrt(1 - b2 ** t)),
    eps: f32(c.eps),
    negStepSize: f32(-(c.lr / (1 - b1 ** t))),
  };
}

// ── Reference and bounds ────────────────────────────────────────────────────────────────────

/** Bound on the f64 reference's error after one rounding: P + u·|fl(c)| + η. */
const after64 = (value64: number, propagated: number): number => propagated + U64 * Math.abs(value64) + ETA64;

/** Bound on the f32 kernel's error after one rounding: P + u·|c| + η with |c| ≤ |x₆₄| + E⁶⁴ + P. */
const after32 = (value64: number, bound64: number, propagated: number): number =>
  propagated * (1 + U32) + U32 * (Math.abs(value64) + bound64) + ETA32;

/** |√a − √b| given |a − b| ≤ e and a lower bound `lower` ≥ 0 on one of them (see the header). */
const sqrtPropagation = (lower: number, e: number): number =>
  e === 0 ? 0 : Math.min(Math.sqrt(e), e / (Math.sqrt(lower) + Math.sqrt(Math.max(0, lower - e))));

type Quantity = 'theta' | 'm' | 'v' | 'vmax';

/** One quantity: reference values and the two error bounds, per element. */
class Tracked {
  readonly value = new Float64Array(LENGTH);
  readonly bound32 = new Float64Array(LENGTH);
  readonly bound64 = new Float64Array(LENGTH);
}

class ReferenceWithBounds {
  readonly theta = new Tracked();
  readonly m = new Tracked();
  readonly v = new Tracked();
  readonly vmax = new Tracked();
  /** Largest (E³²_d + E⁶⁴_d)/d₆₄ seen: the division's bound needs it well below 1. */
  largestDenomRelativeBound = 0;

  constructor(
    init: Float32Array,
    private readonly amsgrad: boolean,
  ) {
    this.theta.value.set(init);
  }

  step(grads: Float32Array, s: KernelScalars): void {
    const { decayFactor, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize } = s;
    const { theta, m, v, vmax } = this;
    for (let i = 0; i < LENGTH; i++) {
      const g = grads[i]!;

      const decayed = theta.value[i]! * decayFactor;
      const decayed64 = after64(decayed, decayFactor * theta.bound64[i]!);
      const decayed32 = after32(decayed, decayed64, decayFactor * theta.bound32[i]!);

      const a1 = beta1 * m.value[i]!;
      const a1e64 = after64(a1, beta1 * m.bound64[i]!);
      const a1e32 = after32(a1, a1e64, beta1 * m.bound32[i]!);
      const a2 = oneMinusBeta1 * g;
      const a2e64 = after64(a2, 0);
      const a2e32 = after32(a2, a2e64, 0);
      const mNew = a1 + a2;
      const m64 = after64(mNew, a1e64 + a2e64);
      const m32 = after32(mNew, m64, a1e32 + a2e32);

      const b1 = beta2 * v.value[i]!;
      const b1e64 = after64(b1, beta2 * v.bound64[i]!);
      const b1e32 = after32(b1, b1e64, beta2 * v.bound32[i]!);
      const b2 = oneMinusBeta2 * g;
      const b2e64 = after64(b2, 0);
      const b2e32 = after32(b2, b2e64, 0);
      const b3 = b2 * g;
      const b3e64 = after64(b3, Math.abs(g) * b2e64);
      const b3e32 = after32(b3, b3e64, Math.abs(g) * b2e32);
      const vNew = b1 + b3;
      const v64 = after64(vNew, b1e64 + b3e64);
      const v32 = after32(vNew, v64, b1e32 + b3e32);

      let w = vNew;
      let w64 = v64;
      let w32 = v32;
      if (this.amsgrad) {
        w = Math.max(vmax.value[i]!, vNew);
        w64 = Math.max(vmax.bound64[i]!, v64);
        w32 = Math.max(vmax.bound32[i]!, v32);
        vmax.value[i] = w;
        vmax.bound64[i] = w64;
        vmax.bound32[i] = w32;
      }

      const root = Math.sqrt(w);
      const root64 = after64(root, sqrtPropagation(w, w64));
      const root32 = after32(root, root64, sqrtPropagation(Math.max(0, w - w64), w32));

      const scaled = root / biasCorrection2Sqrt;
      const scaled64 = after64(scaled, root64 / biasCorrection2Sqrt);
      const scaled32 = after32(scaled, scaled64, root32 / biasCorrection2Sqrt);

      const denom = scaled + eps;
      const denom64 = after64(denom, scaled64);
      const denom32 = after32(denom, denom64, scaled32);

      const numer = negStepSize * mNew;
      const numer64 = after64(numer, Math.abs(negStepSize) * m64);
      const numer32 = after32(numer, numer64, Math.abs(negStepSize) * m32);

      this.largestDenomRelativeBound = Math.max(this.largestDenomRelativeBound, (denom32 + denom64) / denom);
      const update = numer / denom;
      const denomLow64 = denom - denom64;
      const unroundedQuotient64 = Math.abs(update) * (1 + 2 * U64) + ETA64;
      const update64 = after64(update, denomLow64 > 0 ? (numer64 + unroundedQuotient64 * denom64) / denomLow64 : Infinity);
      const denomLow32 = denom - denom64 - denom32;
      const exactUpdateMagnitude = Math.abs(update) + update64;
      const update32 = after32(update, update64, denomLow32 > 0 ? (numer32 + exactUpdateMagnitude * denom32) / denomLow32 : Infinity);

      const thetaNew = decayed + update;
      const theta64 = after64(thetaNew, decayed64 + update64);
      const theta32 = after32(thetaNew, theta64, decayed32 + update32);

      theta.value[i] = thetaNew;
      theta.bound64[i] = theta64;
      theta.bound32[i] = theta32;
      m.value[i] = mNew;
      m.bound64[i] = m64;
      m.bound32[i] = m32;
      v.value[i] = vNew;
      v.bound64[i] = v64;
      v.bound32[i] = v32;
    }
  }
}

/** Worst error/bound ratios seen, the first violation, and how large the bound on θ got. */
class BoundStats {
  readonly worstRatio: Record<Quantity, number> = { theta: 0, m: 0, v: 0, vmax: 0 };
  /** Worst error/bound ratio of θ on the latest step checked (the last step, at the end). */
  latestThetaRatio = 0;
  worstThetaError = 0;
  largestThetaBound = 0;
  largestAbsTheta = 0;
  firstViolation: string | undefined;

  check(quantity: Quantity, kernel: Float32Array, reference: Tracked, t: number): void {
    let worstThisStep = 0;
    for (let i = 0; i < LENGTH; i++) {
      const error = Math.abs(kernel[i]! - reference.value[i]!);
      const bound = (reference.bound32[i]! + reference.bound64[i]!) * BOUND_SLACK;
      // `!(error <= bound)` also catches NaN.
      if (!(error <= bound) && this.firstViolation === undefined) {
        this.firstViolation = `step ${t}, ${quantity}[${i}]: f32 ${kernel[i]} vs f64 ${reference.value[i]}, error ${error} > bound ${bound}`;
      }
      if (error > 0) worstThisStep = Math.max(worstThisStep, error / bound);
      if (quantity === 'theta') {
        this.worstThetaError = Math.max(this.worstThetaError, error);
        this.largestThetaBound = Math.max(this.largestThetaBound, bound);
        this.largestAbsTheta = Math.max(this.largestAbsTheta, Math.abs(reference.value[i]!));
      }
    }
    this.worstRatio[quantity] = Math.max(this.worstRatio[quantity], worstThisStep);
    if (quantity === 'theta') this.latestThetaRatio = worstThisStep;
  }
}

// ── The test ────────────────────────────────────────────────────────────────────────────────

interface Views {
  readonly backend: BackendName;
  readonly grads: Float32Array;
  /** params, expAvg, expAvgSq[, maxExpAvgSq], in the order of ARRAY_NAMES. */
  readonly arrays: readonly Float32Array[];
}

const ARRAY_NAMES = ['params', 'expAvg', 'expAvgSq', 'maxExpAvgSq'] as const;

function viewsOf(opt: AdamW, backend: BackendName, amsgrad: boolean): Views {
  const group = opt.groups[0]!;
  const { expAvg, expAvgSq, maxExpAvgSq } = group.state;
  const arrays = [group.params, expAvg, expAvgSq];
  if (amsgrad) {
    if (maxExpAvgSq === undefined) throw new Error('amsgrad group has no maxExpAvgSq');
    arrays.push(maxExpAvgSq);
  }
  return { backend, grads: group.grads, arrays };
}

function expectBitIdentical(views: readonly Views[], t: number): void {
  const [first, ...others] = views;
  for (const other of others) {
    other.arrays.forEach((a, k) => {
      const expected = first!.arrays[k]!;
      const at = firstBitDifference(expected, a);
      expect(at, `step ${t}: ${other.backend} vs ${first!.backend}, ${ARRAY_NAMES[k]}[${at}]: ${a[at]} vs ${expected[at]}`).toBe(-1);
    });
  }
}

describe(`long run: ${STEPS.toLocaleString('en')} AdamW steps on ${LENGTH} elements`, () => {
  for (const config of CONFIGS) {
    it(`${config.name}: backends bit-identical, f32 within the error bound of a float64 reference`, async () => {
      // Initial values over several binades up to ±1 (and exact zeros), so θ stays O(1).
      const init = varied(LENGTH, 2024, 1 / 32);
      const optimizers = await Promise.all(
        BACKENDS.map((backend) =>
          AdamW.create([{ init }], {
            backend,
            threads: 1,
            nonFinite: 'ignore',
            lr: config.lr,
            betas: config.betas,
            eps: config.eps,
            weightDecay: config.weightDecay,
            amsgrad: config.amsgrad,
          }),
        ),
      );
      try {
        optimizers.forEach((opt, k) => expect(opt.backend).toBe(BACKENDS[k]));
        const views = optimizers.map((opt, k) => viewsOf(opt, BACKENDS[k]!, config.amsgrad));
        const reference = new ReferenceWithBounds(init, config.amsgrad);
        const stats = new BoundStats();
        const grads = new Float32Array(LENGTH);
        const [kernelParams, kernelM, kernelV, kernelVmax] = views[0]!.arrays;

        for (let t = 1; t <= STEPS; t++) {
          fillGradients(grads, t);
          for (const view of views) view.grads.set(grads);
          for (const opt of optimizers) opt.step();
          reference.step(grads, kernelScalars(config, t));
          // The bound is checked on every step (cheap), on one backend: the others are compared
          // with it bit for bit at the checkpoints.
          stats.check('theta', kernelParams!, reference.theta, t);
          stats.check('m', kernelM!, reference.m, t);
          stats.check('v', kernelV!, reference.v, t);
          if (kernelVmax !== undefined) stats.check('vmax', kernelVmax, reference.vmax, t);
          if (t % CHECKPOINT_EVERY === 0 || t === STEPS) expectBitIdentical(views, t);
        }

        const r = stats.worstRatio;
        console.log(
          `long run, ${config.name}: worst error/bound θ ${r.theta.toExponential(2)}, m ${r.m.toExponential(2)}, ` +
            `v ${r.v.toExponential(2)}${config.amsgrad ? `, vmax ${r.vmax.toExponential(2)}` : ''}` +
            ` (θ on the last step: ${stats.latestThetaRatio.toExponential(2)}); ` +
            `largest bound on θ ${stats.largestThetaBound.toExponential(2)} (largest |θ| ${stats.largestAbsTheta.toFixed(3)}), ` +
            `worst θ error ${stats.worstThetaError.toExponential(2)}; largest E_d/d ${reference.largestDenomRelativeBound.toExponential(2)}`,
        );
        expect(stats.firstViolation).toBeUndefined();
        expect(reference.largestDenomRelativeBound).toBeLessThan(0.5);
        // Not vacuous: the bound on θ stays small, and f32 really differs from the f64 run
        // (a zero error would mean the reference was compared with itself).
        expect(stats.largestThetaBound).toBeLessThan(config.thetaBoundCeiling);
        expect(stats.worstThetaError).toBeGreaterThan(0);
      } finally {
        for (const opt of optimizers) opt.dispose();
      }
    }, 60_000);
  }
});
