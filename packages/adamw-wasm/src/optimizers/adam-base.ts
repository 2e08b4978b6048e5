import type { BackendChoice, BackendName, Kernel } from '../kernels/kernel.js';
import { BACKEND_NAMES } from '../kernels/kernel.js';
import { createKernel, resolveBackend } from '../kernels/select.js';
import { assertFits, layoutArena, type GroupShape } from '../memory/arena.js';
import { ADAM_HYPER_KEYS, adamScalars, mergeAdamHyper, type AdamHyperparameters, type DecayStyle } from './adam-hyper.js';
import { AdamParamGroup } from './param-group.js';
import { checkInit, checkKnownKeys, checkOneOf, checkPlainObject, checkSize, rangeError, typeError } from './validate.js';

/** A parameter group: its size (zeros) or its initial values, plus optional overrides. */
export interface AdamGroupSpec extends Partial<AdamHyperparameters> {
  /** Number of parameters; the group starts at zero. */
  readonly size?: number;
  /** Initial values, copied into the optimizer's memory (the array is not kept). */
  readonly init?: Float32Array;
}

export interface AdamOptions extends Partial<AdamHyperparameters> {
  /** 'auto' (default) picks 'wasm-simd', else 'wasm', else 'js'. */
  readonly backend?: BackendChoice;
}

/** Fixed facts of one optimizer class. */
export interface AdamVariant {
  readonly name: string;
  readonly decay: DecayStyle;
  readonly defaults: AdamHyperparameters;
}

export interface PlannedGroup {
  readonly length: number;
  readonly init: Float32Array | undefined;
  readonly hyper: AdamHyperparameters;
}

const GROUP_KEYS = ['size', 'init', ...ADAM_HYPER_KEYS] as const;
const OPTION_KEYS = [...ADAM_HYPER_KEYS, 'backend'] as const;
/** Upper bound on the kernel's static data + stack, for the fit check before instantiation. */
const STATIC_BYTES_BOUND = 1 << 20;

/** Checks everything about the arguments; no side effects. */
function plan(variant: AdamVariant, groups: unknown, options: unknown) {
  const who = variant.name;
  const opts = checkPlainObject(who, 'options', options ?? {});
  checkKnownKeys(who, 'options', opts, OPTION_KEYS);
  const base = mergeAdamHyper(who, 'options', opts, variant.defaults);
  const backend: BackendChoice =
    opts.backend === undefined ? 'auto' : checkOneOf(who, 'options.backend', opts.backend, ['auto', ...BACKEND_NAMES]);
  if (!Array.isArray(groups)) typeError(who, 'groups', 'an array of parameter groups', groups);
  if (groups.length === 0) rangeError(who, 'groups', 'a non-empty array', groups);
  const planned = groups.map((raw: unknown, i): PlannedGroup => {
    const path = `groups[${i}]`;
    const spec = checkPlainObject(who, path, raw);
    checkKnownKeys(who, path, spec, GROUP_KEYS);
    const init = spec.init === undefined ? undefined : checkInit(who, `${path}.init`, spec.init);
    const size = spec.size === undefined ? undefined : checkSize(who, `${path}.size`, spec.size);
    if (init === undefined && size === undefined) typeError(who, path, 'given a size or an init array', raw);
    if (init !== undefined && size !== undefined && init.length !== size) {
      rangeError(who, `${path}.size`, `equal to ${path}.init.length (${init.length}) when both are given`, size);
    }
    return { length: init?.length ?? (size as number), init, hyper: mergeAdamHyper(who, path, spec, base) };
  });
  const shapes = planned.map((g) => ({ length: g.length, amsgrad: g.hyper.amsgrad }));
  assertFits(layoutArena(STATIC_BYTES_BOUND, shapes), who);
  return { backend: resolveBackend(backend, who), groups: planned, shapes };
}

/** Adam and AdamW: one fused kernel call per group per step. */
export abstract class AdamBase {
  readonly groups: readonly AdamParamGroup[];
  /** Completed steps; bias correction uses stepCount + 1 on the next step. */
  stepCount = 0;
  readonly #kernel: Kernel;
  readonly #variant: AdamVariant;
  #disposed = false;

  protected static async build<T extends AdamBase>(
    variant: AdamVariant,
    groups: readonly AdamGroupSpec[],
    options: AdamOptions | undefined,
    make: (variant: AdamVariant, kernel: Kernel, groups: readonly PlannedGroup[], shapes: readonly GroupShape[]) => T,
  ): Promise<T> {
    const planned = plan(variant, groups, options);
    const kernel = await createKernel(planned.backend);
    return make(variant, kernel, planned.groups, planned.shapes);
  }

  protected constructor(
    variant: AdamVariant,
    kernel: Kernel,
    planned: readonly PlannedGroup[],
    shapes: readonly GroupShape[],
  ) {
    const layout = layoutArena(kernel.firstFreeByte, shapes);
    assertFits(layout, variant.name);
    const buffer = kernel.reserve(layout.endByte);
    this.groups = planned.map((g, i) => {
      const group = new AdamParamGroup(variant.name, i, buffer, layout.groups[i]!, g.hyper);
      if (g.init !== undefined) group.params.set(g.init);
      return group;
    });
    this.#kernel = kernel;
    this.#variant = variant;
  }

  /** What actually runs the step. */
  get backend(): BackendName {
    return this.#kernel.backend;
  }

  /** Applies one update to every group, from the gradients currently in `groups[i].grads`. */
  step(): void {
    this.#assertUsable('step');
    const step = this.stepCount + 1;
    for (const group of this.groups) {
      this.#kernel.adam(group.regions, adamScalars(group.hyperparameters, step, this.#variant.decay));
    }
    this.stepCount = step;
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    this.#assertUsable('zeroGrad');
    for (const group of this.groups) group.grads.fill(0);
  }

  /** Releases the memory; the views must not be used afterwards and further calls throw. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#kernel.dispose();
  }

  #assertUsable(method: string): void {
    if (this.#disposed) throw new Error(`${this.#variant.name}: ${method}() called after dispose()`);
  }
}
