/** addParamGroup, and save/load: resuming continues bit-identically; bad input changes nothing. */
import { describe, expect, it } from 'vitest';
import { Adam, AdamW, schedules, SGD, SGDW, STATE_FORMAT_VERSION, type BackendName } from 'adamw-wasm';
import { fillVaried, firstBitDifference, varied } from './helpers.js';

const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

type Any = AdamW | Adam | SGD | SGDW;
const arraysOf = (opt: Any): Float32Array[] =>
  opt.groups.flatMap((g) => [g.params, ...Object.values(g.state as Record<string, Float32Array>)].map((a) => a.slice()));

function expectSameBits(a: Float32Array[], b: Float32Array[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(firstBitDifference(x, b[i]!), `array ${i}`).toBe(-1));
}

const run = (opt: Any, from: number, to: number): void => {
  for (let t = from; t < to; t++) {
    opt.groups.forEach((g, k) => fillVaried(g.grads, 100 * t + k));
    opt.step();
  }
};

describe('addParamGroup', () => {
  it('adds a group with the optimizer options as defaults; existing views stay valid', async () => {
    const opt = await AdamW.create([{ init: varied(10, 1) }], { lr: 0.01, amsgrad: true });
    const params = opt.groups[0]!.params;
    run(opt, 0, 3);
    const snapshot = params.slice();
    const added = await opt.addParamGroup({ init: varied(5, 2), weightDecay: 0 });
    expect(params.byteLength, 'old view not detached').toBe(40);
    expect(Array.from(params)).toEqual(Array.from(snapshot));
    expect(opt.groups[1]).toBe(added);
    expect(added.hyperparameters).toMatchObject({ lr: 0.01, amsgrad: true, weightDecay: 0 });
    expect(added.state.maxExpAvgSq?.length).toBe(5);
    run(opt, 3, 5);
    // The new group has its own step count: its bias correction starts at step 1, like torch's per-parameter state.
    expect(opt.groups.map((g) => g.stepCount)).toEqual([5, 2]);
    expect(opt.stepCount).toBe(5);
    expect(() => opt.addParamGroup({ size: -1 })).toThrow(/^AdamW: groups\[2\]\.size must be a positive integer/);
    expect(opt.groups.length).toBe(2);
    opt.dispose();
  });

  it('a group added later gives the same bits as a fresh optimizer with that group', async () => {
    const late = await AdamW.create([{ size: 3 }]);
    await late.addParamGroup({ init: varied(33, 9), lr: 0.1 });
    const fresh = await AdamW.create([{ init: varied(33, 9), lr: 0.1 }]);
    for (let t = 0; t < 4; t++) {
      fillVaried(late.groups[1]!.grads, t);
      fillVaried(fresh.groups[0]!.grads, t);
      late.step();
      fresh.step();
    }
    expect(firstBitDifference(late.groups[1]!.params, fresh.groups[0]!.params)).toBe(-1);
    late.dispose();
    fresh.dispose();
  });
});

describe.each(BACKENDS)('save and load (%s)', (backend) => {
  const makers: Record<string, () => Promise<Any>> = {
    AdamW: () =>
      AdamW.create([{ init: varied(50, 1) }, { init: varied(7, 2), amsgrad: true, lr: 0.01 }], {
        backend,
        schedule: schedules.cosineWarmRestarts({ t0: 3, tMult: 2 }),
        clipGradNorm: 2,
      }),
    Adam: () => Adam.create([{ init: varied(20, 3), weightDecay: 0.1 }], { backend, preset: 'keras' }),
    SGD: () => SGD.create([{ init: varied(20, 4) }], { backend, momentum: 0.9, nesterov: true, lr: 0.01 }),
    SGDW: () => SGDW.create([{ init: varied(20, 5) }], { backend, weightDecay: 1e-3 }),
  };

  it.each(Object.keys(makers))('%s resumes bit-identically to an uninterrupted run', async (name) => {
    const make = makers[name]!;
    const straight = await make();
    run(straight, 0, 10);
    const resumed = await make();
    run(resumed, 0, 4);
    const bytes = resumed.saveState();
    resumed.dispose();
    const restored = await make();
    restored.loadState(bytes);
    expect(restored.stepCount).toBe(4);
    run(restored, 4, 10);
    expectSameBits(arraysOf(restored), arraysOf(straight));
    straight.dispose();
    restored.dispose();
  });

  it('fromState recreates the optimizer; a saved schedule must be passed again', async () => {
    const opt = await makers.AdamW!();
    run(opt, 0, 4);
    const bytes = opt.saveState();
    await expect(AdamW.fromState(bytes, { backend })).rejects.toThrow(/groups\[0\] was saved with a schedule/);
    const back = await AdamW.fromState(bytes, { backend, schedule: schedules.cosineWarmRestarts({ t0: 3, tMult: 2 }) });
    expect(back.groups.map((g) => g.hyperparameters.amsgrad)).toEqual([false, true]);
    expect(back.clipGradNorm).toBe(2);
    run(opt, 4, 6);
    run(back, 4, 6);
    expectSameBits(arraysOf(back), arraysOf(opt));
    await expect(SGD.fromState(bytes)).rejects.toThrow(/^SGD\.fromState: the state was saved by AdamW, not SGD$/);
    opt.dispose();
    back.dispose();
  });

  it('without params, loading restores state and leaves the parameters alone', async () => {
    const opt = (await makers.SGD!()) as SGD;
    run(opt, 0, 3);
    const bytes = opt.saveState({ includeParams: false });
    const other = (await makers.SGD!()) as SGD;
    other.groups[0]!.params.fill(7);
    other.loadState(bytes);
    expect(other.groups[0]!.params.every((x) => x === 7)).toBe(true);
    expect(firstBitDifference(other.groups[0]!.state.momentumBuffer!, opt.groups[0]!.state.momentumBuffer!)).toBe(-1);
    opt.dispose();
    other.dispose();
  });
});

describe('bad state is refused and the optimizer is untouched', () => {
  it.each([
    ['truncated', (b: Uint8Array) => b.slice(0, b.length - 9), /^AdamW\.loadState: truncated state/],
    ['corrupted', (b: Uint8Array) => b.map((x, i) => (i === b.length - 20 ? x ^ 1 : x)), /^AdamW\.loadState: checksum mismatch/],
    ['wrong magic', (b: Uint8Array) => b.map((x, i) => (i === 0 ? 0 : x)), /^AdamW\.loadState: not an adamw-wasm state/],
    ['empty', () => new Uint8Array(0), /^AdamW\.loadState: /],
  ] as const)('%s', async (_label, mutate, message) => {
    const source = await AdamW.create([{ init: varied(40, 1) }]);
    run(source, 0, 2);
    const bytes = mutate(source.saveState());
    const target = await AdamW.create([{ init: varied(40, 2) }]);
    run(target, 0, 1);
    const before = arraysOf(target);
    expect(() => target.loadState(bytes)).toThrow(message);
    expectSameBits(arraysOf(target), before);
    expect(target.stepCount).toBe(1);
    source.dispose();
    target.dispose();
  });

  it('shape mismatches name the sizes; the format version is', async () => {
    const source = await AdamW.create([{ size: 10 }, { size: 3 }]);
    const bytes = source.saveState();
    const other = await AdamW.create([{ size: 10 }, { size: 4 }]);
    expect(() => other.loadState(bytes)).toThrow(/^AdamW\.loadState: tensor "groups\[1\]" has size 3 in the state, 4 in this optimizer$/);
    const three = await AdamW.create([{ size: 10 }, { size: 3 }, { size: 1 }]);
    expect(() => three.loadState(bytes)).toThrow(/^AdamW\.loadState: the state's tensors do not match this optimizer's \(tensors the state lacks: "groups\[2\]"\)$/);
    three.dispose();
    const ams = await AdamW.create([{ size: 10, amsgrad: true }, { size: 3 }]);
    expect(() => ams.loadState(bytes)).toThrow(/groups\[0\] state arrays differ/);
    const adam = await Adam.create([{ size: 10 }, { size: 3 }]);
    expect(() => adam.loadState(bytes)).toThrow(/^Adam\.loadState: the state was saved by AdamW, not Adam$/);
    expect(STATE_FORMAT_VERSION).toBe(2);
    for (const o of [source, other, ams, adam]) o.dispose();
  });
});
