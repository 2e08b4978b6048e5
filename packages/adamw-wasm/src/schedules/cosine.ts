/** Cosine annealing (torch CosineAnnealingLR) and SGDR warm restarts (CosineAnnealingWarmRestarts). */
import { checkFactor, checkInteger, checkOptions, checkStep, optional } from '../validate.js';
import { described } from './json.js';
import type { Schedule } from './types.js';

/**
 * etaMin + (1 − etaMin)·(1 + cos(π·tCur/tI))/2, in torch's operation order. With etaMin = 0 this
 * is (1 + c)/2 and base·((1 + c)/2) equals torch's (base − 0)·(1 + c)/2 exactly (halving is exact).
 */
function anneal(etaMin: number, tCur: number, tI: number): number {
  return etaMin + ((1 - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2;
}

export interface CosineOptions {
  /** Length of the single half-cosine; η stays at etaMin afterwards. */
  readonly steps: number;
  /** Final multiplier, relative to the base lr (torch's eta_min is absolute: etaMin·base_lr). */
  readonly etaMin?: number;
}

/**
 * One annealing, in closed form. torch's CosineAnnealingLR, stepped without an epoch, uses a
 * recursive ratio whose values telescope to this closed form (within ~1e-15 here); unlike torch
 * we stay at etaMin after `steps` instead of following the cosine back up.
 */
export function cosine(o: CosineOptions): Schedule {
  const who = 'schedules.cosine';
  const opts = checkOptions(who, o, ['steps', 'etaMin']);
  const steps = checkInteger(who, 'steps', opts['steps'], 1);
  const etaMin = optional(opts['etaMin'], 0, (v) => checkFactor(who, 'etaMin', v));
  return described((t) => anneal(etaMin, Math.min(checkStep(who, t), steps), steps), { factory: 'cosine', options: { steps, etaMin } });
}

export interface CosineWarmRestartsOptions {
  /** Length of the first cycle (torch T_0). */
  readonly t0: number;
  /** Each cycle is tMult times longer than the previous one (torch T_mult); default 1. */
  readonly tMult?: number;
  /** Minimum multiplier, relative to the base lr; default 0. */
  readonly etaMin?: number;
}

/**
 * SGDR (Loshchilov & Hutter 2017), step for step as torch's per-step recurrence
 * (T_cur += 1; if T_cur >= T_i: T_cur -= T_i, T_i *= T_mult), but as a function of t: with
 * tMult = 1 a modulo; otherwise skip whole cycles, which grow geometrically, so at most
 * log_tMult(t) iterations. All quantities are integers ≤ t (or a final tI > tCur), so exact.
 */
export function cosineWarmRestarts(o: CosineWarmRestartsOptions): Schedule {
  const who = 'schedules.cosineWarmRestarts';
  const opts = checkOptions(who, o, ['t0', 'tMult', 'etaMin']);
  const t0 = checkInteger(who, 't0', opts['t0'], 1);
  const tMult = optional(opts['tMult'], 1, (v) => checkInteger(who, 'tMult', v, 1));
  const etaMin = optional(opts['etaMin'], 0, (v) => checkFactor(who, 'etaMin', v));
  return described((t) => {
    checkStep(who, t);
    if (tMult === 1) return anneal(etaMin, t % t0, t0);
    let tCur = t;
    let tI = t0;
    while (tCur >= tI) {
      tCur -= tI;
      tI *= tMult;
    }
    return anneal(etaMin, tCur, tI);
  }, { factory: 'cosineWarmRestarts', options: { t0, tMult, etaMin } });
}
