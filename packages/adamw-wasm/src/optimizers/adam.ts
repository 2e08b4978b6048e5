import { AdamBase, type AdamGroupSpec, type AdamOptions, type AdamVariant } from './adam-base.js';
import type { AdamHyperparameters } from './adam-hyper.js';

/** torch.optim.Adam's defaults (weightDecay is coupled L2 and off by default). */
export const ADAM_DEFAULTS: AdamHyperparameters = Object.freeze({
  lr: 1e-3,
  betas: Object.freeze([0.9, 0.999] as const),
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
});

const VARIANT: AdamVariant = { name: 'Adam', decay: 'coupled-l2', defaults: ADAM_DEFAULTS };

/** Adam as torch.optim.Adam: `weightDecay` adds wd·θ to the gradient (L2), which AdamW fixes. */
export class Adam extends AdamBase {
  static create(groups: readonly AdamGroupSpec[], options?: AdamOptions): Promise<Adam> {
    return AdamBase.build(VARIANT, groups, options, (v, kernel, planned, shapes) => new Adam(v, kernel, planned, shapes));
  }
}
