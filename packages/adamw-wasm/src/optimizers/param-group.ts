import type { AdamRegions } from '../kernels/kernel.js';
import type { AdamHyperparameters } from './adam-hyper.js';
import { checkBetas, checkBoolean, checkNonNegative } from './validate.js';

/** Optimizer state of one group: views into the optimizer's memory. */
export interface AdamGroupState {
  /** First moment m. */
  readonly expAvg: Float32Array;
  /** Second moment v. */
  readonly expAvgSq: Float32Array;
  /** Running max of v; present only when the group uses amsgrad. */
  readonly maxExpAvgSq?: Float32Array;
}

/**
 * One parameter group. `params`, `grads` and `state` are zero-copy views that stay valid for
 * the optimizer's lifetime. Hyperparameters may be changed between steps (validated); `amsgrad`
 * is fixed at creation because it decides whether `maxExpAvgSq` exists.
 */
export class AdamParamGroup {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: AdamGroupState;
  /** @internal byte offsets the kernel works on. */
  readonly regions: AdamRegions;
  #hyper: AdamHyperparameters;

  /** @internal */
  constructor(
    private readonly who: string,
    private readonly index: number,
    buffer: ArrayBuffer,
    regions: AdamRegions,
    hyper: AdamHyperparameters,
  ) {
    const view = (byteOffset: number): Float32Array => new Float32Array(buffer, byteOffset, regions.length);
    this.regions = regions;
    this.params = view(regions.params);
    this.grads = view(regions.grads);
    this.state = {
      expAvg: view(regions.expAvg),
      expAvgSq: view(regions.expAvgSq),
      ...(regions.maxExpAvgSq === undefined ? {} : { maxExpAvgSq: view(regions.maxExpAvgSq) }),
    };
    this.#hyper = hyper;
  }

  get size(): number {
    return this.regions.length;
  }

  /** A snapshot of this group's hyperparameters. */
  get hyperparameters(): AdamHyperparameters {
    return this.#hyper;
  }

  private path(key: string): string {
    return `groups[${this.index}].${key}`;
  }

  get lr(): number {
    return this.#hyper.lr;
  }
  set lr(value: number) {
    this.#hyper = { ...this.#hyper, lr: checkNonNegative(this.who, this.path('lr'), value) };
  }
  get betas(): readonly [number, number] {
    return this.#hyper.betas;
  }
  set betas(value: readonly [number, number]) {
    this.#hyper = { ...this.#hyper, betas: checkBetas(this.who, this.path('betas'), value) };
  }
  get eps(): number {
    return this.#hyper.eps;
  }
  set eps(value: number) {
    this.#hyper = { ...this.#hyper, eps: checkNonNegative(this.who, this.path('eps'), value) };
  }
  get weightDecay(): number {
    return this.#hyper.weightDecay;
  }
  set weightDecay(value: number) {
    this.#hyper = { ...this.#hyper, weightDecay: checkNonNegative(this.who, this.path('weightDecay'), value) };
  }
  get maximize(): boolean {
    return this.#hyper.maximize;
  }
  set maximize(value: boolean) {
    this.#hyper = { ...this.#hyper, maximize: checkBoolean(this.who, this.path('maximize'), value) };
  }
  get amsgrad(): boolean {
    return this.#hyper.amsgrad;
  }
}
