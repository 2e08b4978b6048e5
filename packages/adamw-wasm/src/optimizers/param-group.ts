/**
 * Groups and their tensors: the cores the optimizer keeps (where arrays live, hyperparameters,
 * step counts), and the frozen facades callers get, which can only ask for validated changes.
 */
import type { GroupRegions, Kernel, StateName } from '../kernels/kernel.js';
import { checkKnownKeys, checkPlainObject } from '../validate.js';
import type { CommonHyper, Family } from './family.js';
import { effectiveHyper, freezeHyper, mergeFields } from './fields.js';
import { scheduleMultiplier } from './schedule-multiplier.js';

/** Views of a tensor's optimizer state, keyed by array name. */
export type StateViews = Readonly<Partial<Record<StateName, Float32Array>>>;

interface Views<S> {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: S;
}

/** What the optimizer keeps of a tensor. Never handed to callers. */
export class TensorCore<H extends CommonHyper, S extends StateViews> {
  /** Dropped on dispose, so the memory can go while callers still hold the tensor. */
  views: Views<S> | undefined;
  stepsTaken = 0;
  /** The group's hyperparameters as they apply to this tensor (weight decay 0 when excluded); frozen. */
  hyper: H;

  constructor(
    readonly name: string,
    readonly group: GroupCore<H, S>,
    readonly kernel: Kernel,
    readonly regions: GroupRegions,
    buffer: ArrayBufferLike,
    /** The shape the tensor was given (frozen), or undefined: the facade then reports `[size]`. */
    readonly shape: readonly number[] | undefined,
  ) {
    const view = (byteOffset: number): Float32Array => new Float32Array(buffer, byteOffset, regions.length);
    const state = Object.freeze(Object.fromEntries(Object.entries(regions.state).map(([name, at]) => [name, view(at as number)]))) as unknown as S;
    this.views = Object.freeze({ params: view(regions.params), grads: view(regions.grads), state });
    this.hyper = effectiveHyper(group.hyper, name);
  }
}

/** What the optimizer keeps of a group: its hyperparameters and tensors. */
export class GroupCore<H extends CommonHyper, S extends StateViews> {
  readonly tensors: TensorCore<H, S>[] = [];
  /** The lr the group's tensors last stepped with (base lr × schedule), as the step computed it. */
  lastLr: number | undefined;
  #hyper: H;

  constructor(
    readonly index: number,
    hyper: H,
  ) {
    this.#hyper = freezeHyper(hyper);
  }

  /** Deeply frozen: callers may hold it as a snapshot. */
  get hyper(): H {
    return this.#hyper;
  }

  /** The lr a step at `stepCount` completed steps uses: lr × the schedule's multiplier, checked (it runs caller code: run it as a call). */
  nextLr(who: string, stepCount: number): number {
    return this.#hyper.lr * scheduleMultiplier(who, this.index, this.#hyper.schedule, stepCount);
  }

  /** Replaces the hyperparameters (already validated), and with them each tensor's. */
  setHyper(hyper: H): void {
    this.#hyper = freezeHyper(hyper);
    for (const tensor of this.tensors) tensor.hyper = effectiveHyper(this.#hyper, tensor.name);
  }
}

/** What groups and tensors need from their optimizer: the one gate every change goes through. */
export interface GroupOwner<H extends CommonHyper> {
  readonly family: Family<H, unknown>;
  /** Throws unless the optimizer may change now (not disposed, broken or mid-step). */
  assertIdle(method: string): void;
  /** Throws once the optimizer is disposed (its memory is gone). */
  assertAlive(what: string): void;
  /** Completed `step()` calls (what schedules see). */
  stepCount(): number;
  /** Runs `body` as the one call in flight (it runs caller code: a schedule), refused while another is. */
  exclusive<T>(method: string, body: () => T): T;
}

function viewsOf<H extends CommonHyper, S extends StateViews>(core: TensorCore<H, S>, owner: GroupOwner<H>, what: string): Views<S> {
  owner.assertAlive(what);
  return core.views!;
}

function refuseReplace(who: string, path: string, name: string): never {
  throw new TypeError(
    `${who}: ${path}.${name} is a view into the optimizer's memory and cannot be replaced; ` +
      `copy values into it instead (${name === 'state' ? 'state.expAvg.set(values)' : `${name}.set(values)`})`,
  );
}

/**
 * One named tensor: zero-copy views of its parameters, gradients and state (valid until
 * `dispose()`), its own step count, and the hyperparameters that apply to it. Frozen.
 */
export class Tensor<H extends CommonHyper, S extends StateViews> {
  readonly #core: TensorCore<H, S>;
  readonly #owner: GroupOwner<H>;

  /** @internal */
  constructor(core: TensorCore<H, S>, owner: GroupOwner<H>) {
    this.#core = core;
    this.#owner = owner;
    Object.freeze(this);
  }

  get name(): string {
    return this.#core.name;
  }

  /** Index of its group in `opt.groups`. */
  get group(): number {
    return this.#core.group.index;
  }

  get size(): number {
    return this.#core.regions.length;
  }

  /** Its dimensions as given (`shape` in its spec, or from a safetensors file), else `[size]`: a frozen array. */
  get shape(): readonly number[] {
    return this.#core.shape ?? Object.freeze([this.size]);
  }

  /** Completed steps of this tensor (bias correction counts these; a skipped tensor's do not move). */
  get stepCount(): number {
    return this.#core.stepsTaken;
  }

  /** Its group's hyperparameters as they apply to it (weightDecay 0 when excluded by name): a frozen snapshot. */
  get hyperparameters(): H {
    return this.#core.hyper;
  }

  get params(): Float32Array {
    return viewsOf(this.#core, this.#owner, `tensor(${JSON.stringify(this.name)}).params`).params;
  }

  set params(_: Float32Array) {
    refuseReplace(this.#owner.family.name, `tensor(${JSON.stringify(this.name)})`, 'params');
  }

  get grads(): Float32Array {
    return viewsOf(this.#core, this.#owner, `tensor(${JSON.stringify(this.name)}).grads`).grads;
  }

  set grads(_: Float32Array) {
    refuseReplace(this.#owner.family.name, `tensor(${JSON.stringify(this.name)})`, 'grads');
  }

  get state(): S {
    return viewsOf(this.#core, this.#owner, `tensor(${JSON.stringify(this.name)}).state`).state;
  }

  set state(_: S) {
    refuseReplace(this.#owner.family.name, `tensor(${JSON.stringify(this.name)})`, 'state');
  }
}

/**
 * One parameter group: hyperparameters shared by its tensors. Every hyperparameter is also a
 * property (`group.lr = 1e-4`), validated on assignment; `set()` changes several at once, all or
 * nothing. A one-tensor group also offers that tensor's `params`, `grads`, `state` and
 * `stepCount`. The object is frozen: nothing reached through it changes the optimizer unvalidated.
 */
export class ParamGroup<H extends CommonHyper, S extends StateViews> {
  readonly #core: GroupCore<H, S>;
  readonly #owner: GroupOwner<H>;
  /** Frozen facades of the group's tensors, in order. */
  readonly tensors: readonly Tensor<H, S>[];

  /** @internal */
  constructor(core: GroupCore<H, S>, owner: GroupOwner<H>, tensors: readonly Tensor<H, S>[]) {
    this.#core = core;
    this.#owner = owner;
    this.tensors = Object.freeze([...tensors]);
    for (const key of Object.keys(owner.family.schema)) {
      Object.defineProperty(this, key, {
        enumerable: true,
        get: () => (this.#core.hyper as Record<string, unknown>)[key],
        set: (value: unknown) => this.#change(`groups[${core.index}].${key} (setter)`, { [key]: value }),
      });
    }
    Object.freeze(this);
  }

  /** The one tensor of a one-tensor group; otherwise a clear error. */
  #only(what: string): Tensor<H, S> {
    const path = `groups[${this.#core.index}]`;
    this.#owner.assertAlive(`${path}.${what}`);
    if (this.tensors.length !== 1) {
      const names = this.tensors.map((t) => JSON.stringify(t.name)).join(', ');
      throw new TypeError(
        `${this.#owner.family.name}: ${path} holds ${this.tensors.length} tensors (${names}), so it has no single ${what}: ` +
          `use ${path}.tensors[k].${what} or opt.tensor(name).${what}`,
      );
    }
    return this.tensors[0]!;
  }

  get params(): Float32Array {
    return this.#only('params').params;
  }

  set params(_: Float32Array) {
    refuseReplace(this.#owner.family.name, `groups[${this.#core.index}]`, 'params');
  }

  get grads(): Float32Array {
    return this.#only('grads').grads;
  }

  set grads(_: Float32Array) {
    refuseReplace(this.#owner.family.name, `groups[${this.#core.index}]`, 'grads');
  }

  get state(): S {
    return this.#only('state').state;
  }

  set state(_: S) {
    refuseReplace(this.#owner.family.name, `groups[${this.#core.index}]`, 'state');
  }

  /** Elements in all of the group's tensors. */
  get size(): number {
    return this.tensors.reduce((n, t) => n + t.size, 0);
  }

  /** The one tensor's completed steps (bias correction counts these); per tensor in larger groups. */
  get stepCount(): number {
    return this.#only('stepCount').stepCount;
  }

  /** The hyperparameters as of now: a frozen snapshot (set() replaces it, never changes it). */
  get hyperparameters(): H {
    return this.#core.hyper;
  }

  /**
   * The learning rate the next `step()` uses: `lr` × the schedule's multiplier at the current
   * step count (PyTorch's `group['lr']` under a scheduler, and `scheduler.get_last_lr()[k]`).
   */
  get nextLr(): number {
    const method = `groups[${this.#core.index}].nextLr`;
    return this.#owner.exclusive(method, () => this.#core.nextLr(`${this.#owner.family.name}.${method}`, this.#owner.stepCount()));
  }

  /** The learning rate this group's last step used; undefined before this optimizer stepped it (or since loading a state). */
  get lastLr(): number | undefined {
    return this.#core.lastLr;
  }

  /**
   * Validates `patch` as a whole and applies it, or throws and changes nothing. `undefined`
   * removes a schedule and is refused for every other key.
   */
  set(patch: Partial<H>): void {
    this.#change(`groups[${this.#core.index}].set()`, patch);
  }

  #change(method: string, patch: unknown): void {
    const { family } = this.#owner;
    const path = `groups[${this.#core.index}]`;
    this.#owner.assertIdle(method);
    const who = family.name;
    const spec = checkPlainObject(who, path, patch);
    checkKnownKeys(who, path, spec, Object.keys(family.schema));
    const next = mergeFields(who, path, spec, this.#core.hyper, family.schema, 'value');
    family.check(who, path, next);
    const before = family.state(this.#core.hyper).join();
    if (family.state(next).join() !== before) {
      const changed = Object.keys(spec).join(', ');
      throw new TypeError(`${who}: ${path}.${changed} cannot change which state arrays the group has (${before || 'none'}); create a new optimizer`);
    }
    this.#core.setHyper(next);
  }
}

/** A group with its hyperparameters as writable properties. */
export type Group<H extends CommonHyper, S extends StateViews> = ParamGroup<H, S> & { -readonly [K in keyof H]: H[K] };
