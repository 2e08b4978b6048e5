/**
 * State as plain data (`stateDict`) and back, as pure functions: what to save, and a complete
 * check of a dict against the family (and, for loadStateDict, against the optimizer it goes into)
 * that yields everything to write. Nothing here allocates kernel memory or changes an optimizer,
 * so a refused dict leaves everything as it was. The binary format (state/) carries the same
 * content: `saveState` is `encode(stateDict())`, `loadState` is `loadStateDict(decode(bytes))`.
 */
import type { StateName } from '../kernels/kernel.js';
import type { Schedule } from '../schedules/index.js';
import { checkMembership } from '../state/header.js';
import { STATE_FORMAT_VERSION, type JsonValue, type OptimizerState } from '../state/index.js';
import { checkInteger, checkKnownKeys, checkPlainObject, prefix, rangeError, show, typedArrayLength, typedArrayTag, typeError } from '../validate.js';
import type { CommonHyper, Family } from './family.js';
import { freezeHyper, mergeFields } from './fields.js';
import { planOptions, type NonFinitePolicy } from './plan.js';

/** One tensor's state: its name, size and own step count, and copies of its arrays. */
export interface TensorState {
  readonly name: string;
  readonly size: number;
  /** Completed steps of this tensor (bias correction). */
  readonly step: number;
  /** Present when the dict includes parameters (all tensors, or none). */
  readonly params?: Float32Array;
  readonly expAvg?: Float32Array;
  readonly expAvgSq?: Float32Array;
  readonly maxExpAvgSq?: Float32Array;
  readonly momentumBuffer?: Float32Array;
}

/** An optimizer's whole state as plain data, like torch's `state_dict()`. */
export interface StateDict {
  /** The state format version whose content this is (`STATE_FORMAT_VERSION`). */
  readonly version: number;
  /** 'AdamW', 'Adam', 'SGD' or 'SGDW'. */
  readonly optimizer: string;
  /** Completed `step()` calls (schedules see this). */
  readonly stepCount: number;
  readonly options: { readonly clipGradNorm: number | null; readonly nonFinite: NonFinitePolicy };
  /**
   * Each group's hyperparameters as JSON (a schedule, being a function, as `scheduled: true`;
   * RegExps as `{ regexp, flags }`) and the names of its tensors, in order.
   */
  readonly groups: readonly { readonly hyperparameters: Readonly<Record<string, JsonValue>>; readonly tensors: readonly string[] }[];
  readonly tensors: readonly TensorState[];
}

const ARRAY_NAMES = ['params', 'expAvg', 'expAvgSq', 'maxExpAvgSq', 'momentumBuffer'] as const;
const DICT_KEYS = ['version', 'optimizer', 'stepCount', 'options', 'groups', 'tensors'];

/** A group's hyperparameters as saved: functions (schedules) become a flag, RegExps `{ regexp, flags }`. */
export function hyperToJson(h: CommonHyper): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(h)) {
    if (key === 'schedule') continue;
    out[key] = Array.isArray(value)
      ? value.map((x: unknown) => (x instanceof RegExp ? { regexp: x.source, flags: x.flags } : (x as JsonValue)))
      : (value as JsonValue);
  }
  out.scheduled = h.schedule !== undefined;
  return out;
}

/** What a dict is built from: each group's hyperparameters and its tensors' names, step counts and views. */
export interface GroupSource {
  readonly hyper: CommonHyper;
  readonly tensors: readonly { readonly name: string; readonly stepsTaken: number; readonly params: Float32Array; readonly state: Readonly<Partial<Record<StateName, Float32Array>>> }[];
}

/** The dict of these groups; arrays are copies unless `copy` is false (for encoding at once). */
export function stateDictOf(
  optimizer: string,
  stepCount: number,
  options: StateDict['options'],
  groups: readonly GroupSource[],
  includeParams: boolean,
  copy: boolean,
): StateDict {
  const take = (a: Float32Array): Float32Array => (copy ? a.slice() : a);
  return {
    version: STATE_FORMAT_VERSION,
    optimizer,
    stepCount,
    options: { ...options },
    groups: groups.map((g) => ({ hyperparameters: hyperToJson(g.hyper), tensors: g.tensors.map((t) => t.name) })),
    tensors: groups.flatMap((g) =>
      g.tensors.map((t) => ({
        name: t.name,
        size: t.params.length,
        step: t.stepsTaken,
        ...(includeParams ? { params: take(t.params) } : {}),
        ...Object.fromEntries(Object.entries(t.state).map(([name, a]) => [name, take(a!)])),
      })),
    ),
  };
}

/** The binary format's view of a dict (arrays shared, not copied). */
export function toOptimizerState(dict: StateDict): OptimizerState {
  return {
    optimizer: dict.optimizer,
    stepCount: dict.stepCount,
    options: { ...dict.options },
    includesParams: dict.tensors.every((t) => t.params !== undefined) && dict.tensors.length > 0,
    groups: dict.groups.map((g) => ({ hyperparameters: { ...g.hyperparameters }, tensors: [...g.tensors] })),
    tensors: dict.tensors.map((t) => ({
      name: t.name,
      size: t.size,
      stepCount: t.step,
      arrays: Object.fromEntries(ARRAY_NAMES.filter((n) => t[n] !== undefined).map((n) => [n, t[n]!])),
    })),
  };
}

/**
 * A decoded blob as a dict (not yet checked against any optimizer: loadStateDict does that).
 * Version 1 predates excludeFromWeightDecay: its groups read as excluding nothing.
 */
export function fromOptimizerState(state: OptimizerState): unknown {
  const migrate = (h: Record<string, JsonValue>) => (state.version === 1 && !Object.hasOwn(h, 'excludeFromWeightDecay') ? { ...h, excludeFromWeightDecay: [] } : h);
  return {
    version: STATE_FORMAT_VERSION,
    optimizer: state.optimizer,
    stepCount: state.stepCount,
    options: state.options,
    groups: state.groups.map((g) => ({ ...g, hyperparameters: migrate(g.hyperparameters) })),
    tensors: state.tensors.map((t) => ({ name: t.name, size: t.size, step: t.stepCount, ...t.arrays })),
  };
}

/** One checked tensor, ready to write. */
export interface TensorToLoad {
  readonly name: string;
  readonly size: number;
  readonly step: number;
  /** 'params' (when saved) and the family's state arrays, each `size` long. */
  readonly arrays: Readonly<Partial<Record<(typeof ARRAY_NAMES)[number], Float32Array>>>;
}

export interface GroupToLoad<H> {
  readonly hyper: H;
  readonly tensors: readonly TensorToLoad[];
  /** For loadStateDict: the index of the optimizer's group these go into. */
  readonly into: number;
}

export interface StateToLoad<H> {
  readonly stepCount: number;
  readonly global: { readonly clipGradNorm: number | undefined; readonly nonFinite: NonFinitePolicy };
  readonly groups: readonly GroupToLoad<H>[];
}

/** What the dict is checked against: for loadStateDict the optimizer's groups; for restoring, only the family. */
export interface LoadTarget<H> {
  readonly groups?: readonly { readonly hyper: H; readonly tensors: readonly { readonly name: string; readonly size: number }[] }[];
  /** The schedule the group gets (undefined: none), given its index in the target (or in the dict) and whether it was saved with one. */
  scheduleFor(group: number, scheduled: boolean): Schedule | undefined;
}

const list = (names: Iterable<string>): string => [...names].map((n) => JSON.stringify(n)).join(', ');

/**
 * Checks a state dict completely (shape, optimizer kind, options, tensor names, sizes and step
 * counts, hyperparameters, the exact set of arrays, schedules; for a target, that every tensor
 * and group matches one of its own) and returns it ready to write. Tensors are matched by name,
 * so their order may differ. Resuming must be faithful: a group saved with a schedule needs one
 * again, and a group saved without one must not get one.
 */
export function checkStateDict<H extends CommonHyper>(who: string, family: Family<H, unknown>, value: unknown, target: LoadTarget<H>): StateToLoad<H> {
  const dict = checkPlainObject(who, 'state', value);
  checkKnownKeys(who, 'state', dict, DICT_KEYS);
  if (dict.version !== STATE_FORMAT_VERSION) typeError(who, 'state.version', `${STATE_FORMAT_VERSION} (STATE_FORMAT_VERSION)`, dict.version);
  if (dict.optimizer !== family.name) throw new Error(`${who}: the state was saved by ${typeof dict.optimizer === "string" ? dict.optimizer : show(dict.optimizer)}, not ${family.name}`);
  const stepCount = checkInteger(who, 'state.stepCount', dict.stepCount, 0);
  const { clipGradNorm, nonFinite } = checkSavedOptions(who, family, 'state.options', dict.options);

  if (!Array.isArray(dict.tensors)) typeError(who, 'state.tensors', 'an array', dict.tensors);
  const tensors = Array.from(dict.tensors as unknown[], (raw, i) => checkTensor(who, `state.tensors[${i}]`, raw, stepCount));
  if (!Array.isArray(dict.groups)) typeError(who, 'state.groups', 'an array', dict.groups);
  const groups = Array.from(dict.groups as unknown[], (raw, k) => {
    const path = `state.groups[${k}]`;
    const g = checkPlainObject(who, path, raw);
    checkKnownKeys(who, path, g, ['hyperparameters', 'tensors']);
    if (!Array.isArray(g.tensors)) typeError(who, `${path}.tensors`, 'an array of tensor names', g.tensors);
    const names = Array.from(g.tensors as unknown[], (name, j) => {
      if (typeof name !== 'string' || name === '') typeError(who, `${path}.tensors[${j}]`, 'a non-empty string', name);
      return name;
    });
    return { hyperparameters: checkPlainObject(who, `${path}.hyperparameters`, g.hyperparameters) as Record<string, JsonValue>, tensors: names };
  });
  checkMembership(who, 'state', groups, tensors);
  const includesParams = tensors.some((t) => t.arrays.params !== undefined);
  const byName = new Map(tensors.map((t) => [t.name, t]));

  const into = target.groups === undefined ? undefined : matchGroups(who, groups, byName, target.groups);
  const checked = groups.map((group, k): GroupToLoad<H> => {
    const path = `state.groups[${k}].hyperparameters`;
    const saved = checkSavedHyper(who, family, path, group.hyperparameters);
    const at = into?.[k] ?? k;
    const schedule = target.scheduleFor(at, saved.scheduled);
    if (saved.scheduled && schedule === undefined) {
      throw new Error(`${who}: groups[${at}] was saved with a schedule; schedules are functions and cannot be saved, so give the group the same schedule again`);
    }
    if (!saved.scheduled && schedule !== undefined) {
      throw new Error(`${who}: groups[${at}] was saved without a schedule but would resume with one; resuming must be faithful, so remove it`);
    }
    const hyper = freezeHyper({ ...saved.hyper, schedule });
    const need = [...family.state(hyper)].sort().join(', ');
    if (into !== undefined) {
      const have = [...family.state(target.groups![at]!.hyper)].sort().join(', ');
      if (need !== have) throw new RangeError(`${who}: groups[${at}] state arrays differ: the state needs ${need || 'none'}, this optimizer's group has ${have || 'none'}`);
    }
    const expected = [...(includesParams ? ['params'] : []), ...family.state(hyper)].sort().join(', ');
    for (const name of group.tensors) {
      const present = Object.keys(byName.get(name)!.arrays).sort().join(', ');
      if (present !== expected) {
        throw new RangeError(`${who}: tensor ${JSON.stringify(name)} of state.groups[${k}] holds arrays [${present}], but its group needs [${expected}]`);
      }
    }
    return { hyper, tensors: group.tensors.map((name) => byName.get(name)!), into: at };
  });
  return { stepCount, global: { clipGradNorm: clipGradNorm ?? undefined, nonFinite }, groups: checked };
}

/**
 * A group's hyperparameters as saved (every field of the family but `schedule`, and `scheduled`),
 * checked: the hyperparameters, without a schedule, and whether the group had one.
 */
export function checkSavedHyper<H extends CommonHyper>(
  who: string,
  family: Family<H, unknown>,
  path: string,
  saved: Readonly<Record<string, unknown>>,
): { readonly hyper: H; readonly scheduled: boolean } {
  const { scheduled, ...fields } = saved;
  const schema = Object.fromEntries(Object.entries(family.schema).filter(([key]) => key !== 'schedule')) as typeof family.schema;
  checkKnownKeys(who, path, fields, Object.keys(schema));
  // Every hyperparameter, so that nothing is silently taken from defaults: resuming must be exact.
  const missing = Object.keys(schema).filter((key) => !Object.hasOwn(fields, key));
  if (missing.length > 0) throw new TypeError(`${who}: ${path} is missing ${missing.join(', ')}`);
  if (typeof scheduled !== 'boolean') throw new TypeError(`${who}: ${path}.scheduled must be true or false (got ${show(scheduled)})`);
  const hyper = freezeHyper({ ...mergeFields(who, path, fields, family.defaults, schema), schedule: undefined } as H);
  family.check(who, path, hyper);
  return { hyper, scheduled };
}

/** Saved global options (`{ clipGradNorm: number | null, nonFinite }`, both present), checked as create() checks them. */
export function checkSavedOptions<H extends CommonHyper>(who: string, family: Family<H, unknown>, path: string, value: unknown): StateDict['options'] {
  const opts = checkPlainObject(who, path, value);
  checkKnownKeys(who, path, opts, ['clipGradNorm', 'nonFinite']);
  const absent = ['clipGradNorm', 'nonFinite'].filter((key) => !Object.hasOwn(opts, key));
  if (absent.length > 0) throw new TypeError(`${prefix(who)}${path} is missing ${absent.join(', ')}`);
  const { clipGradNorm, nonFinite } = planOptions(family, { ...(opts.clipGradNorm === null ? {} : { clipGradNorm: opts.clipGradNorm }), nonFinite: opts.nonFinite }, who, path).global;
  return { clipGradNorm: clipGradNorm ?? null, nonFinite };
}

function checkTensor(who: string, path: string, raw: unknown, stepCount: number): TensorToLoad {
  const t = checkPlainObject(who, path, raw);
  checkKnownKeys(who, path, t, ['name', 'size', 'step', ...ARRAY_NAMES]);
  if (typeof t.name !== 'string' || t.name === '') typeError(who, `${path}.name`, 'a non-empty string', t.name);
  const size = checkInteger(who, `${path}.size`, t.size, 1);
  const step = checkInteger(who, `${path}.step`, t.step, 0);
  if (step > stepCount) {
    throw new RangeError(`${who}: ${path}.step (${step}) exceeds state.stepCount (${stepCount}); a tensor cannot have taken more steps than its optimizer`);
  }
  const arrays: Partial<Record<(typeof ARRAY_NAMES)[number], Float32Array>> = {};
  for (const name of ARRAY_NAMES) {
    const a = t[name];
    if (a === undefined) continue;
    if (typedArrayTag(a) !== 'Float32Array') typeError(who, `${path}.${name}`, 'a Float32Array', a);
    // Its own length, not a getter a subclass may override.
    const length = typedArrayLength(a);
    if (length !== size) rangeError(who, `${path}.${name}.length`, `${size}, the tensor's size`, length);
    arrays[name] = a as Float32Array;
  }
  return { name: t.name, size, step, arrays };
}

/**
 * For each dict group, the index of the target group it goes into: the one holding the same
 * tensors (by name, in any order), each of the same size. Every name must be known on both sides.
 */
function matchGroups<H>(
  who: string,
  groups: readonly { tensors: readonly string[] }[],
  byName: ReadonlyMap<string, TensorToLoad>,
  target: NonNullable<LoadTarget<H>['groups']>,
): number[] {
  const home = new Map<string, { group: number; size: number }>();
  target.forEach((g, k) => g.tensors.forEach((t) => home.set(t.name, { group: k, size: t.size })));
  const unknown = [...byName.keys()].filter((name) => !home.has(name));
  const missing = [...home.keys()].filter((name) => !byName.has(name));
  if (unknown.length > 0 || missing.length > 0) {
    const parts = [...(unknown.length > 0 ? [`tensors this optimizer does not have: ${list(unknown)}`] : []), ...(missing.length > 0 ? [`tensors the state lacks: ${list(missing)}`] : [])];
    throw new RangeError(`${who}: the state's tensors do not match this optimizer's (${parts.join('; ')})`);
  }
  for (const [name, t] of byName) {
    const size = home.get(name)!.size;
    if (t.size !== size) throw new RangeError(`${who}: tensor ${JSON.stringify(name)} has size ${t.size} in the state, ${size} in this optimizer`);
  }
  return groups.map((g, k) => {
    const at = home.get(g.tensors[0]!)?.group;
    const theirs = new Set(target[at ?? 0]?.tensors.map((t) => t.name));
    if (at === undefined || g.tensors.length !== theirs.size || g.tensors.some((name) => !theirs.has(name))) {
      throw new RangeError(
        `${who}: state.groups[${k}] holds tensors [${list(g.tensors)}], which this optimizer does not group together` +
          (at === undefined ? '' : ` (its groups[${at}] holds [${list(theirs)}])`),
      );
    }
    return at;
  });
}
