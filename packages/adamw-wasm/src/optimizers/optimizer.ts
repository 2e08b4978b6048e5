/**
 * The optimizer machinery every family shares: groups in arenas of kernel memory, the step
 * (schedule, guard, clipping, fused kernel call per group), adding groups, save and load.
 * Families (family.ts) supply only hyperparameters and per-step scalars; nothing here touches
 * WebAssembly.
 *
 * One rule for overlapping calls: while a step (or addParamGroup) is in flight, every other call
 * that would read or change the optimizer's state throws, naming the call in flight. Nothing
 * queues: a second stepAsync() without `await` is almost always a bug, and saying so beats
 * guessing which order was meant.
 */
import type { BackendChoice, BackendName, Job, Kernel } from '../kernels/kernel.js';
import { createKernel, resolveBackend, resolveThreads } from '../kernels/select.js';
import { assertFits, layoutArena, packArenas, type GroupShape } from '../memory/arena.js';
import type { Schedule } from '../schedules/index.js';
import { decodeState, encodeState, type OptimizerState } from '../state/index.js';
import { readFileBytes, writeFileAtomically } from '../state/file.js';
import { checkStateToLoad, hyperToJson, writeGroup, type LoadTarget, type StateToLoad } from './checkpoint.js';
import type { CommonHyper, Family, StepContext } from './family.js';
import { clipCoefficient, firstNonFinite, NonFiniteGradientError } from './gradient-check.js';
import { GroupCore, ParamGroup, type Group, type GroupOwner, type StateViews } from './param-group.js';
import { planGroup, planGroups, planOptions, type GlobalOptions, type PlannedGroup, type PlannedOptions } from './plan.js';
import { checkBoolean, checkKnownKeys, checkPlainObject, checkSchedule, show, typeError } from '../validate.js';

/** What `step()` did. */
export interface StepResult {
  /** ‖g‖₂ over all groups before clipping, when clipping is on. */
  readonly gradNorm?: number;
  /** True when `nonFinite: 'skip'` skipped the step (stepCount unchanged). */
  readonly skipped: boolean;
}

/** A parameter group: its size (zeros) or initial values, and optional overrides. */
export type GroupSpec<H, P extends string = never> = { readonly [K in keyof H]?: H[K] } & {
  /** Number of parameters; the group starts at zero. */
  readonly size?: number;
  /** Initial values, copied into the optimizer's memory (the array is not kept). */
  readonly init?: Float32Array;
  /** This group's preset (overrides the optimizer's). */
  readonly preset?: P;
};

/** Options of `fromState`. */
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
  /** Include the parameters (default true); without them the file holds optimizer state only. */
  readonly includeParams?: boolean;
}

/** Upper bound on a kernel's static data, stacks and control block, for the fit check before instantiation. */
const STATIC_BYTES_BOUND = 8 << 20;

/** A step as kernel jobs to wait for, blocking or not: `step` and `stepAsync` share one plan. */
type StepPlan = Generator<Job<unknown>, StepResult, unknown>;

const totalLength = (groups: readonly { length: number }[]): number => groups.reduce((n, g) => n + g.length, 0);

export abstract class Optimizer<H extends CommonHyper, S extends StateViews, Scalars> {
  readonly #family: Family<H, Scalars>;
  readonly #backend: BackendName;
  readonly #cores: GroupCore<H, S>[] = [];
  /** What callers see of the groups: a frozen array, replaced when a group is added. */
  #groups: readonly Group<H, S>[] = Object.freeze([]);
  #kernels: Kernel[] = [];
  #threads = 1;
  #options: PlannedOptions<H>;
  #stepCount = 0;
  /** The call in flight, if any. */
  #busy: string | undefined;
  #disposed = false;
  /** Set when a step failed after it had started writing: the state is partly updated. */
  #broken: Error | undefined;
  readonly #owner: GroupOwner<H>;

  /** @internal */
  protected static async build<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    groups: unknown,
    options: unknown,
    make: (family: Family<H, Scalars>, options: PlannedOptions<H>, backend: BackendName) => T,
  ): Promise<T> {
    const planned = planOptions(family, options);
    const groupPlans = planGroups(family, planned, groups);
    const backend = resolveBackend(planned.global.backend, family.name);
    assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(family, groupPlans)), family.name, backend);
    const optimizer = make(family, planned, backend);
    await optimizer.#addArena(groupPlans);
    return optimizer;
  }

  /** @internal */
  protected constructor(family: Family<H, Scalars>, options: PlannedOptions<H>, backend: BackendName) {
    this.#family = family;
    this.#options = options;
    this.#backend = backend;
    this.#owner = {
      family,
      assertIdle: (method) => this.#assertIdle(method),
      assertAlive: (what) => this.#assertAlive(what, 'read'),
    };
    Object.freeze(this);
  }

  /** Creates a kernel for `planned` (one memory) and adds them as groups; on failure nothing is left behind. */
  async #addArena(planned: readonly PlannedGroup<H>[]): Promise<void> {
    const threads = await resolveThreads(this.#options.global.threads, this.#backend, totalLength(planned), this.#family.name);
    const kernel = await createKernel(this.#backend, threads);
    try {
      const layout = layoutArena(kernel.firstFreeByte, shapesOf(this.#family, planned));
      assertFits(layout, this.#family.name, this.#backend);
      const buffer = kernel.reserve(layout.endByte);
      const cores = planned.map((g, i) => {
        const core = new GroupCore<H, S>(this.#cores.length + i, kernel, layout.groups[i]!, buffer, g.hyper);
        if (g.init !== undefined) core.views!.params.set(g.init);
        return core;
      });
      this.#cores.push(...cores);
      this.#kernels.push(kernel);
      if (this.#kernels.length === 1) this.#threads = kernel.threads;
      this.#groups = Object.freeze(this.#cores.map((core) => new ParamGroup(core, this.#owner) as Group<H, S>));
    } catch (error) {
      kernel.dispose();
      throw error;
    }
  }

  /** The groups in order: a frozen array; each group's views, hyperparameters and step count. */
  get groups(): readonly Group<H, S>[] {
    return this.#groups;
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
   * Adds a group with the optimizer's options as defaults. It gets memory of its own, so the
   * views of existing groups stay valid.
   */
  addParamGroup(spec: GroupSpec<H, string>): Promise<Group<H, S>> {
    return this.#exclusiveAsync('addParamGroup()', async () => {
      const planned = planGroup(this.#family, this.#options, spec, this.#cores.length);
      assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(this.#family, [planned])), this.#family.name, this.#backend);
      await this.#addArena([planned]);
      return this.#groups[this.#groups.length - 1]!;
    });
  }

  /**
   * Applies one update to every group from the gradients in `groups[i].grads`. Checks
   * (non-finite gradients, schedule output, float32 range of the step's scalars) happen before
   * anything is written. With worker threads on a browser main thread, which must not block,
   * use `stepAsync()`.
   */
  step(): StepResult {
    return this.#exclusive('step()', () => {
      if (this.#kernels.some((k) => !k.canBlock)) {
        throw new Error(`${this.#family.name}: step() would block this thread (a browser main thread with worker threads); use await opt.stepAsync()`);
      }
      return this.#runSync();
    });
  }

  /**
   * `step()` that waits for worker threads without blocking; works everywhere. Without worker
   * threads it runs in one go, like step(), so no other code runs in between. With them, other
   * code runs while the workers compute: until the promise settles the optimizer owns the
   * views, and gradients written meanwhile race with the step (the guard has already run).
   */
  stepAsync(): Promise<StepResult> {
    return this.#exclusiveAsync('stepAsync()', async () => {
      if (this.#kernels.every((k) => k.threads === 1)) return this.#runSync();
      const plan = this.#plan();
      let next = plan.next();
      while (!next.done) {
        let result: unknown;
        try {
          result = await next.value.waitAsync();
        } catch (error) {
          next = plan.throw(error);
          continue;
        }
        next = plan.next(result);
      }
      return next.value;
    });
  }

  /** Runs a step's plan, blocking on each job; a job's failure goes back into the plan. */
  #runSync(): StepResult {
    const plan = this.#plan();
    let next = plan.next();
    while (!next.done) {
      let result: unknown;
      try {
        result = next.value.wait();
      } catch (error) {
        next = plan.throw(error);
        continue;
      }
      next = plan.next(result);
    }
    return next.value;
  }

  /**
   * One kernel call of a step, and what its failure means: before the first write the state is
   * intact; once writing began it may be partly updated, and the optimizer refuses everything.
   */
  *#call<T>(start: () => Job<T>, writing: boolean): Generator<Job<unknown>, T, unknown> {
    try {
      return (yield start()) as T;
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      if (!writing) {
        throw new Error(
          `${this.#family.name}: the step failed before writing anything (${why}); parameters and state are intact, ` +
            'so saveState() still works: recreate the optimizer',
          { cause: error },
        );
      }
      this.#broken = new Error(
        `a step failed part-way (${why}); parameters and state may be partly updated, so the optimizer refuses every call ` +
          'but dispose(): recreate it from a checkpoint',
        { cause: error },
      );
      throw new Error(`${this.#family.name}: ${this.#broken.message}`, { cause: error });
    }
  }

  /** Throws, before anything is written, if a kernel can no longer run (a worker failed or stopped). */
  #assertKernelsHealthy(): void {
    for (const kernel of this.#kernels) {
      if (kernel.fault) {
        throw new Error(
          `${this.#family.name}: a worker thread failed earlier (${kernel.fault.message}); parameters and state are intact, ` +
            'so saveState() still works: recreate the optimizer',
          { cause: kernel.fault },
        );
      }
    }
  }

  *#plan(): StepPlan {
    const who = this.#family.name;
    const family = this.#family;
    const groups = this.#cores.slice();
    this.#assertKernelsHealthy();
    const { clipGradNorm, nonFinite } = this.#options.global;
    let gradNorm: number | undefined;
    let finite = true;
    if (clipGradNorm !== undefined) {
      // ‖g‖₂ over all groups: canonical per-group sums of squares in f64, added in group order.
      let total = 0;
      for (const { kernel: k, regions: r } of groups) {
        total += yield* this.#call(() => k.sumSquares(r.grads, r.length), false);
      }
      gradNorm = Math.sqrt(total);
      finite = Number.isFinite(gradNorm);
    } else if (nonFinite !== 'ignore') {
      for (const { kernel: k, regions: r } of groups) {
        finite = yield* this.#call(() => k.allFinite(r.grads, r.length), false);
        if (!finite) break;
      }
    }
    if (!finite && nonFinite !== 'ignore') {
      if (nonFinite === 'skip') return gradNorm === undefined ? { skipped: true } : { gradNorm, skipped: true };
      const { group, index, value } = firstNonFinite(groups.map((g) => g.views!.grads));
      throw new NonFiniteGradientError(who, group, index, value);
    }
    const clipCoef = clipGradNorm === undefined || gradNorm === undefined ? 1 : clipCoefficient(gradNorm, clipGradNorm);
    // Every group's scalars first: a schedule that returns garbage, or scalars that overflow
    // float32, throw before any write.
    const scalars = groups.map((g) => this.#scalars(g, clipCoef));
    // A worker that stopped since the guard ran is refused here, before the first write; one
    // that stops later, between jobs, costs nothing (its slices are taken by the others).
    this.#assertKernelsHealthy();
    for (let k = 0; k < groups.length; k++) {
      const { kernel, regions } = groups[k]!;
      const s = scalars[k]!;
      yield* this.#call(() => family.run(kernel, regions, s), true);
    }
    for (const g of groups) g.stepsTaken += 1;
    this.#stepCount += 1;
    return gradNorm === undefined ? { skipped: false } : { gradNorm, skipped: false };
  }

  #scalars(g: GroupCore<H, S>, clipCoef: number): Scalars {
    const who = this.#family.name;
    const schedule = g.hyper.schedule;
    const eta = schedule === undefined ? 1 : schedule(this.#stepCount);
    if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
      const Kind = typeof eta === 'number' ? RangeError : TypeError;
      throw new Kind(`${who}: groups[${g.index}].schedule returned ${show(eta)} for completed step ${this.#stepCount}; a schedule must return a finite number >= 0`);
    }
    const ctx: StepContext = { step: g.stepsTaken + 1, eta, clipCoef };
    const scalars = this.#family.scalars(g.hyper, ctx);
    for (const [name, value] of Object.entries(scalars as Record<string, unknown>)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new RangeError(
          `${who}: groups[${g.index}]'s hyperparameters give a step scalar that overflows float32 at step ${ctx.step} ` +
            `(${name} = ${value}, with schedule multiplier ${eta}); nothing was changed: lower lr, weightDecay or the schedule`,
        );
      }
    }
    return scalars;
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.#assertIdle('zeroGrad()');
    for (const core of this.#cores) core.views!.grads.fill(0);
  }

  /**
   * Everything needed to resume bit-identically: hyperparameters, step counts, all state and
   * (by default) the parameters, in the versioned format of docs/state-format.md. Schedules
   * are functions and are not saved: pass the same schedule again when loading.
   */
  saveState(options: SaveStateOptions = {}): Uint8Array {
    return this.#save('saveState', options);
  }

  #save(method: string, options: SaveStateOptions): Uint8Array {
    this.#assertIdle(`${method}()`);
    const who = `${this.#family.name}.${method}`;
    checkKnownKeys(who, 'options', checkPlainObject(who, 'options', options), ['includeParams']);
    const includeParams = options.includeParams === undefined ? true : checkBoolean(who, 'options.includeParams', options.includeParams);
    const state: OptimizerState = {
      optimizer: this.#family.name,
      stepCount: this.#stepCount,
      options: { clipGradNorm: this.#options.global.clipGradNorm ?? null, nonFinite: this.#options.global.nonFinite },
      includesParams: includeParams,
      groups: this.#cores.map((g) => ({
        size: g.regions.length,
        stepCount: g.stepsTaken,
        hyperparameters: hyperToJson(g.hyper),
        arrays: { ...(includeParams ? { params: g.views!.params } : {}), ...(g.views!.state as Record<string, Float32Array>) },
      })),
    };
    return encodeState(state, who);
  }

  /**
   * Restores a saved state into this optimizer. Everything is checked first (format,
   * checksum, optimizer kind, group sizes and state arrays, hyperparameters, schedules); on any
   * error the optimizer is untouched.
   */
  loadState(bytes: Uint8Array): void {
    this.#load('loadState()', `${this.#family.name}.loadState`, bytes);
  }

  #load(method: string, who: string, bytes: Uint8Array): void {
    this.#exclusive(method, () => {
      const target: LoadTarget<H> = {
        groups: this.#cores.map((g) => ({ size: g.regions.length, hyper: g.hyper })),
        scheduleFor: (k) => this.#cores[k]!.hyper.schedule,
      };
      this.#write(checkStateToLoad(who, this.#family, decodeState(bytes, who), target));
    });
  }

  /** Writes a checked state into the groups; nothing here can fail. */
  #write(state: StateToLoad<H>): void {
    state.groups.forEach((saved, k) => {
      const core = this.#cores[k]!;
      core.hyper = saved.hyper;
      writeGroup(saved, core.views!.params, core.views!.state);
      core.stepsTaken = saved.stepCount;
    });
    this.#stepCount = state.stepCount;
    this.#options = { ...this.#options, global: { ...this.#options.global, ...state.global } };
  }

  /** @internal Creates an optimizer shaped like a saved state, then writes it in. */
  protected static async restore<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    bytes: Uint8Array,
    options: unknown,
    make: (family: Family<H, Scalars>, options: PlannedOptions<H>, backend: BackendName) => T,
    who = `${family.name}.fromState`,
  ): Promise<T> {
    const opts = checkPlainObject(who, 'options', options ?? {});
    checkKnownKeys(who, 'options', opts, ['backend', 'threads', 'schedule']);
    const state = decodeState(bytes, who);
    const scheduleFor = restoreSchedules(who, opts.schedule, state);
    const checked = checkStateToLoad(who, family, state, { scheduleFor });
    const planned = planOptions(family, { backend: opts.backend, threads: opts.threads }, who);
    const backend = resolveBackend(planned.global.backend, who);
    // A model that was split across memories (addParamGroup) is laid out the same way again.
    const groupPlans: PlannedGroup<H>[] = checked.groups.map((g) => ({ length: g.size, init: undefined, hyper: g.hyper }));
    const arenas = packArenas(STATIC_BYTES_BOUND, shapesOf(family, groupPlans), who, backend);
    const optimizer = make(family, planned, backend);
    try {
      for (const [first, end] of arenas) await optimizer.#addArena(groupPlans.slice(first, end));
    } catch (error) {
      optimizer.dispose();
      throw error;
    }
    optimizer.#write(checked);
    return optimizer;
  }

  /** @internal `restore` from a file; errors name the file. */
  protected static async restoreFile<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    path: string | URL,
    options: unknown,
    make: (family: Family<H, Scalars>, options: PlannedOptions<H>, backend: BackendName) => T,
  ): Promise<T> {
    const who = `${family.name}.fromStateFile`;
    const bytes = await readFileBytes(who, path);
    return Optimizer.restore(family, bytes, options, make, `${who}: ${displayPath(path)}`);
  }

  /**
   * `saveState()` written to a file so that a crash at any moment leaves the previous file or
   * the new one, whole (temporary file, fsync, rename). Node and Deno.
   */
  async saveStateToFile(path: string | URL, options: SaveStateOptions = {}): Promise<void> {
    const bytes = this.#save('saveStateToFile', options);
    await writeFileAtomically(`${this.#family.name}.saveStateToFile`, path, bytes);
  }

  /** `loadState()` from a file written by `saveStateToFile`; errors name the file. */
  async loadStateFromFile(path: string | URL): Promise<void> {
    const who = `${this.#family.name}.loadStateFromFile`;
    this.#assertIdle('loadStateFromFile()');
    const bytes = await readFileBytes(who, path);
    this.#load('loadStateFromFile()', `${who}: ${displayPath(path)}`, bytes);
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
    for (const core of this.#cores) core.views = undefined;
    for (const kernel of this.#kernels) kernel.dispose();
    this.#kernels = [];
  }
}

const displayPath = (path: string | URL): string => (typeof path === 'string' ? path : path.href);

function shapesOf<H extends CommonHyper>(family: Family<H, unknown>, planned: readonly PlannedGroup<H>[]): GroupShape[] {
  return planned.map((g) => ({ length: g.length, state: family.state(g.hyper) }));
}

/**
 * fromState's `schedule` option: one function for every group saved with a schedule, or one
 * entry per group. A function that no group would use is refused: it means the state is not
 * the run the caller thinks it is.
 */
function restoreSchedules(who: string, value: unknown, state: OptimizerState): LoadTarget<never>['scheduleFor'] {
  const groups = state.groups.length;
  if (value === undefined) return () => undefined;
  if (typeof value === 'function') {
    const schedule = checkSchedule<Schedule>(who, 'options.schedule', value);
    if (!state.groups.some((g) => g.hyperparameters.scheduled === true)) {
      throw new TypeError(`${who}: options.schedule was given, but no group of the state was saved with a schedule`);
    }
    return (_, scheduled) => (scheduled ? schedule : undefined);
  }
  if (!Array.isArray(value) || value.length !== groups) {
    typeError(who, 'options.schedule', `a schedule function, or an array with one entry (a function or undefined) per group (${groups})`, value);
  }
  const list = Array.from(value as unknown[], (s, k) => (s === undefined ? undefined : checkSchedule<Schedule>(who, `options.schedule[${k}]`, s)));
  return (k) => list[k];
}
