/**
 * Optimizer state as safetensors (docs/safetensors.md): exportSafetensors → importSafetensors /
 * fromSafetensors round trips bit for bit for every family, on the js and wasm-simd backends;
 * the exact keys and metadata written; hostile files refused with the problem named and the
 * optimizer bitwise unchanged; and files with PyTorch's names only (what torch writes) loading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  fromSafetensors,
  schedules,
  SGD,
  SGDW,
  toSafetensors,
  type SafetensorsInput,
} from '../src/index.js';
import { checksum, varied } from './helpers.js';

type AnyOpt = AdamW | Adam | SGD | SGDW;
type Json = Record<string, unknown>;
interface Family {
  readonly name: string;
  readonly create: (groups: unknown, options: Json) => Promise<AnyOpt>;
  readonly fromSafetensors: (bytes: Uint8Array, options: Json) => Promise<AnyOpt>;
}

const SCHED = schedules.cosine({ steps: 40, etaMin: 0.1 });
const BACKENDS = ['js', 'wasm-simd'] as const;

/** Four tensors in two groups, some with shapes, with parameters from `seed`. */
const tensors = (seed: number) => ({
  a: [
    { name: 'fc1.weight', shape: [8, 6], init: varied(48, seed) },
    { name: 'fc1.bias', init: varied(8, seed + 1) },
  ],
  b: [
    { name: 'norm.gain', size: 3 },
    { name: 'fc2.weight', shape: [3, 8], init: varied(24, seed + 2) },
  ],
});

const cls = (c: { create: unknown; fromSafetensors: unknown }, name: string): Family => ({
  name,
  create: c.create as Family['create'],
  fromSafetensors: c.fromSafetensors as Family['fromSafetensors'],
});

/** Each family with the settings that change which arrays and hyperparameters a file holds. */
const CASES = [
  {
    label: 'AdamW (amsgrad, exclusions by name and RegExp, a schedule)',
    family: cls(AdamW, 'AdamW'),
    groups: (seed: number) => [
      { tensors: tensors(seed).a, amsgrad: true, excludeFromWeightDecay: ['fc1.bias'], schedule: SCHED },
      { tensors: tensors(seed).b, lr: 3e-3, weightDecay: 0.1, excludeFromWeightDecay: [/^norm\./i] },
    ],
    options: { clipGradNorm: 2 },
    restore: { schedule: SCHED },
  },
  {
    label: 'Adam (coupled L2, maximize)',
    family: cls(Adam, 'Adam'),
    groups: (seed: number) => [{ tensors: [...tensors(seed).a, ...tensors(seed).b], weightDecay: 1e-2, maximize: true, betas: [0.8, 0.99] }],
    options: { lr: 2e-3, nonFinite: 'skip' },
    restore: {},
  },
  {
    label: 'SGD (momentum with nesterov; a group without momentum)',
    family: cls(SGD, 'SGD'),
    groups: (seed: number) => [
      { tensors: tensors(seed).a, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
      { tensors: tensors(seed).b, momentum: 0, dampening: 0.5 },
    ],
    options: { lr: 0.05 },
    restore: {},
  },
  {
    label: 'SGDW (a schedule)',
    family: cls(SGDW, 'SGDW'),
    groups: (seed: number) => [{ tensors: [...tensors(seed).a, ...tensors(seed).b], momentum: 0.8, weightDecay: 1e-2, schedule: SCHED }],
    options: { lr: 0.05 },
    restore: { schedule: SCHED },
  },
] as const;

/** Steps t from `from` to `to`, every third one skipping every other tensor, so that their step counts differ. */
function train(opt: AnyOpt, from: number, to: number): void {
  const some = opt.tensors.filter((_, k) => k % 2 === 0).map((t) => t.name);
  for (let t = from; t < to; t++) {
    opt.tensors.forEach((tensor, k) => tensor.grads.set(varied(tensor.size, 1000 * t + k, 0.5)));
    opt.step(t % 3 === 1 ? { tensors: some } : undefined);
  }
}

describe.each(BACKENDS)('safetensors round trips (%s)', (backend) => {
  describe.each(CASES)('$label', ({ family, groups, options, restore }) => {
    const make = (seed: number) => family.create(groups(seed), { ...options, backend });

    it('fromSafetensors recreates it bit for bit (with parameters), and both continue identically', async () => {
      const a = await make(1);
      train(a, 0, 6);
      const b = await family.fromSafetensors(a.exportSafetensors({ includeParams: true }), { ...restore, backend });
      a.zeroGrad();
      expect(checksum(b)).toBe(checksum(a));
      expect(b.backend).toBe(backend);
      expect(b.tensor('fc1.weight').shape).toEqual([8, 6]);
      expect(b.tensor('norm.gain').shape).toEqual([3]);
      train(a, 6, 10);
      train(b, 6, 10);
      expect(checksum(b)).toBe(checksum(a));
      a.dispose();
      b.dispose();
    });

    it('importSafetensors loads it into an optimizer of the same model; without parameters they stay', async () => {
      const a = await make(1);
      train(a, 0, 5);
      const bytes = a.exportSafetensors();
      const c = await make(7);
      const ownParams = c.tensors.map((t) => t.params.slice());
      c.importSafetensors(bytes);
      c.tensors.forEach((t, k) => expect(t.params).toEqual(ownParams[k]));
      c.tensors.forEach((t, k) => t.params.set(a.tensors[k]!.params));
      a.zeroGrad();
      expect(checksum(c)).toBe(checksum(a));
      c.importSafetensors(a.exportSafetensors({ includeParams: true }));
      expect(checksum(c)).toBe(checksum(a));
      a.dispose();
      c.dispose();
    });
  });
});

describe('what a file holds', () => {
  const half = () => 0.5;
  async function small(): Promise<AdamW> {
    const opt = await AdamW.create(
      [{ tensors: [{ name: 'fc.weight', shape: [2, 3], init: varied(6, 3) }, { name: 'fc.bias', size: 2 }], schedule: half, excludeFromWeightDecay: ['fc.bias'] }],
      { lr: 0.01, clipGradNorm: 1 },
    );
    opt.tensors.forEach((t, k) => t.grads.set(varied(t.size, 10 + k)));
    opt.step();
    return opt;
  }

  it('PyTorch-named tensors in the tensor shape, step as an I64 scalar, and the metadata', async () => {
    const opt = await small();
    const file = fromSafetensors(opt.exportSafetensors());
    expect([...file.tensors].map(([key, t]) => [key, t.dtype, t.shape])).toEqual([
      ['state.fc.weight.step', 'I64', []],
      ['state.fc.weight.exp_avg', 'F32', [2, 3]],
      ['state.fc.weight.exp_avg_sq', 'F32', [2, 3]],
      ['state.fc.bias.step', 'I64', []],
      ['state.fc.bias.exp_avg', 'F32', [2]],
      ['state.fc.bias.exp_avg_sq', 'F32', [2]],
    ]);
    expect([...file.tensors.get('state.fc.weight.step')!.data]).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(new Float32Array(file.tensors.get('state.fc.bias.exp_avg_sq')!.data.slice().buffer)).toEqual(opt.tensor('fc.bias').state.expAvgSq);
    const { param_groups: groups, adamw_wasm: own, ...rest } = file.metadata;
    expect(rest).toEqual({ format: 'adamw-wasm/optimizer', format_version: '1', optimizer: 'AdamW', step_count: '1' });
    // With a schedule: lr is the lr the next step uses (0.01 × 0.5), initial_lr the base, as torch's schedulers keep them.
    expect(groups).toBe(
      '[{"lr":0.005,"betas":[0.9,0.999],"eps":1e-8,"weight_decay":0.01,"amsgrad":false,"maximize":false,"initial_lr":0.01,"params":["fc.weight","fc.bias"]}]',
    );
    expect(JSON.parse(own!)).toEqual({
      options: { clipGradNorm: 1, nonFinite: 'throw' },
      groups: [
        {
          lr: 0.01,
          betas: [0.9, 0.999],
          eps: 1e-8,
          weightDecay: 0.01,
          amsgrad: false,
          maximize: false,
          epsMode: 'torch',
          excludeFromWeightDecay: ['fc.bias'],
          weightDecayScale: 'lr',
          decayOrder: 'before',
          scheduled: true,
        },
      ],
      shapes: { 'fc.weight': [2, 3] },
      sizes: { 'fc.weight': 6, 'fc.bias': 2 },
    });
    opt.dispose();
  });

  it('params.<name> with includeParams, after the state; SGD without momentum holds only steps', async () => {
    const opt = await small();
    expect([...fromSafetensors(opt.exportSafetensors({ includeParams: true })).tensors.keys()].slice(-2)).toEqual(['params.fc.weight', 'params.fc.bias']);
    const sgd = await SGD.create([{ tensors: [{ name: 'w', size: 4 }] }]);
    sgd.step();
    const file = fromSafetensors(sgd.exportSafetensors());
    expect([...file.tensors.keys()]).toEqual(['state.w.step']);
    expect(JSON.parse(file.metadata.param_groups!)).toEqual([{ lr: 1e-3, weight_decay: 0, momentum: 0, dampening: 0, nesterov: false, maximize: false, params: ['w'] }]);
    opt.dispose();
    sgd.dispose();
  });

  it('tensors named like Object.prototype members (toString, constructor, __proto__) round-trip', async () => {
    const names = ['toString', 'constructor', '__proto__', 'hasOwnProperty'];
    const opt = await AdamW.create([{ tensors: names.map((name, k) => ({ name, init: varied(3, k) })) }]);
    opt.tensors.forEach((t, k) => t.grads.set(varied(3, 20 + k)));
    opt.step();
    const bytes = opt.exportSafetensors({ includeParams: true });
    const back = await AdamW.fromSafetensors(bytes);
    expect(back.tensors.map((t) => t.name)).toEqual(names);
    back.tensors.forEach((t, k) => t.grads.set(opt.tensors[k]!.grads)); // gradients are not state
    expect(checksum(back)).toEqual(checksum(opt));
    back.importSafetensors(bytes);
    expect(checksum(back)).toEqual(checksum(opt));
    opt.dispose();
    back.dispose();
  });

  it('a tensor name safetensors cannot hold (a lone surrogate) is refused by exportSafetensors, named as such', async () => {
    const opt = await AdamW.create([{ tensors: [{ name: 'a\ud800', size: 2 }] }]);
    expect(() => opt.exportSafetensors()).toThrow(/^AdamW\.exportSafetensors: the state cannot be written as safetensors: .*well-formed Unicode/);
    opt.dispose();
  });

  it('refuses options it does not know, and calls after dispose', async () => {
    const opt = await small();
    expect(() => opt.exportSafetensors({ params: true } as never)).toThrow(/^AdamW\.exportSafetensors: unknown option options\.params/);
    expect(() => opt.exportSafetensors({ includeParams: 1 } as never)).toThrow(/^AdamW\.exportSafetensors: options\.includeParams must be true or false \(got 1\)/);
    const bytes = opt.exportSafetensors();
    opt.dispose();
    expect(() => opt.exportSafetensors()).toThrow(/exportSafetensors\(\) called after dispose\(\)/);
    expect(() => opt.importSafetensors(bytes)).toThrow(/importSafetensors\(\) called after dispose\(\)/);
  });

  it('a scheduled group: the base lr must agree with initial_lr; the next lr is the schedule’s and not compared', async () => {
    const opt = await small();
    const before = checksum(opt);
    const edited = (edit: (g: Json) => void) => rewrite(opt.exportSafetensors(), (_, m) => editJson(m, 'param_groups', (groups) => edit(groups[0])));
    expect(() => opt.importSafetensors(edited((g) => (g.initial_lr = 0.02)))).toThrow(
      /^AdamW\.importSafetensors: __metadata__\.param_groups\[0\]\.initial_lr \(0\.02\) disagrees with __metadata__\.adamw_wasm\.groups\[0\]\.lr \(0\.01\); the two must describe the same run$/,
    );
    expect(() => opt.importSafetensors(edited((g) => delete g.initial_lr))).toThrow(/^AdamW\.importSafetensors: __metadata__\.param_groups\[0\] is missing initial_lr$/);
    expect(checksum(opt)).toBe(before);
    opt.importSafetensors(edited((g) => (g.lr = 0.003)));
    expect(checksum(opt)).toBe(before);
    opt.dispose();
  });

  it('a schedule that calls back into its optimizer during export is refused, as during a step', async () => {
    let opt: AdamW | undefined;
    opt = await AdamW.create([{ size: 2, schedule: () => (opt?.zeroGrad(), 1) }]);
    expect(() => opt!.exportSafetensors()).toThrow(/^AdamW: zeroGrad\(\) called while exportSafetensors\(\) is in flight/);
    opt.dispose();
  });

  it('a schedule that returns garbage is refused at export, naming the group', async () => {
    const opt = await AdamW.create([{ size: 2 }, { size: 2, schedule: () => NaN }]);
    expect(() => opt.exportSafetensors()).toThrow(/^AdamW\.exportSafetensors: groups\[1\]\.schedule returned NaN for completed step 0/);
    opt.dispose();
  });
});

// ------------------------------------------------------------------------------- hostile files

type Tensors = Map<string, SafetensorsInput>;

/** The file with `edit` applied to its tensors (copies) and metadata. */
function rewrite(bytes: Uint8Array, edit: (tensors: Tensors, meta: Record<string, string>) => void): Uint8Array {
  const file = fromSafetensors(bytes);
  const tensors: Tensors = new Map([...file.tensors].map(([key, t]) => [key, { dtype: t.dtype, shape: t.shape, data: t.data.slice() }]));
  const meta = { ...file.metadata };
  edit(tensors, meta);
  return toSafetensors(tensors, meta);
}

/** Edits a JSON metadata value in place. */
const editJson = (meta: Record<string, string>, key: string, edit: (value: any) => void) => {
  const value = JSON.parse(meta[key]!);
  edit(value);
  meta[key] = JSON.stringify(value);
};

const f32 = (values: number[], shape = [values.length]): SafetensorsInput => ({ dtype: 'F32', shape, data: new Float32Array(values) });
const scalar = (dtype: 'F32' | 'F64' | 'I64' | 'I32', value: number): SafetensorsInput => {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  if (dtype === 'F32') return (view.setFloat32(0, value, true), { dtype, shape: [], data: bytes.subarray(0, 4) });
  if (dtype === 'I32') return (view.setInt32(0, value, true), { dtype, shape: [], data: bytes.subarray(0, 4) });
  if (dtype === 'F64') view.setFloat64(0, value, true);
  else view.setBigInt64(0, BigInt(value), true);
  return { dtype, shape: [], data: bytes };
};

describe('hostile files are refused, naming the problem, and change nothing', () => {
  /** An AdamW with amsgrad on a 2-tensor model after 3 steps: the file every case damages. */
  let source: AdamW;
  let good: Uint8Array;
  beforeAll(async () => {
    source = await AdamW.create([{ tensors: [{ name: 'fc.weight', shape: [2, 3], init: varied(6, 1) }, { name: 'fc.bias', init: varied(2, 2) }], amsgrad: true }]);
    train(source, 0, 3);
    good = source.exportSafetensors({ includeParams: true });
  });
  afterAll(() => source.dispose());

  const CASES: [string, () => Uint8Array, ErrorConstructor, RegExp][] = [
    ['no bytes', () => new Uint8Array(3), RangeError, /: truncated safetensors file: 3 bytes/],
    ['saveState() bytes', () => source.saveState(), RangeError, /: the header length \d+ \(the first 8 bytes\) is over/],
    ['a safetensors file of model weights', () => toSafetensors({ w: new Float32Array(2) }), TypeError, /: __metadata__\.format must be "adamw-wasm\/optimizer" \(this file holds no adamw-wasm optimizer state\) \(got undefined\)/],
    ['format_version 2', () => rewrite(good, (_, m) => (m.format_version = '2')), Error, /: the file has format_version 2, written by a newer adamw-wasm; this one reads 1$/],
    ['format_version "1.0"', () => rewrite(good, (_, m) => (m.format_version = '1.0')), TypeError, /: __metadata__\.format_version must be "1" \(got "1\.0"\)/],
    ['another optimizer', () => rewrite(good, (_, m) => (m.optimizer = 'Adam')), Error, /: the file was saved by Adam, not AdamW$/],
    ['step_count not an integer', () => rewrite(good, (_, m) => (m.step_count = '3.0')), TypeError, /: __metadata__\.step_count must be a decimal integer >= 0, as a string \(got "3\.0"\)/],
    ['step_count missing', () => rewrite(good, (_, m) => delete m.step_count), TypeError, /: __metadata__\.step_count must be a decimal integer >= 0, as a string \(got undefined\)/],
    ['param_groups not JSON', () => rewrite(good, (_, m) => (m.param_groups = '[{"lr": 0.1,')), TypeError, /: __metadata__\.param_groups must be JSON text \(.+\) \(got "\[\{/],
    ['adamw_wasm not JSON', () => rewrite(good, (_, m) => (m.adamw_wasm = 'nope')), TypeError, /: __metadata__\.adamw_wasm must be JSON text/],
    ['adamw_wasm without sizes', () => rewrite(good, (_, m) => editJson(m, 'adamw_wasm', (s) => delete s.sizes)), TypeError, /: __metadata__\.adamw_wasm is missing sizes$/],
    ['a hyperparameter out of range', () => rewrite(good, (_, m) => editJson(m, 'adamw_wasm', (s) => (s.groups[0].betas = [0.9, 1]))), RangeError, /: __metadata__\.adamw_wasm\.groups\[0\]\.betas\[1\] must be in \[0, 1\) \(got 1\)/],
    ['param_groups disagreeing with adamw_wasm', () => rewrite(good, (_, m) => editJson(m, 'param_groups', (g) => (g[0].eps = 1e-7))), RangeError, /: __metadata__\.param_groups\[0\]\.eps \(1e-7\) disagrees with __metadata__\.adamw_wasm\.groups\[0\]\.eps \(1e-8\)/],
    ['an unknown param_groups key', () => rewrite(good, (_, m) => editJson(m, 'param_groups', (g) => (g[0].momentum = 0.9))), TypeError, /: unknown option __metadata__\.param_groups\[0\]\.momentum/],
    ['more param_groups than adamw_wasm groups', () => rewrite(good, (_, m) => editJson(m, 'param_groups', (g) => g.push({ ...g[0], params: ['fc.bias'] }))), RangeError, /: __metadata__\.adamw_wasm\.groups has 1 entries, __metadata__\.param_groups 2/],
    ['a missing key', () => rewrite(good, (t) => t.delete('state.fc.bias.max_exp_avg_sq')), TypeError, /: the file lacks the tensor key "state\.fc\.bias\.max_exp_avg_sq" \(the tensor's group, param_groups\[0\], needs step, exp_avg, exp_avg_sq, max_exp_avg_sq\)/],
    ['a missing step', () => rewrite(good, (t) => t.delete('state.fc.weight.step')), TypeError, /lacks the tensor key "state\.fc\.weight\.step"/],
    ['a missing parameter', () => rewrite(good, (t) => t.delete('params.fc.bias')), TypeError, /: the file lacks the tensor key "params\.fc\.bias" \(it has "params\.fc\.weight"/],
    ['an extra key', () => rewrite(good, (t) => t.set('state.fc.bias.momentum_buffer', f32([0, 0]))), TypeError, /: unexpected tensor key "state\.fc\.bias\.momentum_buffer": the tensor's group, param_groups\[0\], has only step, exp_avg, exp_avg_sq, max_exp_avg_sq/],
    ['an unknown key', () => rewrite(good, (t) => t.set('optimizer.lr', f32([1]))), TypeError, /: unknown tensor key "optimizer\.lr"; keys are state\.<name>\.<step\|exp_avg\|/],
    ['a key of an unknown tensor', () => rewrite(good, (t) => t.set('params.fc.other', f32([1]))), TypeError, /: unknown tensor key "params\.fc\.other"/],
    ['a wrong shape', () => rewrite(good, (t) => t.set('state.fc.weight.exp_avg', f32([1, 2, 3, 4, 5, 6], [3, 2]))), RangeError, /: "state\.fc\.weight\.exp_avg" has shape \[3, 2\], but "params\.fc\.weight" has \[2, 3\]; a tensor's arrays share its shape/],
    ['a shape other than adamw_wasm.shapes', () => rewrite(good, (_, m) => editJson(m, 'adamw_wasm', (s) => (s.shapes['fc.weight'] = [6]))), RangeError, /: __metadata__\.adamw_wasm\.shapes\["fc\.weight"\] is \[6\], but "params\.fc\.weight" has shape \[2, 3\]/],
    ['a wrong size', () => rewrite(good, (t) => ['params', 'state.fc.bias.exp_avg', 'state.fc.bias.exp_avg_sq', 'state.fc.bias.max_exp_avg_sq'].forEach((k) => t.set(k === 'params' ? 'params.fc.bias' : k, f32([1, 2, 3])))), RangeError, /: the shape of "params\.fc\.bias" must have dimensions whose product is the tensor's size, 2 \(got \[3\], 3 elements\)/],
    ['a step that is not an integer', () => rewrite(good, (t) => t.set('state.fc.bias.step', scalar('F32', 2.5))), RangeError, /: "state\.fc\.bias\.step" must be an integer from 0 to Number\.MAX_SAFE_INTEGER \(got 2\.5\)/],
    ['a negative step', () => rewrite(good, (t) => t.set('state.fc.bias.step', scalar('I64', -1))), RangeError, /: "state\.fc\.bias\.step" must be an integer from 0 to Number\.MAX_SAFE_INTEGER \(got -1n\)/],
    ['a step of an integer dtype other than I64', () => rewrite(good, (t) => t.set('state.fc.bias.step', scalar('I32', 2))), TypeError, /: "state\.fc\.bias\.step"\.dtype must be I64, F32 or F64 \(got "I32"\)/],
    ['a step that is not a scalar', () => rewrite(good, (t) => t.set('state.fc.bias.step', f32([1]))), RangeError, /: "state\.fc\.bias\.step"\.shape must be \[\] \(a scalar\) \(got "\[1\]"\)/],
    ['a step over step_count', () => rewrite(good, (t) => t.set('state.fc.bias.step', scalar('I64', 4))), RangeError, /: "state\.fc\.bias\.step" \(4\) exceeds __metadata__\.step_count \(3\); a tensor cannot have taken more steps than its optimizer/],
    ['an array of an integer dtype', () => rewrite(good, (t) => t.set('state.fc.bias.exp_avg', { dtype: 'I32', shape: [2], data: new Int32Array(2) })), TypeError, /: "state\.fc\.bias\.exp_avg"\.dtype must be F32, F64, F16 or BF16/],
  ];

  it.each(CASES)('%s', async (_label, bytes, kind, message) => {
    const file = bytes();
    const opt = await AdamW.create([{ tensors: [{ name: 'fc.weight', shape: [2, 3], init: varied(6, 5) }, { name: 'fc.bias', size: 2 }], amsgrad: true }]);
    train(opt, 0, 2);
    const before = checksum(opt);
    let error: unknown;
    try {
      opt.importSafetensors(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(kind);
    expect((error as Error).constructor).toBe(kind);
    expect((error as Error).message).toMatch(/^AdamW\.importSafetensors: /);
    expect((error as Error).message).toMatch(message);
    expect(checksum(opt)).toBe(before);
    const refused = await AdamW.fromSafetensors(file).then(
      () => new Error('fromSafetensors did not refuse the file'),
      (e: Error) => e,
    );
    expect(refused.constructor).toBe(kind);
    expect(refused.message).toMatch(/^AdamW\.fromSafetensors: /);
    expect(refused.message).toMatch(message);
    opt.dispose();
  });

  it('a tensor given a shape must have it in the file; one given none takes any shape of its size', async () => {
    const shaped = await AdamW.create([{ tensors: [{ name: 'fc.weight', shape: [3, 2], size: 6 }, { name: 'fc.bias', size: 2 }], amsgrad: true }]);
    const before = checksum(shaped);
    expect(() => shaped.importSafetensors(good)).toThrow(/^AdamW\.importSafetensors: tensor "fc\.weight" has shape \[2, 3\] in the file, \[3, 2\] in this optimizer$/);
    expect(checksum(shaped)).toBe(before);
    const flat = await AdamW.create([{ tensors: [{ name: 'fc.weight', size: 6 }, { name: 'fc.bias', size: 2 }], amsgrad: true }]);
    flat.importSafetensors(good);
    expect(flat.tensor('fc.weight').shape).toEqual([6]);
    expect(flat.tensor('fc.weight').params).toEqual(source.tensor('fc.weight').params);
    shaped.dispose();
    flat.dispose();
  });

  it('refuses a file whose tensors or groups are not this optimizer’s, unchanged (the loadState checks)', async () => {
    const other = await AdamW.create([{ tensors: [{ name: 'fc.weight', size: 6 }, { name: 'fc.bias', size: 2 }], amsgrad: false }]);
    const before = checksum(other);
    expect(() => other.importSafetensors(good)).toThrow(/^AdamW\.importSafetensors: groups\[0\] state arrays differ/);
    expect(checksum(other)).toBe(before);
    const renamed = rewrite(good, (t, m) => {
      for (const [key, value] of [...t]) (t.delete(key), t.set(key.replace('fc.bias', 'fc.b'), value));
      editJson(m, 'param_groups', (g) => (g[0].params = ['fc.weight', 'fc.b']));
      editJson(m, 'adamw_wasm', (s) => (s.sizes = { 'fc.weight': 6, 'fc.b': 2 }));
    });
    expect(() => other.importSafetensors(renamed)).toThrow(/^AdamW\.importSafetensors: the state's tensors do not match this optimizer's \(tensors this optimizer does not have: "fc\.b"; tensors the state lacks: "fc\.bias"\)/);
    expect(checksum(other)).toBe(before);
    other.dispose();
  });

  it('fromSafetensors checks its options and schedules as fromState does', async () => {
    await expect(AdamW.fromSafetensors(good, { lr: 1 } as never)).rejects.toThrow(/^AdamW\.fromSafetensors: unknown option options\.lr/);
    await expect(AdamW.fromSafetensors(good, { schedule: SCHED })).rejects.toThrow(/^AdamW\.fromSafetensors: options\.schedule was given, but no group of the state was saved with a schedule/);
    await expect(AdamW.fromSafetensors('bytes' as never)).rejects.toThrow(/^AdamW\.fromSafetensors: bytes must be a Uint8Array \(got "bytes"\)/);
  });
});

// ------------------------------------------------------------------- files with PyTorch's names only

describe('a file with only PyTorch names (no adamw_wasm section)', () => {
  /** What torch + safetensors.torch.save_file of a flattened optimizer state_dict gives: float32 steps, torch's group keys. */
  function torchFile(opt: AnyOpt, stepDtype: 'F32' | 'F64' | 'I64' = 'F32'): Uint8Array {
    return rewrite(opt.exportSafetensors({ includeParams: true }), (t, m) => {
      delete m.adamw_wasm;
      // Newer torch's AdamW is Adam with decoupled_weight_decay.
      const extra = { foreach: null, capturable: false, differentiable: false, fused: null, ...(opt instanceof AdamW ? { decoupled_weight_decay: true } : {}) };
      editJson(m, 'param_groups', (groups) => groups.forEach((g: Json) => Object.assign(g, extra)));
      for (const name of opt.tensors.map((x) => x.name)) t.set(`state.${name}.step`, scalar(stepDtype, opt.tensor(name).stepCount));
    });
  }

  it.each(['F32', 'F64', 'I64'] as const)('loads (steps as %s), with PyTorch conventions for the fields PyTorch has no name for', async (stepDtype) => {
    const a = await AdamW.create([{ tensors: tensors(1).a, amsgrad: true }, { tensors: tensors(1).b, lr: 3e-3 }], { lr: 2e-3 });
    train(a, 0, 4);
    const b = await AdamW.fromSafetensors(torchFile(a, stepDtype));
    a.zeroGrad();
    expect(checksum(b)).toBe(checksum(a));
    // PyTorch always has shapes: every tensor takes its arrays' shape.
    expect(b.tensors.map((t) => t.shape)).toEqual([[8, 6], [8], [3], [3, 8]]);
    expect(b.groups[0]!.hyperparameters).toEqual({ ...a.groups[0]!.hyperparameters });
    a.dispose();
    b.dispose();
  });

  it('keeps the options of the optimizer it is imported into (PyTorch holds none); restoring takes the defaults', async () => {
    const a = await SGD.create([{ tensors: tensors(1).a, momentum: 0.9 }], { clipGradNorm: 0.5, nonFinite: 'skip' });
    train(a, 0, 3);
    const file = torchFile(a);
    const c = await SGD.create([{ tensors: tensors(2).a, momentum: 0.9 }], { clipGradNorm: 0.5, nonFinite: 'skip' });
    c.importSafetensors(file);
    a.zeroGrad();
    expect(checksum(c)).toBe(checksum(a));
    const d = await SGD.fromSafetensors(file);
    expect([d.clipGradNorm, d.nonFinite]).toEqual([undefined, 'throw']);
    for (const opt of [a, c, d]) opt.dispose();
  });

  it('continues at the lr of the next step: a scheduler is not in the file', async () => {
    const a = await AdamW.create([{ tensors: tensors(1).a, schedule: () => 0.25 }], { lr: 0.01 });
    train(a, 0, 2);
    const b = await AdamW.fromSafetensors(torchFile(a));
    expect(b.groups[0]!.lr).toBe(0.0025);
    expect(b.groups[0]!.schedule).toBeUndefined();
    a.dispose();
    b.dispose();
  });

  it('widens F16 and BF16 arrays exactly and rounds F64 to nearest', async () => {
    const a = await SGD.create([{ tensors: [{ name: 'w', size: 3 }], momentum: 0.9 }]);
    a.step();
    const values = [1 / 3, -2.5, 1e-30];
    const f64 = rewrite(torchFile(a), (t) => t.set('state.w.momentum_buffer', { dtype: 'F64', shape: [3], data: new Float64Array(values) }));
    a.importSafetensors(f64);
    expect(Array.from(a.tensor('w').state.momentumBuffer!)).toEqual(values.map(Math.fround));
    // bf16 0x3f80 = 1, 0xc020 = -2.5, 0x0001 = the smallest bf16 subnormal.
    const bf16 = rewrite(torchFile(a), (t) => t.set('state.w.momentum_buffer', { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xc020, 0x0001]) }));
    a.importSafetensors(bf16);
    expect(new Uint32Array(a.tensor('w').state.momentumBuffer!.slice().buffer)).toEqual(new Uint32Array([0x3f800000, 0xc0200000, 0x00010000]));
    // f16 0x3c00 = 1, 0x0001 = 2^-24.
    const f16 = rewrite(torchFile(a), (t) => t.set('state.w.momentum_buffer', { dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0x0001, 0x8000]) }));
    a.importSafetensors(f16);
    expect(Array.from(a.tensor('w').state.momentumBuffer!)).toEqual([1, 2 ** -24, -0]);
    a.dispose();
  });

  it('refuses what it cannot read exactly: a torch group key with another meaning, a missing field, an unknown size', async () => {
    const a = await Adam.create([{ tensors: [{ name: 'w', size: 3 }] }]);
    a.step();
    const file = torchFile(a);
    const decoupled = rewrite(file, (_, m) => editJson(m, 'param_groups', (g) => (g[0].decoupled_weight_decay = true)));
    expect(() => a.importSafetensors(decoupled)).toThrow(/^Adam\.importSafetensors: __metadata__\.param_groups\[0\]\.decoupled_weight_decay must be false \(Adam couples its weight decay; decoupled is AdamW\) \(got true\)/);
    const missing = rewrite(file, (_, m) => editJson(m, 'param_groups', (g) => delete g[0].amsgrad));
    expect(() => a.importSafetensors(missing)).toThrow(/^Adam\.importSafetensors: __metadata__\.param_groups\[0\] is missing amsgrad$/);
    const badEps = rewrite(file, (_, m) => editJson(m, 'param_groups', (g) => (g[0].eps = -1)));
    expect(() => a.importSafetensors(badEps)).toThrow(/^Adam\.importSafetensors: __metadata__\.param_groups\[0\]\.eps must be >= 0 \(got -1\)/);
    const sgd = await SGD.create([{ tensors: [{ name: 'w', size: 3 }] }]);
    sgd.step();
    const stateOnly = rewrite(sgd.exportSafetensors(), (_, m) => delete m.adamw_wasm);
    // Importing, the optimizer knows the size; restoring, nothing does.
    sgd.importSafetensors(stateOnly);
    await expect(SGD.fromSafetensors(stateOnly)).rejects.toThrow(/^SGD\.fromSafetensors: the size of tensor "w" is unknown: the file holds none of its arrays/);
    a.dispose();
    sgd.dispose();
  });
});
