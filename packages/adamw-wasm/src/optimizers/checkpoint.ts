/**
 * Saved state ⇄ optimizer groups, as pure functions: what to save, and a complete check of a
 * decoded state against the family (and, for loadState, against the groups it goes into) that
 * yields everything to write. Nothing here allocates kernel memory or changes an optimizer, so
 * a refused state leaves everything as it was.
 */
import type { StateName } from '../kernels/kernel.js';
import type { Schedule } from '../schedules/index.js';
import type { JsonValue, OptimizerState } from '../state/index.js';
import type { CommonHyper, Family } from './family.js';
import { freezeHyper, mergeFields } from './fields.js';
import { planOptions, type GlobalOptions } from './plan.js';
import { checkKnownKeys, show } from '../validate.js';

/** A group as saved: hyperparameters without functions (a schedule becomes `scheduled`). */
export function hyperToJson(h: CommonHyper): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(h)) {
    if (key === 'schedule') continue;
    out[key] = Array.isArray(value) ? [...(value as number[])] : (value as JsonValue);
  }
  out.scheduled = h.schedule !== undefined;
  return out;
}

/** One checked group of a saved state. */
export interface GroupToLoad<H> {
  readonly size: number;
  readonly stepCount: number;
  readonly hyper: H;
  /** 'params' (when saved) and the family's state arrays for `hyper`, each `size` long. */
  readonly arrays: Readonly<Record<string, Float32Array>>;
}

export interface StateToLoad<H> {
  readonly stepCount: number;
  readonly global: Pick<GlobalOptions, 'clipGradNorm' | 'nonFinite'>;
  readonly includesParams: boolean;
  readonly groups: readonly GroupToLoad<H>[];
}

/** What the state is checked against: for loadState the optimizer's groups, for fromState nothing but the family. */
export interface LoadTarget<H> {
  readonly groups?: readonly { readonly size: number; readonly hyper: H }[];
  /** The schedule group k gets (undefined: none), given whether it was saved with one. */
  scheduleFor(k: number, scheduled: boolean): Schedule | undefined;
}

/**
 * Checks `state` completely (optimizer kind, group count and sizes, hyperparameters, the exact
 * set of arrays, schedules, options) and returns it ready to write. Resuming must be faithful:
 * a group saved with a schedule needs one again, and a group saved without one must not get one.
 */
export function checkStateToLoad<H extends CommonHyper>(who: string, family: Family<H, unknown>, state: OptimizerState, target: LoadTarget<H>): StateToLoad<H> {
  if (state.optimizer !== family.name) throw new Error(`${who}: the state was saved by ${state.optimizer}, not ${family.name}`);
  const sizes = (gs: readonly { size: number }[]) => `[${gs.map((g) => g.size).join(', ')}]`;
  if (target.groups && (state.groups.length !== target.groups.length || state.groups.some((g, k) => g.size !== target.groups![k]!.size))) {
    throw new RangeError(`${who}: the state has groups of sizes ${sizes(state.groups)}, this optimizer has ${sizes(target.groups)}`);
  }
  const schema = Object.fromEntries(Object.entries(family.schema).filter(([key]) => key !== 'schedule')) as typeof family.schema;
  const groups = state.groups.map((saved, k): GroupToLoad<H> => {
    const path = `state.groups[${k}].hyperparameters`;
    const { scheduled, ...fields } = saved.hyperparameters;
    checkKnownKeys(who, path, fields, Object.keys(schema));
    // Every hyperparameter, so that nothing is silently taken from defaults: resuming must be exact.
    const missing = Object.keys(schema).filter((key) => !Object.hasOwn(fields, key));
    if (missing.length > 0) throw new TypeError(`${who}: ${path} is missing ${missing.join(', ')}`);
    if (saved.stepCount > state.stepCount) {
      throw new RangeError(`${who}: state.groups[${k}].stepCount (${saved.stepCount}) exceeds state.stepCount (${state.stepCount}); a group cannot have taken more steps than its optimizer`);
    }
    if (typeof scheduled !== 'boolean') throw new TypeError(`${who}: ${path}.scheduled must be true or false (got ${show(scheduled)})`);
    const into = target.groups?.[k];
    const schedule = target.scheduleFor(k, scheduled);
    if (scheduled && schedule === undefined) {
      throw new Error(`${who}: groups[${k}] was saved with a schedule; schedules are functions and cannot be saved, so give the group the same schedule again`);
    }
    if (!scheduled && schedule !== undefined) {
      throw new Error(`${who}: groups[${k}] was saved without a schedule but would resume with one; resuming must be faithful, so remove it`);
    }
    const hyper = freezeHyper({ ...mergeFields(who, path, fields, family.defaults, schema), schedule } as H);
    family.check(who, path, hyper);
    if (into !== undefined) {
      const need = [...family.state(hyper)].sort().join(', ');
      const have = [...family.state(into.hyper)].sort().join(', ');
      if (need !== have) {
        throw new RangeError(`${who}: groups[${k}] state arrays differ: the state needs ${need || 'none'}, this optimizer's group has ${have || 'none'}`);
      }
    }
    const names = [...(state.includesParams ? ['params'] : []), ...family.state(hyper)].sort();
    const present = Object.keys(saved.arrays).sort();
    if (present.join() !== names.join()) {
      throw new RangeError(`${who}: state.groups[${k}] holds arrays [${present.join(', ')}], but its hyperparameters need [${names.join(', ')}]`);
    }
    return { size: saved.size, stepCount: saved.stepCount, hyper, arrays: saved.arrays };
  });
  const opts = state.options;
  checkKnownKeys(who, 'state.options', opts, ['clipGradNorm', 'nonFinite']);
  const absent = ['clipGradNorm', 'nonFinite'].filter((key) => !Object.hasOwn(opts, key));
  if (absent.length > 0) throw new TypeError(`${who}: state.options is missing ${absent.join(', ')}`);
  const { clipGradNorm, nonFinite } = planOptions(
    family,
    { ...(opts.clipGradNorm === null ? {} : { clipGradNorm: opts.clipGradNorm }), nonFinite: opts.nonFinite },
    who,
    'state.options',
  ).global;
  return { stepCount: state.stepCount, global: { clipGradNorm, nonFinite }, includesParams: state.includesParams, groups };
}

/** Writes a checked group into its views; cannot fail. */
export function writeGroup(saved: GroupToLoad<unknown>, params: Float32Array, state: Readonly<Partial<Record<StateName, Float32Array>>>): void {
  if (saved.arrays.params !== undefined) params.set(saved.arrays.params);
  for (const [name, view] of Object.entries(state)) view!.set(saved.arrays[name]!);
}
