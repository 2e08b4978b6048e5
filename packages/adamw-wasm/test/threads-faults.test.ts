/**
 * Worker failures, injected from this test module: the package's own worker program is rebuilt
 * with a slice runner and Atomics that fail on demand (vi.mock replaces the exported program;
 * nothing in src/ knows about it). Which fault fires is read from ADAMW_TEST_FAULT in the worker,
 * whose environment is a copy of this process's at the moment the optimizer is created.
 *
 * What must hold: a failure before any write leaves parameters and state bitwise intact and
 * savable; a failure after writing began makes the optimizer refuse everything (saveState
 * included) except dispose(); a worker that dies while the main thread is blocked in step() is
 * noticed at once, not after a timeout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AdamW } from '../src/index.js';
import { varied } from './helpers.js';

vi.mock('../src/kernels/threads/worker-source.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/kernels/threads/worker-source.js')>();
  const { runSlice } = await import('../src/kernels/threads/slice.js');
  // ADAMW_TEST_FAULT = '<what>:<op>': 'throw' or 'exit' inside a slice of that op's jobs.
  const slice = `((run) => (ex, ctrl, index, k) => {
    const [what, op] = (process.env.ADAMW_TEST_FAULT || ':').split(':');
    if (ctrl[k.slot.op] === k.op[op]) {
      if (what === 'exit') process.exit(3);
      if (what === 'throw') throw new Error('injected slice failure');
    }
    run(ex, ctrl, index, k);
  })(${runSlice.toString()})`;
  // ADAMW_TEST_FAULT = 'idle-exit': the worker leaves while asleep between jobs (its second wait).
  const sync = `((real) => {
    let waits = 0;
    const wait = (a, i, v, t) => {
      if (process.env.ADAMW_TEST_FAULT === 'idle-exit' && ++waits === 2) process.exit(4);
      return real.wait(a, i, v, t);
    };
    return { load: real.load, store: real.store, add: real.add, compareExchange: real.compareExchange, notify: real.notify, wait };
  })(Atomics)`;
  return { ...actual, WORKER_SOURCE: actual.workerProgram({ slice, sync }) };
});

const N = 50_000; // 13 blocks: both threads get a slice

async function threaded(fault: string): Promise<AdamW> {
  process.env.ADAMW_TEST_FAULT = fault;
  const opt = await AdamW.create([{ init: varied(N, 1) }], { threads: 2 });
  opt.groups[0]!.grads.set(varied(N, 2));
  return opt;
}

const bits = (opt: AdamW): string => {
  const g = opt.groups[0]!;
  return [g.params, g.state.expAvg, g.state.expAvgSq].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')).join('|');
};

/** Steps until the injected fault fires (the main thread may have claimed every slice of a job itself). */
function stepUntilFailure(opt: AdamW): Error {
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      opt.step();
    } catch (error) {
      return error as Error;
    }
  }
  throw new Error('the injected fault never fired');
}

afterEach(() => {
  delete process.env.ADAMW_TEST_FAULT;
});

describe('a worker failure', () => {
  it('inside the update: the step fails, and the optimizer refuses every call but dispose(), saveState() included', async () => {
    const opt = await threaded('throw:adam');
    const error = stepUntilFailure(opt);
    expect(error.message).toMatch(/^AdamW: a step failed part-way \(adamw-wasm: slice \d of a step failed \(on thread 1\)\); parameters and state may be partly updated/);
    expect(() => opt.step()).toThrow(/^AdamW: step\(\) refused: a step failed part-way/);
    await expect(opt.stepAsync()).rejects.toThrow(/^AdamW: stepAsync\(\) refused/);
    expect(() => opt.saveState()).toThrow(/^AdamW: saveState\(\) refused: a step failed part-way/);
    expect(() => (opt.groups[0]!.lr = 0.5)).toThrow(/refused/);
    expect(() => opt.loadState(new Uint8Array(8))).toThrow(/refused/);
    opt.dispose();
  });

  it('inside the guard, before any write: the step fails, parameters and state stay bitwise, saveState() works, later steps refuse', async () => {
    const opt = await threaded('throw:allFinite');
    let before = '';
    let stepsBefore = -1;
    let error: Error | undefined;
    for (let attempt = 0; attempt < 200 && error === undefined; attempt++) {
      [before, stepsBefore] = [bits(opt), opt.stepCount];
      try {
        opt.step();
      } catch (e) {
        error = e as Error;
      }
    }
    expect(error?.message).toMatch(/^AdamW: the step failed before writing anything \(adamw-wasm: slice \d of a step failed \(on thread 1\)\); parameters and state are intact/);
    expect(bits(opt)).toBe(before);
    expect(opt.stepCount).toBe(stepsBefore);
    const saved = opt.saveState();
    expect(() => opt.step()).toThrow(/^AdamW: a worker thread failed earlier \(adamw-wasm: slice \d of a step failed \(on thread 1\)\); parameters and state are intact/);
    const resumed = await AdamW.fromState(saved, { threads: 1 });
    expect(bits(resumed)).toBe(before);
    resumed.dispose();
    opt.dispose();
  });

  it('a worker that exits mid-step while the main thread is blocked in step() is noticed at once', async () => {
    const opt = await threaded('exit:adam');
    const started = Date.now();
    const error = stepUntilFailure(opt);
    const elapsed = Date.now() - started;
    expect(error.message).toMatch(/^AdamW: a step failed part-way \(adamw-wasm: worker 1 stopped while running slice \d of a step\)/);
    expect(elapsed, 'detected without waiting for the stall watchdog').toBeLessThan(2_000);
    expect(() => opt.saveState()).toThrow(/refused: a step failed part-way/);
    opt.dispose();
  });

  it('the same in stepAsync()', async () => {
    const opt = await threaded('exit:adam');
    let error: Error | undefined;
    for (let attempt = 0; attempt < 200 && error === undefined; attempt++) await opt.stepAsync().catch((e: Error) => (error = e));
    expect(error?.message).toMatch(/^AdamW: a step failed part-way \(adamw-wasm: worker 1 (stopped while running slice \d of a step|exited \(code 3\))\)/);
    opt.dispose();
  });

  it('a worker that exits while idle: a later step refuses before writing, and the state is that of the steps taken', async () => {
    const opt = await threaded('idle-exit');
    const reference = await AdamW.create([{ init: varied(N, 1) }], { threads: 1 });
    reference.groups[0]!.grads.set(varied(N, 2));
    let error: Error | undefined;
    for (let attempt = 0; attempt < 200 && error === undefined; attempt++) {
      try {
        opt.step();
        reference.step(); // the worker may stop after the last check of a step: its slices are taken by the main thread
      } catch (e) {
        error = e as Error;
      }
    }
    expect(error?.message).toMatch(/^AdamW: a worker thread failed earlier \(adamw-wasm: worker 1 (has stopped|exited \(code 4\))\); parameters and state are intact/);
    expect(opt.stepCount).toBe(reference.stepCount);
    expect(bits(opt)).toBe(bits(reference));
    expect(opt.saveState()).toEqual(reference.saveState());
    opt.dispose();
    reference.dispose();
  });
});
