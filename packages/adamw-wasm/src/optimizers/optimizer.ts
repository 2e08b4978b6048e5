/**
 * The optimizer machinery every family shares: groups in arenas of kernel memory, the step
 * (schedule, guard, clipping, fused kernel call per group), adding groups, save and load.
 * Families (family.ts) supply only hyperparameters and per-step scalars; nothing here touches
 * WebAssembly.
 */
import type { BackendChoice, BackendName, Kernel } from '../kernels/kernel.js';
import { createKernel, resolveBackend, resolveThreads } from '../kernels/select.js';
import type { ThreadedOptions } from '../kernels/threaded.js';
import { assertFits, layoutArena, type GroupShape } from '../memory/arena.js';
import { decodeState, encodeState, type JsonValue, type OptimizerState } from '../state/index.js';
import type { CommonHyper, Family, StepContext } from './family.js';
import { mergeFields } from './fields.js';
import { clipCoefficient, firstNonFinite, NonFiniteGradientError } from './gradient-check.js';
import { ParamGroup, type Group, type StateViews } from './param-group.js';
import { planGroup, planGroups, planOptions, type GlobalOptions, type PlannedGroup, type PlannedOptions } from './plan.js';
import { checkBoolean, checkKnownKeys, checkPlainObject } from './validate.js';

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
  /** The schedule the state was saved with (functions cannot be saved), for every group. */
  readonly schedule?: H['schedule'];
}

export interface SaveStateOptions {
  /** Include the parameters (default true); without them the file holds optimizer state only. */
  readonly includeParams?: boolean;
}

/** Upper bound on a kernel's static data, stacks and control block, for the fit check before instantiation. */
const STATIC_BYTES_BOUND = 8 << 20;

/** Test hook (not public API): a symbol-keyed option passed through to threaded kernels. */
export const TEST_KERNEL_OPTIONS = Symbol.for('adamw-wasm.testKernelOptions');

/** One kernel call, runnable either way; `step` and `stepAsync` share one plan. */
interface Call<T> {
  readonly sync: () => T;
  readonly async: () => Promise<T>;
}
type StepPlan = Generator<Call<unknown>, StepResult, unknown>;

const totalLength = (groups: readonly { length: number }[]): number => groups.reduce((n, g) => n + g.length, 0);

function shapesOf<H extends CommonHyper>(family: Family<H, unknown>, planned: readonly PlannedGroup<H>[]): GroupShape[] {
  return planned.map((g) => ({ length: g.length, state: family.state(g.hyper) }));
}

/** Serializable hyperparameters: functions (schedules) become a flag. */
function hyperToJson(h: CommonHyper): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(h)) {
    if (key === 'schedule') continue;
    out[key] = Array.isArray(value) ? [...(value as number[])] : (value as JsonValue);
  }
  out.scheduled = h.schedule !== undefined;
  return out;
}

export abstract class Optimizer<H extends CommonHyper, S extends StateViews, Scalars> {
  /** Completed `step()` calls; schedules see this count. */
  stepCount = 0;
  readonly #family: Family<H, Scalars>;
  readonly #groups: Group<H, S>[] = [];
  readonly #kernels: Kernel[] = [];
  readonly #backend: BackendName;
  #kernelOptions: ThreadedOptions;
  #options: PlannedOptions<H>;
  #disposed = false;

  /** @internal */
  protected static async build<H extends CommonHyper, S extends StateViews, Scalars, T extends Optimizer<H, S, Scalars>>(
    family: Family<H, Scalars>,
    groups: unknown,
    options: unknown,
    make: (family: Family<H, Scalars>, options: PlannedOptions<H>, backend: BackendName) => T,
  ): Promise<T> {
    const planned = planOptions(family, options);
    const groupPlans = planGroups(family, planned, groups);
    assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(family, groupPlans)), family.name);
    const backend = resolveBackend(planned.global.backend, family.name);
    const threads = await resolveThreads(planned.global.threads, backend, totalLength(groupPlans), family.name);
    const kernelOptions = ((options as Record<symbol, unknown> | undefined)?.[TEST_KERNEL_OPTIONS] ?? {}) as ThreadedOptions;
    const kernel = await createKernel(backend, threads, kernelOptions);
    const optimizer = make(family, planned, backend);
    optimizer.#kernelOptions = kernelOptions;
    optimizer.#adopt(kernel, groupPlans);
    return optimizer;
  }

  /** @internal */
  protected constructor(family: Family<H, Scalars>, options: PlannedOptions<H>, backend: BackendName) {
    this.#family = family;
    this.#options = options;
    this.#backend = backend;
    this.#kernelOptions = {};
  }

  /** Lays `planned` out in `kernel`'s memory (one arena) and adds them as groups. */
  #adopt(kernel: Kernel, planned: readonly PlannedGroup<H>[]): Group<H, S>[] {
    const layout = layoutArena(kernel.firstFreeByte, shapesOf(this.#family, planned));
    assertFits(layout, this.#family.name);
    const buffer = kernel.reserve(layout.endByte);
    this.#kernels.push(kernel);
    return planned.map((g, i) => {
      const group = new ParamGroup<H, S>(this.#family, this.#groups.length, kernel, buffer, layout.groups[i]!, g.hyper) as Group<H, S>;
      if (g.init !== undefined) group.params.set(g.init);
      this.#groups.push(group);
      return group;
    });
  }

  get groups(): readonly Group<H, S>[] {
    return this.#groups;
  }

  /** What actually runs the step. */
  get backend(): BackendName {
    return this.#backend;
  }

  /** Threads stepping the groups given to `create` (1 unless threads are used). */
  get threads(): number {
    return this.#kernels[0]?.threads ?? 1;
  }

  /** Gradient clipping's max norm, or undefined. */
  get clipGradNorm(): number | undefined {
    return this.#options.global.clipGradNorm;
  }

  get nonFinite(): GlobalOptions['nonFinite'] {
    return this.#options.global.nonFinite;
  }

  /**
   * Adds a group with the optimizer's options as defaults. It gets memory of its own, so the
   * views of existing groups stay valid.
   */
  async addParamGroup(spec: GroupSpec<H, string>): Promise<Group<H, S>> {
    this.#assertUsable('addParamGroup');
    const planned = planGroup(this.#family, this.#options, spec, this.#groups.length);
    assertFits(layoutArena(STATIC_BYTES_BOUND, shapesOf(this.#family, [planned])), this.#family.name);
    const threads = await resolveThreads(this.#options.global.threads, this.#backend, planned.length, this.#family.name);
    const kernel = await createKernel(this.#backend, threads, this.#kernelOptions);
    if (this.#disposed) {
      kernel.dispose();
      this.#assertUsable('addParamGroup');
    }
    return this.#adopt(kernel, [planned])[0]!;
  }

  /**
   * Applies one update to every group from the gradients in `groups[i].grads`. Checks
   * (non-finite gradients, schedule output) happen before anything is written. With worker
   * threads on a browser main thread, which must not block, use `stepAsync()`.
   */
  step(): StepResult {
    this.#assertUsable('step');
    if (this.#kernels.some((k) => !k.canBlock)) {
      throw new Error(`${this.#family.name}: step() would block this thread (a browser main thread with worker threads); use await opt.stepAsync()`);
    }
    const plan = this.#plan();
    for (let next = plan.next(); ; ) {
      if (next.done) return next.value;
      next = plan.next(next.value.sync());
    }
  }

  /** `step()` that waits for worker threads without blocking; works everywhere. */
  async stepAsync(): Promise<StepResult> {
    this.#assertUsable('stepAsync');
    const plan = this.#plan();
    for (let next = plan.next(); ; ) {
      if (next.done) return next.value;
      next = plan.next(await next.value.async());
    }
  }

  *#plan(): StepPlan {
    const who = this.#family.name;
    const family = this.#family;
    const groups = this.#groups;
    const { clipGradNorm, nonFinite } = this.#options.global;
    let gradNorm: number | undefined;
    let finite = true;
    if (clipGradNorm !== undefined) {
      // ‖g‖₂ over all groups: canonical per-group sums of squares in f64, added in group order.
      let total = 0;
      for (const { kernel: k, regions: r } of groups) {
        total += (yield { sync: () => k.sumSquares(r.grads, r.length), async: () => k.sumSquaresAsync(r.grads, r.length) }) as number;
      }
      gradNorm = Math.sqrt(total);
      finite = Number.isFinite(gradNorm);
    } else if (nonFinite !== 'ignore') {
      for (const { kernel: k, regions: r } of groups) {
        finite = (yield { sync: () => k.allFinite(r.grads, r.length), async: () => k.allFiniteAsync(r.grads, r.length) }) as boolean;
        if (!finite) break;
      }
    }
    if (!finite && nonFinite !== 'ignore') {
      if (nonFinite === 'skip') return gradNorm === undefined ? { skipped: true } : { gradNorm, skipped: true };
      const { group, index, value } = firstNonFinite(groups);
      throw new NonFiniteGradientError(who, group, index, value);
    }
    const clipCoef = clipGradNorm === undefined || gradNorm === undefined ? 1 : clipCoefficient(gradNorm, clipGradNorm);
    // Every group's scalars first: a schedule that returns garbage throws before any write.
    const scalars = groups.map((g, k) => family.scalars(g.hyperparameters, this.#context(g, k, clipCoef)));
    for (let k = 0; k < groups.length; k++) {
      const { kernel, regions } = groups[k]!;
      const s = scalars[k]!;
      yield { sync: () => family.run(kernel, regions, s), async: () => family.runAsync(kernel, regions, s) };
    }
    for (const g of groups) g.stepsTaken += 1;
    this.stepCount += 1;
    return gradNorm === undefined ? { skipped: false } : { gradNorm, skipped: false };
  }

  #context(g: Group<H, S>, index: number, clipCoef: number): StepContext {
    const schedule = g.hyperparameters.schedule;
    const eta = schedule === undefined ? 1 : schedule(this.stepCount);
    if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
      throw new RangeError(
        `${this.#family.name}: groups[${index}].schedule returned ${String(eta)} for completed step ${this.stepCount}; ` +
          'a schedule must return a finite number >= 0',
      );
    }
    return { step: g.stepsTaken + 1, eta, clipCoef };
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.#assertUsable('zeroGrad');
    for (const group of this.#groups) group.grads.fill(0);
  }

  /**
   * Everything needed to resume bit-identically: hyperparameters, step counts, all state and
   * (by default) the parameters, in the versioned format of docs/state-format.md. Schedules
   * are functions and are not saved: pass the same schedule again when loading.
   */
  saveState(options: SaveStateOptions = {}): Uint8Array {
    this.#assertUsable('saveState');
    const who = `${this.#family.name}.saveState`;
    checkKnownKeys(who, 'options', checkPlainObject(who, 'options', options), ['includeParams']);
    const includeParams = options.includeParams === undefined ? true : checkBoolean(who, 'options.includeParams', options.includeParams);
    const state: OptimizerState = {
      optimizer: this.#family.name,
      stepCount: this.stepCount,
      options: { clipGradNorm: this.#options.global.clipGradNorm ?? null, nonFinite: this.#options.global.nonFinite },
      includesParams: includeParams,
      groups: this.#groups.map((g) => ({
        size: g.size,
        stepCount: g.stepsTaken,
        hyperparameters: hyperToJson(g.hyperparameters),
        arrays: { ...(includeParams ? { params: g.params } : {}), ...(g.state as Record<string, Float32Array>) },
      })),
    };
    return encodeState(state, who);
  }

  /**
   * Restores a saved state into this optimizer. Everything is checked first (format,
   * checksum, optimizer kind, group sizes and state arrays, hyperparameters); on any error
   * the optimizer is untouched.
   */
  loadState(bytes: Uint8Array): void {
    this.#assertUsable('loadState');
    const who = `${this.#family.name}.loadState`;
    const state = decodeState(bytes, who);
    const restored = this.#checkCompatible(who, state);
    // Nothing above wrote anything; from here on nothing can fail.
    this.#groups.forEach((g, k) => {
      const saved = state.groups[k]!;
      g.replaceHyperparameters(restored.hypers[k]!);
      if (state.includesParams) g.params.set(saved.arrays.params!);
      for (const [name, view] of Object.entries(g.state as Record<string, Float32Array>)) view.set(saved.arrays[name]!);
      g.stepsTaken = saved.stepCount;
    });
    this.stepCount = state.stepCount;
    this.#options = { ...this.#options, global: { ...this.#options.global, ...restored.global } };
  }

  #checkCompatible(who: string, state: OptimizerState): { hypers: H[]; global: Partial<GlobalOptions> } {
    const family = this.#family;
    if (state.optimizer !== family.name) throw new Error(`${who}: the state was saved by ${state.optimizer}, not ${family.name}`);
    const sizes = (gs: readonly { size: number }[]) => `[${gs.map((g) => g.size).join(', ')}]`;
    if (state.groups.length !== this.#groups.length || state.groups.some((g, k) => g.size !== this.#groups[k]!.size)) {
      throw new RangeError(`${who}: the state has groups of sizes ${sizes(state.groups)}, this optimizer has ${sizes(this.#groups)}`);
    }
    const hypers = state.groups.map((saved, k) => {
      const g = this.#groups[k]!;
      const path = `state.groups[${k}].hyperparameters`;
      const { scheduled, ...fields } = saved.hyperparameters;
      const schema = Object.fromEntries(Object.entries(family.schema).filter(([key]) => key !== 'schedule')) as typeof family.schema;
      checkKnownKeys(who, path, fields, Object.keys(schema));
      const h = { ...mergeFields(who, path, fields, g.hyperparameters, schema), schedule: g.hyperparameters.schedule };
      family.check(who, path, h);
      if (scheduled === true && h.schedule === undefined) {
        throw new Error(`${who}: groups[${k}] was saved with a schedule; schedules are functions and cannot be saved, so give the group the same schedule before loading`);
      }
      const expected = [...(state.includesParams ? ['params'] : []), ...family.state(h)].sort().join(', ');
      const present = Object.keys(g.state).sort().join(', ');
      if (family.state(h).slice().sort().join(', ') !== present) {
        throw new RangeError(`${who}: groups[${k}] state arrays differ: the state needs ${family.state(h).join(', ') || 'none'}, this optimizer's group has ${present || 'none'}`);
      }
      if (Object.keys(saved.arrays).sort().join(', ') !== expected) {
        throw new RangeError(`${who}: state.groups[${k}] holds arrays ${Object.keys(saved.arrays).join(', ')}, expected ${expected}`);
      }
      return h;
    });
    const opts = state.options;
    const { clipGradNorm, nonFinite } = planOptions(family, {
      ...(opts.clipGradNorm === null || opts.clipGradNorm === undefined ? {} : { clipGradNorm: opts.clipGradNorm }),
      ...(opts.nonFinite === undefined ? {} : { nonFinite: opts.nonFinite }),
    }).global;
    return { hypers, global: { clipGradNorm, nonFinite } };
  }

  /** @internal Creates an optimizer shaped like a saved state, then loads it. */
  protected static async restore<H extends CommonHyper, T extends Optimizer<H, StateViews, unknown>>(
    family: Family<H, unknown>,
    bytes: Uint8Array,
    options: unknown,
    create: (groups: Record<string, unknown>[], options: Record<string, unknown>) => Promise<T>,
  ): Promise<T> {
    const who = `${family.name}.fromState`;
    const opts = checkPlainObject(who, 'options', options ?? {});
    checkKnownKeys(who, 'options', opts, ['backend', 'threads', 'schedule']);
    const state = decodeState(bytes, who);
    if (state.optimizer !== family.name) throw new Error(`${who}: the state was saved by ${state.optimizer}, not ${family.name}`);
    const groups = state.groups.map((g) => {
      const { scheduled: _scheduled, ...fields } = g.hyperparameters;
      return { size: g.size, ...fields, ...(opts.schedule === undefined ? {} : { schedule: opts.schedule }) };
    });
    const { schedule: _schedule, ...global } = opts;
    const optimizer = await create(groups, global);
    try {
      optimizer.loadState(bytes);
    } catch (error) {
      optimizer.dispose();
      throw error;
    }
    return optimizer;
  }

  /** Releases the memory; the views must not be used afterwards and further calls throw. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const kernel of this.#kernels) kernel.dispose();
  }

  #assertUsable(method: string): void {
    if (this.#disposed) throw new Error(`${this.#family.name}: ${method}() called after dispose()`);
  }
}
