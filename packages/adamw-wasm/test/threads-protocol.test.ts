/**
 * The threads protocol under forced preemption: the real ThreadedKernel and the real worker
 * program, with every Atomics operation on every thread wrapped to sleep at random (the test
 * module's substitute for the `Atomics` the kernel and workers normally use), more threads
 * than this machine has cores, and no spinning, so that every wait really sleeps. Thousands of
 * jobs of every kind are compared bit for bit with the single-threaded reference kernel.
 *
 * Before the fix this caught the lost wake-up: a worker woken late for a job it had already
 * run ran it again (see the closing note of issue 8 for the check against the old loop).
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { AdamScalars, GroupRegions, Kernel, SgdScalars } from '../src/kernels/kernel.js';
import { JsKernel } from '../src/kernels/js.js';
import { compileModule } from '../src/kernels/modules.js';
import { ThreadedKernel } from '../src/kernels/threaded.js';
import type { SyncOps } from '../src/kernels/threads/control.js';
import { workerProgram } from '../src/kernels/threads/worker-source.js';
import { layoutArena, type GroupShape } from '../src/memory/arena.js';
import { ADAMW_FAMILY } from '../src/optimizers/adam-family.js';
import { SGD_FAMILY } from '../src/optimizers/sgd-family.js';
import { fillVaried, firstBitDifference, uniform } from './helpers.js';

/**
 * Atomics with a pause of up to `maxMs` before (and after) each operation, with probability
 * `chance`: a thread preempted at that point. Self-contained, because workers get its source.
 */
function jitteryAtomics(real: typeof Atomics, chance: number, maxMs: number): SyncOps {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const pause = (): void => {
    if (Math.random() < chance) real.wait(nap, 0, 0, Math.random() * maxMs);
  };
  const around = <T>(op: () => T): T => {
    pause();
    const result = op();
    pause();
    return result;
  };
  return {
    load: ((a: Int32Array, i: number) => around(() => real.load(a, i))) as SyncOps['load'],
    store: ((a: Int32Array, i: number, v: number) => around(() => real.store(a, i, v))) as SyncOps['store'],
    add: ((a: Int32Array, i: number, v: number) => around(() => real.add(a, i, v))) as SyncOps['add'],
    compareExchange: ((a: Int32Array, i: number, e: number, r: number) => around(() => real.compareExchange(a, i, e, r))) as SyncOps['compareExchange'],
    wait: ((a: Int32Array, i: number, v: number, t?: number) => around(() => real.wait(a, i, v, t))) as SyncOps['wait'],
    notify: ((a: Int32Array, i: number, c?: number) => around(() => real.notify(a, i, c))) as SyncOps['notify'],
  };
}

/** Atomics' operations as plain functions (so a wrapper can replace one of them). */
const bound = (real: typeof Atomics): SyncOps => ({
  load: real.load.bind(real),
  store: real.store.bind(real),
  add: real.add.bind(real),
  compareExchange: real.compareExchange.bind(real),
  wait: real.wait.bind(real),
  notify: real.notify.bind(real),
});

const SHAPES: GroupShape[] = [
  { length: 3 * 4096 + 77, state: ['expAvg', 'expAvgSq', 'maxExpAvgSq'] },
  { length: 9001, state: ['expAvg', 'expAvgSq'] },
  { length: 4096 * 5, state: ['momentumBuffer'] },
  // Long enough to be split at the production slice length (shorter calls run on the caller).
  { length: 5 * 16384 + 77, state: ['expAvg', 'expAvgSq'] },
];

interface Arena {
  readonly kernel: Kernel;
  readonly regions: readonly GroupRegions[];
  readonly views: Float32Array[][];
}

function arena(kernel: Kernel): Arena {
  const layout = layoutArena(kernel.firstFreeByte, SHAPES.map((shape) => [shape]));
  const buffer = kernel.reserve(layout.endByte);
  const views = layout.groups.map((r) => [r.params, r.grads, ...Object.values(r.state)].map((at) => new Float32Array(buffer, at, r.length)));
  return { kernel, regions: layout.groups, views };
}

/** Runs `jobs` random jobs on both arenas and compares every result; returns how many ran. */
function compareJobs(threaded: Arena, reference: Arena, seed: number, jobs: number): number {
  const random = uniform(seed);
  threaded.views.forEach((group, g) => group.forEach((a, k) => a.set(fillVaried(reference.views[g]![k]!, seed + 7 * g + k))));
  for (let job = 0; job < jobs; job++) {
    const g = Math.floor(random() * SHAPES.length);
    const where = `seed ${seed}, job ${job}, group ${g}`;
    const grads = [threaded.views[g]![1]!, reference.views[g]![1]!];
    const fresh = fillVaried(new Float32Array(grads[0]!.length), Math.floor(random() * 2 ** 31), 2 ** Math.floor(random() * 8));
    if (random() < 0.1) fresh[Math.floor(random() * fresh.length)] = random() < 0.5 ? NaN : -Infinity;
    for (const a of grads) a.set(fresh);
    const kind = random();
    const r = [threaded.regions[g]!, reference.regions[g]!] as const;
    if (kind < 0.2) {
      expect(threaded.kernel.allFinite(r[0].grads, r[0].length).wait(), where).toBe(reference.kernel.allFinite(r[1].grads, r[1].length).wait());
    } else if (kind < 0.4) {
      expect(threaded.kernel.sumSquares(r[0].grads, r[0].length).wait(), where).toBe(reference.kernel.sumSquares(r[1].grads, r[1].length).wait());
    } else if (g === 2) {
      const s: SgdScalars = SGD_FAMILY.scalars(
        { ...SGD_FAMILY.defaults, lr: random() * 0.1, momentum: 0.9, nesterov: random() < 0.5, weightDecay: random() * 1e-3 },
        { step: 1 + Math.floor(random() * 3), eta: random(), clipCoef: 1 },
      );
      threaded.kernel.sgd(r[0], s).wait();
      reference.kernel.sgd(r[1], s).wait();
    } else {
      const s: AdamScalars = ADAMW_FAMILY.scalars(
        { ...ADAMW_FAMILY.defaults, lr: random() * 0.01, weightDecay: random() * 0.1, amsgrad: g === 0 },
        { step: 1 + Math.floor(random() * 100), eta: random(), clipCoef: 1 },
      );
      threaded.kernel.adam(r[0], s).wait();
      reference.kernel.adam(r[1], s).wait();
    }
    threaded.views[g]!.forEach((a, k) => expect(firstBitDifference(a, reference.views[g]![k]!), `${where}, array ${k}`).toBe(-1));
  }
  return jobs;
}

describe('threads protocol under forced preemption', () => {
  const cores = availableParallelism();

  for (const threads of [cores + 1, 8]) {
    it(`${threads} threads on ${cores} cores, random sleeps around every Atomics operation, no spinning: every job bit-identical`, async () => {
      const jitter = { chance: 0.05, maxMs: 0.3 };
      const kernel = await ThreadedKernel.create(await compileModule('threads'), threads, {
        spin: 0,
        // One norm block per slice: every group is split into several slices per thread.
        minSlice: 4096,
        sync: jitteryAtomics(Atomics, jitter.chance, jitter.maxMs),
        workerSource: workerProgram({ sync: `(${jitteryAtomics.toString()})(Atomics, ${jitter.chance}, ${jitter.maxMs})` }),
      });
      const threaded = arena(kernel);
      const reference = arena(new JsKernel());
      let jobs = 0;
      const started = Date.now();
      for (let seed = 1; Date.now() - started < 9_000 && jobs < 6_000; seed++) jobs += compareJobs(threaded, reference, seed, 200);
      console.log(`threads protocol: ${threads} threads on ${cores} cores, ${jobs} jittered jobs bit-identical in ${Date.now() - started} ms`);
      expect(jobs).toBeGreaterThanOrEqual(2_000);
      kernel.dispose();
    }, 60_000);
  }

  it('with real Atomics and spinning as in production: every job bit-identical', async () => {
    // Real Atomics, counted on this thread: the slices it claims show that calls were split.
    let claims = 0;
    const counting: SyncOps = {
      ...bound(Atomics),
      compareExchange: ((a: Int32Array, i: number, e: number, r: number) => (claims++, Atomics.compareExchange(a, i, e, r))) as SyncOps['compareExchange'],
    };
    const kernel = await ThreadedKernel.create(await compileModule('threads'), cores * 3, { sync: counting });
    const threaded = arena(kernel);
    const reference = arena(new JsKernel());
    let jobs = 0;
    for (let seed = 100; jobs < 3_000; seed++) jobs += compareJobs(threaded, reference, seed, 500);
    kernel.dispose();
    // A quarter of the jobs hit the long group, split into ≥ 5 slices, all of which this thread tries.
    expect(claims).toBeGreaterThan(jobs);
  }, 60_000);
});
