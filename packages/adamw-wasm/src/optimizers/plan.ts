/**
 * Turns the arguments of `create` / `addParamGroup` into validated, resolved groups, with no
 * side effects: everything is checked before any memory is allocated.
 */
import type { BackendChoice } from '../kernels/kernel.js';
import { BACKEND_NAMES } from '../kernels/kernel.js';
import type { CommonHyper, Family } from './family.js';
import { mergeFields } from './fields.js';
import { MAX_THREADS } from '../kernels/threads/control.js';
import {
  checkInit,
  checkKnownKeys,
  checkOneOf,
  checkPlainObject,
  checkPositive,
  checkShape,
  checkShapeHolds,
  checkSize,
  rangeError,
  shapeSize,
  typeError,
} from '../validate.js';

export type NonFinitePolicy = 'throw' | 'skip' | 'ignore';

/** Options that apply to the optimizer as a whole. */
export interface GlobalOptions {
  readonly backend: BackendChoice;
  readonly threads: 'auto' | number;
  readonly clipGradNorm: number | undefined;
  readonly nonFinite: NonFinitePolicy;
}

/** Validated options: the global ones, and the hyperparameter defaults groups inherit. */
export interface PlannedOptions<H> {
  readonly global: GlobalOptions;
  readonly preset: string | undefined;
  /** Only the hyperparameters the user gave. */
  readonly explicit: Partial<H>;
}

export interface PlannedTensor {
  readonly name: string;
  readonly length: number;
  readonly init: Float32Array | undefined;
  /** The shape the caller gave (frozen), or undefined: then it is `[length]`. */
  readonly shape: readonly number[] | undefined;
}

export interface PlannedGroup<H> {
  readonly hyper: H;
  readonly tensors: readonly PlannedTensor[];
}

function checkThreads(who: string, path: string, value: unknown): number {
  if (typeof value !== 'number') typeError(who, path, `'auto' or an integer from 1 to ${MAX_THREADS}`, value);
  if (!Number.isInteger(value) || value < 1 || value > MAX_THREADS) rangeError(who, path, `'auto' or an integer from 1 to ${MAX_THREADS}`, value);
  return value;
}

const GLOBAL_KEYS = ['backend', 'threads', 'clipGradNorm', 'nonFinite'] as const;

const presetKeys = <H extends CommonHyper>(family: Family<H, unknown>): string[] =>
  Object.keys(family.presets).length > 0 ? ['preset'] : [];

function checkPreset<H extends CommonHyper>(family: Family<H, unknown>, who: string, path: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return checkOneOf(who, path, value, Object.keys(family.presets));
}

/** Checks an optimizer's options (`path` names them in errors: 'options', or 'state.options' for a saved state). */
export function planOptions<H extends CommonHyper>(family: Family<H, unknown>, options: unknown, who = family.name, path = 'options'): PlannedOptions<H> {
  const opts = checkPlainObject(who, path, options ?? {});
  checkKnownKeys(who, path, opts, [...Object.keys(family.schema), ...presetKeys(family), ...GLOBAL_KEYS]);
  const explicit = mergeFields(who, path, opts, {} as H, family.schema) as Partial<H>;
  const { backend, threads, clipGradNorm, nonFinite, preset } = opts;
  return {
    global: {
      backend: backend === undefined ? 'auto' : checkOneOf(who, `${path}.backend`, backend, ['auto', ...BACKEND_NAMES]),
      threads: threads === undefined || threads === 'auto' ? 'auto' : checkThreads(who, `${path}.threads`, threads),
      clipGradNorm: clipGradNorm === undefined ? undefined : checkPositive(who, `${path}.clipGradNorm`, clipGradNorm),
      nonFinite: nonFinite === undefined ? 'throw' : checkOneOf(who, `${path}.nonFinite`, nonFinite, ['throw', 'skip', 'ignore'] as const),
    },
    preset: checkPreset(family, who, `${path}.preset`, preset),
    explicit,
  };
}

/**
 * A tensor's size, initial values and shape: `{ size }` (zeros), `{ init }` (copied) or, for a
 * named tensor, `{ shape }`; any of them together if they agree. The shape is kept only to be reported
 * (safetensors files carry it); the optimizer sees a flat array either way.
 */
function planValues(
  who: string,
  path: string,
  spec: Record<string, unknown>,
  named: boolean,
): { length: number; init: Float32Array | undefined; shape: readonly number[] | undefined } {
  const init = spec.init === undefined ? undefined : checkInit(who, `${path}.init`, spec.init);
  const size = spec.size === undefined ? undefined : checkSize(who, `${path}.size`, spec.size);
  const shape = spec.shape === undefined ? undefined : checkShape(who, `${path}.shape`, spec.shape);
  if (init === undefined && size === undefined && shape === undefined) typeError(who, path, `given a size or an init array${named ? ' (or a shape)' : ''}`, spec);
  if (init !== undefined && size !== undefined && init.length !== size) {
    rangeError(who, `${path}.size`, `equal to ${path}.init.length (${init.length}) when both are given`, size);
  }
  const length = init?.length ?? size;
  if (shape !== undefined) checkShapeHolds(who, `${path}.shape`, shape, length);
  return { length: length ?? shapeSize(shape!), init, shape };
}

/**
 * A group's tensors: `tensors: [{ name, size | init }, …]`, or the one-tensor shorthand
 * `{ size | init }` named after the group (`groups[i]`). Names must be new to `taken` (every
 * tensor name of the optimizer), to which they are added.
 */
function planTensors(who: string, path: string, spec: Record<string, unknown>, index: number, taken: Set<string>): PlannedTensor[] {
  const claim = (name: unknown, at: string): string => {
    if (typeof name !== 'string') typeError(who, at, 'a string (a tensor name)', name);
    if (name === '') rangeError(who, at, 'a non-empty tensor name', name);
    if (taken.has(name)) throw new TypeError(`${who}: ${at} ${JSON.stringify(name)} is already a tensor name of this optimizer; names must be unique`);
    taken.add(name);
    return name;
  };
  if (spec.tensors === undefined) return [{ name: claim(`groups[${index}]`, `${path} (its one tensor's name)`), ...planValues(who, path, spec, false) }];
  if (spec.size !== undefined || spec.init !== undefined) {
    throw new TypeError(`${who}: ${path} gives both tensors and ${spec.size !== undefined ? 'size' : 'init'}; give each tensor its own size or init`);
  }
  if (!Array.isArray(spec.tensors)) typeError(who, `${path}.tensors`, 'an array of { name, size } or { name, init }', spec.tensors);
  if (spec.tensors.length === 0) rangeError(who, `${path}.tensors`, 'a non-empty array', spec.tensors);
  // Array.from visits holes (as undefined, refused below), which map would skip.
  return Array.from(spec.tensors as unknown[], (raw, k) => {
    const at = `${path}.tensors[${k}]`;
    const tensor = checkPlainObject(who, at, raw);
    checkKnownKeys(who, at, tensor, ['name', 'size', 'init', 'shape']);
    return { name: claim(tensor.name, `${at}.name`), ...planValues(who, at, tensor, true) };
  });
}

/**
 * Resolves one group: group keys > options > the preset (the group's, else the options') >
 * the family's defaults. `taken` holds the optimizer's tensor names so far.
 */
export function planGroup<H extends CommonHyper>(
  family: Family<H, unknown>,
  options: PlannedOptions<H>,
  raw: unknown,
  index: number,
  taken: Set<string>,
): PlannedGroup<H> {
  const who = family.name;
  const path = `groups[${index}]`;
  const spec = checkPlainObject(who, path, raw);
  checkKnownKeys(who, path, spec, ['tensors', 'size', 'init', ...Object.keys(family.schema), ...presetKeys(family)]);
  const tensors = planTensors(who, path, spec, index, taken);
  const presetName = checkPreset(family, who, `${path}.preset`, spec.preset) ?? options.preset;
  const groupExplicit = mergeFields(who, path, spec, {} as H, family.schema) as Partial<H>;
  return { hyper: resolveHyper(family, options, presetName, groupExplicit, path), tensors };
}

/** group keys > options > the preset > the family's defaults, with the preset's requirements and the family's rules checked. */
function resolveHyper<H extends CommonHyper>(
  family: Family<H, unknown>,
  options: PlannedOptions<H>,
  presetName: string | undefined,
  groupExplicit: Partial<H>,
  path: string,
): H {
  const who = family.name;
  const preset = presetName === undefined ? undefined : family.presets[presetName];
  for (const key of preset?.requires ?? []) {
    if (options.explicit[key] === undefined && groupExplicit[key] === undefined) {
      const where = path === 'options' ? `options.${key}` : `options.${key} or ${path}.${key}`;
      throw new TypeError(`${who}: preset '${presetName}' needs ${key} to be given (${where}): ${preset?.source} has no default for it`);
    }
  }
  const hyper = { ...family.defaults, ...preset?.values, ...options.explicit, ...groupExplicit } as H;
  family.check(who, path, hyper);
  return hyper;
}

/**
 * The hyperparameters a group added later inherits (torch's `optimizer.defaults`). Checked as a
 * group of their own only when `strict` (an optimizer built without groups): otherwise a preset's
 * requirement or a family rule may be met by every group instead of by the options.
 */
export function planDefaults<H extends CommonHyper>(family: Family<H, unknown>, options: PlannedOptions<H>, strict: boolean): H {
  if (strict) return resolveHyper(family, options, options.preset, {}, 'options');
  const preset = options.preset === undefined ? undefined : family.presets[options.preset];
  return { ...family.defaults, ...preset?.values, ...options.explicit } as H;
}

export function planGroups<H extends CommonHyper>(family: Family<H, unknown>, options: PlannedOptions<H>, groups: unknown): PlannedGroup<H>[] {
  const who = family.name;
  if (!Array.isArray(groups)) typeError(who, 'groups', 'an array of parameter groups', groups);
  const taken = new Set<string>();
  // Array.from visits holes (as undefined, refused below), which map would skip.
  return Array.from(groups as unknown[], (raw, i) => planGroup(family, options, raw, i, taken));
}
