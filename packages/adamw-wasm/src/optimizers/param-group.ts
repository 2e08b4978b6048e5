import type { GroupRegions, Kernel, StateName } from '../kernels/kernel.js';
import type { CommonHyper, Family } from './family.js';
import { mergeFields } from './fields.js';
import { checkPlainObject, typeError } from './validate.js';

/** Views of a group's optimizer state, keyed by array name. */
export type StateViews = Readonly<Partial<Record<StateName, Float32Array>>>;

/**
 * One parameter group. `params`, `grads` and `state` are zero-copy views that stay valid for
 * the optimizer's lifetime. Every hyperparameter is also a property (`group.lr = 1e-4`),
 * validated on assignment; `set()` changes several at once, all or nothing.
 */
export class ParamGroup<H extends CommonHyper, S extends StateViews> {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: S;
  /** @internal */ readonly regions: GroupRegions;
  /** @internal */ readonly kernel: Kernel;
  /** @internal */ stepsTaken = 0;
  #hyper: H;
  readonly #family: Family<H, unknown>;
  readonly #path: string;

  /** @internal */
  constructor(family: Family<H, unknown>, index: number, kernel: Kernel, buffer: ArrayBufferLike, regions: GroupRegions, hyper: H) {
    const view = (byteOffset: number): Float32Array => new Float32Array(buffer, byteOffset, regions.length);
    this.regions = regions;
    this.kernel = kernel;
    this.params = view(regions.params);
    this.grads = view(regions.grads);
    this.state = Object.freeze(
      Object.fromEntries(Object.entries(regions.state).map(([name, at]) => [name, view(at as number)])),
    ) as unknown as S;
    this.#hyper = hyper;
    this.#family = family;
    this.#path = `groups[${index}]`;
    for (const key of Object.keys(family.schema)) {
      Object.defineProperty(this, key, {
        enumerable: true,
        get: () => (this.#hyper as Record<string, unknown>)[key],
        set: (value: unknown) => this.set({ [key]: value } as Partial<H>),
      });
    }
  }

  get size(): number {
    return this.regions.length;
  }

  /** Completed steps of this group (bias correction counts these). */
  get stepCount(): number {
    return this.stepsTaken;
  }

  /** A snapshot of this group's hyperparameters. */
  get hyperparameters(): H {
    return this.#hyper;
  }

  /** Validates `patch` as a whole and applies it, or throws and changes nothing. */
  set(patch: Partial<H>): void {
    const who = this.#family.name;
    const spec = checkPlainObject(who, this.#path, patch);
    for (const key of Object.keys(spec)) {
      if (!(key in this.#family.schema)) typeError(who, `${this.#path}.${key}`, `one of ${Object.keys(this.#family.schema).join(', ')}`, key);
    }
    const next = mergeFields(who, this.#path, spec, this.#hyper, this.#family.schema);
    this.#family.check(who, this.#path, next);
    const before = this.#family.state(this.#hyper).join();
    if (this.#family.state(next).join() !== before) {
      const changed = Object.keys(spec).join(', ');
      throw new TypeError(`${who}: ${this.#path}.${changed} cannot change which state arrays the group has (${before || 'none'}); create a new optimizer`);
    }
    this.#hyper = next;
  }

  /** @internal Replaces hyperparameters already validated by the caller (loadState). */
  replaceHyperparameters(h: H): void {
    this.#hyper = h;
  }
}

/** A group with its hyperparameters as writable properties. */
export type Group<H extends CommonHyper, S extends StateViews> = ParamGroup<H, S> & { -readonly [K in keyof H]: H[K] };
