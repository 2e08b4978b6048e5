/**
 * Nothing a caller can reach changes the optimizer unvalidated: hyperparameter snapshots,
 * betas arrays passed in, presets and defaults, the groups list, the views themselves, step
 * counts, and arrays whose contents or length change under the optimizer's feet. Each attempt
 * either throws or has no effect on what step() and saveState() use, shown against a twin.
 */
import { describe, expect, it } from 'vitest';
import { ADAM_PRESETS, ADAMW_DEFAULTS, ADAMW_PRESETS, AdamW, SGD_DEFAULTS, type AdamWGroup } from 'adamw-wasm';
import { varied } from './helpers.js';

const N = 1000;

async function pair(options: Parameters<typeof AdamW.create>[1] = {}): Promise<[AdamW, AdamW]> {
  const make = async () => {
    const opt = await AdamW.create([{ init: varied(N, 1) }], options);
    opt.groups[0]!.grads.set(varied(N, 2));
    return opt;
  };
  return [await make(), await make()];
}

/** Steps both and compares everything saveState() writes. */
function expectSameAfterStep(opt: AdamW, twin: AdamW): void {
  opt.step();
  twin.step();
  expect(opt.saveState()).toEqual(twin.saveState());
}

/** Runs `write` as sloppy-mode code would (assignment failures ignored) and as strict code (TypeError). */
function attempt(write: () => void): void {
  try {
    write();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
  }
}

describe('snapshots are not live', () => {
  it('writing through group.hyperparameters (lr = -1, eps = NaN, amsgrad = true) throws and changes nothing', async () => {
    const [opt, twin] = await pair();
    const h = opt.groups[0]!.hyperparameters as unknown as Record<string, unknown>;
    expect(Object.isFrozen(h)).toBe(true);
    expect(() => (h.lr = -1)).toThrow(TypeError);
    expect(() => (h.eps = NaN)).toThrow(TypeError);
    expect(() => (h.amsgrad = true)).toThrow(TypeError);
    expect(() => ((h.betas as number[])[0] = 5)).toThrow(TypeError);
    expect(() => ((opt.groups[0]!.betas as unknown as number[])[1] = 5)).toThrow(TypeError);
    expectSameAfterStep(opt, twin);
  });

  it('a snapshot stays what it was when taken; set() replaces it', async () => {
    const [opt] = await pair();
    const before = opt.groups[0]!.hyperparameters;
    opt.groups[0]!.lr = 0.5;
    expect(before.lr).toBe(1e-3);
    expect(opt.groups[0]!.hyperparameters.lr).toBe(0.5);
    opt.dispose();
  });

  it('a betas array passed in is copied, not shared', async () => {
    const betas: [number, number] = [0.8, 0.9];
    const opt = await AdamW.create([{ size: 4, betas }], { betas });
    const twin = await AdamW.create([{ size: 4, betas: [0.8, 0.9] }]);
    betas[0] = 0.999999;
    expect(opt.groups[0]!.betas).toEqual([0.8, 0.9]);
    opt.groups[0]!.set({ betas });
    betas[1] = 0.1;
    expect(opt.groups[0]!.betas).toEqual([0.999999, 0.9]);
    twin.groups[0]!.set({ betas: [0.999999, 0.9] });
    opt.groups[0]!.grads.fill(1);
    twin.groups[0]!.grads.fill(1);
    expectSameAfterStep(opt, twin);
  });

  it('presets and defaults are frozen all the way down', () => {
    for (const frozen of [ADAMW_PRESETS, ADAM_PRESETS, ADAMW_DEFAULTS, SGD_DEFAULTS, ADAMW_DEFAULTS.betas, ...Object.values(ADAMW_PRESETS), ...Object.values(ADAMW_PRESETS).map((p) => p.values)]) {
      expect(Object.isFrozen(frozen)).toBe(true);
    }
    expect(() => ((ADAMW_PRESETS.keras.values as Record<string, unknown>).eps = 1)).toThrow(TypeError);
    expect(() => ((ADAMW_PRESETS.tfa.requires as string[]).push('lr'))).toThrow(TypeError);
    expect(ADAMW_PRESETS.keras.values.eps).toBe(1e-7);
  });
});

describe('views and lists cannot be replaced', () => {
  it("group.params = mine throws (views are copied into, not swapped), in strict and sloppy code alike", async () => {
    const [opt, twin] = await pair();
    const g = opt.groups[0]!;
    const mine = new Float32Array(N).fill(7);
    expect(() => (g.params = mine)).toThrow(/^AdamW: groups\[0\]\.params is a view into the optimizer's memory and cannot be replaced; copy values into it instead \(params\.set\(values\)\)$/);
    expect(() => ((g as { grads: Float32Array }).grads = mine)).toThrow(TypeError);
    expect(() => ((g as { state: unknown }).state = {})).toThrow(TypeError);
    // Sloppy-mode code: a setter that throws still throws there.
    expect(() => new Function('g', 'm', 'g.params = m;')(g, mine)).toThrow(TypeError);
    expect(() => Object.defineProperty(g, 'params', { value: mine })).toThrow(TypeError);
    expect(g.params).not.toBe(mine);
    expectSameAfterStep(opt, twin);
  });

  it('opt.groups is a frozen copy: reverse(), length = 0 and push change nothing', async () => {
    const opt = await AdamW.create([{ init: varied(N, 1) }, { init: varied(N, 3), lr: 0.1 }]);
    const twin = await AdamW.create([{ init: varied(N, 1) }, { init: varied(N, 3), lr: 0.1 }]);
    for (const o of [opt, twin]) o.groups.forEach((g, k) => g.grads.set(varied(N, 10 + k)));
    const groups = opt.groups as AdamWGroup[];
    expect(Object.isFrozen(groups)).toBe(true);
    attempt(() => groups.reverse());
    attempt(() => (groups.length = 0));
    attempt(() => groups.push(groups[0]!));
    expect(opt.groups.length).toBe(2);
    opt.step();
    twin.step();
    expect(opt.saveState()).toEqual(twin.saveState());
    opt.dispose();
    twin.dispose();
  });

  it('stepCount (optimizer and group) is read-only', async () => {
    const [opt, twin] = await pair();
    expect(() => ((opt as { stepCount: number }).stepCount = 100)).toThrow(/^AdamW: stepCount is read-only/);
    attempt(() => ((opt.groups[0] as { stepCount: number }).stepCount = 100));
    attempt(() => ((opt.groups[0] as unknown as { stepsTaken: number }).stepsTaken = 100));
    expect(opt.stepCount).toBe(0);
    expect(opt.groups[0]!.stepCount).toBe(0);
    expectSameAfterStep(opt, twin);
  });

  it('the group and the optimizer objects are frozen', async () => {
    const [opt] = await pair();
    expect(Object.isFrozen(opt)).toBe(true);
    expect(Object.isFrozen(opt.groups[0])).toBe(true);
    expect(() => Object.defineProperty(opt.groups[0], 'lr', { value: -1 })).toThrow(TypeError);
    opt.dispose();
  });

  it("writing a property that does not exist throws (a JavaScript user's typo is not a silent no-op)", async () => {
    const [opt, twin] = await pair();
    // Test files are ES modules, so strict: assignments to a non-extensible object throw.
    expect(() => ((opt.groups[0] as unknown as Record<string, number>).weight_decay = 0)).toThrow(TypeError);
    expect(() => ((opt as unknown as Record<string, number>).lr = 0.1)).toThrow(TypeError);
    expect(() => ((opt.tensors[0] as unknown as Record<string, number>).lr = 0.1)).toThrow(TypeError);
    expect('weight_decay' in opt.groups[0]!).toBe(false);
    expectSameAfterStep(opt, twin);
  });
});

describe('arrays that change under the check', () => {
  it('an init subclass with a lying length is read in full: a NaN past the lie is refused', async () => {
    class Liar extends Float32Array {
      override get length(): number {
        return 1;
      }
    }
    const init = new Liar(8).fill(1);
    init[5] = NaN;
    await expect(AdamW.create([{ init }])).rejects.toThrow(/^AdamW: groups\[0\]\.init\[5\] must be finite \(got NaN\)$/);
    const clean = new Liar(8).fill(2);
    const opt = await AdamW.create([{ init: clean }]);
    expect(opt.groups[0]!.size).toBe(8);
    expect(Array.from(opt.groups[0]!.params)).toEqual(new Array(8).fill(2));
    opt.dispose();
  });

  it('a Proxy posing as a Float32Array is refused without reading its length or elements', async () => {
    const read: PropertyKey[] = [];
    const proxy = new Proxy(new Float32Array(4), {
      get: (t, k) => {
        read.push(k);
        return k === 'constructor' ? Float32Array : undefined;
      },
    });
    await expect(AdamW.create([{ init: proxy }])).rejects.toThrow(/^AdamW: groups\[0\]\.init must be a Float32Array/);
    // Only the error message looks at it (its constructor's name).
    expect(read.filter((k) => k !== 'constructor')).toEqual([]);
  });

  it('init over shared memory is copied: later writes to it do not reach the optimizer', async () => {
    const shared = new Float32Array(new SharedArrayBuffer(4 * 16)).fill(3);
    const opt = await AdamW.create([{ init: shared }]);
    shared.fill(NaN);
    expect(Array.from(opt.groups[0]!.params)).toEqual(new Array(16).fill(3));
    opt.dispose();
  });

  it('a detached init is refused as empty', async () => {
    const init = new Float32Array(4);
    structuredClone(init.buffer, { transfer: [init.buffer] });
    await expect(AdamW.create([{ init }])).rejects.toThrow(/^AdamW: groups\[0\]\.init\.length must be at least 1 \(got 0\)$/);
  });

  it('state bytes in a Uint8Array subclass that lies about itself are read through the built-in accessors', async () => {
    const [opt, twin] = await pair();
    opt.step();
    const bytes = opt.saveState();
    class Liar extends Uint8Array {
      override get length(): number {
        return 3;
      }
    }
    const liar = new Liar(bytes.length);
    liar.set(bytes);
    Object.defineProperty(liar, 'subarray', { value: () => new Uint8Array(8) });
    twin.loadState(liar);
    expect(twin.saveState()).toEqual(bytes);
    opt.dispose();
    twin.dispose();
  });

  it('state bytes in shared memory are checked and read from one copy', async () => {
    const [opt, twin] = await pair();
    opt.step();
    const bytes = opt.saveState();
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    twin.loadState(shared);
    expect(twin.saveState()).toEqual(bytes);
    opt.dispose();
    twin.dispose();
  });
});
