/**
 * An optimizer's options, tfjs-style, turned into adamw-wasm's, and back into the plain
 * configuration `getConfig()` saves. Hyperparameters adamw-wasm also has are passed through and
 * checked there; the renamed ones, weight-decay exclusions and schedules are checked here, with
 * adamw-wasm's own checks and error idiom.
 */
import { schedules, type Schedule, type ScheduleJson } from 'adamw-wasm';
// adamw-wasm's validation module, compiled into this bundle: one error idiom for both packages
// without making it public API.
import {
  checkBeta,
  checkBoolean,
  checkKnownKeys,
  checkNonNegative,
  checkPlainObject,
  rangeError,
  typeError,
} from '../../adamw-wasm/src/validate.js';
import type { FamilySpec } from './families.js';

/** Excludes from weight decay every variable whose name contains it (Keras's rule), or that it matches. */
export type ExclusionPattern = string | RegExp;

/**
 * An exclusion as `getConfig()` saves it. The text sits under `name` because that is the one key
 * whose string tfjs-layers keeps as it is when it loads a model: it camel-cases every other
 * string containing `_` (`layer_norm` would come back as `layerNorm`).
 */
export interface SavedExclusion {
  readonly name: string;
  /** Present for a RegExp: its flags. */
  readonly regexpFlags?: string;
}

/** What `schedule` may be: a function, a schedule saved by getConfig(), or 'custom' (a function to be set before training). */
export type ScheduleOption = Schedule | ScheduleJson | 'custom';

export interface CommonOptions {
  readonly learningRate?: number;
  readonly weightDecay?: number;
  readonly maximize?: boolean;
  /** Variables left out of weight decay: names containing a string, or matching a RegExp. */
  readonly excludeFromWeightDecay?: readonly (ExclusionPattern | SavedExclusion)[];
  readonly schedule?: ScheduleOption;
  /** Clip the gradients of each step to this global L2 norm (as torch's clip_grad_norm_). */
  readonly clipGradNorm?: number;
  readonly nonFinite?: 'throw' | 'skip' | 'ignore';
  readonly backend?: 'auto' | 'wasm-simd' | 'wasm' | 'js';
  readonly threads?: 'auto' | number;
}

/** What AdamW and Adam share: the moments and their conventions. */
export interface AdamMomentOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly amsgrad?: boolean;
  readonly epsMode?: 'torch' | 'hat';
}

export interface AdamWOptions extends CommonOptions, AdamMomentOptions {
  readonly weightDecayScale?: 'lr' | 'schedule';
  readonly decayOrder?: 'before' | 'after';
  readonly preset?: 'torch' | 'keras' | 'tfa' | 'transformers' | 'paper';
}

export interface AdamOptions extends CommonOptions, AdamMomentOptions {
  readonly preset?: 'torch' | 'keras';
}

export interface SgdOptions extends CommonOptions {
  readonly momentum?: number;
  readonly dampening?: number;
  readonly useNesterov?: boolean;
}

export interface SgdwOptions extends CommonOptions {
  readonly momentum?: number;
  readonly weightDecayScale?: 'lr' | 'schedule';
}

/** The options, parsed: adamw-wasm's options and what the adapter keeps itself. */
export interface ParsedOptions {
  /** For `new AdamW([], core)`: every hyperparameter but the schedule, which the groups get. */
  readonly core: Record<string, unknown>;
  readonly exclusions: readonly ExclusionPattern[];
  readonly schedule: Schedule | undefined;
  /** Saved with a function that getConfig() could not describe: refuse to train until one is set. */
  readonly scheduleMissing: boolean;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The RegExp adamw-wasm gets for an exclusion: a substring becomes its escaped text. */
export const exclusionRegExp = (pattern: ExclusionPattern): RegExp =>
  typeof pattern === 'string' ? new RegExp(escapeRegExp(pattern)) : pattern;

function parseExclusions(who: string, value: unknown): ExclusionPattern[] {
  const path = 'options.excludeFromWeightDecay';
  if (!Array.isArray(value)) typeError(who, path, 'an array of name parts (strings) and RegExps', value);
  return Array.from(value as unknown[], (raw, i): ExclusionPattern => {
    const at = `${path}[${i}]`;
    if (typeof raw === 'string') {
      if (raw === '') rangeError(who, at, 'a non-empty string', raw);
      return raw;
    }
    if (raw instanceof RegExp) return Object.freeze(new RegExp(raw.source, raw.flags.replace(/[gy]/g, '')));
    const saved = checkPlainObject(who, at, raw);
    checkKnownKeys(who, at, saved, ['name', 'regexpFlags']);
    if (typeof saved.name !== 'string' || saved.name === '') typeError(who, `${at}.name`, 'a non-empty string', saved.name);
    if (saved.regexpFlags === undefined) return saved.name;
    if (typeof saved.regexpFlags !== 'string') typeError(who, `${at}.regexpFlags`, 'a string of RegExp flags', saved.regexpFlags);
    try {
      return Object.freeze(new RegExp(saved.name, saved.regexpFlags.replace(/[gy]/g, '')));
    } catch (cause) {
      return rangeError(who, at, `a valid regular expression (${(cause as Error).message})`, saved.name);
    }
  });
}

/** A schedule option: a function, a saved description, or the mark of a function getConfig() could not save. */
export function parseSchedule(who: string, path: string, value: unknown): { schedule: Schedule | undefined; scheduleMissing: boolean } {
  if (value === undefined) return { schedule: undefined, scheduleMissing: false };
  if (value === 'custom') return { schedule: undefined, scheduleMissing: true };
  if (typeof value === 'function') return { schedule: value as Schedule, scheduleMissing: false };
  if (typeof value !== 'object' || value === null) typeError(who, path, "a schedule function, a saved schedule ({ factory, options }) or 'custom'", value);
  return { schedule: schedules.fromJSON(value as ScheduleJson), scheduleMissing: false };
}

/** Checks `options` for `family` and splits them into adamw-wasm's options and the adapter's own. */
export function parseOptions(family: FamilySpec, options: unknown): ParsedOptions {
  const who = family.name;
  // tfjs-layers adds `customObjects` to every configuration it deserializes.
  const { customObjects: _, ...given } = checkPlainObject(who, 'options', options ?? {});
  const keys = [...Object.keys(family.renamed), ...(family.betas ? ['beta1', 'beta2'] : []), ...family.shared, 'excludeFromWeightDecay', 'schedule'];
  checkKnownKeys(who, 'options', given, keys);
  const core: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    if (value === undefined || key === 'beta1' || key === 'beta2' || key === 'excludeFromWeightDecay' || key === 'schedule') continue;
    const renamed = family.renamed[key];
    if (renamed === undefined) core[key] = value;
    else core[renamed] = key === 'useNesterov' ? checkBoolean(who, `options.${key}`, value) : checkNonNegative(who, `options.${key}`, value);
  }
  if (family.betas && (given.beta1 !== undefined || given.beta2 !== undefined)) {
    core.betas = [
      given.beta1 === undefined ? family.betas[0] : checkBeta(who, 'options.beta1', given.beta1),
      given.beta2 === undefined ? family.betas[1] : checkBeta(who, 'options.beta2', given.beta2),
    ];
  }
  const exclusions = given.excludeFromWeightDecay === undefined ? [] : parseExclusions(who, given.excludeFromWeightDecay);
  if (exclusions.length > 0) core.excludeFromWeightDecay = exclusions.map(exclusionRegExp);
  return { core, exclusions: Object.freeze(exclusions), ...parseSchedule(who, 'options.schedule', given.schedule) };
}

/** The saved form of the exclusions (see SavedExclusion). */
export const savedExclusions = (patterns: readonly ExclusionPattern[]): SavedExclusion[] =>
  patterns.map((p) => (typeof p === 'string' ? { name: p } : { name: p.source, regexpFlags: p.flags }));

/** adamw-wasm's hyperparameters under the option names of `family` (the inverse of parseOptions). */
export function tfjsNames(family: FamilySpec, hyper: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const back = Object.fromEntries(Object.entries(family.renamed).map(([tfjs, ours]) => [ours, tfjs]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hyper)) {
    if (key === 'schedule' || key === 'excludeFromWeightDecay') continue;
    if (key === 'betas') [out.beta1, out.beta2] = value as readonly [number, number];
    else out[back[key] ?? key] = value;
  }
  return out;
}
