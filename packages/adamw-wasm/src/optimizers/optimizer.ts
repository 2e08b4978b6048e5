/**
 * The optimizer machinery every family shares: groups of named tensors in arenas of kernel
 * memory, stepping them (step.ts), adding groups, and state as plain data or bytes
 * (checkpoint.ts). Families (family.ts) supply only hyperparameters and per-step scalars;
 * nothing here touches WebAssembly.
 *
 * One rule for overlapping calls: while a step (or addParamGroup) is in flight, every other call
 * that would read or change the optimizer's state throws, naming the call in flight. Nothing
 * queues: a second stepAsync() without `await` is almost always a bug, and saying so beats
 * guessing which order was meant.
 */
import type { BackendChoice, BackendName, Kernel } from '../kernels/kernel.js';
import { assertInitialized, createKernel, init, resolveBackend, resolveThreads } from '../kernels/select.js';
import { assertFits, layoutArena, packArenas, type GroupShape } from '../memory/arena.js';
import type { Schedule } from '../schedules/index.js';
import { readFileBytes, writeFileAtomically } from '../state/file.js';
import { decodeState, encodeState } from '../state/index.js';
import { fromSafetensors, toSafetensors } from '../state/safetensors.js';
import { checkBoolean, checkKnownKeys, checkPlainObject, checkSchedule, typeError } from '../validate.js';
import {
  checkStateDict,
  fromOptimizerState,
  stateDictOf,
  toOptimizerState,
  type LoadTarget,
  type StateDict,
  type StateToLoad,
} from './checkpoint.js';
import type { CommonHyper, Family } from './family.js';
import { freezeHyper } from './fields.js';
import { GroupCore, ParamGroup, Tensor, TensorCore, type Group, type GroupOwner, type StateViews } from './param-group.js';
import { planDefaults, planGroup, planGroups, planOptions, type GlobalOptions, type PlannedGroup, type PlannedOptions } from './plan.js';
import { checkShapesMatch, readFailure, safetensorsToStateDict, stateDictToSafetensors, type SafetensorsTarget } from './safetensors-state.js';
import { runAsync, runSync, stepPlan, type StepResult } from './step.js';

export type { StepResult } from './step.js';

/**
 * One tensor of a group: its name, and its size (zeros), initial values or shape (any of them
 * together if they agree). The shape is not used by the step, which sees a flat array; it is
 * reported as `tensor.shape` and written to safetensors files, so that PyTorch gets its tensors
 * back in their shapes.
 */
export type TensorSpec = { readonly name: string; readonly shape?: readonly number[] } & (
  | { readonly size: number; readonly init?: Float32Array }
  | { readonly init: Float32Array; readonly size?: number }
  | { readonly shape: readonly number[]; readonly size?: number; readonly init?: Float32Array }
);

/**
 * A parameter group: named tensors sharing hyperparameters, or one tensor given by its size
 * (zeros) or initial values (named `groups[i]`), and optional overrides.
 */
export type GroupSpec<H, P extends string = never> = { readonly [K in keyof H]?: H[K] } & {
  /** The group's tensors; names are unique across the optimizer. */
  readonly tensors?: readonly TensorSpec[];
  /** Number of parameters of a one-tensor group; it starts at zero. */
  readonly size?: number;
  /** Initial values of a one-tensor group, copied into the optimizer's memory (the array is not kept). */
  readonly init?: Float32Array;
  /** This group's preset (overrides the optimizer's). */
  readonly preset?: P;
};

/** Options of `fromState` / `fromStateDict` / `fromSafetensors`. */
export interface RestoreOptions<H extends CommonHyper> {
  readonly backend?: BackendChoice;
  readonly threads?: 'auto' | number;
  /**
   * The schedules the state was saved with (functions cannot be saved): one function for every
   * group saved with a schedule, or one entry per group (undefined for groups saved without).
   */
  readonly schedule?: H['schedule'] | readonly H['schedule'][];
}

export interface SaveStateOptions {
  /** Include the parameters (default true); without them the state holds optimizer state only. */
  readonly includeParams?: boolean;
}

/** Options of `exportSafetensors`. */
export interface ExportSafetensorsOptions {
  /**
   * Also write the parameters, as `params.<name>` (default false: like PyTorch's optimizer
   * `state_dict()`, the file then holds optimizer state only, and the model is saved apart).
   */
  readonly includeParams?: boolean;
}

/** Options of `step()` / `stepAsync()`. */
export interface StepOptions {
  /**
   * Update only these tensors (by name), as PyTorch skips parameters whose `.grad` is None:
   * the others are not decayed, their moments and step counts do not move, and the guard and
   * clipping consider only these. Default: every tensor.
   */
  readonly tensors?: readonly string[];
}

/** Upper bound on a kernel's static data, stacks and control block, for the fit check before instantiation. */
const STATIC_BYTES_BOUND = 8 << 20;


export abstract class Optimizer<H extends CommonHyper, S extends StateViews, Scalars> {
  readonly #family: Family<H, Scalars>;
  readonly #backend: BackendName;
  readonly #groupCores: GroupCore<H, S>[] = [];
  /** Every tensor in order, and by name. */
  readonly #tensorCores: TensorCore<H, S>[] = [];
  readonly #byName = new Map<string, TensorCore<H, S>>();
  /** What callers see: frozen arrays of frozen facades, replaced when a group is added. */
  #groups: readonly Group<H, S>[] = Object.freeze([]);
  #tensors: readonly Tensor<H, S>[] = Object.freeze([]);
  #facades = new Map<string, Tensor<H, S>>();
  #kernels: Kernel[] = [];
  #threads = 1;
  #options: PlannedOptions<H>;
  #defaults: H;
  #stepCount = 0;
  /** The call in flight, if any. */
  #busy: string | undefined;
  #disposed = false;
  /** Set when a step failed after it had started writing: the state is partly updated. */
  #broken: Error | undefined;
  readonly #owner: GroupOwner<H>;

  /**
   * Validates everything, then lays the groups out in one memory, synchronously: the
   * WebAssembly modules must have been compiled (`await init()`, which `create` does); worker
   * threads start at once. Without groups there is no memory until `addParamGroup`, and the
   * options must form a valid group themselves, since that is what later groups inherit.
   * @internal
   */
  protected constructor(family: Family<H, Scalars>, groups: unknown, options: unknown) {
    this.#family = family;
    const planned = planOptions(family, options);
    const groupPlans = planGroups(family, planned, groups);
    this.#backend = resolveBackend(planned.global.backend, family.name);
    assertInitialized(this.#backend, family.name);
    assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(family, groupPlans)), family.name, this.#backend);
    this.#options = planned;
    this.#defaults = freezeHyper(planDefaults(family, planned, groupPlans.length === 0));
    this.#owner = {
      family,
      assertIdle: (method) => this.#assertIdle(method),
      assertAlive: (what) => this.#assertAlive(what, 'read'),
      stepCount: () => this.#stepCount,
      exclusive: (method, body) => this.#exclusive(method, body),
    };
    // No groups yet (an integration adding them as it meets them): no memory until the first.
    if (groupPlans.length > 0) this.#addArena(groupPlans);
    Object.freeze(this);
  }

  /**
   * What an async build awaits before constructing: everything validated first (nothing is
   * compiled or started for bad input), then init() and the workers the first memory's threads need.
   * @internal
   */
  protected static async prepare<H extends CommonHyper, Scalars>(family: Family<H, Scalars>, groups: unknown, options: unknown): Promise<void> {
    const planned = planOptions(family, options);
    const groupPlans = planGroups(family, planned, groups);
    const backend = resolveBackend(planned.global.backend, family.name);
    assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(family, groupPlans)), family.name, backend);
    await init();
  }

  /**
   * Waits until every worker of the optimizer's threaded memories runs, so that an async build
   * reports a worker that cannot start; on failure the optimizer is disposed.
   * @internal
   */
  protected static async started<T>(optimizer: T): Promise<T> {
    const self = optimizer as unknown as Optimizer<CommonHyper, StateViews, unknown>;
    try {
      await Promise.all(self.#kernels.map((k) => k.whenStarted?.()));
    } catch (error) {
      self.dispose();
      throw error;
    }
    return optimizer;
  }

  /** Creates a kernel for `planned` (one memory) and adds them as groups; on failure nothing is left behind. */
  #addArena(planned: readonly PlannedGroup<H>[]): void {
    const { threads: choice } = this.#options.global;
    const threads = resolveThreads(choice, this.#backend, totalLength(planned), this.#family.name);
    const kernel = createKernel(this.#backend, threads, this.#family.name);
    try {
      const layout = layoutArena(kernel.firstFreeByte, shapesOf(this.#family, planned));
      assertFits(layout, this.#family.name, this.#backend);
      const buffer = kernel.reserve(layout.endByte);
      let region = 0;
      const groups = planned.map((g, i) => {
        const group = new GroupCore<H, S>(this.#groupCores.length + i, g.hyper);
        for (const t of g.tensors) {
          const tensor = new TensorCore<H, S>(t.name, group, kernel, layout.groups[region++]!, buffer, t.shape);
          if (t.init !== undefined) tensor.views!.params.set(t.init);
          group.tensors.push(tensor);
        }
        return group;
      });
      this.#groupCores.push(...groups);
      for (const group of groups) for (const tensor of group.tensors) (this.#tensorCores.push(tensor), this.#byName.set(tensor.name, tensor));
      this.#kernels.push(kernel);
      if (this.#kernels.length === 1) this.#threads = kernel.threads;
      this.#tensors = Object.freeze(this.#tensorCores.map((t) => new Tensor(t, this.#owner)));
      this.#facades = new Map(this.#tensors.map((t) => [t.name, t]));
      this.#groups = Object.freeze(
        this.#groupCores.map((g) => new ParamGroup(g, this.#owner, g.tensors.map((t) => this.#facades.get(t.name)!)) as Group<H, S>),
      );
    } catch (error) {
      kernel.dispose();
      throw error;
    }
  }

  /** The groups in order: a frozen array; each group's hyperparameters and tensors. */
  get groups(): readonly Group<H, S>[] {
    return this.#groups;
  }

  /** Every tensor, group by group: a frozen array. */
  get tensors(): readonly Tensor<H, S>[] {
    return this.#tensors;
  }

  /** What `addParamGroup` fills in for hyperparameters a group does not give (options, preset, family defaults): frozen, like torch's `optimizer.defaults`. */
  get defaults(): H {
    return this.#defaults;
  }

  /** The tensor named `name` (its views, step count and hyperparameters). */
  tensor(name: string): Tensor<H, S> {
    const tensor = typeof name === 'string' ? this.#facades.get(name) : undefined;
    if (tensor === undefined) {
      if (typeof name !== 'string') typeError(this.#family.name, 'tensor(name): name', 'a string', name);
      const known = this.#tensorCores.length <= 10 ? `; its tensors are ${this.#tensorCores.map((t) => JSON.stringify(t.name)).join(', ')}` : '';
      throw new RangeError(`${this.#family.name}: tensor(name): no tensor named ${JSON.stringify(name)}${known}`);
    }
    return tensor;
  }

  /** Completed `step()` calls; schedules see this count. Read-only: loadState() restores it. */
  get stepCount(): number {
    return this.#stepCount;
  }

  set stepCount(_: number) {
    throw new TypeError(`${this.#family.name}: stepCount is read-only (it counts completed steps; loadState() restores it)`);
  }

  /** What actually runs the step. */
  get backend(): BackendName {
    return this.#backend;
  }

  /** Threads stepping the groups given to `create` (1 unless threads are used). */
  get threads(): number {
    return this.#threads;
  }

  /** Gradient clipping's max norm, or undefined. */
  get clipGradNorm(): number | undefined {
    return this.#options.global.clipGradNorm;
  }

  get nonFinite(): GlobalOptions['nonFinite'] {
    return this.#options.global.nonFinite;
  }

  #assertAlive(method: string, verb = 'called'): void {
    if (this.#disposed) throw new Error(`${this.#family.name}: ${method} ${verb} after dispose()`);
  }

  /** Throws unless a call may read or change the optimizer now. */
  #assertIdle(method: string): void {
    this.#assertAlive(method);
    if (this.#broken) throw new Error(`${this.#family.name}: ${method} refused: ${this.#broken.message}`, { cause: this.#broken });
    if (this.#busy !== undefined) {
      throw new Error(`${this.#family.name}: ${method} called while ${this.#busy} is in flight; await it first (one call at a time)`);
    }
  }

  /** Runs `body` as the call in flight. */
  #exclusive<T>(method: string, body: () => T): T {
    this.#assertIdle(method);
    this.#busy = method;
    try {
      return body();
    } finally {
      this.#busy = undefined;
    }
  }

  async #exclusiveAsync<T>(method: string, body: () => Promise<T>): Promise<T> {
    this.#assertIdle(method);
    this.#busy = method;
    try {
      return await body();
    } finally {
      this.#busy = undefined;
    }
  }

  /**
   * Adds a group with the optimizer's options as defaults, synchronously. It gets memory of its
   * own, so the views of existing tensors stay valid; with threads, its workers join once booted.
   */
  addParamGroup(spec: GroupSpec<H, string>): Group<H, S> {
    return this.#exclusive('addParamGroup()', () => {
      const planned = planGroup(this.#family, this.#options, spec, this.#groupCores.length, new Set(this.#byName.keys()));
      assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(this.#family, [planned])), this.#family.name, this.#backend);
      this.#addArena([planned]);
      return this.#groups[this.#groups.length - 1]!;
    });
  }

  /**
   * Applies one update to every tensor (or those named in `options.tensors`) from the gradients
   * in their `grads` views. Checks (non-finite gradients, schedule output, float32 range of the
   * step's scalars) happen before anything is written. With worker threads on a browser main
   * thread, which must not block, use `stepAsync()`.
   */
  step(options?: StepOptions): StepResult {
    return this.#exclusive('step()', () => {
      if (this.#kernels.some((k) => !k.canBlock)) {
        throw new Error(`${this.#family.name}: step() would block this thread (a browser main thread with worker threads); use await opt.stepAsync()`);
      }
      return this.#advance(runSync(this.#plan('step', options)));
    });
  }

  /**
   * `step()` that waits for worker threads without blocking; works everywhere. Without worker
   * threads it runs in one go, like step(), so no other code runs in between. With them, other
   * code runs while the workers compute: until the promise settles the optimizer owns the
   * views, and gradients written meanwhile race with the step (the guard has already run).
   */
  stepAsync(options?: StepOptions): Promise<StepResult> {
    return this.#exclusiveAsync('stepAsync()', async () => {
      const plan = this.#plan('stepAsync', options);
      return this.#advance(this.#kernels.every((k) => k.threads === 1) ? runSync(plan) : await runAsync(plan));
    });
  }

  #advance(result: StepResult): StepResult {
    if (!result.skipped) this.#stepCount += 1;
    return result;
  }

  #plan(method: string, options: StepOptions | undefined) {
    return stepPlan({
      family: this.#family,
      tensors: this.#selectTensors(`${this.#family.name}.${method}`, options),
      kernels: this.#kernels,
      stepCount: this.#stepCount,
      global: this.#options.global,
      broke: (why) => {
        this.#broken = new Error(
          `a step failed part-way (${why.message}); parameters and state may be partly updated, so the optimizer refuses every call ` +
            'but dispose(): recreate it from a checkpoint',
          { cause: why },
        );
        return new Error(`${this.#family.name}: ${this.#broken.message}`, { cause: why });
      },
    });
  }

  /** The tensors a step updates, in the optimizer's order: all, or those `options.tensors` names. */
  #selectTensors(who: string, options: StepOptions | undefined): TensorCore<H, S>[] {
    if (options === undefined) return this.#tensorCores;
    const opts = checkPlainObject(who, 'options', options);
    checkKnownKeys(who, 'options', opts, ['tensors']);
    if (opts.tensors === undefined) return this.#tensorCores;
    if (!Array.isArray(opts.tensors)) typeError(who, 'options.tensors', 'an array of tensor names', opts.tensors);
    const chosen = new Set<string>();
    const unknown: string[] = [];
    Array.from(opts.tensors as unknown[], (name, k) => {
      if (typeof name !== 'string') typeError(who, `options.tensors[${k}]`, 'a tensor name (a string)', name);
      if (chosen.has(name)) throw new TypeError(`${who}: options.tensors[${k}] repeats ${JSON.stringify(name)}`);
      if (!this.#byName.has(name)) unknown.push(JSON.stringify(name));
      chosen.add(name);
    });
    if (unknown.length > 0) throw new RangeError(`${who}: options.tensors names no tensor of this optimizer: ${unknown.join(', ')}`);
    return this.#tensorCores.filter((t) => chosen.has(t.name));
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.#assertIdle('zeroGrad()');
    for (const tensor of this.#tensorCores) tensor.views!.grads.fill(0);
  }

  /**
   * Everything needed to resume bit-identically, as plain data: the format version, the
   * optimizer kind, options, step counts, each group's hyperparameters and tensor names, and
   * each tensor's arrays as copies (with the parameters unless `includeParams` is false).
   */
  stateDict(options: SaveStateOptions = {}): StateDict {
    return this.#dict('stateDict', options, true);
  }

  #dict(method: string, options: SaveStateOptions, copy: boolean, includeParamsByDefault = true): StateDict {
    this.#assertIdle(`${method}()`);
    const who = `${this.#family.name}.${method}`;
    checkKnownKeys(who, 'options', checkPlainObject(who, 'options', options), ['includeParams']);
    const includeParams = options.includeParams === undefined ? includeParamsByDefault : checkBoolean(who, 'options.includeParams', options.includeParams);
    const { clipGradNorm, nonFinite } = this.#options.global;
    const groups = this.#groupCores.map((g) => ({
      hyper: g.hyper,
      tensors: g.tensors.map((t) => ({ name: t.name, stepsTaken: t.stepsTaken, params: t.views!.params, state: t.views!.state })),
    }));
    return stateDictOf(this.#family.name, this.#stepCount, { clipGradNorm: clipGradNorm ?? null, nonFinite }, groups, includeParams, copy);
  }

  /**
   * Restores a state dict into this optimizer: tensors are matched by name (in any order), and
   * everything is checked first (kind, names, sizes, groups, hyperparameters, arrays,
   * schedules); on any error the optimizer is untouched.
   */
  loadStateDict(dict: StateDict): void {
    this.#load('loadStateDict()', `${this.#family.name}.loadStateDict`, () => dict);
  }

  #load(method: string, who: string, read: () => unknown): void {
    this.#exclusive(method, () => {
      const target: LoadTarget<H> = {
        groups: this.#groupCores.map((g) => ({ hyper: g.hyper, tensors: g.tensors.map((t) => ({ name: t.name, size: t.regions.length })) })),
        scheduleFor: (k) => this.#groupCores[k]!.hyper.schedule,
      };
      this.#write(checkStateDict(who, this.#family, read(), target));
    });
  }

  /** Writes a checked state into the groups; nothing here can fail. */
  #write(state: StateToLoad<H>): void {
    for (const saved of state.groups) {
      this.#groupCores[saved.into]!.setHyper(saved.hyper);
      // The lr of "the last step" is this object's own last step, which the loaded state replaces.
      this.#groupCores[saved.into]!.lastLr = undefined;
      for (const t of saved.tensors) {
        const core = this.#byName.get(t.name)!;
        const { params, state: views } = core.views!;
        if (t.arrays.params !== undefined) params.set(t.arrays.params);
        for (const [name, view] of Object.entries(views)) view!.set(t.arrays[name as keyof typeof t.arrays]!);
        core.stepsTaken = t.step;
      }
    }
    this.#stepCount = state.stepCount;
    this.#options = { ...this.#options, global: { ...this.#options.global, ...state.global } };
  }

  /**
   * `stateDict()` as bytes in the versioned format of docs/state-format.md (with a CRC-32).
   * Schedules are functions and are not saved: pass the same schedule again when loading.
   */
  saveState(options: SaveStateOptions = {}): Uint8Array {
    return this.#encode('saveState', options);
  }

  #encode(method: string, options: SaveStateOptions): Uint8Array {
    return encodeState(toOptimizerState(this.#dict(method, options, false)), `${this.#family.name}.${method}`);
  }

  /** `loadStateDict` of bytes written by `saveState` (format version 2, or 1 from older releases). */
  loadState(bytes: Uint8Array): void {
    const who = `${this.#family.name}.loadState`;
    this.#load('loadState()', who, () => fromOptimizerState(decodeState(bytes, who)));
  }

  /**
   * The state as a safetensors file laid out as PyTorch's optimizer state (docs/safetensors.md):
   * `state.<name>.step | exp_avg | exp_avg_sq | max_exp_avg_sq | momentum_buffer` in each
   * tensor's shape, PyTorch's `param_groups` and adamw-wasm's own hyperparameters in the
   * metadata, and with `includeParams` the parameters as `params.<name>`. `python/adamw_wasm_torch.py`
   * loads it into torch.optim; `importSafetensors` / `fromSafetensors` read it back bit for bit.
   */
  exportSafetensors(options: ExportSafetensorsOptions = {}): Uint8Array {
    const who = `${this.#family.name}.exportSafetensors`;
    // Schedules are the caller's code: run as the call in flight (a schedule calling back into the
    // optimizer is refused), and before the views are read, so that what is written is one state.
    const nextLr = this.#exclusive('exportSafetensors()', () => this.#groupCores.map((g) => g.nextLr(who, this.#stepCount)));
    const dict = this.#dict('exportSafetensors', options, false, false);
    const shapes = new Map(this.#tensorCores.filter((t) => t.shape !== undefined).map((t) => [t.name, t.shape!]));
    const { tensors, metadata } = stateDictToSafetensors(dict, { shapes, nextLr });
    try {
      return toSafetensors(tensors, metadata);
    } catch (error) {
      // Tensor names are valid here but not every string is valid in safetensors' UTF-8 header (a lone surrogate).
      throw new TypeError(`${who}: the state cannot be written as safetensors: ${(error as Error).message}`, { cause: error });
    }
  }

  /**
   * Loads a safetensors file written by `exportSafetensors` or by PyTorch's side
   * (`save_optimizer_state`), like `loadState`: tensors are matched by name, everything is
   * checked first, and on any error the optimizer is untouched. A tensor given a shape must have
   * that shape in the file. A file without adamw-wasm's own section (PyTorch's names only) keeps
   * this optimizer's clipGradNorm and nonFinite, which PyTorch does not hold as optimizer state.
   */
  importSafetensors(bytes: Uint8Array): void {
    const who = `${this.#family.name}.importSafetensors`;
    this.#load('importSafetensors()', who, () => {
      const { clipGradNorm, nonFinite } = this.#options.global;
      const target: SafetensorsTarget = { options: { clipGradNorm: clipGradNorm ?? null, nonFinite }, sizeOf: (name) => this.#byName.get(name)?.regions.length };
      const { dict, shapes } = readSafetensorsState(who, this.#family, bytes, target);
      checkShapesMatch(who, shapes, (name) => this.#byName.get(name)?.shape);
      return dict;
    });
  }

  /**
   * Creates an optimizer shaped like a state dict and writes it in, synchronously (after init,
   * with the workers its threads need). The groups of the first memory are built through the
   * constructor; a model that was split across memories (addParamGroup) is laid out the same way.
   * @internal
   */
  protected static restore<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    dict: unknown,
    options: unknown,
    make: (groups: unknown, options: unknown) => T,
    who: string,
    shapes: ReadonlyMap<string, readonly number[]> = new Map(),
  ): T {
    const { checked, arenas, specs, global } = planRestore(family, dict, options, who, shapes);
    const [first, end] = arenas[0] ?? [0, 0];
    const optimizer = make(specs.slice(first, end), global);
    try {
      const taken = new Set(optimizer.#byName.keys());
      for (const [from, to] of arenas.slice(1)) {
        optimizer.#addArena(specs.slice(from, to).map((spec, k) => planGroup(family, optimizer.#options, spec, from + k, taken)));
      }
    } catch (error) {
      optimizer.dispose();
      throw error;
    }
    optimizer.#write(checked);
    return optimizer;
  }

  /** `restore` after init() and the workers its memories need: the async paths (fromState, fromStateFile, fromSafetensors). */
  protected static async restoreAsync<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    read: (who: string) => { readonly dict: unknown; readonly shapes?: ReadonlyMap<string, readonly number[]> },
    options: unknown,
    make: (groups: unknown, options: unknown) => T,
    who: string,
  ): Promise<T> {
    const { dict, shapes } = read(who);
    planRestore(family, dict, options, who, shapes);
    await init();
    return Optimizer.started(Optimizer.restore(family, dict, options, make, who, shapes));
  }

  /** @internal `restoreAsync` from bytes. */
  protected static restoreBytes<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    bytes: Uint8Array,
    options: unknown,
    make: (groups: unknown, options: unknown) => T,
    who = `${family.name}.fromState`,
  ): Promise<T> {
    return Optimizer.restoreAsync(family, (w) => ({ dict: fromOptimizerState(decodeState(bytes, w)) }), options, make, who);
  }

  /** @internal `restoreAsync` from a safetensors file; its tensors get the file's shapes. */
  protected static restoreSafetensors<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    bytes: Uint8Array,
    options: unknown,
    make: (groups: unknown, options: unknown) => T,
  ): Promise<T> {
    return Optimizer.restoreAsync(family, (who) => readSafetensorsState(who, family, bytes, {}), options, make, `${family.name}.fromSafetensors`);
  }

  /** @internal `restoreAsync` from a file; errors name the file. */
  protected static async restoreFile<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    path: string | URL,
    options: unknown,
    make: (groups: unknown, options: unknown) => T,
  ): Promise<T> {
    const who = `${family.name}.fromStateFile`;
    const bytes = await readFileBytes(who, path);
    return Optimizer.restoreBytes(family, bytes, options, make, `${who}: ${displayPath(path)}`);
  }

  /**
   * `saveState()` written to a file so that a crash at any moment leaves the previous file or
   * the new one, whole (temporary file, fsync, rename). Node and Deno.
   */
  async saveStateToFile(path: string | URL, options: SaveStateOptions = {}): Promise<void> {
    const bytes = this.#encode('saveStateToFile', options);
    await writeFileAtomically(`${this.#family.name}.saveStateToFile`, path, bytes);
  }

  /** `loadState()` from a file written by `saveStateToFile`; errors name the file. */
  async loadStateFromFile(path: string | URL): Promise<void> {
    const who = `${this.#family.name}.loadStateFromFile`;
    this.#assertIdle('loadStateFromFile()');
    const bytes = await readFileBytes(who, path);
    const named = `${who}: ${displayPath(path)}`;
    this.#load('loadStateFromFile()', named, () => fromOptimizerState(decodeState(bytes, named)));
  }

  /**
   * Releases the memory, even while the optimizer or its groups are still referenced: views
   * over non-shared memory are detached (length 0), and every later call throws.
   */
  dispose(): void {
    if (this.#disposed) return;
    if (this.#busy !== undefined) {
      throw new Error(`${this.#family.name}: dispose() called while ${this.#busy} is in flight; await it first (one call at a time)`);
    }
    this.#disposed = true;
    for (const tensor of this.#tensorCores) tensor.views = undefined;
    for (const kernel of this.#kernels) kernel.dispose();
    this.#kernels = [];
  }
}

const displayPath = (path: string | URL): string => (typeof path === 'string' ? path : path.href);

/** A safetensors file's state dict (unchecked) and shapes; the codec's refusals are restated as `who`'s. */
function readSafetensorsState<H extends CommonHyper>(who: string, family: Family<H, unknown>, bytes: Uint8Array, target: SafetensorsTarget) {
  let file;
  try {
    file = fromSafetensors(bytes);
  } catch (error) {
    throw readFailure(who, error);
  }
  return safetensorsToStateDict(file, who, family, target);
}

const totalLength = (groups: readonly PlannedGroup<unknown>[]): number => groups.reduce((n, g) => n + g.tensors.reduce((m, t) => m + t.length, 0), 0);

/**
 * Everything a restore needs, checked with nothing allocated: the dict, each group as a spec for
 * the constructor path, how groups split into memories, and the options to build with.
 */
function planRestore<H extends CommonHyper>(
  family: Family<H, unknown>,
  dict: unknown,
  options: unknown,
  who: string,
  shapes: ReadonlyMap<string, readonly number[]> = new Map(),
) {
  const opts = checkPlainObject(who, 'options', options ?? {});
  checkKnownKeys(who, 'options', opts, ['backend', 'threads', 'schedule']);
  const groupsInDict = (dict as { groups?: unknown } | null | undefined)?.groups;
  const scheduleFor = restoreSchedules(who, opts.schedule, Array.isArray(groupsInDict) ? groupsInDict : []);
  const checked = checkStateDict(who, family, dict, { scheduleFor });
  const planned = planOptions(family, { backend: opts.backend, threads: opts.threads }, who);
  const backend = resolveBackend(planned.global.backend, who);
  const groupPlans: PlannedGroup<H>[] = checked.groups.map((g) => ({ hyper: g.hyper, tensors: g.tensors.map((t) => ({ name: t.name, length: t.size, init: undefined, shape: undefined })) }));
  const arenas = packArenas(STATIC_BYTES_BOUND, shapesOf(family, groupPlans), who, backend);
  const specs = checked.groups.map((g) => ({
    ...g.hyper,
    tensors: g.tensors.map((t) => ({ name: t.name, size: t.size, ...(shapes.has(t.name) ? { shape: shapes.get(t.name) } : {}) })),
  }));
  const { clipGradNorm, nonFinite } = checked.global;
  const global = { backend: opts.backend, threads: opts.threads, ...(clipGradNorm === undefined ? {} : { clipGradNorm }), nonFinite };
  return { checked, arenas, specs, global };
}

/** Each group's tensors as arena shapes. */
function shapesOf<H extends CommonHyper>(family: Family<H, unknown>, planned: readonly PlannedGroup<H>[]): GroupShape[][] {
  return planned.map((g) => g.tensors.map((t) => ({ length: t.length, state: family.state(g.hyper) })));
}

/**
 * fromState's `schedule` option: one function for every group saved with a schedule, or one
 * entry per group. A function that no group would use is refused: it means the state is not
 * the run the caller thinks it is.
 */
function restoreSchedules(who: string, value: unknown, groups: readonly unknown[]): LoadTarget<never>['scheduleFor'] {
  if (value === undefined) return () => undefined;
  if (typeof value === 'function') {
    const schedule = checkSchedule<Schedule>(who, 'options.schedule', value);
    const scheduled = (g: unknown) => (g as { hyperparameters?: { scheduled?: unknown } })?.hyperparameters?.scheduled === true;
    if (!groups.some(scheduled)) throw new TypeError(`${who}: options.schedule was given, but no group of the state was saved with a schedule`);
    return (_, isScheduled) => (isScheduled ? schedule : undefined);
  }
  if (!Array.isArray(value) || value.length !== groups.length) {
    typeError(who, 'options.schedule', `a schedule function, or an array with one entry (a function or undefined) per group (${groups.length})`, value);
  }
  const list = Array.from(value as unknown[], (s, k) => (s === undefined ? undefined : checkSchedule<Schedule>(who, `options.schedule[${k}]`, s)));
  return (k) => list[k];
}

