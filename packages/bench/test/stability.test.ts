// The warm-up and spread rules on synthetic timings: no optimizer runs here.
import { describe, expect, it } from 'vitest';
import { Progress } from '../src/progress.js';
import { nextWarmUp, quantile, spread, UNSTABLE_SPREAD, warmUpRule, type Batch } from '../src/stability.js';
import { measure } from '../src/timing.js';
import type { Runner } from '../src/types.js';

/** minRepMs 25, budget 30 s: batches of ≥ 6.25 ms, rounds of 3, within 10%, ≤ 8 rounds or 5 s. */
const RULE = warmUpRule(25, 30_000);

/**
 * Drives nextWarmUp against a simulated row whose k-th step (0-based, counted over the whole
 * warm-up) takes stepMs(k). Returns the verdict and the batches it ran.
 */
function simulate(stepMs: (k: number) => number, rule = RULE) {
  const batches: Batch[] = [];
  let k = 0;
  for (let guard = 0; guard < 1000; guard++) {
    const next = nextWarmUp(batches, rule);
    if (!('run' in next)) return { ...next, batches };
    let ms = 0;
    for (let s = 0; s < next.run; s++) ms += stepMs(k++);
    batches.push({ steps: next.run, ms });
  }
  throw new Error('warm-up never ended');
}

describe('warm-up', () => {
  it('doubles batches until one lasts a quarter repetition, then settles on a steady row in two rounds', () => {
    const w = simulate(() => 0.5);
    expect(w.batches.map((b) => b.steps)).toEqual([1, 2, 4, 8, 16, 16, 16, 16, 16, 16, 16]);
    expect(w).toMatchObject({ settled: true, rounds: 2 });
    expect(w.stepMs).toBeCloseTo(0.5, 9);
  });

  it('keeps going while first-touch page faults and worker start-up slow the first steps', () => {
    // A cold first step 21× the warm 1 ms, the excess shrinking by 30% a step.
    const w = simulate((k) => 1 + 20 * 0.7 ** k);
    expect(w.settled).toBe(true);
    expect(w.rounds).toBeGreaterThan(4);
    expect(w.stepMs).toBeLessThan(1.1);
  });

  it('gives up after maxRounds on a time that keeps drifting, and says so', () => {
    // 20% slower every batch: never within 10% of the round before.
    let batch = 0;
    const rule = { ...RULE, maxMs: Infinity };
    const batches: Batch[] = [];
    for (;;) {
      const next = nextWarmUp(batches, rule);
      if (!('run' in next)) {
        expect(next.settled).toBe(false);
        expect(next.rounds).toBe(rule.maxRounds);
        break;
      }
      batches.push({ steps: next.run, ms: next.run * 1.2 ** batch++ });
    }
  });

  it('stops before a batch would pass maxMs', () => {
    const w = simulate((k) => (k % 2 ? 30 : 300)); // alternating: never settles
    const total = w.batches.reduce((s, b) => s + b.ms, 0);
    expect(total).toBeLessThanOrEqual(RULE.maxMs);
    expect(w.settled).toBe(false);
  });

  it('leaves a row too slow for two rounds unchecked, after its cold first step', () => {
    const w = simulate((k) => (k === 0 ? 3000 : 2000)); // a 2 s step: one batch would pass 5 s
    expect(w.batches).toEqual([{ steps: 1, ms: 3000 }]);
    expect(w.settled).toBeUndefined();
    expect(w.stepMs).toBe(3000);
  });

  it('ends on a runner reporting 0 ms (batch sizes stop doubling)', () => {
    const w = simulate(() => 0);
    expect(w.settled).toBe(true);
  });
});

describe('spread', () => {
  it('is the interquartile range over the median', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.25)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(spread([10, 10, 10, 10, 10])).toBe(0);
    expect(spread([8, 9, 10, 11, 12])).toBeCloseTo(0.2, 12);
    expect(spread([5])).toBe(0);
  });

  it('shrugs off one outlier (a GC pause) but not two clusters', () => {
    expect(spread([10, 10, 10.1, 10, 9.9, 10, 10, 10, 40])).toBeLessThan(UNSTABLE_SPREAD);
    expect(spread([10, 20, 10, 20, 10, 20, 10, 20, 10])).toBeGreaterThan(UNSTABLE_SPREAD);
  });
});

describe('measure', () => {
  /** A runner whose k-th step (counted over all its calls) of a call of `steps` takes stepMs(k, steps). */
  const fake = (variant: string, stepMs: (k: number, steps: number) => number): Runner => {
    let k = 0;
    return {
      key: { backend: 'js', threads: 1, variant },
      size: 1000,
      bytesPerParam: 28,
      run(steps) {
        let ms = 0;
        for (let s = 0; s < steps; s++) ms += stepMs(k++, steps);
        return ms;
      },
      dispose() {},
    };
  };
  // minRepMs 25 at 1 ms a step: warm-up batches of 8 steps, timed repetitions of 25.
  const plan = { reps: 9, steps: undefined, minRepMs: 25, budgetMs: 30_000 };

  it('times warm steps only, flags rows whose repetitions disagree, and notes a time that never settles', async () => {
    const notes: string[] = [];
    const steady = fake('steady', (k) => 1 + 20 * 0.7 ** k); // a cold start, then 1 ms
    let call = 0;
    const jumpy = fake('jumpy', (_, steps) => (steps === 25 && Math.floor(call++ / 25) % 2 ? 2 : 1)); // every other timed rep 2×
    const drifting = fake('drifting', (k) => (Math.floor(k / 8) % 2 ? 2 : 1)); // alternates between batches: never settles
    const results = await measure([steady, jumpy, drifting], plan, new Progress('off'), 'test', (n) => notes.push(n));
    const byName = Object.fromEntries(results.map((r) => [r.variant, r]));

    expect(byName['steady']).toMatchObject({ unstable: false, runs: 9 });
    expect(byName['steady']!.medianMs).toBeLessThan(1.01); // ms per step: warm, the cold start left out
    expect(byName['steady']!.spread).toBeLessThan(0.01);
    expect(byName['jumpy']!.spread).toBeGreaterThan(UNSTABLE_SPREAD);
    expect(byName['jumpy']!.unstable).toBe(true);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/js drifting at 1000 params: the step time was still changing/);
  });
});
