/** Constant, linear warmup and linear decay (torch LinearLR, transformers' warmup/linear lambdas). */
import { checkFactor, checkInteger, checkOptions, checkStep, optional } from '../validate.js';
import { described } from './json.js';
import type { Schedule } from './types.js';

export function constant(): Schedule {
  return described(
    (t) => {
      checkStep('schedules.constant', t);
      return 1;
    },
    { factory: 'constant', options: {} },
  );
}

/**
 * (startFactor·(steps − t) + endFactor·t) / steps rather than s + (e − s)·t/steps: the integer
 * steps − t is exact, so the result is within ~2 ulp even where it approaches 0, and it
 * reproduces transformers' lambdas bit for bit (t/steps for the warmup, (T − t)/(T − w) for the
 * decay). torch's LinearLR instead multiplies the previous lr by a ratio each step, so it drifts
 * from this closed form by a few ulp per step (tested within 1e-12 relative).
 */
function ramp(who: string, steps: number, start: number, end: number): Schedule {
  return (t) => {
    checkStep(who, t);
    return t >= steps ? end : (start * (steps - t) + end * t) / steps;
  };
}

export interface LinearWarmupOptions {
  /** Warmup length; 0 means no warmup (as transformers' num_warmup_steps = 0). */
  readonly steps: number;
  /** η_0; default 0 (transformers). torch LinearLR(start_factor, total_iters=steps) needs > 0. */
  readonly startFactor?: number;
}

export function linearWarmup(o: LinearWarmupOptions): Schedule {
  const who = 'schedules.linearWarmup';
  const opts = checkOptions(who, o, ['steps', 'startFactor']);
  const steps = checkInteger(who, 'steps', opts['steps'], 0);
  const start = optional(opts['startFactor'], 0, (v) => checkFactor(who, 'startFactor', v));
  return described(ramp(who, steps, start, 1), { factory: 'linearWarmup', options: { steps, startFactor: start } });
}

export interface LinearOptions {
  readonly steps: number;
  /** η_0; default 1. */
  readonly startFactor?: number;
  /** η_t for t ≥ steps; default 0 (transformers' linear decay). */
  readonly endFactor?: number;
}

export function linear(o: LinearOptions): Schedule {
  const who = 'schedules.linear';
  const opts = checkOptions(who, o, ['steps', 'startFactor', 'endFactor']);
  const steps = checkInteger(who, 'steps', opts['steps'], 1);
  const start = optional(opts['startFactor'], 1, (v) => checkFactor(who, 'startFactor', v));
  const end = optional(opts['endFactor'], 0, (v) => checkFactor(who, 'endFactor', v));
  return described(ramp(who, steps, start, end), { factory: 'linear', options: { steps, startFactor: start, endFactor: end } });
}
