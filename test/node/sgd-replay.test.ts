/**
 * Replays torch.optim.SGD trajectories (test/fixtures/torch-sgd*, see test/fixtures/README.md)
 * through the public `SGD` on every backend, comparing params and momentum buffers at every
 * stored checkpoint.
 */
import { describe, it, expect } from 'vitest';
import { ALL_BACKENDS, EXACT, listCases, loadExtCase, type Tolerance } from '../fixtures/torch-fixtures.js';
import { replay, type ReplayTolerances } from '../fixtures/ext-replay.js';

/*
 * 'torch-sgd-nofma' (ATEN_CPU_CAPABILITY=default): plain f32 ops in torch's order, so every
 * backend must match bit for bit (verified with a numpy float32 re-implementation: 0 differing
 * elements in all 7 cases).
 *
 * 'torch-sgd' (AVX2): torch fuses `buf·μ + (1−τ)·g`, `g + wd·θ`, `g + μ·buf` and `θ + (−lr)·d`
 * (all add_/add with alpha) into FMAs; we round the product first. θ is a running sum of
 * lr·buf terms, so where it crosses zero its error is a few ulps of the terms, not of θ.
 * Measured over all cases (plain f32 in our order vs AVX2 torch): |diff| <= 2.2e-7·max|ref|
 * of the array with no relative term, and <= 3e-8·max|ref| beyond 2e-6·|ref|.
 */
/** rtol as torch-replay's FMA tolerance; scaled 1e-6·max|ref| (≈ 8 ulps of the largest element, ≥ 4× the worst measured). */
const AVX2: Tolerance = { rtol: 1e-5, atol: 0, scaled: 1e-6 };

const tolerances = (exact: boolean): ReplayTolerances => ({
  tolerance: () => (exact ? EXACT : AVX2),
  // no clip cases in these sets
  gradNormRtol: 0,
  gradNormF64Rtol: 0,
});

const SETS = ['torch-sgd-nofma', 'torch-sgd'] as const;
const EXPECTED_CASES = 7;

describe.each(SETS)('torch.optim.SGD replay (%s)', (set) => {
  const exact = set === 'torch-sgd-nofma';
  const cases = listCases(set);

  it('has fixtures', () => {
    expect(cases.length).toBe(EXPECTED_CASES);
  });

  for (const name of cases) {
    describe(name, () => {
      it('is an SGD case recorded from torch with the expected kernels', () => {
        const c = loadExtCase(name, set);
        expect(c.optimizer).toBe('SGD');
        expect(c.reference).toBe('torch');
        expect(c.cpuCapability).toBe(exact ? 'NO AVX' : 'AVX2');
      });

      for (const backend of ALL_BACKENDS) {
        it(`${backend}: ${exact ? 'bit-identical to' : 'within tolerance of'} torch at every checkpoint`, async () => {
          const c = loadExtCase(name, set);
          expect(await replay(c, backend, tolerances(exact))).toEqual([]);
        });
      }
    });
  }
});
