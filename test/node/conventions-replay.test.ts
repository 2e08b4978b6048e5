/**
 * Replays the convention fixtures (test/fixtures/README.md) through the public API on every
 * backend:
 * - torch-conventions(-nofma): AdamW + CosineAnnealingWarmRestarts (our `schedules.cosineWarmRestarts`),
 *   clip_grad_norm_ + AdamW (our `clipGradNorm`, and `gradNorm` against torch's total_norm),
 *   transformers.AdamW (our preset 'transformers', also spelled out), and the paper's decay
 *   scale (weightDecayScale 'schedule', λ) against torch AdamW with weight_decay = λ/lr;
 * - paper-f64: SGDW (Algorithm 1) and AdamW with weightDecayScale 'schedule' (Algorithm 2),
 *   with and without SGDR, against a float64 reference.
 */
import { describe, it, expect } from 'vitest';
import {
  ALL_BACKENDS,
  EXACT,
  listCases,
  loadExtCase,
  type ExtCase,
  type ExtFixtureSet,
  type ExtOptions,
  type Tolerance,
} from '../fixtures/torch-fixtures.js';
import { baseLr, replay, scheduleOf, type ArrayKey, type ReplayTolerances } from '../fixtures/ext-replay.js';

/*
 * Tolerances, |ours − ref| <= atol + rtol·|ref| + scaled·max|ref| (max over the compared array).
 *
 * No-FMA torch ('torch-conventions-nofma'): plain f32 ops in torch's order, bit for bit, except
 * where a scalar comes from a computation we do differently (verified with a numpy float32
 * re-implementation of our order: transformers-*, adamw-decay-scale-schedule and both SGDR
 * cases 0 differing elements; adamw-clip differs only through the clip coefficient):
 */
/**
 * SGDR: lr_t = lr·η_t with JS Math.cos, torch eta_min + (lr − eta_min)(1 + cos)/2 with glibc cos;
 * the f64 values may differ in the last bit, flipping f32(−lr_t/bc1) or f32(1 − lr_t·wd) by one
 * ulp on rare steps. Each flip moves θ by <= 1 ulp (of θ, or of an update <= ~lr) and nothing
 * amplifies it (gradients do not depend on θ; decay contracts): rtol 1e-6 ≈ 8 flips, atol 1e-9 = 1e-6·lr.
 * (Measured: 0 differences.) m and v do not involve lr, so they stay exact.
 */
const SCHEDULE_PARAMS: Tolerance = { rtol: 1e-6, atol: 1e-9 };
/**
 * Clipping: torch's total norm is an f32 reduction and its coefficient f32 arithmetic
 * (max_norm·(1/(norm + 1e-6))); ours is summed in f64. The coefficients differ by <= 3 f32 ulps
 * (2e-7 relative) on 18 of the 27 clipped steps, and with torch's coefficient plugged in the
 * numpy re-implementation is bit-exact. m and v are linear in g; θ integrates updates of the same
 * relative error. Measured worst, no absolute term: params 5.6e-7, expAvg 3.4e-7, expAvgSq 2.3e-7
 * relative; rtol 2e-6 (≥ 3.5× margin), atol 1e-9 (1e-6·lr) for θ crossing zero.
 */
const CLIP_PARAMS: Tolerance = { rtol: 2e-6, atol: 1e-9 };
const CLIP_STATE: Tolerance = { rtol: 2e-6, atol: 0 };
/**
 * AVX2 torch ('torch-conventions'): torch-replay.test.ts's FMA tolerance (rtol 1e-5, atol 1e-7;
 * see its justification). Measured worst over these cases beyond atol 1e-7: 3.7e-7 relative (≥ 25× margin),
 * the SGDR and clip differences above being far smaller than the FMA ones.
 */
const AVX2: Tolerance = { rtol: 1e-5, atol: 1e-7 };
/**
 * float64 reference ('paper-f64'): each f32 op rounds by <= 2^-24 (6e-8) relative; θ and SGDW's m are
 * running sums over 60 steps of ~5 rounded ops each, so their error is ~60·5·6e-8 ≈ 2e-5 of the
 * largest term at worst, and where they cross zero it is relative to the terms, not the result.
 * Measured (our f32 order in numpy vs the f64 reference): <= 8.2e-7·max|ref| with no relative
 * term; <= 2.2e-8·max|ref| beyond 1e-5·|ref|. rtol 1e-5 with scaled 2e-6 (≥ 2.4× the no-rtol worst).
 * Still discriminating: decaying by η·α·λ (weightDecayScale 'lr') instead of η·λ moves θ by
 * 2.6e-2 to 3.2e-2·max|ref| (median relative 4e-3 to 6e-2) after 60 steps, > 10^4× the allowance.
 */
const PAPER: Tolerance = { rtol: 1e-5, atol: 0, scaled: 2e-6 };

/** gradNorm vs torch's f32 total_norm: torch accumulates ~1000 squares in f32; measured <= 1.7e-7 from the f64 norm. */
const GRAD_NORM_RTOL = 1e-6;
/** gradNorm vs the float64 norm: f32 squares are exact in f64; ~1000 f64 additions err <= 1000·2^-53 ≈ 1e-13. */
const GRAD_NORM_F64_RTOL = 1e-12;
/** Schedule values: the same cos in f64 on both sides (libm vs V8 may differ by an ulp); torch-schedules measured <= 3e-14. */
const SCHEDULE_RTOL = 1e-12;

function tolerancesFor(c: ExtCase, set: ExtFixtureSet): ReplayTolerances {
  const isState = (key: ArrayKey): boolean => key !== 'params';
  let tolerance: (key: ArrayKey) => Tolerance;
  if (set === 'paper-f64') tolerance = () => PAPER;
  else if (set === 'torch-conventions') tolerance = () => AVX2;
  else if (c.options.clipGradNorm !== undefined) tolerance = (key) => (isState(key) ? CLIP_STATE : CLIP_PARAMS);
  else if (c.options.schedule !== undefined) tolerance = (key) => (isState(key) ? EXACT : SCHEDULE_PARAMS);
  else tolerance = () => EXACT;
  return { tolerance, gradNormRtol: GRAD_NORM_RTOL, gradNormF64Rtol: GRAD_NORM_F64_RTOL };
}

/** The 'transformers' preset written out: ε̂, decay after the update, HF's eps and weight decay defaults. */
function transformersSpelledOut(o: ExtOptions): ExtOptions {
  const { preset, ...rest } = o;
  expect(preset).toBe('transformers');
  return { epsMode: 'hat', decayOrder: 'after', eps: 1e-6, weightDecay: 0, ...rest };
}

const SETS = ['torch-conventions-nofma', 'torch-conventions', 'paper-f64'] as const;
const EXPECTED_CASES: Record<(typeof SETS)[number], number> = {
  'torch-conventions-nofma': 6,
  'torch-conventions': 6,
  'paper-f64': 3,
};

describe.each(SETS)('convention replay (%s)', (set) => {
  const cases = listCases(set);

  it('has fixtures', () => {
    expect(cases.length).toBe(EXPECTED_CASES[set]);
  });

  for (const name of cases) {
    describe(name, () => {
      it('manifest: reference kind and kernels', () => {
        const c = loadExtCase(name, set);
        if (set === 'paper-f64') {
          expect(c.reference).toBe('float64');
        } else {
          expect(c.reference).toBe('torch');
          expect(c.cpuCapability).toBe(set === 'torch-conventions-nofma' ? 'NO AVX' : 'AVX2');
        }
      });

      const c0 = loadExtCase(name, set);
      const spec = c0.options.schedule;
      if (spec !== undefined) {
        it('schedules.cosineWarmRestarts gives the reference its lr at every step', () => {
          const c = loadExtCase(name, set);
          const schedule = scheduleOf(spec);
          const failures: string[] = [];
          for (let t = 1; t <= c.steps; t++) {
            const eta = schedule(t - 1);
            if (c.lrs) {
              c.groups.forEach((_, k) => {
                const ref = c.lrs?.[t - 1]?.[k] as number;
                const ours = baseLr(c, k) * eta;
                if (!(Math.abs(ours - ref) <= SCHEDULE_RTOL * ref)) failures.push(`step ${t} group ${k}: lr ${ours}, torch ${ref}`);
              });
            }
            const refEta = c.etas?.[t - 1];
            if (refEta !== undefined && !(Math.abs(eta - refEta) <= SCHEDULE_RTOL * refEta)) {
              failures.push(`step ${t}: eta ${eta}, reference ${refEta}`);
            }
          }
          expect(c.lrs ?? c.etas, 'the manifest records the schedule').toBeDefined();
          expect(failures).toEqual([]);
        });
      }

      const clip = c0.options.clipGradNorm;
      if (clip !== undefined) {
        it('clipping is active on some steps and not on others', () => {
          const c = loadExtCase(name, set);
          const norms = c.gradNormsFloat64 ?? [];
          expect(norms.length).toBe(c.steps);
          const clipped = norms.filter((n) => n > clip).length;
          expect(clipped).toBe(c.clippedSteps);
          expect(clipped).toBeGreaterThan(0);
          expect(clipped).toBeLessThan(c.steps);
        });
      }

      for (const backend of ALL_BACKENDS) {
        it(`${backend}: matches the reference at every checkpoint`, async () => {
          const c = loadExtCase(name, set);
          expect(await replay(c, backend, tolerancesFor(c, set))).toEqual([]);
        });

        if (c0.options.preset === 'transformers') {
          it(`${backend}: the same with the preset spelled out`, async () => {
            const c = loadExtCase(name, set);
            expect(await replay(c, backend, tolerancesFor(c, set), transformersSpelledOut(c.options))).toEqual([]);
          });
        }
      }
    });
  }
});
