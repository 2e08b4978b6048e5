import { AdamBase, type AdamGroupSpec, type AdamOptions, type AdamVariant } from './adam-base.js';
import type { AdamHyperparameters } from './adam-hyper.js';

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS: AdamHyperparameters = Object.freeze({
  lr: 1e-3,
  betas: Object.freeze([0.9, 0.999] as const),
  eps: 1e-8,
  weightDecay: 1e-2,
  amsgrad: false,
  maximize: false,
});

const VARIANT: AdamVariant = { name: 'AdamW', decay: 'decoupled', defaults: ADAMW_DEFAULTS };

/**
 * AdamW (Loshchilov & Hutter): Adam with weight decay applied to θ directly,
 * θ ← θ·(1 − lr·wd), before the adaptive step, exactly as torch.optim.AdamW.
 */
export class AdamW extends AdamBase {
  static create(groups: readonly AdamGroupSpec[], options?: AdamOptions): Promise<AdamW> {
    return AdamBase.build(VARIANT, groups, options, (v, kernel, planned, shapes) => new AdamW(v, kernel, planned, shapes));
  }
}
