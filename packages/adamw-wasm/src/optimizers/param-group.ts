import type { GroupRegions, Kernel, StateName } from '../kernels/kernel.js';
import type { CommonHyper, Family } from './family.js';
import { freezeHyper, mergeFields } from './fields.js';
import { checkKnownKeys, checkPlainObject } from '../validate.js';

/** Views of a group's optimizer state, keyed by array name. */
export type StateViews = Readonly<Partial<Record<StateName, Float32Array>>>;

interface Views<S> {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: S;
}

/**
 * What the optimizer keeps of a group: where its arrays live, its hyperparameters and step
 * count. Never handed to callers; they get a ParamGroup, which can only ask for validated changes.
 */
export class GroupCore<H extends CommonHyper, S extends StateViews> {
  /** Dropped on dispose, so the memory can go while callers still hold the group. */
  views: Views<S> | undefined;
  /** Deeply frozen: callers may hold it as a snapshot. */
  hyper: H;
  stepsTaken = 0;

  constructor(
    readonly index: number,
    readonly kernel: Kernel,
    readonly regions: GroupRegions,
    buffer: ArrayBufferLike,
    hyper: H,
  ) {
    const view = (byteOffset: number): Float32Array => new Float32Array(buffer, byteOffset, regions.length);
    const state = Object.freeze(Object.fromEntries(Object.entries(regions.state).map(([name, at]) => [name, view(at as number)]))) as unknown as S;
    this.views = Object.freeze({ params: view(regions.params), grads: view(regions.grads), state });
    this.hyper = freezeHyper(hyper);
  }
}

/** What a group needs from its optimizer: the one gate every change goes through. */
export interface GroupOwner<H extends CommonHyper> {
  readonly family: Family<H, unknown>;
  /** Throws unless the optimizer may change now (not disposed, broken or mid-step). */
  assertIdle(method: string): void;
  /** Throws once the optimizer is disposed (its memory is gone). */
  assertAlive(what: string): void;
}

/**
 * One parameter group. `params`, `grads` and `state` are zero-copy views that stay valid until
 * `dispose()`. Every hyperparameter is also a property (`group.lr = 1e-4`), validated on
 * assignment; `set()` changes several at once, all or nothing. The object is frozen: views
 * cannot be replaced, and nothing reached through it changes the optimizer unvalidated.
 */
export class ParamGroup<H extends CommonHyper, S extends StateViews> {
  readonly #core: GroupCore<H, S>;
  readonly #owner: GroupOwner<H>;

  /** @internal */
  constructor(core: GroupCore<H, S>, owner: GroupOwner<H>) {
    this.#core = core;
    this.#owner = owner;
    for (const key of Object.keys(owner.family.schema)) {
      Object.defineProperty(this, key, {
        enumerable: true,
        get: () => (this.#core.hyper as Record<string, unknown>)[key],
        set: (value: unknown) => this.#change(`groups[${core.index}].${key} (setter)`, { [key]: value }),
      });
    }
    Object.freeze(this);
  }

  #views(what: string): Views<S> {
    this.#owner.assertAlive(`groups[${this.#core.index}].${what}`);
    return this.#core.views!;
  }

  get params(): Float32Array {
    return this.#views('params').params;
  }

  set params(_: Float32Array) {
    this.#refuseReplace('params');
  }

  get grads(): Float32Array {
    return this.#views('grads').grads;
  }

  set grads(_: Float32Array) {
    this.#refuseReplace('grads');
  }

  get state(): S {
    return this.#views('state').state;
  }

  set state(_: S) {
    this.#refuseReplace('state');
  }

  #refuseReplace(name: string): never {
    throw new TypeError(
      `${this.#owner.family.name}: groups[${this.#core.index}].${name} is a view into the optimizer's memory and cannot be replaced; ` +
        `copy values into it instead (${name === 'state' ? 'state.expAvg.set(values)' : `${name}.set(values)`})`,
    );
  }

  get size(): number {
    return this.#core.regions.length;
  }

  /** Completed steps of this group (bias correction counts these). */
  get stepCount(): number {
    return this.#core.stepsTaken;
  }

  /** The hyperparameters as of now: a frozen snapshot (set() replaces it, never changes it). */
  get hyperparameters(): H {
    return this.#core.hyper;
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
    this.#core.hyper = freezeHyper(next);
  }
}

/** A group with its hyperparameters as writable properties. */
export type Group<H extends CommonHyper, S extends StateViews> = ParamGroup<H, S> & { -readonly [K in keyof H]: H[K] };
