/**
 * Named tensors in groups: each its own views, step count and effective hyperparameters;
 * step({ tensors }) skipping the others exactly as PyTorch skips parameters whose .grad is None;
 * weight decay excluded by name. On every backend and thread count, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, SGD, type BackendName } from 'adamw-wasm';
import { firstBitDifference, varied } from './helpers.js';

const RUNS: readonly { backend: BackendName; threads: number }[] = [
  { backend: 'wasm-simd', threads: 1 },
  { backend: 'wasm', threads: 1 },
  { backend: 'js', threads: 1 },
  { backend: 'wasm-simd', threads: 3 },
];

/** A two-group model: a layer (kernel, bias) and a norm (gain, bias), sizes around block and lane edges. */
const MODEL = [
  { tensors: [{ name: 'dense/kernel', init: varied(9000, 1) }, { name: 'dense/bias', init: varied(33, 2) }] },
  { tensors: [{ name: 'norm/gain', init: varied(4099, 3) }, { name: 'norm/bias', init: varied(5, 4) }], lr: 3e-3, amsgrad: true },
];

const bitsOf = (opt: AdamW): Uint32Array[] =>
  opt.tensors.flatMap((t) => [t.params, ...Object.values(t.state).filter((a): a is Float32Array => a !== undefined)].map((a) => new Uint32Array(a.slice().buffer)));

describe('named tensors', () => {
  it('each has its own zero-copy views, listed in order and found by name; one-tensor groups keep their shorthand', async () => {
    const opt = await AdamW.create([...MODEL, { size: 7 }]);
    expect(opt.tensors.map((t) => [t.name, t.group, t.size])).toEqual([
      ['dense/kernel', 0, 9000],
      ['dense/bias', 0, 33],
      ['norm/gain', 1, 4099],
      ['norm/bias', 1, 5],
      ['groups[2]', 2, 7],
    ]);
    const bias = opt.tensor('dense/bias');
    expect(Array.from(bias.params)).toEqual(Array.from(varied(33, 2)));
    expect(bias.params.byteOffset % 64).toBe(0);
    expect(opt.groups[0]!.tensors[1]).toBe(bias);
    expect(Object.keys(opt.tensor('norm/gain').state).sort()).toEqual(['expAvg', 'expAvgSq', 'maxExpAvgSq']);
    expect(opt.groups[2]!.params).toBe(opt.tensor('groups[2]').params);
    expect(opt.groups[0]!.size).toBe(9033);
    expect(() => opt.groups[0]!.params).toThrow(
      /^AdamW: groups\[0\] holds 2 tensors \("dense\/kernel", "dense\/bias"\), so it has no single params: use groups\[0\]\.tensors\[k\]\.params or opt\.tensor\(name\)\.params$/,
    );
    expect(() => opt.groups[1]!.stepCount).toThrow(/holds 2 tensors/);
    expect(() => opt.tensor('dense/weights')).toThrow(/^AdamW: tensor\(name\): no tensor named "dense\/weights"; its tensors are "dense\/kernel", /);
    expect(Object.isFrozen(opt.tensors)).toBe(true);
    expect(Object.isFrozen(bias)).toBe(true);
    expect(() => ((bias as { params: Float32Array }).params = new Float32Array(33))).toThrow(/cannot be replaced/);
    opt.dispose();
  });

  it.each([
    ['a duplicate across groups', [{ tensors: [{ name: 'w', size: 2 }] }, { tensors: [{ name: 'w', size: 3 }] }], TypeError, /groups\[1\]\.tensors\[0\]\.name "w" is already a tensor name of this optimizer/],
    ['a duplicate in a group', [{ tensors: [{ name: 'w', size: 2 }, { name: 'w', size: 2 }] }], TypeError, /groups\[0\]\.tensors\[1\]\.name "w" is already a tensor name/],
    ['a name clashing with a shorthand', [{ size: 2 }, { tensors: [{ name: 'groups[0]', size: 1 }] }], TypeError, /groups\[1\]\.tensors\[0\]\.name "groups\[0\]" is already a tensor name/],
    ['an empty name', [{ tensors: [{ name: '', size: 2 }] }], RangeError, /groups\[0\]\.tensors\[0\]\.name must be a non-empty tensor name/],
    ['a non-string name', [{ tensors: [{ name: 5, size: 2 }] }], TypeError, /groups\[0\]\.tensors\[0\]\.name must be a string \(a tensor name\) \(got 5\)/],
    ['no tensors', [{ tensors: [] }], RangeError, /groups\[0\]\.tensors must be a non-empty array/],
    ['tensors and a size', [{ tensors: [{ name: 'w', size: 2 }], size: 2 }], TypeError, /groups\[0\] gives both tensors and size/],
    ['a tensor without a size', [{ tensors: [{ name: 'w' }] }], TypeError, /groups\[0\]\.tensors\[0\] must be given a size or an init array/],
    ['a shape of another size', [{ tensors: [{ name: 'w', size: 6, shape: [2, 2] }] }], RangeError, /groups\[0\]\.tensors\[0\]\.shape must have dimensions whose product is the tensor's size, 6 \(got \[2, 2\], 4 elements\)$/],
    ['a shape of another size than init', [{ tensors: [{ name: 'w', init: new Float32Array(3), shape: [1, 2] }] }], RangeError, /tensors\[0\]\.shape must have dimensions whose product is the tensor's size, 3 \(got \[1, 2\], 2 elements\)$/],
    ['a shape of no elements', [{ tensors: [{ name: 'w', shape: [0, 3] }] }], RangeError, /tensors\[0\]\.shape must have dimensions whose product is at least 1 \(a tensor has at least one element\) \(got \[0, 3\], 0 elements\)$/],
    ['a shape that is not an array', [{ tensors: [{ name: 'w', shape: 6 }] }], TypeError, /tensors\[0\]\.shape must be an array of dimensions \(integers >= 0\) \(got 6\)$/],
    ['a negative dimension', [{ tensors: [{ name: 'w', size: 6, shape: [2, -3] }] }], RangeError, /tensors\[0\]\.shape\[1\] must be an integer >= 0 \(got -3\)$/],
    ['a fractional dimension', [{ tensors: [{ name: 'w', shape: [1.5] }] }], RangeError, /tensors\[0\]\.shape\[0\] must be an integer >= 0 \(got 1\.5\)$/],
    ['a hole in a shape', [{ tensors: [{ name: 'w', shape: [2, , 3] }] }], TypeError, /tensors\[0\]\.shape\[1\] must be an integer >= 0 \(got undefined\)$/],
    ['too many dimensions', [{ tensors: [{ name: 'w', shape: new Array(65).fill(1) }] }], RangeError, /tensors\[0\]\.shape\.length must be at most 64 \(dimensions\) \(got 65\)$/],
    ['an unknown tensor key', [{ tensors: [{ name: 'w', size: 2, lr: 1 }] }], TypeError, /unknown option groups\[0\]\.tensors\[0\]\.lr/],
    ['a hole in tensors', [{ tensors: [{ name: 'w', size: 2 }, , { name: 'v', size: 2 }] }], TypeError, /groups\[0\]\.tensors\[1\] must be an object \(got undefined\)/],
  ] as const)('refuses %s before allocating anything', async (_label, groups, kind, message) => {
    const call = AdamW.create(groups as never);
    await expect(call).rejects.toThrow(kind);
    await expect(call).rejects.toThrow(message);
  });

  it('a tensor may be given a shape (alone or with its size or init); it is kept, frozen, and reported; otherwise [size]', async () => {
    const dims = [3, 2];
    const opt = await AdamW.create([{ tensors: [{ name: 'w', shape: dims }, { name: 'b', size: 3, shape: [3] }, { name: 'g', init: new Float32Array(4) }, { name: 's', shape: [] }] }]);
    dims[0] = 7;
    expect(opt.tensors.map((t) => [t.name, t.size, t.shape])).toEqual([
      ['w', 6, [3, 2]],
      ['b', 3, [3]],
      ['g', 4, [4]],
      ['s', 1, []],
    ]);
    expect(Object.isFrozen(opt.tensor('w').shape)).toBe(true);
    expect(Object.isFrozen(opt.tensor('g').shape)).toBe(true);
    opt.dispose();
  });

  it('addParamGroup refuses a name the optimizer already has, and changes nothing', async () => {
    const opt = await AdamW.create(MODEL);
    const before = opt.saveState();
    expect(() => opt.addParamGroup({ tensors: [{ name: 'norm/gain', size: 3 }] })).toThrow(/groups\[2\]\.tensors\[0\]\.name "norm\/gain" is already a tensor name/);
    expect(opt.groups.length).toBe(2);
    expect(opt.saveState()).toEqual(before);
    const head = await opt.addParamGroup({ tensors: [{ name: 'head/kernel', size: 3 }, { name: 'head/bias', size: 1 }] });
    expect(head.tensors.map((t) => t.name)).toEqual(['head/kernel', 'head/bias']);
    expect(opt.tensor('head/bias').group).toBe(2);
    opt.dispose();
  });
});

describe.each(RUNS)('skipping tensors without gradients ($backend, $threads threads)', ({ backend, threads }) => {
  /** Steps a model through a schedule of which tensors have gradients each step. */
  async function run(stepped: readonly (readonly string[] | undefined)[], options: Record<string, unknown> = {}): Promise<AdamW> {
    const opt = await AdamW.create(MODEL, { backend, threads, ...options });
    stepped.forEach((names, t) => {
      opt.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, 100 * t + k)));
      opt.step(names === undefined ? undefined : { tensors: names });
    });
    return opt;
  }

  const SCHEDULE = [undefined, ['dense/kernel', 'norm/gain'], ['norm/bias', 'dense/kernel'], [], undefined, ['dense/bias']];

  it('updates only the named tensors; the others keep every bit and their step counts', async () => {
    const opt = await run(SCHEDULE);
    expect(opt.stepCount).toBe(6);
    expect(opt.tensors.map((t) => t.stepCount)).toEqual([4, 3, 3, 3]);
    // Each tensor equals the same tensor alone, stepped only when it was named (no schedule, no
    // clipping: nothing couples tensors).
    for (const [k, tensor] of opt.tensors.entries()) {
      const alone = await AdamW.create([{ ...MODEL[tensor.group]!, tensors: [MODEL[tensor.group]!.tensors.find((t) => t.name === tensor.name)!] }], { backend });
      SCHEDULE.forEach((names, t) => {
        if (names !== undefined && !names.includes(tensor.name)) return;
        alone.tensors[0]!.grads.set(varied(tensor.size, 100 * t + k));
        alone.step();
      });
      expect(firstBitDifference(tensor.params, alone.tensors[0]!.params, true), tensor.name).toBe(-1);
      expect(firstBitDifference(tensor.state.expAvgSq!, alone.tensors[0]!.state.expAvgSq!, true), tensor.name).toBe(-1);
      alone.dispose();
    }
    opt.dispose();
  });

  it('is bit-identical to the single-threaded wasm-simd run', async () => {
    if (backend === 'wasm-simd' && threads === 1) return;
    const opt = await run(SCHEDULE, { clipGradNorm: 0.5 });
    const reference = await AdamW.create(MODEL, { clipGradNorm: 0.5 });
    SCHEDULE.forEach((names, t) => {
      reference.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, 100 * t + k)));
      reference.step(names === undefined ? undefined : { tensors: names });
    });
    bitsOf(opt).forEach((a, i) => expect(a).toEqual(bitsOf(reference)[i]));
    opt.dispose();
    reference.dispose();
  });

  it('the guard and clipping see only the stepped tensors', async () => {
    const opt = await AdamW.create(MODEL, { backend, threads, clipGradNorm: 1 });
    opt.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, k)));
    opt.tensor('dense/bias').grads[3] = NaN;
    const bias = opt.tensor('dense/bias').params.slice();
    const stepped = ['dense/kernel', 'norm/gain', 'norm/bias'];
    const { gradNorm } = opt.step({ tensors: stepped });
    let sum = 0;
    for (const name of stepped) for (const g of opt.tensor(name).grads) sum += g * g;
    expect(gradNorm).toBeCloseTo(Math.sqrt(sum), 6);
    expect(opt.tensor('dense/bias').params).toEqual(bias);
    expect(() => opt.step()).toThrow(/non-finite gradient tensor\("dense\/bias"\)\.grads\[3\] = NaN/);
    opt.dispose();
  });
});

describe('step({ tensors }) refuses, changing nothing', () => {
  it.each([
    ['an unknown name', { tensors: ['dense/kernel', 'nope', 'nada'] }, RangeError, /^AdamW\.step: options\.tensors names no tensor of this optimizer: "nope", "nada"$/],
    ['a repeated name', { tensors: ['norm/bias', 'norm/bias'] }, TypeError, /^AdamW\.step: options\.tensors\[1\] repeats "norm\/bias"$/],
    ['a non-string', { tensors: [1] }, TypeError, /^AdamW\.step: options\.tensors\[0\] must be a tensor name \(a string\) \(got 1\)$/],
    ['not an array', { tensors: 'dense/kernel' }, TypeError, /^AdamW\.step: options\.tensors must be an array of tensor names/],
    ['an unknown option', { params: [] }, TypeError, /^AdamW\.step: unknown option options\.params; known options are tensors$/],
  ] as const)('%s', async (_label, options, kind, message) => {
    const opt = await AdamW.create(MODEL);
    opt.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, k)));
    const before = opt.saveState();
    expect(() => opt.step(options as never)).toThrow(kind);
    expect(() => opt.step(options as never)).toThrow(message);
    await expect(opt.stepAsync(options as never)).rejects.toThrow(new RegExp(message.source.replace('AdamW\\.step:', 'AdamW\\.stepAsync:')));
    expect(opt.saveState()).toEqual(before);
    opt.dispose();
  });
});

describe('excludeFromWeightDecay', () => {
  it('gives matching tensors weight decay 0 (names and RegExps, optimizer-wide or per group), everything else unchanged', async () => {
    const exclude = await AdamW.create(MODEL, { weightDecay: 0.1, excludeFromWeightDecay: [/bias$/, 'norm/gain'] });
    expect(exclude.tensors.map((t) => t.hyperparameters.weightDecay)).toEqual([0.1, 0, 0, 0]);
    expect(exclude.tensor('dense/bias').hyperparameters).toEqual({ ...exclude.groups[0]!.hyperparameters, weightDecay: 0 });
    const explicit = await AdamW.create(
      [{ ...MODEL[0]!, tensors: [MODEL[0]!.tensors[0]!] }, { ...MODEL[0]!, tensors: [MODEL[0]!.tensors[1]!], weightDecay: 0 }, { ...MODEL[1]!, weightDecay: 0 }],
      { weightDecay: 0.1 },
    );
    for (const o of [exclude, explicit]) {
      o.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, k)));
      o.step();
    }
    for (const name of ['dense/kernel', 'dense/bias', 'norm/gain', 'norm/bias']) {
      expect(firstBitDifference(exclude.tensor(name).params, explicit.tensor(name).params, true), name).toBe(-1);
    }
    exclude.dispose();
    explicit.dispose();
  });

  it('per group, changeable with set(), kept by saveState/fromState (RegExps included), for SGD too', async () => {
    const opt = await SGD.create([{ tensors: [{ name: 'w', size: 4 }, { name: 'b', size: 2 }], excludeFromWeightDecay: ['b'] }], { weightDecay: 0.5, momentum: 0.9 });
    expect(opt.tensors.map((t) => t.hyperparameters.weightDecay)).toEqual([0.5, 0]);
    opt.groups[0]!.set({ excludeFromWeightDecay: [/^w/i] });
    expect(opt.tensors.map((t) => t.hyperparameters.weightDecay)).toEqual([0, 0.5]);
    const back = await SGD.fromState(opt.saveState());
    expect(back.groups[0]!.excludeFromWeightDecay).toEqual([/^w/i]);
    expect(back.tensors.map((t) => t.hyperparameters.weightDecay)).toEqual([0, 0.5]);
    expect(() => opt.groups[0]!.set({ excludeFromWeightDecay: [''] })).toThrow(/excludeFromWeightDecay\[0\] must be a non-empty tensor name/);
    expect(() => opt.groups[0]!.set({ excludeFromWeightDecay: [new RegExp('\\(')] })).not.toThrow();
    expect(() => opt.groups[0]!.set({ excludeFromWeightDecay: [{ regexp: '(' }] as never })).toThrow(/must be a valid regular expression/);
    expect(() => opt.groups[0]!.set({ excludeFromWeightDecay: 'b' as never })).toThrow(/must be an array of tensor names and RegExps/);
    opt.dispose();
    back.dispose();
  });

  it("a global RegExp's lastIndex cannot change the rule (the pattern is copied without g/y, frozen)", async () => {
    const re = /bias/g;
    const opt = await AdamW.create([{ tensors: [{ name: 'a/bias', size: 1 }, { name: 'b/bias', size: 1 }] }], { excludeFromWeightDecay: [re] });
    expect(opt.tensors.map((t) => t.hyperparameters.weightDecay)).toEqual([0, 0]);
    const stored = opt.groups[0]!.excludeFromWeightDecay[0] as RegExp;
    expect(stored).not.toBe(re);
    expect(stored.flags).toBe('');
    expect(Object.isFrozen(stored)).toBe(true);
    opt.dispose();
  });
});
