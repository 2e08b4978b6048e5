/**
 * Optimizer state as safetensors, laid out as PyTorch's flattened optimizer state
 * (docs/safetensors.md), as pure functions between a state dict and the codec's tensors and
 * metadata. Reading checks what only the file can name (its keys, metadata, dtypes and shapes)
 * and builds a state dict that `checkStateDict` then checks completely, as for `loadState`: so
 * every refusal happens before anything is written, and nothing here touches kernel memory.
 */
import { STATE_FORMAT_VERSION, type JsonValue } from '../state/index.js';
import type { SafetensorsFile, SafetensorsInput, SafetensorsTensor } from '../state/safetensors.js';
import { safetensorsToFloat32 } from '../state/safetensors.js';
import { checkInteger, checkKnownKeys, checkNonNegative, checkPlainObject, checkShape, checkShapeHolds, prefix, rangeError, shapeSize, typeError } from '../validate.js';
import { checkSavedHyper, checkSavedOptions, type StateDict } from './checkpoint.js';
import type { CommonHyper, Family } from './family.js';

export const SAFETENSORS_FORMAT = 'adamw-wasm/optimizer';
export const SAFETENSORS_FORMAT_VERSION = 1;

/** The state arrays by their names here and in PyTorch's `state`, in the order they are written. */
const ARRAYS = [
  ['expAvg', 'exp_avg'],
  ['expAvgSq', 'exp_avg_sq'],
  ['maxExpAvgSq', 'max_exp_avg_sq'],
  ['momentumBuffer', 'momentum_buffer'],
] as const;
type ArrayName = (typeof ARRAYS)[number][0];
const TORCH_ARRAY = new Map<string, string>(ARRAYS);
const JS_ARRAY = new Map<string, ArrayName>(ARRAYS.map(([js, torch]) => [torch, js]));

/** Hyperparameters PyTorch's param_groups hold too, by their names there. */
const TORCH_FIELDS = [
  ['lr', 'lr'],
  ['betas', 'betas'],
  ['eps', 'eps'],
  ['weightDecay', 'weight_decay'],
  ['amsgrad', 'amsgrad'],
  ['momentum', 'momentum'],
  ['dampening', 'dampening'],
  ['nesterov', 'nesterov'],
  ['maximize', 'maximize'],
] as const;

/** Keys of torch's param_groups that choose an implementation, not the maths: accepted, ignored. */
const TORCH_IMPLEMENTATION_KEYS = ['foreach', 'capturable', 'differentiable', 'fused'];

/**
 * Newer torch's Adam has `decoupled_weight_decay`, and its AdamW is that Adam with the flag set:
 * the flag is accepted where it names the family's own decay.
 */
const DECOUPLED: Readonly<Record<string, boolean>> = { Adam: false, AdamW: true };

const SECTION_KEYS = ['options', 'groups', 'shapes', 'sizes'];
const META = '__metadata__';
const SECTION = `${META}.adamw_wasm`;

// ------------------------------------------------------------------------------------ writing

/** What a file holds beyond the state dict: shapes, and the lr each group's next step uses. */
export interface SafetensorsExtras {
  /** The shapes tensors were given; others are written as `[size]`, with no entry in `adamw_wasm.shapes`. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Per group, the lr its next step will use: lr × the schedule's multiplier at `stepCount` (PyTorch's `group['lr']`). */
  readonly nextLr: readonly number[];
}

/** A state dict as safetensors tensors and metadata, for `toSafetensors`. */
export function stateDictToSafetensors(
  dict: StateDict,
  extras: SafetensorsExtras,
): { readonly tensors: Map<string, SafetensorsInput>; readonly metadata: Record<string, string> } {
  const tensors = new Map<string, SafetensorsInput>();
  const shapeOf = (t: StateDict['tensors'][number]) => extras.shapes.get(t.name) ?? [t.size];
  for (const t of dict.tensors) {
    tensors.set(`state.${t.name}.step`, { dtype: 'I64', shape: [], data: int64(t.step) });
    for (const [js, torch] of ARRAYS) if (t[js] !== undefined) tensors.set(`state.${t.name}.${torch}`, { dtype: 'F32', shape: shapeOf(t), data: t[js] });
  }
  // Parameters after all state, so that `params.*` read as a model state_dict in one run.
  for (const t of dict.tensors) if (t.params !== undefined) tensors.set(`params.${t.name}`, { dtype: 'F32', shape: shapeOf(t), data: t.params });
  const section = {
    options: dict.options,
    groups: dict.groups.map((g) => g.hyperparameters),
    shapes: Object.fromEntries(dict.tensors.filter((t) => extras.shapes.has(t.name)).map((t) => [t.name, extras.shapes.get(t.name)!])),
    sizes: Object.fromEntries(dict.tensors.map((t) => [t.name, t.size])),
  };
  const metadata = {
    format: SAFETENSORS_FORMAT,
    format_version: String(SAFETENSORS_FORMAT_VERSION),
    optimizer: dict.optimizer,
    step_count: String(dict.stepCount),
    param_groups: JSON.stringify(dict.groups.map((g, k) => ({ ...torchFields(g.hyperparameters, extras.nextLr[k]!), params: g.tensors }))),
    adamw_wasm: JSON.stringify(section),
  };
  return { tensors, metadata };
}

/** A scalar I64, little-endian. */
function int64(value: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigInt64(0, BigInt(value), true);
  return bytes;
}

/**
 * A group's hyperparameters (as a state dict holds them) by PyTorch's names. With a schedule,
 * `lr` is the lr of the next step and `initial_lr` the base lr, as torch's schedulers keep them.
 */
function torchFields(hyper: Readonly<Record<string, JsonValue>>, nextLr: number | undefined): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [js, torch] of TORCH_FIELDS) if (Object.hasOwn(hyper, js)) out[torch] = hyper[js]!;
  if (hyper.scheduled === true) {
    if (nextLr !== undefined) out.lr = nextLr;
    out.initial_lr = hyper.lr!;
  }
  return out;
}

// ------------------------------------------------------------------------------------ reading

/** What importing into an existing optimizer adds to what the file says. */
export interface SafetensorsTarget {
  /** The options to keep when the file has no adamw_wasm section (PyTorch keeps none); default: the defaults. */
  readonly options?: StateDict['options'];
  /** A tensor's size when the file gives none (no arrays and no adamw_wasm section): the optimizer's own. */
  readonly sizeOf?: (name: string) => number | undefined;
}

export interface SafetensorsState {
  /** A state dict, not yet checked: `checkStateDict` does that. */
  readonly dict: unknown;
  /**
   * The shapes the file gives its tensors: `adamw_wasm.shapes`, or, in a file without that
   * section (written by PyTorch), the shape of each tensor's arrays.
   */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
}

interface FileTensor {
  readonly name: string;
  /** PyTorch's field → the stored tensor (`step` and the arrays), and the parameters. */
  readonly fields: Map<string, SafetensorsTensor>;
  params?: SafetensorsTensor;
}

interface FileGroup<H> {
  readonly hyper: H;
  /** The hyperparameters as the state dict holds them (JSON). */
  readonly saved: Readonly<Record<string, JsonValue>>;
  readonly names: readonly string[];
}

/**
 * The state dict a safetensors file holds, for `family`. Refuses, naming the key and the rule:
 * metadata of another format, version or optimizer; unknown, missing or extra tensor keys;
 * steps that are not integers or exceed the step count; arrays of another dtype than a float or
 * of disagreeing shapes; an adamw_wasm section that disagrees with PyTorch's param_groups.
 */
export function safetensorsToStateDict<H extends CommonHyper>(
  file: SafetensorsFile,
  who: string,
  family: Family<H, unknown>,
  target: SafetensorsTarget = {},
): SafetensorsState {
  const meta = readMetadata(who, family, file.metadata);
  const groups = readGroups(who, family, meta.paramGroups, meta.section);
  const tensors = sortKeys(who, file.tensors, groups);
  checkKeySets(who, family, groups, tensors);
  const declared = meta.section && readDeclared(who, meta.section, tensors);
  const shapes = new Map<string, readonly number[]>();
  const states = groups.flatMap((g) =>
    g.names.map((name) => {
      const t = tensors.get(name)!;
      // Own entries only: a tensor may be named like an Object.prototype member ("toString", "__proto__").
      const own = (table: Record<string, unknown> | undefined) => (table !== undefined && Object.hasOwn(table, name) ? table[name] : undefined);
      const { size, shape } = tensorSize(who, t, own(declared?.sizes), own(declared?.shapes), target.sizeOf);
      // The section lists the tensors that were given a shape; PyTorch's tensors always have one.
      if (shape !== undefined && (declared === undefined || Object.hasOwn(declared.shapes, name))) shapes.set(name, shape);
      return readTensor(who, t, size, meta.stepCount);
    }),
  );
  const dict = {
    version: STATE_FORMAT_VERSION,
    optimizer: family.name,
    stepCount: meta.stepCount,
    options: meta.section === undefined ? (target.options ?? { clipGradNorm: null, nonFinite: 'throw' }) : checkSavedOptions(who, family, `${SECTION}.options`, meta.section.options),
    groups: groups.map((g) => ({ hyperparameters: g.saved, tensors: g.names })),
    tensors: states,
  };
  return { dict, shapes };
}

/**
 * Refuses a tensor that was given a shape when the file gives it another: the model does not
 * match the file. A tensor given no shape takes any shape of its size (a flat Float32Array).
 */
export function checkShapesMatch(who: string, file: ReadonlyMap<string, readonly number[]>, shapeOf: (name: string) => readonly number[] | undefined): void {
  for (const [name, shape] of file) {
    const own = shapeOf(name);
    if (own !== undefined && own.join() !== shape.join()) {
      throw new RangeError(`${prefix(who)}tensor ${JSON.stringify(name)} has shape [${shape.join(', ')}] in the file, [${own.join(', ')}] in this optimizer`);
    }
  }
}

/** The codec's refusal of bytes, restated as `who`'s. */
export function readFailure(who: string, error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const Kind = error.constructor as new (message: string, options: ErrorOptions) => Error;
  return new Kind(`${prefix(who)}${error.message.replace(/^fromSafetensors: /, '')}`, { cause: error });
}

function readMetadata(who: string, family: { readonly name: string }, metadata: Readonly<Record<string, string>>) {
  const { format, format_version: version, optimizer, step_count: stepCount } = metadata;
  if (format !== SAFETENSORS_FORMAT) typeError(who, `${META}.format`, `"${SAFETENSORS_FORMAT}" (this file holds no adamw-wasm optimizer state)`, format);
  if (typeof version === 'string' && /^[1-9][0-9]*$/.test(version) && Number(version) > SAFETENSORS_FORMAT_VERSION) {
    throw new Error(`${prefix(who)}the file has format_version ${version}, written by a newer adamw-wasm; this one reads ${SAFETENSORS_FORMAT_VERSION}`);
  }
  if (version !== String(SAFETENSORS_FORMAT_VERSION)) typeError(who, `${META}.format_version`, `"${SAFETENSORS_FORMAT_VERSION}"`, version);
  if (optimizer !== family.name) {
    if (typeof optimizer !== 'string') typeError(who, `${META}.optimizer`, `"${family.name}"`, optimizer);
    throw new Error(`${prefix(who)}the file was saved by ${optimizer}, not ${family.name}`);
  }
  if (typeof stepCount !== 'string' || !/^(0|[1-9][0-9]*)$/.test(stepCount)) {
    typeError(who, `${META}.step_count`, 'a decimal integer >= 0, as a string', stepCount);
  }
  return {
    stepCount: checkInteger(who, `${META}.step_count`, Number(stepCount), 0),
    paramGroups: parseJson(who, `${META}.param_groups`, metadata.param_groups),
    section: Object.hasOwn(metadata, 'adamw_wasm') ? readSection(who, metadata.adamw_wasm) : undefined,
  };
}

function parseJson(who: string, path: string, text: unknown): unknown {
  if (typeof text !== 'string') typeError(who, path, 'JSON text', text);
  try {
    return JSON.parse(text);
  } catch (cause) {
    return typeError(who, path, `JSON text (${(cause as Error).message})`, text);
  }
}

function readSection(who: string, text: string | undefined): Record<string, unknown> {
  const section = checkPlainObject(who, SECTION, parseJson(who, SECTION, text));
  checkKnownKeys(who, SECTION, section, SECTION_KEYS);
  const missing = SECTION_KEYS.filter((key) => !Object.hasOwn(section, key));
  if (missing.length > 0) throw new TypeError(`${prefix(who)}${SECTION} is missing ${missing.join(', ')}`);
  if (!Array.isArray(section.groups)) typeError(who, `${SECTION}.groups`, 'an array, one entry per group', section.groups);
  return section;
}

/** The section's `sizes` and `shapes`: objects keyed by tensor names of param_groups. */
function readDeclared(who: string, section: Record<string, unknown>, tensors: ReadonlyMap<string, FileTensor>) {
  const [sizes, shapes] = (['sizes', 'shapes'] as const).map((key) => {
    const map = checkPlainObject(who, `${SECTION}.${key}`, section[key]);
    for (const name of Object.keys(map)) if (!tensors.has(name)) typeError(who, `${SECTION}.${key}`, 'keyed by tensor names of param_groups', name);
    return map;
  });
  return { sizes: sizes!, shapes: shapes! };
}

/** One tensor of the state dict: its step and its arrays as Float32Arrays (the codec names the key of a dtype it cannot widen). */
function readTensor(who: string, t: FileTensor, size: number, stepCount: number) {
  const arrays = [...t.fields].filter(([field]) => field !== 'step');
  return {
    name: t.name,
    size,
    step: readStep(who, `state.${t.name}.step`, t.fields.get('step')!, stepCount),
    ...(t.params === undefined ? {} : { params: safetensorsToFloat32(t.params, who, `"params.${t.name}"`) }),
    ...Object.fromEntries(arrays.map(([field, a]) => [JS_ARRAY.get(field)!, safetensorsToFloat32(a, who, `"state.${t.name}.${field}"`)])),
  };
}

/**
 * Each group's hyperparameters and tensor names. With the adamw_wasm section its hyperparameters
 * are adamw-wasm's, and PyTorch's param_groups must agree with them; without it (a file PyTorch
 * wrote) they come from param_groups, and fields PyTorch has no name for take the family's
 * defaults, which are PyTorch's conventions (epsMode 'torch', decayOrder 'before', …).
 */
function readGroups<H extends CommonHyper>(who: string, family: Family<H, unknown>, paramGroups: unknown, section: Record<string, unknown> | undefined): FileGroup<H>[] {
  const path = `${META}.param_groups`;
  if (!Array.isArray(paramGroups)) typeError(who, path, 'an array, one object per group', paramGroups);
  const saved = section?.groups as unknown[] | undefined;
  if (saved !== undefined && saved.length !== paramGroups.length) {
    throw new RangeError(`${prefix(who)}${SECTION}.groups has ${saved.length} entries, ${path} ${paramGroups.length}; they describe the same groups`);
  }
  const owner = new Map<string, number>();
  return Array.from(paramGroups as unknown[], (raw, k) => {
    const at = `${path}[${k}]`;
    const torch = checkPlainObject(who, at, raw);
    const names = readNames(who, `${at}.params`, torch.params, owner, k);
    const group = saved === undefined ? fromTorch(who, family, at, torch) : fromSection(who, family, `${SECTION}.groups[${k}]`, saved[k], at, torch);
    return { ...group, names };
  });
}

function readNames(who: string, path: string, value: unknown, owner: Map<string, number>, group: number): string[] {
  if (!Array.isArray(value) || value.length === 0) typeError(who, path, 'a non-empty array of tensor names', value);
  return Array.from(value as unknown[], (name, j) => {
    if (typeof name !== 'string' || name === '') typeError(who, `${path}[${j}]`, 'a non-empty string (a tensor name)', name);
    if (owner.has(name)) throw new TypeError(`${prefix(who)}${path}[${j}] ${JSON.stringify(name)} is already in ${META}.param_groups[${owner.get(name)}]`);
    owner.set(name, group);
    return name;
  });
}

/** Keys torch's param_groups may hold beyond the family's hyperparameters, which change nothing here. */
const torchExtraKeys = (family: { readonly name: string }): string[] => [
  ...TORCH_IMPLEMENTATION_KEYS,
  ...(Object.hasOwn(DECOUPLED, family.name) ? ['decoupled_weight_decay'] : []),
];

function checkDecoupled(who: string, family: { readonly name: string }, path: string, torch: Record<string, unknown>): void {
  const decoupled = DECOUPLED[family.name];
  if (Object.hasOwn(torch, 'decoupled_weight_decay') && torch.decoupled_weight_decay !== decoupled) {
    const rule = decoupled ? 'true (AdamW decouples its weight decay)' : 'false (Adam couples its weight decay; decoupled is AdamW)';
    typeError(who, `${path}.decoupled_weight_decay`, rule, torch.decoupled_weight_decay);
  }
}

/** The family's hyperparameters that PyTorch names, with those names. */
const torchNamesOf = <H extends CommonHyper>(family: Family<H, unknown>) => TORCH_FIELDS.filter(([js]) => Object.hasOwn(family.schema, js));

function fromTorch<H extends CommonHyper>(who: string, family: Family<H, unknown>, path: string, torch: Record<string, unknown>): Omit<FileGroup<H>, 'names'> {
  const named = torchNamesOf(family);
  checkKnownKeys(who, path, torch, ['params', 'initial_lr', ...named.map(([, t]) => t), ...torchExtraKeys(family)]);
  const missing = named.filter(([, t]) => !Object.hasOwn(torch, t)).map(([, t]) => t);
  if (missing.length > 0) throw new TypeError(`${prefix(who)}${path} is missing ${missing.join(', ')}`);
  checkDecoupled(who, family, path, torch);
  // A scheduler's base lr: the schedule itself is not in the file, so the run continues at `lr`.
  if (Object.hasOwn(torch, 'initial_lr')) checkNonNegative(who, `${path}.initial_lr`, torch.initial_lr);
  const defaults = family.defaults as unknown as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(family.schema)) if (key !== 'schedule') fields[key] = defaults[key];
  // Checked under PyTorch's names, so that an error names the key the file has.
  for (const [js, t] of named) fields[js] = (family.schema as Record<string, (w: string, p: string, v: unknown) => unknown>)[js]!(who, `${path}.${t}`, torch[t]);
  const saved = JSON.parse(JSON.stringify({ ...fields, scheduled: false })) as Record<string, JsonValue>;
  return { hyper: checkSavedHyper(who, family, path, saved).hyper, saved };
}

function fromSection<H extends CommonHyper>(
  who: string,
  family: Family<H, unknown>,
  path: string,
  raw: unknown,
  torchPath: string,
  torch: Record<string, unknown>,
): Omit<FileGroup<H>, 'names'> {
  const saved = checkPlainObject(who, path, raw) as Record<string, JsonValue>;
  const { hyper, scheduled } = checkSavedHyper(who, family, path, saved);
  // PyTorch's copy of the same values must agree: a file edited on one side would otherwise resume silently from the other.
  const expected = torchFields(saved, undefined);
  checkKnownKeys(who, torchPath, torch, ['params', ...Object.keys(expected), ...torchExtraKeys(family)]);
  checkDecoupled(who, family, torchPath, torch);
  for (const [key, value] of Object.entries(expected)) {
    if (!Object.hasOwn(torch, key)) throw new TypeError(`${prefix(who)}${torchPath} is missing ${key}`);
    if (key === 'lr' && scheduled) continue;
    if (JSON.stringify(torch[key]) !== JSON.stringify(value)) {
      const js = key === 'initial_lr' ? 'lr' : TORCH_FIELDS.find(([, t]) => t === key)![0];
      throw new RangeError(`${prefix(who)}${torchPath}.${key} (${JSON.stringify(torch[key])}) disagrees with ${path}.${js} (${JSON.stringify(value)}); the two must describe the same run`);
    }
  }
  if (scheduled) checkNonNegative(who, `${torchPath}.lr`, torch.lr);
  return { hyper, saved };
}

/** The file's tensors by the optimizer tensor they belong to; a key that fits no tensor of param_groups is refused. */
function sortKeys(who: string, stored: ReadonlyMap<string, SafetensorsTensor>, groups: readonly FileGroup<unknown>[]): Map<string, FileTensor> {
  const tensors = new Map<string, FileTensor>(groups.flatMap((g) => g.names.map((name) => [name, { name, fields: new Map() }] as const)));
  const fields = ['step', ...JS_ARRAY.keys()];
  for (const [key, tensor] of stored) {
    // Names may hold dots ('fc1.weight'); fields never do, so the last dot splits them.
    const cut = key.lastIndexOf('.');
    const [name, field] = key.startsWith('params.') ? [key.slice(7), undefined] : key.startsWith('state.') ? [key.slice(6, cut), key.slice(cut + 1)] : [undefined, undefined];
    const t = name === undefined ? undefined : tensors.get(name);
    if (t === undefined || (field !== undefined && !fields.includes(field))) {
      throw new TypeError(
        `${prefix(who)}unknown tensor key ${JSON.stringify(key)}; keys are state.<name>.<${fields.join('|')}> and params.<name>, ` +
          `for the tensor names of ${META}.param_groups`,
      );
    }
    if (field === undefined) t.params = tensor;
    else t.fields.set(field, tensor);
  }
  return tensors;
}

/** Every tensor has exactly its step and the arrays its group needs, and parameters all or none. */
function checkKeySets<H extends CommonHyper>(who: string, family: Family<H, unknown>, groups: readonly FileGroup<H>[], tensors: ReadonlyMap<string, FileTensor>): void {
  const withParams = [...tensors.values()].find((t) => t.params !== undefined);
  groups.forEach((g, k) => {
    const need = ['step', ...family.state(g.hyper).map((name) => TORCH_ARRAY.get(name)!)];
    for (const name of g.names) {
      const t = tensors.get(name)!;
      const missing = need.find((field) => !t.fields.has(field));
      if (missing !== undefined) throw new TypeError(`${prefix(who)}the file lacks the tensor key "state.${name}.${missing}" (the tensor's group, param_groups[${k}], needs ${need.join(', ')})`);
      const extra = [...t.fields.keys()].find((field) => !need.includes(field));
      if (extra !== undefined) {
        throw new TypeError(`${prefix(who)}unexpected tensor key "state.${name}.${extra}": the tensor's group, param_groups[${k}], has only ${need.join(', ')}`);
      }
      if (withParams !== undefined && t.params === undefined) {
        throw new TypeError(`${prefix(who)}the file lacks the tensor key "params.${name}" (it has "params.${withParams.name}": parameters are saved for every tensor or none)`);
      }
    }
  });
}

/**
 * A tensor's size and shape: its arrays' common shape, which the section's `sizes` and `shapes`
 * (when present) must agree with; a tensor with no arrays (SGD without momentum, no parameters)
 * takes its size from the section, else from the optimizer it goes into.
 */
function tensorSize(
  who: string,
  t: FileTensor,
  sectionSize: unknown,
  sectionShape: unknown,
  sizeOf: ((name: string) => number | undefined) | undefined,
): { size: number; shape: readonly number[] | undefined } {
  const arrays = [...(t.params === undefined ? [] : [[`params.${t.name}`, t.params] as const]), ...[...t.fields].filter(([f]) => f !== 'step').map(([f, a]) => [`state.${t.name}.${f}`, a] as const)];
  const [firstKey, first] = arrays[0] ?? [];
  for (const [key, a] of arrays) {
    if (a.shape.join() !== first!.shape.join()) {
      throw new RangeError(`${prefix(who)}"${key}" has shape [${a.shape.join(', ')}], but "${firstKey}" has [${first!.shape.join(', ')}]; a tensor's arrays share its shape`);
    }
  }
  const size = sectionSize === undefined ? undefined : checkInteger(who, `${SECTION}.sizes[${JSON.stringify(t.name)}]`, sectionSize, 1, 'a positive integer');
  let shape = first?.shape;
  if (shape !== undefined) checkShapeHolds(who, `the shape of "${firstKey}"`, shape, size);
  if (sectionShape !== undefined) {
    const path = `${SECTION}.shapes[${JSON.stringify(t.name)}]`;
    const declared = checkShape(who, path, sectionShape);
    checkShapeHolds(who, path, declared, size ?? (shape && shapeSize(shape)));
    if (shape !== undefined && declared.join() !== shape.join()) {
      throw new RangeError(`${prefix(who)}${path} is [${declared.join(', ')}], but "${firstKey}" has shape [${shape.join(', ')}]`);
    }
    shape = declared;
  }
  const known = size ?? (shape && shapeSize(shape)) ?? sizeOf?.(t.name);
  if (known === undefined) {
    throw new RangeError(
      `${prefix(who)}the size of tensor ${JSON.stringify(t.name)} is unknown: the file holds none of its arrays (its group keeps no state) ` +
        'and no adamw_wasm section; save it with its parameters',
    );
  }
  return { size: known, shape };
}

/** A step count: a scalar I64, F32 or F64 (PyTorch keeps a float32 tensor) holding an integer from 0 to `stepCount`. */
function readStep(who: string, key: string, tensor: SafetensorsTensor, stepCount: number): number {
  if (tensor.shape.length !== 0) rangeError(who, `"${key}".shape`, '[] (a scalar)', `[${tensor.shape.join(', ')}]`);
  const view = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  let value: number | bigint;
  if (tensor.dtype === 'I64') value = view.getBigInt64(0, true);
  else if (tensor.dtype === 'F64') value = view.getFloat64(0, true);
  else if (tensor.dtype === 'F32') value = view.getFloat32(0, true);
  else return typeError(who, `"${key}".dtype`, 'I64, F32 or F64', tensor.dtype);
  const step = typeof value === 'bigint' ? (value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value) : value;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > Number.MAX_SAFE_INTEGER) {
    rangeError(who, `"${key}"`, 'an integer from 0 to Number.MAX_SAFE_INTEGER', step);
  }
  if (step > stepCount) {
    throw new RangeError(`${prefix(who)}"${key}" (${step}) exceeds ${META}.step_count (${stepCount}); a tensor cannot have taken more steps than its optimizer`);
  }
  return step;
}
