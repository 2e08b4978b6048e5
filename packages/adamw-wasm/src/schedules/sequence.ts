/** Chaining schedules, e.g. warmup then cosine (torch SequentialLR, transformers' *_with_warmup). */
import { checkInteger, checkKnownKeys, checkStep, rangeError, typeError } from '../validate.js';
import { described, descriptionOf, type ScheduleJson } from './json.js';
import type { Schedule } from './types.js';

export interface SchedulePart {
  readonly schedule: Schedule;
  /** How many steps this part lasts. */
  readonly steps: number;
}

export interface LastSchedulePart {
  readonly schedule: Schedule;
  /** Optional and ignored: the last part continues for ever. */
  readonly steps?: number;
}

/**
 * Each part sees its own local count (t minus the steps of the earlier parts), as torch's
 * SequentialLR restarts the next scheduler at its milestone. A part's result is checked (finite,
 * ≥ 0) because parts may be user functions.
 */
export function sequence(parts: readonly [...SchedulePart[], LastSchedulePart]): Schedule {
  const who = 'schedules.sequence';
  if (!Array.isArray(parts)) typeError(who, 'parts', 'an array of { schedule, steps }', parts);
  if (parts.length === 0) rangeError(who, 'parts', 'non-empty', parts);
  const schedules: Schedule[] = [];
  const starts: number[] = []; // starts[i]: global t at which part i begins
  let start = 0;
  // Array.from visits holes (as undefined, refused below), which forEach would skip.
  Array.from(parts as unknown[]).forEach((part: unknown, i) => {
    const name = `parts[${i}]`;
    if (typeof part !== 'object' || part === null) typeError(who, name, 'an object { schedule, steps }', part);
    checkKnownKeys(who, name, part as Record<string, unknown>, ['schedule', 'steps']);
    const { schedule, steps } = part as { schedule?: unknown; steps?: unknown };
    if (typeof schedule !== 'function') typeError(who, `${name}.schedule`, 'a function (completedSteps) => number', schedule);
    const last = i === parts.length - 1;
    // The last part's steps is optional; if given it must still be sensible.
    if (!last || steps !== undefined) checkInteger(who, `${name}.steps`, steps, 0);
    schedules.push(schedule as Schedule);
    starts.push(start);
    if (!last) start += steps as number;
    if (start > Number.MAX_SAFE_INTEGER) rangeError(who, 'the total steps of all but the last part', '<= Number.MAX_SAFE_INTEGER', start);
  });
  const step: Schedule = (t) => {
    checkStep(who, t);
    let i = starts.length - 1;
    while (starts[i]! > t) i--; // parts are few; zero-step parts are skipped since their start equals the next one's
    const eta = schedules[i]!(t - starts[i]!);
    const what = `the value of parts[${i}].schedule(${t - starts[i]!})`;
    if (typeof eta !== 'number') typeError(who, what, 'a finite number >= 0', eta);
    if (!(eta >= 0 && eta < Infinity)) rangeError(who, what, 'a finite number >= 0', eta);
    return eta;
  };
  // Describable when every part is (a hand-written part is not).
  const partJson = schedules.map(descriptionOf);
  if (partJson.some((json) => json === undefined)) return step;
  return described(step, {
    factory: 'sequence',
    options: partJson.map((json, i) => {
      const steps = (parts[i] as { steps?: number }).steps;
      return steps === undefined ? { schedule: json as ScheduleJson } : { schedule: json as ScheduleJson, steps };
    }),
  });
}
