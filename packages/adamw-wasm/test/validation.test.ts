/**
 * Bad input is refused with an error that names the parameter and the rule, before any wasm
 * instance or memory is created, and a live optimizer is left exactly as it was.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Adam, AdamW, ADAMW_DEFAULTS, MAX_MEMORY_BYTES } from 'adamw-wasm';

afterEach(() => vi.restoreAllMocks());

/** Arguments that must be rejected, the error class and a message fragment naming the rule. */
const CASES: [string, unknown, unknown, ErrorConstructor, RegExp][] = [
  ['size 0', [{ size: 0 }], {}, RangeError, /groups\[0\]\.size must be a positive integer \(got 0\)/],
  ['negative size', [{ size: -3 }], {}, RangeError, /groups\[0\]\.size must be a positive integer \(got -3\)/],
  ['NaN size', [{ size: NaN }], {}, RangeError, /groups\[0\]\.size must be a positive integer \(got NaN\)/],
  ['fractional size', [{ size: 2.5 }], {}, RangeError, /groups\[0\]\.size must be a positive integer/],
  ['string size', [{ size: '10' }], {}, TypeError, /groups\[0\]\.size must be a positive integer \(got "10"\)/],
  ['no size or init', [{ lr: 1 }], {}, TypeError, /groups\[0\] must be given a size or an init array/],
  ['init number[]', [{ init: [1, 2] }], {}, TypeError, /groups\[0\]\.init must be a Float32Array.*\(got an array of length 2\)/],
  ['init Float64Array', [{ init: new Float64Array(2) }], {}, TypeError, /groups\[0\]\.init must be a Float32Array.*got a Float64Array/],
  ['init with NaN', [{ init: Float32Array.of(1, NaN) }], {}, RangeError, /groups\[0\]\.init\[1\] must be finite \(got NaN\)/],
  ['empty init', [{ init: new Float32Array(0) }], {}, RangeError, /groups\[0\]\.init\.length must be at least 1/],
  ['size ≠ init.length', [{ size: 3, init: new Float32Array(2) }], {}, RangeError, /groups\[0\]\.size must be equal to groups\[0\]\.init\.length \(2\)/],
  ['negative lr', [{ size: 1 }], { lr: -1e-3 }, RangeError, /options\.lr must be >= 0 \(got -0\.001\)/],
  ['NaN lr', [{ size: 1 }], { lr: NaN }, RangeError, /options\.lr must be a number, not NaN/],
  ['Infinite lr', [{ size: 1 }], { lr: Infinity }, RangeError, /options\.lr must be finite/],
  ['string lr', [{ size: 1 }], { lr: '0.1' }, TypeError, /options\.lr must be a number \(got "0\.1"\)/],
  ['group lr < 0', [{ size: 1 }, { size: 2, lr: -1 }], {}, RangeError, /groups\[1\]\.lr must be >= 0/],
  ['beta1 = 1', [{ size: 1 }], { betas: [1, 0.999] }, RangeError, /options\.betas\[0\] must be in \[0, 1\) \(got 1\)/],
  ['beta2 < 0', [{ size: 1 }], { betas: [0.9, -0.1] }, RangeError, /options\.betas\[1\] must be in \[0, 1\) \(got -0\.1\)/],
  ['beta NaN', [{ size: 1 }], { betas: [NaN, 0.9] }, RangeError, /options\.betas\[0\] must be a number, not NaN/],
  ['betas not a pair', [{ size: 1 }], { betas: [0.9] }, TypeError, /options\.betas must be a pair \[beta1, beta2\]/],
  ['group betas', [{ size: 1, betas: [0.9, 1.5] }], {}, RangeError, /groups\[0\]\.betas\[1\] must be in \[0, 1\)/],
  ['negative eps', [{ size: 1 }], { eps: -1e-8 }, RangeError, /options\.eps must be >= 0/],
  ['negative weightDecay', [{ size: 1 }], { weightDecay: -0.01 }, RangeError, /options\.weightDecay must be >= 0/],
  ['NaN weightDecay in group', [{ size: 1, weightDecay: NaN }], {}, RangeError, /groups\[0\]\.weightDecay must be a number, not NaN/],
  ['amsgrad not boolean', [{ size: 1 }], { amsgrad: 1 }, TypeError, /options\.amsgrad must be true or false \(got 1\)/],
  ['unknown option', [{ size: 1 }], { weight_decay: 0.1 }, TypeError, /unknown option options\.weight_decay; known options are lr, betas/],
  ['unknown group key', [{ size: 1, beta1: 0.9 }], {}, TypeError, /unknown option groups\[0\]\.beta1/],
  ['backend misspelt', [{ size: 1 }], { backend: 'simd' }, TypeError, /options\.backend must be one of 'auto', 'wasm-simd', 'wasm', 'js' \(got "simd"\)/],
  ['groups not an array', { size: 1 }, {}, TypeError, /groups must be an array of parameter groups/],
  ['no groups, bad options', [], { lr: -1 }, RangeError, /options\.lr must be >= 0/],
  ['group not an object', [5], {}, TypeError, /groups\[0\] must be an object \(got 5\)/],
  ['options not an object', [{ size: 1 }], 'fast', TypeError, /options must be an object/],
  ['a hole in groups', [{ size: 1 }, , { size: 1 }], {}, TypeError, /groups\[1\] must be an object \(got undefined\)/],
  ['lr overflows float32', [{ size: 1 }], { lr: 1e39 }, RangeError, /options\.lr must be at most 3\.4028234663852886e\+38 \(the largest float32\) \(got 1e\+39\)/],
  ['weightDecay 1e300', [{ size: 1, weightDecay: 1e300 }], {}, RangeError, /groups\[0\]\.weightDecay must be at most 3\.4028234663852886e\+38/],
  ['eps as a bigint', [{ size: 1 }], { eps: 1n }, TypeError, /options\.eps must be a number \(got 1n\)/],
  ['clipGradNorm overflows float32', [{ size: 1 }], { clipGradNorm: 1e39 }, RangeError, /options\.clipGradNorm must be at most 3\.4028234663852886e\+38/],
];

describe.each([
  ['AdamW', AdamW.create],
  ['Adam', Adam.create],
] as const)('%s.create rejects bad input', (name, create) => {
  it.each(CASES)('%s', async (_label, groups, options, kind, message) => {
    const instantiate = vi.spyOn(WebAssembly, 'instantiate');
    const call = create(groups as never, options as never);
    await expect(call).rejects.toThrow(kind);
    await expect(call).rejects.toThrow(message);
    await expect(call).rejects.toThrow(new RegExp(`^${name}: `));
    expect(instantiate, 'nothing may be instantiated before validation passes').not.toHaveBeenCalled();
  });
});

describe('memory limit', () => {
  it('a model that cannot fit in 4 GiB of wasm memory is refused with the numbers, before allocating', async () => {
    const instantiate = vi.spyOn(WebAssembly, 'instantiate');
    const size = 300_000_000; // 4 arrays × 4 bytes × 3e8 = 4.8e9 bytes
    const call = AdamW.create([{ size }]);
    await expect(call).rejects.toThrow(RangeError);
    await expect(call).rejects.toThrow(new RegExp(`300000000 parameters need 48\\d{8} bytes .* more than the ${MAX_MEMORY_BYTES} bytes \\(4 GiB\\)`));
    expect(instantiate).not.toHaveBeenCalled();
  });

  it('amsgrad’s fifth array counts toward the limit; the js backend says whose limit it keeps', async () => {
    // 4 arrays fit (3.52e9 bytes), 5 do not (4.4e9).
    await expect(AdamW.create([{ size: 220_000_000, amsgrad: true }], { backend: 'js' })).rejects.toThrow(
      /more than the 4294967296 bytes \(4 GiB\) one memory holds \(the 'js' backend keeps WebAssembly's limit, so that every backend accepts the same models\); split the model across groups added with addParamGroup/,
    );
    await expect(AdamW.create([{ size: 220_000_000, amsgrad: true }], { backend: 'wasm' })).rejects.toThrow(/4 GiB\) a WebAssembly memory can hold/);
  });
});

describe('a step refused before any write', () => {
  const snapshot = (opt: AdamW) => opt.saveState();

  it('when the step scalars overflow float32 (each hyperparameter finite, their product not)', async () => {
    const opt = await AdamW.create([{ size: 8, lr: 1e30, weightDecay: 1e30 }]);
    opt.groups[0]!.grads.fill(1);
    const before = snapshot(opt);
    expect(() => opt.step()).toThrow(/^AdamW: groups\[0\]'s hyperparameters give a step scalar that overflows float32 at step 1 \(decayFactor = -Infinity, with schedule multiplier 1\); nothing was changed/);
    expect(snapshot(opt)).toEqual(before);
    opt.groups[0]!.weightDecay = 0;
    opt.groups[0]!.lr = 1e-3;
    expect(opt.step().skipped).toBe(false);
    opt.dispose();
  });

  it('when a schedule multiplier makes lr overflow', async () => {
    const opt = await AdamW.create([{ size: 8, schedule: () => 1e300 }]);
    const before = snapshot(opt);
    expect(() => opt.step()).toThrow(/overflows float32 at step 1 \(decayFactor = -Infinity, with schedule multiplier 1e\+300\)/);
    expect(snapshot(opt)).toEqual(before);
    opt.dispose();
  });

  it.each([
    ['the string "0.5"', '0.5', /returned "0\.5" for completed step 0/],
    ['a bigint', 1n, /returned 1n for completed step 0/],
    ['-1', -1, /returned -1 for completed step 0/],
    ['NaN', NaN, /returned NaN for completed step 0/],
  ])('when a schedule returns %s, shown unambiguously', async (_label, value, message) => {
    const opt = await AdamW.create([{ size: 8, schedule: () => value as number }]);
    const before = snapshot(opt);
    expect(() => opt.step()).toThrow(message);
    expect(snapshot(opt)).toEqual(before);
    opt.dispose();
  });
});

describe('undefined in a change', () => {
  it('is refused for every hyperparameter but schedule, which it removes', async () => {
    const opt = await AdamW.create([{ size: 4, schedule: () => 0.5 }]);
    const g = opt.groups[0]!;
    expect(() => (g.lr = undefined as never)).toThrow(/^AdamW: groups\[0\]\.lr must be a number \(got undefined\)$/);
    expect(() => g.set({ eps: undefined } as never)).toThrow(/^AdamW: groups\[0\]\.eps must be a number \(got undefined\)$/);
    expect(() => (g.amsgrad = undefined as never)).toThrow(TypeError);
    expect(g.lr).toBe(1e-3);
    g.schedule = undefined;
    expect(g.schedule).toBeUndefined();
    g.set({ schedule: () => 0.25 });
    g.set({ schedule: undefined });
    expect(g.hyperparameters.schedule).toBeUndefined();
    opt.dispose();
  });

  it('counts as absent in create options and group specs', async () => {
    const opt = await AdamW.create([{ size: 4, lr: undefined }] as never, { eps: undefined } as never);
    expect(opt.groups[0]!.hyperparameters).toEqual(ADAMW_DEFAULTS);
    opt.dispose();
  });
});

describe('hyperparameter setters validate and leave the group unchanged on error', () => {
  it('rejects and keeps the old value', async () => {
    const opt = await AdamW.create([{ size: 4 }, { size: 2, lr: 0.5 }]);
    const g = opt.groups[1]!;
    expect(() => (g.lr = -1)).toThrow(/^AdamW: groups\[1\]\.lr must be >= 0 \(got -1\)$/);
    expect(() => (g.betas = [0.9, 1])).toThrow(/groups\[1\]\.betas\[1\] must be in \[0, 1\)/);
    expect(() => (g.eps = NaN)).toThrow(/groups\[1\]\.eps must be a number, not NaN/);
    expect(() => (g.weightDecay = -2)).toThrow(RangeError);
    expect(() => (g.maximize = 'yes' as never)).toThrow(TypeError);
    expect(() => (g.amsgrad = true)).toThrow(/groups\[1\]\.amsgrad cannot change which state arrays the group has/);
    expect(() => g.set({ lr: 0.1, eps: -1 })).toThrow(/groups\[1\]\.eps must be >= 0/);
    expect(() => g.set({ lr: 0.1, learningRate: 1 } as never)).toThrow(TypeError);
    expect(g.hyperparameters).toEqual({ ...ADAMW_DEFAULTS, lr: 0.5 });
    opt.dispose();
  });
});
