/**
 * The four optimizers as tfjs sees them: which options each takes (tfjs's names where tfjs has
 * the hyperparameter, adamw-wasm's otherwise), how they map onto adamw-wasm, and how each state
 * array is named among the optimizer's weights (tfjs's `<variable>/m`, `/v`, `/momentum`).
 */
import { Adam, ADAM_DEFAULTS, AdamW, ADAMW_DEFAULTS, SGD, SGDW, type Schedule, type StateDict } from 'adamw-wasm';

/** The part of an adamw-wasm optimizer the adapter drives (the four classes share it). */
export interface Core {
  readonly tensors: readonly CoreTensor[];
  readonly groups: readonly { lr: number; weightDecay: number; schedule: Schedule | undefined; readonly lastLr: number | undefined }[];
  readonly defaults: Readonly<Record<string, unknown>>;
  readonly stepCount: number;
  readonly backend: string;
  readonly threads: number;
  readonly clipGradNorm: number | undefined;
  readonly nonFinite: string;
  tensor(name: string): CoreTensor;
  addParamGroup(spec: Record<string, unknown>): unknown;
  step(options: { tensors: readonly string[] }): { skipped: boolean };
  stateDict(options: { includeParams: boolean }): StateDict;
  loadStateDict(dict: StateDict): void;
  dispose(): void;
}

export interface CoreTensor {
  readonly name: string;
  /** Index of its group in Core.groups. */
  readonly group: number;
  readonly size: number;
  readonly stepCount: number;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: Readonly<Record<string, Float32Array | undefined>>;
}

/** A state array: its weight-name suffix and adamw-wasm's name for it. */
export interface Slot {
  readonly suffix: string;
  readonly state: 'expAvg' | 'expAvgSq' | 'maxExpAvgSq' | 'momentumBuffer';
}

export interface FamilySpec {
  /** adamw-wasm's class name, which starts every error message. */
  readonly name: 'AdamW' | 'Adam' | 'SGD' | 'SGDW';
  /** Options named as in adamw-wasm and passed through, checked there. */
  readonly shared: readonly string[];
  /** tfjs's names for hyperparameters adamw-wasm names otherwise. */
  readonly renamed: Readonly<Record<string, string>>;
  /** Whether the family has β1, β2 (given as beta1/beta2, as tfjs does). */
  readonly betas: readonly [number, number] | undefined;
  /** Every slot, in the order getWeights lists them (tfjs's Adam: all m, then all v). */
  readonly slots: readonly Slot[];
  /** The slots a tensor has under these hyperparameters. */
  readonly slotsFor: (hyper: Readonly<Record<string, unknown>>) => readonly Slot[];
  readonly create: (options: Record<string, unknown>) => Core;
}

const GLOBAL = ['clipGradNorm', 'nonFinite', 'backend', 'threads'];
const ADAM_SLOTS: readonly Slot[] = [
  { suffix: 'm', state: 'expAvg' },
  { suffix: 'v', state: 'expAvgSq' },
  { suffix: 'vhat', state: 'maxExpAvgSq' },
];
const MOMENTUM: readonly Slot[] = [{ suffix: 'momentum', state: 'momentumBuffer' }];
const adamSlots = (h: Readonly<Record<string, unknown>>) => (h.amsgrad === true ? ADAM_SLOTS : ADAM_SLOTS.slice(0, 2));
const sgdSlots = (h: Readonly<Record<string, unknown>>) => (h.momentum !== 0 ? MOMENTUM : []);
const core = (build: (options: Record<string, unknown>) => unknown) => (options: Record<string, unknown>) => build(options) as Core;

export const ADAMW: FamilySpec = {
  name: 'AdamW',
  shared: ['weightDecay', 'weightDecayScale', 'decayOrder', 'epsMode', 'amsgrad', 'maximize', 'preset', ...GLOBAL],
  renamed: { learningRate: 'lr', epsilon: 'eps' },
  betas: ADAMW_DEFAULTS.betas,
  slots: ADAM_SLOTS,
  slotsFor: adamSlots,
  create: core((options) => new AdamW([], options as never)),
};

export const ADAM: FamilySpec = {
  name: 'Adam',
  shared: ['weightDecay', 'epsMode', 'amsgrad', 'maximize', 'preset', ...GLOBAL],
  renamed: { learningRate: 'lr', epsilon: 'eps' },
  betas: ADAM_DEFAULTS.betas,
  slots: ADAM_SLOTS,
  slotsFor: adamSlots,
  create: core((options) => new Adam([], options as never)),
};

export const SGD_SPEC: FamilySpec = {
  name: 'SGD',
  shared: ['momentum', 'dampening', 'weightDecay', 'maximize', ...GLOBAL],
  renamed: { learningRate: 'lr', useNesterov: 'nesterov' },
  betas: undefined,
  slots: MOMENTUM,
  slotsFor: sgdSlots,
  create: core((options) => new SGD([], options as never)),
};

export const SGDW_SPEC: FamilySpec = {
  name: 'SGDW',
  shared: ['momentum', 'weightDecay', 'weightDecayScale', 'maximize', ...GLOBAL],
  renamed: { learningRate: 'lr' },
  betas: undefined,
  slots: MOMENTUM,
  slotsFor: sgdSlots,
  create: core((options) => new SGDW([], options as never)),
};
