/**
 * Resuming is faithful or refused: schedules only where a group had one, models split across
 * memories restored, and a state checked in full — against the bytes it really holds and the
 * memory limit — before anything is allocated.
 */
import { describe, expect, it } from 'vitest';
import { ADAMW_DEFAULTS, AdamW, schedules, SGD, SGD_DEFAULTS } from 'adamw-wasm';
import { MAX_MEMORY_BYTES, packArenas } from '../src/memory/arena.js';
import { encodeState, type OptimizerState } from '../src/state/index.js';
import { varied } from './helpers.js';

const N = 300;
const warm = schedules.linearWarmup({ steps: 5 });

/** A two-group optimizer, group 0 scheduled and group 1 not, after 3 steps. */
async function mixed(): Promise<AdamW> {
  const opt = await AdamW.create([{ init: varied(N, 1), schedule: warm }, { init: varied(N, 2), lr: 0.01 }]);
  for (let t = 0; t < 3; t++) {
    opt.groups.forEach((g, k) => g.grads.set(varied(N, 10 * t + k)));
    opt.step();
  }
  return opt;
}

/** Steps both twice more with the same gradients and compares what saveState() writes. */
function expectSameFuture(a: AdamW, b: AdamW): void {
  for (let t = 0; t < 2; t++) {
    for (const opt of [a, b]) opt.groups.forEach((g, k) => g.grads.set(varied(N, 100 + 10 * t + k)));
    a.step();
    b.step();
  }
  expect(a.saveState()).toEqual(b.saveState());
}

describe('schedules on resume', () => {
  it('one schedule function goes to the groups saved with one, and only to them', async () => {
    const source = await mixed();
    const back = await AdamW.fromState(source.saveState(), { schedule: warm });
    expect(back.groups[0]!.schedule).toBe(warm);
    expect(back.groups[1]!.schedule).toBeUndefined();
    expectSameFuture(source, back);
  });

  it('one entry per group works too, and a schedule for a group saved without one is refused', async () => {
    const source = await mixed();
    const bytes = source.saveState();
    const back = await AdamW.fromState(bytes, { schedule: [warm, undefined] });
    expectSameFuture(source, back);
    await expect(AdamW.fromState(bytes, { schedule: [warm, warm] })).rejects.toThrow(
      /^AdamW\.fromState: groups\[1\] was saved without a schedule but would resume with one; resuming must be faithful, so remove it$/,
    );
    await expect(AdamW.fromState(bytes, { schedule: [warm] })).rejects.toThrow(/^AdamW\.fromState: options\.schedule must be a schedule function, or an array with one entry \(a function or undefined\) per group \(2\)/);
  });

  it('a missing schedule, or one that no group was saved with, is refused', async () => {
    const source = await mixed();
    await expect(AdamW.fromState(source.saveState())).rejects.toThrow(/^AdamW\.fromState: groups\[0\] was saved with a schedule/);
    const plain = await AdamW.create([{ size: 3 }]);
    await expect(AdamW.fromState(plain.saveState(), { schedule: warm })).rejects.toThrow(
      /^AdamW\.fromState: options\.schedule was given, but no group of the state was saved with a schedule$/,
    );
  });

  it('loadState into a group that has a schedule the saved one did not is refused, and changes nothing', async () => {
    const source = await mixed();
    const target = await AdamW.create([{ init: varied(N, 1), schedule: warm }, { init: varied(N, 2), schedule: warm }]);
    const before = target.saveState();
    expect(() => target.loadState(source.saveState())).toThrow(/^AdamW\.loadState: groups\[1\] was saved without a schedule but would resume with one/);
    expect(target.saveState()).toEqual(before);
  });
});

describe('models split across memories', () => {
  it('fromState restores groups added with addParamGroup and continues bit for bit', async () => {
    const source = await AdamW.create([{ init: varied(N, 1) }]);
    await source.addParamGroup({ init: varied(N, 2), weightDecay: 0.5 });
    await source.addParamGroup({ init: varied(N, 3), amsgrad: true });
    for (let t = 0; t < 2; t++) {
      source.groups.forEach((g, k) => g.grads.set(varied(N, 10 * t + k)));
      source.step();
    }
    const back = await AdamW.fromState(source.saveState());
    expectSameFuture(source, back);
  });

  it('groups are packed, in order, into as few memories of at most 4 GiB as hold them', () => {
    const quarter = (MAX_MEMORY_BYTES / 4 / 16) * 0.9; // AdamW: 16 bytes per parameter
    // Each group a list of tensor shapes; these groups have one tensor each.
    const shape = (length: number) => [{ length, state: ['expAvg', 'expAvgSq'] as const }];
    expect(packArenas(0, [shape(10), shape(10)], 'AdamW.fromState', 'wasm-simd')).toEqual([[0, 2]]);
    const big = [shape(3 * quarter), shape(3 * quarter), shape(quarter), shape(2 * quarter), shape(10)];
    expect(packArenas(0, big, 'AdamW.fromState', 'wasm-simd')).toEqual([[0, 1], [1, 3], [3, 5]]);
    expect(() => packArenas(0, [shape(10), shape(5 * quarter)], 'AdamW.fromState', 'wasm-simd')).toThrow(
      /^AdamW\.fromState: \d+ parameters need \d+ bytes of memory .* more than the 4294967296 bytes \(4 GiB\) a WebAssembly memory can hold/,
    );
  });
});

describe('a state is checked in full before anything is allocated', () => {
  /** Every hyperparameter as saved (schedule as the `scheduled` flag). */
  const saved = (defaults: object, patch: Record<string, unknown> = {}) => {
    const { schedule: _, ...rest } = { ...defaults, ...patch } as Record<string, unknown>;
    return { ...JSON.parse(JSON.stringify(rest)), scheduled: false };
  };
  const state = (optimizer: string, size: number, hyperparameters: OptimizerState['groups'][number]['hyperparameters']): OptimizerState => ({
    optimizer,
    stepCount: 0,
    options: { clipGradNorm: null, nonFinite: 'throw' },
    includesParams: false,
    groups: [{ hyperparameters, tensors: ['w'] }],
    tensors: [{ name: 'w', size, stepCount: 0, arrays: {} }],
  });

  it('a few hundred bytes claiming 150M AdamW parameters (but holding none of their arrays) are refused at once', async () => {
    const bytes = encodeState(state('AdamW', 150_000_000, saved(ADAMW_DEFAULTS)));
    expect(bytes.length).toBeLessThan(1000);
    const before = process.memoryUsage().rss;
    const started = Date.now();
    await expect(AdamW.fromState(bytes)).rejects.toThrow(/^AdamW\.fromState: tensor "w" of state\.groups\[0\] holds arrays \[\], but its group needs \[expAvg, expAvgSq\]$/);
    expect(Date.now() - started).toBeLessThan(200);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('an SGD state whose size needs more than 4 GiB is refused by the memory limit, before allocating', async () => {
    const bytes = encodeState(state('SGD', 1e9, saved(SGD_DEFAULTS)));
    expect(bytes.length).toBeLessThan(400);
    const before = process.memoryUsage().rss;
    await expect(SGD.fromState(bytes)).rejects.toThrow(/^SGD\.fromState: 1000000000 parameters need \d+ bytes of memory/);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 << 20);
  });

  it('bad saved options and hyperparameters name their path in the state', async () => {
    const bad = (patch: Partial<OptimizerState>, hyper: Record<string, unknown> = saved(SGD_DEFAULTS)) =>
      encodeState({ ...state('SGD', 4, hyper as never), ...patch });
    await expect(SGD.fromState(bad({ options: { clipGradNorm: null, nonFinite: 'sometimes' } }))).rejects.toThrow(/^SGD\.fromState: state\.options\.nonFinite must be one of 'throw', 'skip', 'ignore' \(got "sometimes"\)$/);
    await expect(SGD.fromState(bad({ options: { typo: 1 } }))).rejects.toThrow(/^SGD\.fromState: unknown option state\.options\.typo/);
    await expect(SGD.fromState(bad({ options: { nonFinite: 'skip' } }))).rejects.toThrow(/^SGD\.fromState: state\.options is missing clipGradNorm$/);
    await expect(SGD.fromState(bad({}, saved(SGD_DEFAULTS, { lr: -1 })))).rejects.toThrow(/^SGD\.fromState: state\.groups\[0\]\.hyperparameters\.lr must be >= 0 \(got -1\)$/);
    await expect(SGD.fromState(bad({}, { ...saved(SGD_DEFAULTS), scheduled: 'no' }))).rejects.toThrow(/^SGD\.fromState: state\.groups\[0\]\.hyperparameters\.scheduled must be true or false \(got "no"\)$/);
    const { scheduled: _, ...unflagged } = saved(SGD_DEFAULTS);
    await expect(SGD.fromState(bad({}, unflagged))).rejects.toThrow(/scheduled must be true or false \(got undefined\)/);
    const { momentum: __, ...incomplete } = saved(SGD_DEFAULTS);
    await expect(SGD.fromState(bad({}, incomplete))).rejects.toThrow(/^SGD\.fromState: state\.groups\[0\]\.hyperparameters is missing momentum$/);
    await expect(SGD.fromState(bad({ stepCount: 2, tensors: [{ name: 'w', size: 4, stepCount: 3, arrays: {} }] }))).rejects.toThrow(
      /^SGD\.fromState: state\.tensors\[0\]\.step \(3\) exceeds state\.stepCount \(2\)/,
    );
  });
});
