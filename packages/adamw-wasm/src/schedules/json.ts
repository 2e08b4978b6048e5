/**
 * What a schedule built by `schedules.*` was built from, so that it can be saved as JSON and
 * rebuilt (a framework's model file, say): the factory's name and its validated options, defaults
 * filled in. Functions written by hand have no description.
 */
import type { Schedule } from './types.js';

export type ScheduleFactory = 'constant' | 'linearWarmup' | 'linear' | 'cosine' | 'cosineWarmRestarts' | 'sequence';

export type ScheduleJson =
  | { readonly factory: Exclude<ScheduleFactory, 'sequence'>; readonly options: Readonly<Record<string, number>> }
  | { readonly factory: 'sequence'; readonly options: readonly { readonly schedule: ScheduleJson; readonly steps?: number }[] };

const descriptions = new WeakMap<Schedule, ScheduleJson>();

/** Records how `schedule` was built and returns it. */
export function described(schedule: Schedule, json: ScheduleJson): Schedule {
  descriptions.set(schedule, Object.freeze(json));
  return schedule;
}

/** How `schedule` was built, or undefined for a function not made by `schedules.*`. */
export const descriptionOf = (schedule: Schedule): ScheduleJson | undefined => descriptions.get(schedule);
