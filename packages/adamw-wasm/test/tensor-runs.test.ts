/**
 * A group's tensors lie back to back in every array, and consecutive stepped tensors with the
 * same scalars are updated (and guarded) by one kernel call over their run, padding included.
 * Each tensor must still equal itself stepped alone, bit for bit, whatever the run boundaries:
 * skipped tensors in between, tensors excluded from decay (other scalars), threads splitting a
 * run across tensors.
 */
import { describe, expect, it } from 'vitest';
import { AdamW } from '../src/index.js';
import { fillVaried, firstBitDifference } from './helpers.js';

// Odd sizes, so every tensor but the last is followed by padding; two above the 32K elements a
// threaded call needs before it is split.
const SIZES = [5, 40_003, 17, 1, 33, 70_001, 4096];
const names = SIZES.map((_, i) => `t${i}`);
const STEPS: (readonly string[] | undefined)[] = [undefined, ['t0', 't1', 't3', 't5'], undefined, ['t2', 't6'], names.filter((n) => n !== 't4')];

type Opt = Awaited<ReturnType<typeof AdamW.create>>;

function arrays(opt: Opt): Float32Array[] {
  return opt.groups.flatMap((g) => g.tensors.flatMap((t) => [t.params, ...Object.values(t.state as unknown as Record<string, Float32Array>)].map((a) => a.slice())));
}

describe('runs of tensors in one kernel call', () => {
  for (const threads of [1, 2]) {
    it(`equal each tensor stepped alone (threads ${threads}, skipped tensors, a decay exclusion, amsgrad)`, async () => {
      const options = { threads, lr: 1e-2, weightDecay: 0.1, amsgrad: true, excludeFromWeightDecay: ['t3'] };
      const together = await AdamW.create([{ tensors: SIZES.map((size, i) => ({ name: names[i]!, init: fillVaried(new Float32Array(size), 7 + i) })) }], options);
      const alone = await Promise.all(
        SIZES.map((size, i) => AdamW.create([{ tensors: [{ name: names[i]!, init: fillVaried(new Float32Array(size), 7 + i) }] }], options)),
      );
      STEPS.forEach((stepped, k) => {
        SIZES.forEach((_, i) => {
          const g = fillVaried(new Float32Array(SIZES[i]!), 100 * k + i, 2 ** (i % 4));
          together.tensor(names[i]!).grads.set(g);
          alone[i]!.groups[0]!.tensors[0]!.grads.set(g);
        });
        together.step(stepped === undefined ? undefined : { tensors: stepped });
        alone.forEach((opt, i) => {
          if (stepped === undefined || stepped.includes(names[i]!)) opt.step();
        });
      });
      const mine = arrays(together);
      const theirs = alone.flatMap(arrays);
      expect(mine.length).toBe(theirs.length);
      mine.forEach((a, j) => expect(firstBitDifference(a, theirs[j]!), `array ${j}`).toBe(-1));
      SIZES.forEach((_, i) => expect(together.tensor(names[i]!).stepCount).toBe(alone[i]!.groups[0]!.tensors[0]!.stepCount));
      together.dispose();
      for (const opt of alone) opt.dispose();
    });
  }

  it('a non-finite gradient anywhere in a run refuses the whole step before any write', async () => {
    const opt = await AdamW.create([{ tensors: SIZES.map((size, i) => ({ name: names[i]!, size })) }], { threads: 2 });
    for (const t of opt.groups[0]!.tensors) fillVaried(t.grads, 3);
    opt.step();
    const before = arrays(opt);
    opt.tensor('t5').grads[70_000] = NaN;
    expect(() => opt.step()).toThrow(/t5/);
    arrays(opt).forEach((a, j) => expect(firstBitDifference(a, before[j]!), `array ${j}`).toBe(-1));
    opt.dispose();
  });
});
