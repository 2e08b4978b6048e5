import { show } from '../validate.js';
import type { CommonHyper } from './family.js';

/** The multiplier η_t a group's schedule gives at `stepCount`, checked. */
export function scheduleMultiplier(who: string, group: number, schedule: CommonHyper['schedule'], stepCount: number): number {
  const eta = schedule === undefined ? 1 : schedule(stepCount);
  if (typeof eta !== 'number' || !Number.isFinite(eta) || eta < 0) {
    const Kind = typeof eta === 'number' ? RangeError : TypeError;
    throw new Kind(`${who}: groups[${group}].schedule returned ${show(eta)} for completed step ${stepCount}; a schedule must return a finite number >= 0`);
  }
  return eta;
}
