/**
 * Replays the golden PyTorch trajectories (test/fixtures/torch/, see test/fixtures/README.md)
 * through the public API on every backend and compares params and optimizer state at each
 * stored checkpoint.
 */
import { describe, it, expect } from 'vitest';
import { AdamW, Adam } from 'adamw-wasm';
import {
  bitsOf,
  compareArrays,
  EXACT,
  fillGradient,
  hash32,
  initParams,
  FIXTURE_SETS,
  listCases,
  loadCase,
  loadInputsSample,
  uniform,
  type CheckpointGroup,
  type FixtureSet,
  type HyperOptions,
  type TorchCase,
  type Tolerance,
} from '../fixtures/torch-fixtures.js';

/*
 * Tolerances against torch's default (AVX2) CPU kernels, |ours − ref| <= atol + rtol·|ref|.
 *
 * Where the arithmetic differs: torch's AVX2 kernels fuse `m·β1 + (1−β1)·g` (add_ with alpha)
 * and `v·β2 + (1−β2)·g·g` (addcmul_) into one FMA; we round after every operation (wasm has no
 * FMA, and the three backends must agree bitwise). That is the only difference: against torch
 * with ATEN_CPU_CAPABILITY=default (no FMA; set 'torch-nofma') every case matches bit for bit.
 * An FMA changes m or v by at most 1 ulp per step; over 60 steps, with m cancelling when
 * gradients change sign, the measured worst final differences (all cases, any backend: they
 * are bit-identical) were:
 *   params:   2.0e-6 relative where |θ| > 1e-2 (most cases < 7e-7), 2.4e-7 absolute; only
 *             near θ = 0 does relative error grow, and there rtol·|θ| + 9.5e-9 covers it;
 *   expAvg:   1.3e-6 relative where |m| > 1e-2;  expAvgSq: 4.4e-7 relative.
 * rtol 1e-5 (≈ 84 ulps) and atol 1e-7 (= 1e-4·lr at the default lr) keep a ≥ 5× margin and
 * are still far tighter than an error in the maths: scaling the decay by 1.0001 already moves
 * results by several ulps at step 1, and a wrong bias correction or decay order by > 1e-3.
 */
export const PARAM_RTOL = 1e-5;
export const PARAM_ATOL = 1e-7;
export const STATE_RTOL = 1e-5;
export const STATE_ATOL = 1e-7;

export const BACKENDS = ['wasm-simd', 'wasm', 'js'] as const;
type Backend = (typeof BACKENDS)[number];

// ------------------------------------------------------------------ replay

interface GroupSpec extends HyperOptions {
  init: Float32Array;
}

function groupSpecs(c: TorchCase): GroupSpec[] {
  return c.groups.map((g) => ({ init: initParams(g), ...g.overrides }));
}

/** Optimizer view used by the comparison; the public classes expose at least this. */
interface GroupView {
  params: Float32Array;
  grads: Float32Array;
  state: { expAvg: Float32Array; expAvgSq: Float32Array; maxExpAvgSq?: Float32Array | null | undefined };
}

function compareCheckpoint(
  c: TorchCase,
  step: number,
  backend: Backend,
  groups: readonly GroupView[],
  ref: readonly CheckpointGroup[],
  exact: boolean,
): string[] {
  const failures: string[] = [];
  const paramTol = exact ? EXACT : { rtol: PARAM_RTOL, atol: PARAM_ATOL };
  const stateTol = exact ? EXACT : { rtol: STATE_RTOL, atol: STATE_ATOL };
  ref.forEach((rg, k) => {
    const g = groups[k] as GroupView;
    const at = `${c.name} [${backend}] step ${step} group ${k}`;
    const check = (what: string, ours: Float32Array | null | undefined, r: Float32Array, tol: Tolerance): void => {
      if (!ours) {
        failures.push(`${at} ${what}: missing on our side`);
        return;
      }
      const msg = compareArrays(`${at} ${what}`, ours, r, tol);
      if (msg) failures.push(msg);
    };
    check('params', g.params, c.array(rg.params), paramTol);
    if (rg.expAvg) check('expAvg', g.state.expAvg, c.array(rg.expAvg), stateTol);
    if (rg.expAvgSq) check('expAvgSq', g.state.expAvgSq, c.array(rg.expAvgSq), stateTol);
    if (rg.maxExpAvgSq) check('maxExpAvgSq', g.state.maxExpAvgSq, c.array(rg.maxExpAvgSq), stateTol);
  });
  return failures;
}

const CASES = listCases();

describe('torch fixtures: inputs generated in TS equal generate.py bit for bit', () => {
  const sample = loadInputsSample();

  it('hash32 and uniform', () => {
    for (const h of sample.hashes) {
      expect(hash32(h.seed, h.stream, h.t, h.i), JSON.stringify(h)).toBe(h.hash32);
      expect(uniform(h.seed, h.stream, h.t, h.i), JSON.stringify(h)).toBe(h.uniform);
    }
  });

  it('initParams and gradient sample', () => {
    const bits = (a: ArrayLike<number>): number[] => Array.from(a, bitsOf);
    expect(bits(initParams(sample.group))).toEqual(bits(sample.initParams));
    for (const { t, values } of sample.gradients) {
      const out = new Float32Array(sample.group.size);
      fillGradient(sample.group, t, out);
      expect(bits(out), `t=${t}`).toEqual(bits(values));
    }
  });

  // (the large case stores only its final checkpoint)
  const withStep0 = CASES.filter((name) => loadCase(name).checkpoints.some((ck) => ck.step === 0));
  it.each(withStep0)('%s: step-0 params', (name) => {
    const c = loadCase(name);
    const zero = c.checkpoints.find((ck) => ck.step === 0);
    if (!zero) throw new Error('unreachable');
    c.groups.forEach((g, k) => {
      const ours = new Uint32Array(initParams(g).buffer);
      const ref = c.array((zero.groups[k] as CheckpointGroup).params);
      expect(Array.from(ours), `${name} group ${k}`).toEqual(Array.from(new Uint32Array(ref.slice().buffer)));
    });
  });
});

const EXPECTED_CASES: Record<FixtureSet, number> = { torch: 9, 'torch-nofma': 8 };

describe.each(FIXTURE_SETS)('torch replay (%s)', (set) => {
  const exact = set === 'torch-nofma';
  const cases = listCases(set);
  it('has fixtures', () => {
    expect(cases.length).toBe(EXPECTED_CASES[set]);
  });

  for (const name of cases) {
    describe(name, () => {
      for (const backend of BACKENDS) {
        it(`${backend}: ${exact ? 'bit-identical to' : 'within tolerance of'} torch at every checkpoint`, async () => {
          const c = loadCase(name, set);
          expect(c.cpuCapability).toBe(exact ? 'NO AVX' : 'AVX2');
          const Optimizer = c.optimizer === 'AdamW' ? AdamW : Adam;
          const opt = await Optimizer.create(groupSpecs(c), { ...c.options, backend });
          try {
            expect(opt.backend).toBe(backend);
            const groups: readonly GroupView[] = opt.groups;
            expect(groups.length).toBe(c.groups.length);
            const byStep = new Map(c.checkpoints.map((ck) => [ck.step, ck.groups]));
            const failures: string[] = [];
            const at0 = byStep.get(0);
            if (at0) failures.push(...compareCheckpoint(c, 0, backend, groups, at0, exact));
            for (let t = 1; t <= c.steps; t++) {
              c.groups.forEach((g, k) => fillGradient(g, t, (groups[k] as GroupView).grads));
              opt.step();
              const ref = byStep.get(t);
              if (ref) {
                expect(opt.stepCount).toBe(t);
                failures.push(...compareCheckpoint(c, t, backend, groups, ref, exact));
              }
            }
            expect(failures).toEqual([]);
          } finally {
            opt.dispose();
          }
        });
      }
    });
  }
});
