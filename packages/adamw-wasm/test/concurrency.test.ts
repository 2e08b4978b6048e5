/**
 * One rule for overlapping calls: while stepAsync() is in flight, every other
 * call that reads or changes the optimizer throws (or rejects), naming the call in flight, and
 * changes nothing; the call in flight completes as if alone. The same rule stops a schedule that
 * calls back into its optimizer. Every pair is tested, with and without worker threads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AdamW, schedules } from 'adamw-wasm';
import { varied } from './helpers.js';

const N = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'adamw-concurrency-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Bits of everything a step or a load can change, and the step counts. */
function checksum(opt: AdamW): string {
  const parts = opt.groups.flatMap((g) => [g.params, g.grads, ...Object.values(g.state).filter((a): a is Float32Array => a !== undefined)]);
  const bytes = parts.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'));
  return JSON.stringify([opt.stepCount, opt.groups.map((g) => [g.stepCount, g.size, { ...g.hyperparameters, schedule: String(g.hyperparameters.schedule) }]), bytes]);
}

async function make(threads: number): Promise<AdamW> {
  const opt = await AdamW.create([{ init: varied(N, 1) }, { init: varied(N, 2), lr: 0.01 }], { threads });
  opt.groups.forEach((g, k) => g.grads.set(varied(N, 10 + k)));
  return opt;
}

/** Every other call, made while a call is in flight, and the name its refusal gives it. */
const SECOND_CALLS: Record<string, [string, (opt: AdamW, saved: Uint8Array) => unknown]> = {
  'step()': ['step()', (opt) => opt.step()],
  'stepAsync()': ['stepAsync()', (opt) => opt.stepAsync()],
  'addParamGroup()': ['addParamGroup()', (opt) => opt.addParamGroup({ size: 10 })],
  'a setter': ['groups[0].lr (setter)', (opt) => (opt.groups[0]!.lr = 0.5)],
  'set()': ['groups[0].set()', (opt) => opt.groups[0]!.set({ eps: 1e-6 })],
  'loadState()': ['loadState()', (opt, saved) => opt.loadState(saved)],
  'saveState()': ['saveState()', (opt) => opt.saveState()],
  'exportSafetensors()': ['exportSafetensors()', (opt) => opt.exportSafetensors()],
  // Refused as in flight before the bytes are read, so any bytes do.
  'importSafetensors()': ['importSafetensors()', (opt, saved) => opt.importSafetensors(saved)],
  'zeroGrad()': ['zeroGrad()', (opt) => opt.zeroGrad()],
  // Runs the schedule (caller code), so it is a call like the others.
  'group.nextLr': ['groups[0].nextLr', (opt) => opt.groups[0]!.nextLr],
  'dispose()': ['dispose()', (opt) => opt.dispose()],
  'saveStateToFile()': ['saveStateToFile()', (opt) => opt.saveStateToFile(join(dir, 'x.adamw'))],
  'loadStateFromFile()': ['loadStateFromFile()', (opt) => opt.loadStateFromFile(join(dir, 'x.adamw'))],
};

/** The one call that can be in flight (addParamGroup is synchronous). */
const IN_FLIGHT: Record<string, { name: string; start: (opt: AdamW) => Promise<unknown> }> = {
  stepAsync: { name: 'stepAsync()', start: (opt) => opt.stepAsync() },
};

/** Calls `call` and returns its error, sync or async, or undefined if it succeeded. */
async function refusal(call: () => unknown): Promise<Error | undefined> {
  try {
    await call();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

describe.each([1, 2])('while a call is in flight (threads: %i)', (threads) => {
  for (const [inFlightKey, inFlight] of Object.entries(IN_FLIGHT)) {
    for (const [secondName, [refusedAs, second]] of Object.entries(SECOND_CALLS)) {
      it(`${secondName} during ${inFlight.name} is refused, changes nothing, and ${inFlight.name} completes as if alone`, async () => {
        const opt = await make(threads);
        const twin = await make(1);
        await opt.saveStateToFile(join(dir, 'x.adamw'));
        const saved = opt.saveState();
        const pending = inFlight.start(opt);
        const error = await refusal(() => second(opt, saved));
        expect(error?.message).toBe(`AdamW: ${refusedAs} called while ${inFlight.name} is in flight; await it first (one call at a time)`);
        await pending;
        await IN_FLIGHT[inFlightKey]!.start(twin);
        expect(checksum(opt)).toBe(checksum(twin));
        // And the optimizer is usable afterwards.
        opt.step();
        twin.step();
        expect(checksum(opt)).toBe(checksum(twin));
        opt.dispose();
        twin.dispose();
      });
    }
  }

  it('two stepAsync() without await: the second is refused, the first is exactly one step', async () => {
    const opt = await make(threads);
    const twin = await make(1);
    const first = opt.stepAsync();
    const second = opt.stepAsync();
    await expect(second).rejects.toThrow(/^AdamW: stepAsync\(\) called while stepAsync\(\) is in flight/);
    expect((await first).skipped).toBe(false);
    twin.step();
    expect(checksum(opt)).toBe(checksum(twin));
    expect(opt.stepCount).toBe(1);
    opt.dispose();
    twin.dispose();
  });

  it('a refused dispose() leaves the optimizer working; a later one releases it', async () => {
    const opt = await make(threads);
    const pending = opt.stepAsync();
    expect(() => opt.dispose()).toThrow(/dispose\(\) called while stepAsync\(\) is in flight/);
    await pending;
    opt.dispose();
    expect(() => opt.step()).toThrow(/^AdamW: step\(\) called after dispose\(\)$/);
  });
});

describe('a schedule that calls back into its optimizer', () => {
  const REENTRANT: Record<string, (opt: AdamW) => unknown> = {
    'step()': (opt) => opt.step(),
    'stepAsync()': (opt) => opt.stepAsync(),
    'addParamGroup()': (opt) => opt.addParamGroup({ size: 1 }),
    'dispose()': (opt) => opt.dispose(),
    'saveState()': (opt) => opt.saveState(),
    'loadState()': (opt) => opt.loadState(new Uint8Array(0)),
    'zeroGrad()': (opt) => opt.zeroGrad(),
    'a setter': (opt) => (opt.groups[0]!.lr = 1),
  };
  for (const [name, call] of Object.entries(REENTRANT)) {
    for (const outer of ['step', 'stepAsync'] as const) {
      it(`calling ${name} from the schedule during ${outer}() is refused; a step that fails wrote nothing`, async () => {
        let target: AdamW | undefined;
        let inner: unknown;
        const reentrant = (): number => {
          inner = call(target!); // throws (sync calls) or returns a rejected promise (async ones)
          return 1;
        };
        const opt = await AdamW.create([{ init: varied(N, 1), schedule: reentrant }]);
        target = opt;
        opt.groups[0]!.grads.set(varied(N, 2));
        const before = checksum(opt);
        const busy = new RegExp(`called while ${outer}\\(\\) is in flight`);
        const result = await refusal(() => opt[outer]());
        if (inner instanceof Promise) {
          // An async call cannot throw into the schedule: it rejects, and the step goes on.
          await expect(inner).rejects.toThrow(busy);
          expect(result).toBeUndefined();
          expect(opt.stepCount).toBe(1);
        } else {
          expect(result?.message).toMatch(busy);
          expect(checksum(opt)).toBe(before);
        }
        opt.groups[0]!.schedule = schedules.constant();
        opt.step();
        opt.dispose();
      });
    }
  }
});

describe('memory written while a step is pending', () => {
  it.each(['wasm-simd', 'wasm', 'js'] as const)(
    'without worker threads (%s), stepAsync() runs in one go: a NaN written right after the call is not applied, nor refused, by this step',
    async (backend) => {
      const opt = await AdamW.create([{ init: varied(N, 1) }], { backend });
      const twin = await AdamW.create([{ init: varied(N, 1) }], { backend });
      for (const o of [opt, twin]) o.groups[0]!.grads.set(varied(N, 2));
      const pending = opt.stepAsync();
      queueMicrotask(() => (opt.groups[0]!.grads[7] = NaN));
      opt.groups[0]!.grads[3] = NaN;
      await pending;
      twin.step();
      expect(opt.groups[0]!.params).toEqual(twin.groups[0]!.params);
      expect(() => opt.step()).toThrow(/non-finite gradient groups\[0\]\.grads\[3\] = NaN/);
      opt.dispose();
      twin.dispose();
    },
  );
});
