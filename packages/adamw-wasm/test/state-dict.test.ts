/**
 * State as plain data: stateDict() gives copies in a plain, structured-cloneable object;
 * loadStateDict() matches tensors by name, checks everything first and changes nothing when it
 * refuses; saveState/loadState carry the same content as bytes, and version-1 bytes still load.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, schedules, STATE_FORMAT_VERSION, type StateDict } from 'adamw-wasm';
import { crc32 } from '../src/state/crc32.js';
import { varied } from './helpers.js';

const warm = schedules.linearWarmup({ steps: 4 });
const MODEL = [
  { tensors: [{ name: 'dense/kernel', init: varied(300, 1) }, { name: 'dense/bias', init: varied(7, 2) }], schedule: warm },
  { tensors: [{ name: 'norm/gain', init: varied(50, 3) }], amsgrad: true, excludeFromWeightDecay: [/gain/] },
];

async function trained(steps = 3): Promise<AdamW> {
  const opt = await AdamW.create(MODEL, { clipGradNorm: 2, weightDecay: 0.05 });
  for (let t = 0; t < steps; t++) {
    opt.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, 10 * t + k)));
    opt.step(t === 1 ? { tensors: ['dense/kernel'] } : undefined);
  }
  return opt;
}

/** Two more steps on both with the same gradients, then everything saveState() writes. */
function expectSameFuture(a: AdamW, b: AdamW): void {
  for (let t = 0; t < 2; t++) {
    for (const opt of [a, b]) {
      for (const tensor of opt.tensors) tensor.grads.set(varied(tensor.size, 500 + 10 * t + tensor.name.length));
      opt.step();
    }
  }
  expect(a.saveState()).toEqual(b.saveState());
}

describe('stateDict()', () => {
  it('is plain data: version, kind, options, groups with JSON hyperparameters and tensor names, tensors with copies of their arrays', async () => {
    const opt = await trained();
    const dict = opt.stateDict();
    expect(dict.version).toBe(STATE_FORMAT_VERSION);
    expect(dict.optimizer).toBe('AdamW');
    expect(dict.stepCount).toBe(3);
    expect(dict.options).toEqual({ clipGradNorm: 2, nonFinite: 'throw' });
    expect(dict.groups.map((g) => g.tensors)).toEqual([['dense/kernel', 'dense/bias'], ['norm/gain']]);
    expect(dict.groups[0]!.hyperparameters).toMatchObject({ lr: 1e-3, weightDecay: 0.05, scheduled: true, excludeFromWeightDecay: [] });
    expect(dict.groups[1]!.hyperparameters).toMatchObject({ amsgrad: true, scheduled: false, excludeFromWeightDecay: [{ regexp: 'gain', flags: '' }] });
    expect(dict.tensors.map((t) => [t.name, t.size, t.step, Object.keys(t).filter((k) => t[k as keyof typeof t] instanceof Float32Array).sort()])).toEqual([
      ['dense/kernel', 300, 3, ['expAvg', 'expAvgSq', 'params']],
      ['dense/bias', 7, 2, ['expAvg', 'expAvgSq', 'params']],
      ['norm/gain', 50, 2, ['expAvg', 'expAvgSq', 'maxExpAvgSq', 'params']],
    ]);
    // Copies: changing them changes nothing in the optimizer.
    const kernel = opt.tensor('dense/kernel').params.slice();
    dict.tensors[0]!.params!.fill(7);
    expect(opt.tensor('dense/kernel').params).toEqual(kernel);
    expect(dict.tensors[0]!.params!.buffer).not.toBe(opt.tensor('dense/kernel').params.buffer);
    // Plain enough to clone (postMessage, IndexedDB) and load back.
    const twin = await AdamW.create(MODEL, { weightDecay: 0.05 });
    twin.loadStateDict(structuredClone(opt.stateDict()));
    expectSameFuture(opt, twin);
    expect(opt.stateDict({ includeParams: false }).tensors.every((t) => t.params === undefined)).toBe(true);
  });

  it('loadStateDict matches tensors by name: any order of tensors and of names within a group', async () => {
    const opt = await trained();
    const dict = opt.stateDict();
    const shuffled: StateDict = { ...dict, tensors: [...dict.tensors].reverse(), groups: [{ ...dict.groups[0]!, tensors: ['dense/bias', 'dense/kernel'] }, dict.groups[1]!] };
    const twin = await AdamW.create(MODEL, { weightDecay: 0.05 });
    twin.loadStateDict(shuffled);
    expect(twin.tensors.map((t) => t.stepCount)).toEqual([3, 2, 2]);
    expectSameFuture(opt, twin);
  });

  it('fromStateDict recreates the optimizer (schedules passed again), and it continues bit for bit', async () => {
    const opt = await trained();
    const back = AdamW.fromStateDict(opt.stateDict(), { schedule: warm });
    expect(back.tensors.map((t) => [t.name, t.group])).toEqual([['dense/kernel', 0], ['dense/bias', 0], ['norm/gain', 1]]);
    expect(back.clipGradNorm).toBe(2);
    expectSameFuture(opt, back);
  });
});

describe('loadStateDict refuses, and the optimizer stays bitwise as it was', () => {
  /** Cases marked `against the target` depend on the optimizer the dict goes into; fromStateDict has none. */
  type Edit = (d: Record<string, unknown> & { groups: { hyperparameters: Record<string, unknown>; tensors: string[] }[]; tensors: Record<string, unknown>[] }) => unknown;
  const AGAINST_TARGET = new Set(['a tensor the optimizer lacks, and one the state lacks', 'tensors grouped differently', 'a size that differs', 'amsgrad that differs', 'a schedule the group does not have']);
  const CASES: [string, Edit, ErrorConstructor, RegExp][] = [
    ['a tensor the optimizer lacks, and one the state lacks', (d) => {
      d.tensors[1]!.name = 'dense/b';
      d.groups[0]!.tensors[1] = 'dense/b';
    }, RangeError, /^AdamW\.loadStateDict: the state's tensors do not match this optimizer's \(tensors this optimizer does not have: "dense\/b"; tensors the state lacks: "dense\/bias"\)$/],
    ['tensors grouped differently', (d) => {
      d.groups = [{ ...d.groups[0]!, tensors: ['dense/kernel'] }, { ...d.groups[1]!, tensors: ['norm/gain', 'dense/bias'] }];
    }, RangeError, /^AdamW\.loadStateDict: state\.groups\[0\] holds tensors \["dense\/kernel"\], which this optimizer does not group together \(its groups\[0\] holds \["dense\/kernel", "dense\/bias"\]\)$/],
    ['a size that differs', (d) => {
      d.tensors[1]!.size = 8;
      for (const k of ['params', 'expAvg', 'expAvgSq']) d.tensors[1]![k] = new Float32Array(8);
    }, RangeError, /^AdamW\.loadStateDict: tensor "dense\/bias" has size 8 in the state, 7 in this optimizer$/],
    ['an array of the wrong length', (d) => void (d.tensors[2]!.maxExpAvgSq = new Float32Array(3)), RangeError, /^AdamW\.loadStateDict: state\.tensors\[2\]\.maxExpAvgSq\.length must be 50, the tensor's size \(got 3\)$/],
    ['an array of the wrong type', (d) => void (d.tensors[2]!.expAvg = new Float64Array(50)), TypeError, /^AdamW\.loadStateDict: state\.tensors\[2\]\.expAvg must be a Float32Array \(got a Float64Array\)$/],
    ['a missing state array', (d) => void delete d.tensors[2]!.maxExpAvgSq, RangeError, /tensor "norm\/gain" of state\.groups\[1\] holds arrays \[expAvg, expAvgSq, params\], but its group needs \[expAvg, expAvgSq, maxExpAvgSq, params\]/],
    ['params on some tensors only', (d) => void delete d.tensors[0]!.params, RangeError, /tensor "dense\/kernel" of state\.groups\[0\] holds arrays \[expAvg, expAvgSq\]/],
    ['another optimizer', (d) => void (d.optimizer = 'SGD'), Error, /^AdamW\.loadStateDict: the state was saved by SGD, not AdamW$/],
    ['another version', (d) => void (d.version = 1), TypeError, /^AdamW\.loadStateDict: state\.version must be 2 \(STATE_FORMAT_VERSION\) \(got 1\)$/],
    ['an invalid hyperparameter', (d) => void (d.groups[1]!.hyperparameters.lr = -1), RangeError, /^AdamW\.loadStateDict: state\.groups\[1\]\.hyperparameters\.lr must be >= 0 \(got -1\)$/],
    ['amsgrad that differs', (d) => void (d.groups[0]!.hyperparameters.amsgrad = true), RangeError, /groups\[0\] state arrays differ: the state needs expAvg, expAvgSq, maxExpAvgSq, this optimizer's group has expAvg, expAvgSq/],
    ['a tensor step beyond the optimizer\'s', (d) => void (d.tensors[0]!.step = 4), RangeError, /state\.tensors\[0\]\.step \(4\) exceeds state\.stepCount \(3\)/],
    ['a schedule the group does not have', (d) => void (d.groups[1]!.hyperparameters.scheduled = true), Error, /groups\[1\] was saved with a schedule/],
    ['an unknown key', (d) => void (d.extra = 1), TypeError, /^AdamW\.loadStateDict: unknown option state\.extra/],
    ['an unknown tensor key', (d) => void (d.tensors[0]!.grads = new Float32Array(300)), TypeError, /unknown option state\.tensors\[0\]\.grads/],
    ['a tensor in no group', (d) => void d.groups[1]!.tensors.pop(), TypeError, /state\.tensors "norm\/gain" belong to no group/],
    ['not an object', () => [1], TypeError, /^AdamW\.loadStateDict: state must be an object \(got an array of length 1\)$/],
  ];

  it.each(CASES)('%s', async (_label, edit, kind, message) => {
    const source = await trained();
    const dict = source.stateDict() as unknown as Parameters<Edit>[0];
    const edited = edit(dict) ?? dict;
    const target = await AdamW.create(MODEL, { weightDecay: 0.05 });
    target.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, k)));
    target.step();
    const before = target.saveState();
    expect(() => target.loadStateDict(edited as StateDict)).toThrow(kind);
    expect(() => target.loadStateDict(edited as StateDict)).toThrow(message);
    expect(target.saveState()).toEqual(before);
    if (!AGAINST_TARGET.has(_label)) expect(() => AdamW.fromStateDict(edited as StateDict, { schedule: warm })).toThrow(kind);
  });
});

describe('version-1 bytes from earlier releases', () => {
  /** A version-1 blob as the earlier writer laid it out: one array set per group. */
  function v1Blob(): Uint8Array {
    const params = varied(5, 1);
    const expAvg = varied(5, 2);
    const expAvgSq = varied(5, 3).map(Math.abs);
    const hyper = { lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, amsgrad: false, maximize: false, epsMode: 'torch', weightDecayScale: 'lr', decayOrder: 'before', scheduled: false };
    const header = JSON.stringify({
      optimizer: 'AdamW', stepCount: 4, options: { clipGradNorm: null, nonFinite: 'throw' }, includesParams: true,
      groups: [{ size: 5, stepCount: 4, hyperparameters: hyper, arrays: [{ name: 'params', offset: 0 }, { name: 'expAvg', offset: 0 }, { name: 'expAvgSq', offset: 0 }] }],
    });
    // Offsets depend on the header's length; two rounds settle it (as the writer did).
    let text = header;
    for (let round = 0; round < 2; round++) {
      let at = Math.ceil((24 + new TextEncoder().encode(text).length) / 64) * 64;
      text = header.replace(/"offset":0/g, () => `"offset":${(at += 64) - 64}`);
    }
    const bytes = new TextEncoder().encode(text);
    const first = Math.ceil((24 + bytes.length) / 64) * 64;
    const blob = new Uint8Array(first + 128 + 20 + 4);
    const view = new DataView(blob.buffer);
    blob.set(new TextEncoder().encode('ADAMWST\0'));
    view.setUint32(8, 1, true);
    view.setUint32(12, bytes.length, true);
    view.setBigUint64(16, BigInt(blob.length), true);
    blob.set(bytes, 24);
    [params, expAvg, expAvgSq].forEach((a, k) => blob.set(new Uint8Array(a.buffer), first + 64 * k));
    view.setUint32(blob.length - 4, crc32(blob.subarray(0, blob.length - 4)), true);
    return blob;
  }

  it('load into a one-tensor group (named groups[0]) and into fromState', async () => {
    const blob = v1Blob();
    const opt = await AdamW.create([{ size: 5 }]);
    opt.loadState(blob);
    expect(opt.stepCount).toBe(4);
    expect(opt.groups[0]!.stepCount).toBe(4);
    expect(Array.from(opt.groups[0]!.params)).toEqual(Array.from(varied(5, 1)));
    const back = await AdamW.fromState(blob);
    expect(back.tensors.map((t) => t.name)).toEqual(['groups[0]']);
    expectSameFuture(opt, back);
  });
});
