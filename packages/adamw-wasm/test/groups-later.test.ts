/**
 * An optimizer built without groups, whose tensors come later through addParamGroup (as an
 * integration meets a model's variables): no memory until the first group, options checked as
 * the group they will be inherited by, `defaults` showing what that is, and the same bits as an
 * optimizer given the same groups up front.
 */
import { describe, expect, it } from 'vitest';
import { AdamW, SGD, SGDW, init, type BackendName } from 'adamw-wasm';
import { firstBitDifference, varied } from './helpers.js';

const BACKENDS: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];

describe('an optimizer without groups', () => {
  it('needs init() for a wasm backend like any synchronous build (this file has not called it yet)', () => {
    expect(() => new AdamW([], { backend: 'wasm' })).toThrow(/AdamW: call await init\(\) once before building optimizers synchronously/);
    expect(new AdamW([], { backend: 'js' }).tensors).toEqual([]);
  });

  it.each(BACKENDS)('%s: steps count, groups added later step bit for bit as if given up front', async (backend) => {
    await init();
    const later = new AdamW([], { backend, lr: 3e-3, weightDecay: 0.05 });
    expect(later.groups).toEqual([]);
    expect(later.step()).toEqual({ skipped: false });
    expect(later.stepCount).toBe(1);
    later.addParamGroup({ tensors: [{ name: 'w', init: varied(5000, 1) }, { name: 'b', init: varied(7, 2) }] });
    later.addParamGroup({ tensors: [{ name: 'g', init: varied(33, 3) }], amsgrad: true });
    // The reference never took the empty step: per-tensor step counts (bias correction) agree,
    // and the schedule-free run depends on nothing else.
    const upFront = new AdamW(
      [{ tensors: [{ name: 'w', init: varied(5000, 1) }, { name: 'b', init: varied(7, 2) }] }, { tensors: [{ name: 'g', init: varied(33, 3) }], amsgrad: true }],
      { backend, lr: 3e-3, weightDecay: 0.05 },
    );
    for (let k = 0; k < 4; k++) {
      for (const opt of [later, upFront]) opt.tensors.forEach((t, i) => t.grads.set(varied(t.size, 10 * k + i, 0.1)));
      later.step();
      upFront.step();
    }
    expect(later.stepCount).toBe(5);
    later.tensors.forEach((t, i) => {
      const ref = upFront.tensors[i]!;
      expect(t.stepCount).toBe(4);
      expect(firstBitDifference(t.params, ref.params)).toBe(-1);
      expect(firstBitDifference(t.state.expAvgSq, ref.state.expAvgSq)).toBe(-1);
    });
    later.dispose();
    upFront.dispose();
  });

  it('saves and restores as a dict and as bytes (the step count is all there is)', async () => {
    await init();
    const opt = new SGDW([], { momentum: 0.5 });
    opt.step();
    opt.step();
    const dict = opt.stateDict();
    expect(dict).toMatchObject({ stepCount: 2, groups: [], tensors: [] });
    expect(SGDW.fromStateDict(dict).stepCount).toBe(2);
    expect((await SGDW.fromState(opt.saveState())).stepCount).toBe(2);
    const other = new SGDW([]);
    other.loadStateDict(dict);
    expect(other.stepCount).toBe(2);
    opt.addParamGroup({ size: 3 });
    expect(() => other.loadStateDict(opt.stateDict())).toThrow(/SGDW.loadStateDict: the state.s tensors do not match this optimizer.s \(tensors this optimizer does not have: "groups\[0\]"\)/);
    expect(other.stepCount).toBe(2);
  });

  it('checks the options as the group later groups inherit, and shows it as `defaults`', async () => {
    await init();
    expect(() => new SGD([], { nesterov: true })).toThrow(/SGD: options\.nesterov must be used with momentum > 0 and dampening 0/);
    expect(() => new AdamW([], { preset: 'tfa' })).toThrow(/preset 'tfa' needs weightDecay to be given \(options\.weightDecay\)/);
    // With groups, a group may meet the requirement instead of the options.
    expect(new SGD([{ size: 1, momentum: 0.9 }], { nesterov: true }).groups[0]!.nesterov).toBe(true);
    const opt = new AdamW([], { preset: 'keras', lr: 2e-3 });
    expect(opt.defaults).toMatchObject({ lr: 2e-3, eps: 1e-7, weightDecay: 4e-3, epsMode: 'hat', betas: [0.9, 0.999] });
    expect(Object.isFrozen(opt.defaults) && Object.isFrozen(opt.defaults.betas)).toBe(true);
    expect(() => ((opt.defaults as { lr: number }).lr = 1)).toThrow(TypeError);
    const group = opt.addParamGroup({ size: 2, eps: 1e-3 });
    expect(group.hyperparameters).toMatchObject({ lr: 2e-3, eps: 1e-3, weightDecay: 4e-3, epsMode: 'hat' });
  });
});
