/**
 * Worker threads over one shared memory: bit-identical to one thread for any thread count,
 * sync and async steps, clear errors, and processes that forget dispose(). Worker failures:
 * threads-faults.test.ts; the protocol under forced preemption: threads-protocol.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AdamW, SGD, SGDW } from 'adamw-wasm';
import { autoThreads } from '../src/kernels/runtime.js';
import { fillVaried, firstBitDifference, varied } from './helpers.js';

type Opt = AdamW | SGD | SGDW;
const arraysOf = (opt: Opt): Float32Array[] =>
  opt.groups.flatMap((g) => [g.params, ...Object.values(g.state as Record<string, Float32Array>)].map((a) => a.slice()));

// Lengths around the 4096-element norm blocks, calls short enough to run on the caller alone,
// and ones split into several slices per thread.
const SIZES = [1, 4095, 4097, 3 * 4096 + 5, 50_001, 300_007];

async function trajectory(threads: number, make: (threads: number) => Promise<Opt>, useAsync: boolean): Promise<{ arrays: Float32Array[]; norms: (number | undefined)[] }> {
  const opt = await make(threads);
  expect(opt.threads).toBe(threads);
  const norms: (number | undefined)[] = [];
  for (let t = 0; t < 4; t++) {
    opt.groups.forEach((g, k) => fillVaried(g.grads, 31 * t + k));
    norms.push((useAsync ? await opt.stepAsync() : opt.step()).gradNorm);
  }
  const arrays = arraysOf(opt);
  opt.dispose();
  return { arrays, norms };
}

const MAKERS: Record<string, (threads: number) => Promise<Opt>> = {
  'AdamW, amsgrad group, clipping': (threads) =>
    AdamW.create(
      SIZES.map((n, k) => ({ init: varied(n, k), amsgrad: k % 2 === 1 })),
      { threads, clipGradNorm: 5 },
    ),
  'SGD Nesterov, guard': (threads) => SGD.create(SIZES.map((n, k) => ({ init: varied(n, 10 + k) })), { threads, momentum: 0.9, nesterov: true }),
  'SGDW, no checks': (threads) => SGDW.create(SIZES.map((n, k) => ({ init: varied(n, 20 + k) })), { threads, weightDecay: 1e-3, nonFinite: 'ignore' }),
};

describe('threads give the same bits as one thread', () => {
  for (const [name, make] of Object.entries(MAKERS)) {
    it(name, async () => {
      const reference = await trajectory(1, make, false);
      for (const threads of [2, 3, 4]) {
        for (const useAsync of [false, true]) {
          const run = await trajectory(threads, make, useAsync);
          expect(run.norms, `${threads} threads`).toEqual(reference.norms);
          run.arrays.forEach((a, i) => expect(firstBitDifference(a, reference.arrays[i]!), `${threads} threads, array ${i}`).toBe(-1));
        }
      }
    });
  }
});

describe('threads option', () => {
  it("'auto' stays single-threaded for small models and says so", async () => {
    const opt = await AdamW.create([{ size: 1000 }]);
    expect(opt.threads).toBe(1);
    opt.dispose();
  });

  it("'auto' policy: one thread below 512K parameters, then one per 64K up to every core (no cap below the core count)", async () => {
    expect(autoThreads(16, (1 << 19) - 1, 64)).toBe(1);
    expect(autoThreads(16, 1 << 19, 64)).toBe(8);
    expect(autoThreads(16, 1 << 20, 64)).toBe(16);
    expect(autoThreads(16, 64 << 20, 64)).toBe(16);
    expect(autoThreads(96, 64 << 20, 64)).toBe(64);
    expect(autoThreads(2, 1 << 19, 64)).toBe(2);
    expect(autoThreads(1, 1 << 24, 64)).toBe(1);
    const opt = await AdamW.create([{ size: 1 << 19 }]);
    expect(opt.threads).toBe(Math.min(availableParallelism(), 8));
    opt.dispose();
  });

  it('is validated, and refused where it cannot work', async () => {
    await expect(AdamW.create([{ size: 1 }], { threads: 0 })).rejects.toThrow(/^AdamW: options\.threads must be 'auto' or an integer from 1 to 64 \(got 0\)$/);
    await expect(AdamW.create([{ size: 1 }], { threads: 2.5 })).rejects.toThrow(RangeError);
    await expect(AdamW.create([{ size: 1 }], { threads: 'many' as never })).rejects.toThrow(TypeError);
    await expect(AdamW.create([{ size: 1 }], { threads: 2, backend: 'js' })).rejects.toThrow(/^AdamW: options\.threads 2 needs the 'wasm-simd' backend \(got 'js'\)$/);
  });

  it('a non-finite gradient is caught across thread slices, before any write', async () => {
    const opt = await AdamW.create([{ init: varied(20_000, 1) }], { threads: 2 });
    const before = arraysOf(opt);
    opt.groups[0]!.grads[19_999] = NaN; // in the worker's slice
    expect(() => opt.step()).toThrow(/grads\[19999\] = NaN/);
    arraysOf(opt).forEach((a, i) => expect(firstBitDifference(a, before[i]!)).toBe(-1));
    opt.dispose();
  });
});

describe('more threads than cores, under load', () => {
  it('optimizer after optimizer, 6 and 8 threads on this machine with its cores kept busy: every run bit-identical to one thread', async () => {
    const cores = availableParallelism();
    // Busy threads, so that the step's threads are preempted at arbitrary points.
    const load = Array.from({ length: cores }, () => new Worker('for (;;);', { eval: true }));
    const n = 100_000;
    const run = async (threads: number): Promise<Uint32Array> => {
      const opt = await AdamW.create([{ init: varied(n, 1) }], { threads });
      for (let t = 0; t < 5; t++) {
        fillVaried(opt.groups[0]!.grads, 10 + t);
        opt.step();
      }
      const bits = new Uint32Array(opt.groups[0]!.params.slice().buffer);
      opt.dispose();
      return bits;
    };
    try {
      const reference = await run(1);
      let runs = 0;
      const started = Date.now();
      for (; runs < 60 && Date.now() - started < 15_000; runs++) {
        const threads = runs % 2 === 0 ? 8 : 6;
        expect(firstBitDifference(new Float32Array((await run(threads)).buffer), new Float32Array(reference.buffer), true), `run ${runs}, ${threads} threads`).toBe(-1);
      }
      console.log(`threads under load: ${runs} optimizers × 5 steps (10 jobs each) with 6/8 threads on ${cores} busy cores, all bit-identical`);
      expect(runs).toBeGreaterThanOrEqual(10);
    } finally {
      await Promise.all(load.map((w) => w.terminate()));
    }
  }, 60_000);
});

describe('process lifetime', () => {
  /** Runs `body` (ESM, with AdamW imported) in a fresh Node process. */
  function runChild(body: string) {
    const entry = fileURLToPath(import.meta.resolve('adamw-wasm'));
    const script = `const { AdamW } = await import(${JSON.stringify(entry)});\n${body}`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  }

  it('a process that never calls dispose() still exits', () => {
    const result = runChild(`
      const opt = await AdamW.create([{ size: 100000 }], { threads: 2 });
      opt.groups[0].grads.fill(1);
      opt.step();
      console.log('stepped', opt.threads);`);
    expect(result.error, 'the child did not exit on its own').toBeUndefined();
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('stepped 2');
    expect(result.status).toBe(0);
  });

  it('awaiting stepAsync() keeps the process alive until the step is done', () => {
    const result = runChild(`
      const opt = await AdamW.create([{ size: 100000 }], { threads: 2 });
      opt.groups[0].grads.fill(1);
      const r = await opt.stepAsync();
      console.log('stepped', opt.stepCount, r.skipped);`);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('stepped 1 false');
    expect(result.status).toBe(0);
  });
});
