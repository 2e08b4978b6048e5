/**
 * A tf.Optimizer whose step runs in adamw-wasm. State lives in an adamw-wasm optimizer, one
 * tensor per tfjs variable, keyed by the variable's name: a variable joins the first time it
 * gets a gradient (in a group of its own batch, so existing views stay valid), and a variable
 * without a gradient in a step is skipped as PyTorch skips `grad = None` (not decayed, moments
 * and step count untouched). Each step copies the gradients into the optimizer's memory once,
 * steps, and assigns each updated variable a tensor made from one copy of its parameters.
 */
import { engine, Optimizer, scalar, tensor, variable, type NamedTensorMap, type Tensor, type Variable } from '@tensorflow/tfjs-core';
import { canBlock, schedules, type Schedule } from 'adamw-wasm';
import { checkNonNegative, typeError, rangeError } from '../../adamw-wasm/src/validate.js';
import { scheduleMultiplier } from '../../adamw-wasm/src/optimizers/schedule-multiplier.js';
import type { Core, FamilySpec, Slot } from './families.js';
import { matchName } from './names.js';
import { parseOptions, parseSchedule, savedExclusions, tfjsNames, type ExclusionPattern } from './options.js';
import { readWeights, type SavedVariable } from './weights.js';

/** tfjs's { name, tensor } (its type is not exported). */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

/** What a variable looked like when the optimizer last wrote it (or read it). */
interface Seen {
  readonly shape: readonly number[];
  /** The data the variable held after our write; another means someone assigned it since. */
  dataId: object;
}

/** tfjs backends whose `write` copies the values before returning (tfjs-backend-wasm's `move`). */
const COPYING_BACKENDS = new Set(['wasm']);

/** What tfjs-backend-wasm keeps per tensor, as far as reading one goes. */
interface WasmBackendShape {
  readonly dataIdMap?: { get(dataId: object): { memoryOffset?: unknown } | undefined };
  readonly wasm?: { readonly HEAPU8?: unknown };
}

/**
 * A float32 tensor's values, to be copied from at once. tfjs-backend-wasm's dataSync() copies
 * them out of its heap into a new array (the larger part of a step at 1M parameters), so there
 * they are read in place when the backend looks as expected; everywhere else through dataSync()
 * (the cpu backend hands out its own array, without a copy).
 */
function valuesOf(t: Tensor): Float32Array {
  if (engine().backendName === 'wasm') {
    const backend = engine().backend as unknown as WasmBackendShape;
    const offset = backend.dataIdMap?.get(t.dataId)?.memoryOffset;
    const heap = backend.wasm?.HEAPU8;
    if (typeof offset === 'number' && offset % 4 === 0 && heap instanceof Uint8Array && offset + 4 * t.size <= heap.length) {
      return new Float32Array(heap.buffer, heap.byteOffset + offset, t.size);
    }
  }
  return t.dataSync() as Float32Array;
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

export abstract class WasmOptimizer extends Optimizer {
  readonly #family: FamilySpec;
  readonly #core: Core;
  readonly #exclusions: readonly ExclusionPattern[];
  /** The choices getConfig() saves for backend and threads (not what they resolved to). */
  readonly #runtime: { readonly backend: unknown; readonly threads: unknown };
  #learningRate: number;
  #weightDecay: number;
  #schedule: Schedule | undefined;
  #scheduleMissing: boolean;
  #lastLr: number | undefined;
  readonly #seen = new Map<string, Seen>();
  /** State from setWeights for variables not met yet, by saved name. */
  #pending = new Map<string, SavedVariable>();
  /** What getWeights() returns, by weight name: the optimizer's own variables (see getWeights). */
  readonly #exported = new Map<string, Variable>();
  #disposed = false;

  protected constructor(family: FamilySpec, options: unknown) {
    super();
    this.#family = family;
    const parsed = parseOptions(family, options);
    const { threads } = parsed.core;
    if (typeof threads === 'number' && threads > 1 && !canBlock()) {
      throw new Error(
        `${family.name}: options.threads ${threads} cannot run here: tfjs applies gradients synchronously and a browser page's main thread ` +
          "may not block; use threads: 'auto' (one thread here) or train in a Web Worker",
      );
    }
    this.#core = family.create(parsed.core);
    this.#exclusions = parsed.exclusions;
    this.#runtime = { backend: parsed.core.backend ?? 'auto', threads: parsed.core.threads ?? 'auto' };
    this.#learningRate = this.#core.defaults.lr as number;
    this.#weightDecay = this.#core.defaults.weightDecay as number;
    this.#schedule = parsed.schedule;
    this.#scheduleMissing = parsed.scheduleMissing;
  }

  #assertAlive(method: string): void {
    if (this.#disposed) throw new Error(`${this.#family.name}.${method} called after dispose()`);
  }

  /** Completed steps (a step skipped for non-finite gradients does not count); schedules see this. */
  override get iterations(): number {
    return this.#core.stepCount;
  }

  /** The base learning rate; settable between steps (tfjs callbacks schedule it this way). */
  get learningRate(): number {
    return this.#learningRate;
  }

  set learningRate(value: number) {
    this.#set('lr', checkNonNegative(this.#family.name, 'learningRate', value));
    this.#learningRate = value;
  }

  /** The learning rate the next step uses: learningRate × the schedule's multiplier at `iterations` (PyTorch's `group['lr']` under a scheduler). */
  get nextLr(): number {
    const who = `${this.#family.name}.nextLr`;
    this.#assertScheduled(who);
    return this.#learningRate * scheduleMultiplier(who, 0, this.#schedule, this.iterations);
  }

  /** A schedule saved as 'custom' cannot be rebuilt from a configuration: refuse until it is set again. */
  #assertScheduled(who: string): void {
    if (this.#scheduleMissing) {
      throw new Error(
        `${who}: this optimizer was saved with a schedule function, which a configuration cannot hold; ` +
          'set optimizer.schedule = (the same function) before training',
      );
    }
  }

  /** The learning rate the last step used; undefined before the first step (and after setWeights). */
  get lastLr(): number | undefined {
    return this.#lastLr;
  }

  get weightDecay(): number {
    return this.#weightDecay;
  }

  set weightDecay(value: number) {
    this.#set('weightDecay', checkNonNegative(this.#family.name, 'weightDecay', value));
    this.#weightDecay = value;
  }

  /** The schedule (η_t multiplies the learning rate); undefined for none. */
  get schedule(): Schedule | undefined {
    return this.#schedule;
  }

  set schedule(value: Schedule | undefined) {
    if (typeof value === 'string') typeError(this.#family.name, 'schedule', 'a schedule function, a saved schedule ({ factory, options }) or undefined', value);
    const { schedule } = parseSchedule(this.#family.name, 'schedule', value);
    this.#set('schedule', schedule);
    this.#schedule = schedule;
    this.#scheduleMissing = false;
  }

  #set(key: 'lr' | 'weightDecay' | 'schedule', value: unknown): void {
    this.#assertAlive(`${key} setter`);
    for (const group of this.#core.groups) (group as Record<string, unknown>)[key] = value;
  }

  /** What steps: 'wasm-simd', 'wasm' or 'js'. */
  get backend(): string {
    return this.#core.backend;
  }

  /** Threads stepping the first variables met (1 unless threads are used). */
  get threads(): number {
    return this.#core.threads;
  }

  /** The variables the optimizer holds state for, in the order they joined. */
  get variableNames(): readonly string[] {
    return Object.freeze(this.#core.tensors.map((t) => t.name));
  }

  /**
   * One step for the variables given gradients: `{ name: gradient }` or `[{ name, tensor }]`, as
   * tf.Optimizer takes them; an entry without a tensor is skipped. Everything is checked before
   * anything changes.
   */
  applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const who = `${this.#family.name}.applyGradients`;
    this.#assertAlive('applyGradients()');
    this.#assertScheduled(who);
    const stepped = this.#checkGradients(who, variableGradients);
    // Read before anything joins or changes: a tensor whose data disagrees with its shape (a
    // lying wrapper) is refused here rather than leaving stale gradients behind.
    const gradientValues = stepped.map(({ name, gradient }) => {
      const values = valuesOf(gradient);
      if (values.length !== gradient.size) rangeError(who, `the gradient for ${JSON.stringify(name)}`, `${gradient.size} values`, values.length);
      return values;
    });
    const joining = stepped.filter(({ name }) => !this.#seen.has(name));
    if (joining.length > 0) this.#join(who, joining.map((s) => s.variable));
    for (const [i, { name, variable }] of stepped.entries()) {
      const t = this.#core.tensor(name);
      const seen = this.#seen.get(name)!;
      // Assigned outside since our last write (model.setWeights, a loaded checkpoint): start from it.
      if (seen.dataId !== variable.dataId) {
        t.params.set(valuesOf(variable));
        seen.dataId = variable.dataId;
      }
      t.grads.set(gradientValues[i]!);
    }
    const { skipped } = this.#core.step({ tensors: stepped.map((s) => s.name) });
    if (skipped) return;
    // What the step's schedule call gave (asking the schedule again could give another value).
    if (stepped.length > 0) this.#lastLr = this.#core.groups[this.#core.tensor(stepped[0]!.name).group]!.lastLr;
    // tfjs-backend-wasm copies a new tensor's values into its heap at once; other backends may
    // keep the array itself (cpu for ever, webgl until upload), so they get a copy of ours.
    const copies = COPYING_BACKENDS.has(engine().backendName);
    for (const { name, variable } of stepped) {
      const seen = this.#seen.get(name)!;
      const params = this.#core.tensor(name).params;
      const updated = tensor(copies ? params : params.slice(), seen.shape as number[], 'float32');
      variable.assign(updated);
      updated.dispose();
      seen.dataId = variable.dataId;
    }
  }

  #checkGradients(who: string, given: unknown): { name: string; variable: Variable; gradient: Tensor }[] {
    let entries: [string, unknown][];
    if (Array.isArray(given)) {
      entries = Array.from(given as unknown[], (entry, i) => {
        if (typeof entry !== 'object' || entry === null) typeError(who, `variableGradients[${i}]`, 'a { name, tensor } object', entry);
        const { name, tensor: gradient } = entry as { name?: unknown; tensor?: unknown };
        if (typeof name !== 'string') typeError(who, `variableGradients[${i}].name`, 'a variable name', name);
        return [name, gradient];
      });
    } else if (typeof given === 'object' && given !== null) {
      entries = Object.entries(given);
    } else {
      return typeError(who, 'variableGradients', 'a { name: gradient } map or an array of { name, tensor }', given);
    }
    const registered = engine().registeredVariables;
    const names = new Set<string>();
    const stepped: { name: string; variable: Variable; gradient: Tensor }[] = [];
    for (const [name, gradient] of entries) {
      if (names.has(name)) rangeError(who, 'variableGradients', 'naming each variable once', `${JSON.stringify(name)} twice`);
      names.add(name);
      if (gradient === undefined || gradient === null) continue; // no gradient this step: skipped, as torch skips grad = None
      const variable = Object.hasOwn(registered, name) ? registered[name] : undefined;
      if (variable === undefined) rangeError(who, `the gradient for ${JSON.stringify(name)}`, 'for a variable registered with tfjs', 'no such variable');
      const g = gradient as Tensor;
      if (typeof g.dataSync !== 'function' || !Array.isArray(g.shape)) typeError(who, `the gradient for ${JSON.stringify(name)}`, 'a tf.Tensor', gradient);
      if (g.dtype !== 'float32' || variable.dtype !== 'float32') {
        typeError(who, `the gradient for ${JSON.stringify(name)}`, 'float32, for a float32 variable', `${g.dtype} for a ${variable.dtype} variable`);
      }
      if (!sameShape(g.shape, variable.shape)) {
        rangeError(who, `the gradient for ${JSON.stringify(name)}`, `of the variable's shape [${variable.shape.join(', ')}]`, `shape [${g.shape.join(', ')}]`);
      }
      const seen = this.#seen.get(name);
      if (seen !== undefined && !sameShape(seen.shape, variable.shape)) {
        rangeError(who, `variable ${JSON.stringify(name)}`, `of the shape it had when it joined, [${seen.shape.join(', ')}]`, `[${variable.shape.join(', ')}]`);
      }
      stepped.push({ name, variable, gradient: g });
    }
    return stepped;
  }

  /** Adds variables met for the first time, with any state setWeights left for them. */
  #join(who: string, variables: readonly Variable[]): void {
    const resumed = new Map<string, SavedVariable>();
    for (const v of variables) {
      const key = matchName(who, v.name, this.#pending.keys());
      const saved = key === undefined ? undefined : this.#pending.get(key)!;
      if (saved?.shape !== undefined && !sameShape(saved.shape, v.shape)) {
        rangeError(who, `the state set for ${JSON.stringify(v.name)}`, `of the variable's shape [${v.shape.join(', ')}]`, `[${saved.shape.join(', ')}]`);
      }
      if (saved !== undefined) resumed.set(v.name, saved);
    }
    this.#core.addParamGroup({
      tensors: variables.map((v) => ({ name: v.name, init: valuesOf(v) })),
      lr: this.#learningRate,
      weightDecay: this.#weightDecay,
      schedule: this.#schedule,
    });
    for (const v of variables) this.#seen.set(v.name, { shape: v.shape.slice(), dataId: v.dataId });
    if (resumed.size > 0) {
      this.#load([...resumed].map(([name, saved]) => ({ ...saved, name })), this.#core.stepCount);
      for (const saved of resumed.values()) this.#pending.delete(saved.name);
    }
  }

  /** Writes saved state into the named tensors and sets the step count, all or nothing. */
  #load(saved: readonly SavedVariable[], stepCount: number): void {
    const dict = this.#core.stateDict({ includeParams: false });
    const byName = new Map(saved.map((s) => [s.name, s]));
    this.#core.loadStateDict({
      ...dict,
      stepCount,
      tensors: dict.tensors.map((t) => {
        const s = byName.get(t.name);
        return s === undefined ? t : { name: t.name, size: t.size, step: s.step, ...s.arrays };
      }),
    });
  }

  /**
   * `iter`, then each slot's arrays (tfjs's Adam layout: every m, then every v; see weights.ts),
   * then the step counts that differ from iter. As with tfjs's Adam the tensors are the
   * optimizer's own variables (do not dispose them): each call refreshes them to the state as it
   * is, and dispose() frees them, so saving a model every epoch holds one copy, not one per save.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    this.#assertAlive('getWeights()');
    const iterations = this.#core.stepCount;
    const held = this.#core.tensors.map((t) => ({ name: t.name, shape: this.#seen.get(t.name)!.shape, step: t.stepCount, arrays: t.state }));
    const all = [...held, ...[...this.#pending.values()].map((s) => ({ ...s, arrays: s.arrays as Readonly<Record<string, Float32Array | undefined>> }))];
    const out: NamedTensor[] = [{ name: 'iter', tensor: this.#export('iter', scalar(iterations, 'int32')) }];
    for (const slot of this.#family.slots) {
      for (const v of all) {
        const values = v.arrays[slot.state];
        if (values === undefined) continue;
        const name = `${v.name}/${slot.suffix}`;
        out.push({ name, tensor: this.#export(name, tensor(values.slice(), (v.shape ?? [values.length]) as number[], 'float32')) });
      }
    }
    for (const v of all) {
      if (v.step !== iterations) out.push({ name: `${v.name}/step`, tensor: this.#export(`${v.name}/step`, scalar(v.step, 'int32')) });
    }
    return out;
  }

  /** The optimizer's variable for weight `name`, now holding `value` (which it takes over). */
  #export(name: string, value: Tensor): Variable {
    let held = this.#exported.get(name);
    if (held === undefined || held.isDisposed || !sameShape(held.shape, value.shape)) {
      held?.dispose();
      held = variable(value, false);
      this.#exported.set(name, held);
    } else {
      held.assign(value);
    }
    value.dispose();
    return held;
  }

  /**
   * Replaces the whole state with a weight list (getWeights' or tfjs Adam's layout), checked
   * first: variables already met take theirs now (every one must be in the list); the others'
   * wait until the variable first gets a gradient, matched by name (see names.ts).
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const who = `${this.#family.name}.setWeights`;
    this.#assertAlive('setWeights()');
    const slots = this.#family.slotsFor(this.#core.defaults);
    const { iterations, variables } = await readWeights(who, weightValues, slots, this.#family.slots);
    const held = new Map(this.#core.tensors.map((t) => [t.name, t]));
    const now: SavedVariable[] = [];
    const later = new Map<string, SavedVariable>();
    for (const saved of variables) {
      const name = matchName(who, saved.name, held.keys());
      if (name === undefined) {
        later.set(saved.name, saved);
        continue;
      }
      const size = held.get(name)!.size;
      const length = Object.values(saved.arrays)[0]?.length ?? size;
      if (length !== size) rangeError(who, `the state of ${JSON.stringify(saved.name)}`, `${size} values, as variable ${JSON.stringify(name)} has`, length);
      now.push({ ...saved, name });
      held.delete(name);
    }
    if (held.size > 0) {
      rangeError(who, 'weights', 'to hold the state of every variable this optimizer has met', `none for ${[...held.keys()].map((n) => JSON.stringify(n)).join(', ')}`);
    }
    this.#load(now, iterations);
    this.#pending = later;
    this.#lastLr = undefined;
  }

  /**
   * The configuration tfjs saves with a model: every hyperparameter under this optimizer's option
   * names, exclusions as { name, regexpFlags? }, a schedule as `schedules.toJSON` describes it
   * ('custom' for a hand-written function), and the backend and threads asked for.
   */
  override getConfig(): Record<string, never> {
    const core = this.#core;
    const config: Record<string, unknown> = {
      ...tfjsNames(this.#family, core.defaults),
      learningRate: this.#learningRate,
      weightDecay: this.#weightDecay,
      excludeFromWeightDecay: savedExclusions(this.#exclusions),
      ...(this.#schedule === undefined && !this.#scheduleMissing ? {} : { schedule: this.#scheduleConfig() }),
      ...(core.clipGradNorm === undefined ? {} : { clipGradNorm: core.clipGradNorm }),
      nonFinite: core.nonFinite,
      ...this.#runtime,
    };
    return config as Record<string, never>;
  }

  #scheduleConfig(): unknown {
    return this.#schedule === undefined ? 'custom' : (schedules.toJSON(this.#schedule) ?? 'custom');
  }

  /** Releases the optimizer's memory and the variables getWeights() returned. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const v of this.#exported.values()) v.dispose();
    this.#exported.clear();
    this.#core.dispose();
  }
}
