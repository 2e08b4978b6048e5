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
  ['no groups', [], {}, RangeError, /groups must be a non-empty array/],
  ['group not an object', [5], {}, TypeError, /groups\[0\] must be an object \(got 5\)/],
  ['options not an object', [{ size: 1 }], 'fast', TypeError, /options must be an object/],
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

  it('amsgrad’s fifth array counts toward the limit', async () => {
    // 4 arrays fit (3.52e9 bytes), 5 do not (4.4e9).
    await expect(AdamW.create([{ size: 220_000_000, amsgrad: true }], { backend: 'js' })).rejects.toThrow(/more than the 4294967296 bytes/);
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
