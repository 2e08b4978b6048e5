/**
 * Hostile input, table-driven: every public function and setter, for every optimizer family,
 * called with wrong types, NaN, ±Infinity, −0, fractional and huge sizes, values overflowing
 * float32, Proxies, throwing or lying getters, detached and shared buffers, holes, typos, bad
 * presets and damaged or mismatched states.
 *
 * Each refusal must be the right class (TypeError: wrong type or unknown option; RangeError:
 * value out of range; Error: other refusals), with a message that starts with the call's prefix,
 * names the parameter path, the rule and (where the value is the input) shows it unambiguously;
 * and it must leave the optimizer bitwise as it was (a checksum of every array's bits, the step
 * counts and the hyperparameters before and after). At the end of each area the optimizer takes
 * a step beside a twin that never saw the hostile calls, and both must save the same bytes.
 *
 * Every area collects all its failing cases and reports them together, so one bug does not hide
 * the next. The number of cases per area is logged at the end.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { Adam, AdamW, isBackendAvailable, NonFiniteGradientError, normalizedWeightDecay, schedules, SGD, SGDW } from 'adamw-wasm';
import { decodeState, encodeState, type OptimizerState } from '../src/state/index.js';
import { varied } from './helpers.js';

type AnyOpt = AdamW | Adam | SGD | SGDW;
type ErrorClass = new (...args: never[]) => Error;
type Dict = Record<string, unknown>;

const N = 8;
const SCHED = schedules.cosine({ steps: 100 });

// ---------------------------------------------------------------------------------------------
// Counting and judging
// ---------------------------------------------------------------------------------------------

const COUNTS = new Map<string, number>();
afterAll(() => {
  const total = [...COUNTS.values()].reduce((a, b) => a + b, 0);
  const lines = [...COUNTS.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([area, n]) => `  ${area}: ${n}`);
  console.log(`hostile: ${total} cases\n${lines.join('\n')}`);
});

/** What a refusal must look like. `own`: the caller's own exception, passed through unchanged (or as the cause). */
type Want =
  | { readonly kind: ErrorClass; readonly prefix: string; readonly path?: string | RegExp | undefined; readonly rule?: RegExp | undefined; readonly shown?: string | undefined }
  | { readonly own: unknown };

const messageOf = (e: unknown): string => (e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-Error ${String(e)}`);

function judge(error: unknown, want: Want): string | undefined {
  if ('own' in want) {
    if (error === want.own || (error instanceof Error && error.cause === want.own)) return undefined;
    return `expected the caller's own exception to pass through, got ${messageOf(error)}`;
  }
  if (!(error instanceof Error)) return `threw a non-Error: ${String(error)}`;
  const problems: string[] = [];
  if (error.constructor !== want.kind) problems.push(`class ${error.constructor.name}, expected ${want.kind.name}`);
  if (!error.message.startsWith(want.prefix)) problems.push(`no prefix ${JSON.stringify(want.prefix)}`);
  if (want.path !== undefined && !(typeof want.path === 'string' ? error.message.includes(want.path) : want.path.test(error.message))) {
    problems.push(`does not name ${String(want.path)}`);
  }
  if (want.rule !== undefined && !want.rule.test(error.message)) problems.push(`does not state the rule ${String(want.rule)}`);
  if (want.shown !== undefined && !error.message.includes(want.shown)) problems.push(`does not show the value as ${want.shown}`);
  return problems.length === 0 ? undefined : `${problems.join('; ')} — got ${messageOf(error)}`;
}

/** Bits of every array, step counts, options and hyperparameters (schedules by identity). */
const scheduleIds = new Map<unknown, number>();
function mark(value: unknown): string {
  if (typeof value === 'function') {
    if (!scheduleIds.has(value)) scheduleIds.set(value, scheduleIds.size);
    return `<schedule#${scheduleIds.get(value)}>`;
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return `[${value.map(mark).join(',')}]`;
  return String(value);
}
const bits = (a: Float32Array): string => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (x) => x.toString(16)).join(',');

function checksum(opt: AnyOpt): string {
  const out = [`stepCount=${opt.stepCount} nonFinite=${opt.nonFinite} clip=${opt.clipGradNorm} groups=${opt.groups.length}`];
  opt.groups.forEach((g, k) => {
    const h = g.hyperparameters as unknown as Dict;
    out.push(`g${k} size=${g.size} stepCount=${g.stepCount} hyper={${Object.keys(h).sort().map((key) => `${key}:${mark(h[key])}`).join(' ')}}`);
    out.push(`g${k} params=${bits(g.params)}`, `g${k} grads=${bits(g.grads)}`);
    const state = g.state as Record<string, Float32Array>;
    for (const name of Object.keys(state).sort()) out.push(`g${k} ${name}=${bits(state[name]!)}`);
  });
  return out.join('\n');
}

function firstDifference(a: string, b: string): string {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return `${(la[i] ?? '').slice(0, 80)} → ${(lb[i] ?? '').slice(0, 80)}`;
  return '';
}

let instantiate: MockInstance | undefined;
beforeAll(() => {
  instantiate = vi.spyOn(WebAssembly, 'instantiate');
});
afterAll(() => vi.restoreAllMocks());
const instantiations = (): number => instantiate?.mock.calls.length ?? 0;

/** One area's cases: every refusal is judged, and all failures are reported together. */
class Area {
  readonly failures: string[] = [];
  constructor(readonly name: string) {}

  count(): void {
    COUNTS.set(this.name, (COUNTS.get(this.name) ?? 0) + 1);
  }

  fail(label: string, problem: string): void {
    this.failures.push(`${label}: ${problem}`);
  }

  #unchanged(label: string, opt: AnyOpt | undefined, before: string | undefined): void {
    if (opt === undefined || before === undefined) return;
    const after = checksum(opt);
    if (after !== before) this.fail(label, `changed the optimizer (${firstDifference(before, after)})`);
  }

  /** A synchronous call that must throw `want` and change nothing. */
  refuse(label: string, call: () => unknown, want: Want, opt?: AnyOpt): void {
    this.count();
    const before = opt && checksum(opt);
    let problem: string | undefined;
    try {
      const result = call();
      if (result instanceof Promise) result.catch(() => {});
      problem = `did not throw (returned ${mark(result)})`;
    } catch (error) {
      problem = judge(error, want);
    }
    if (problem !== undefined) this.fail(label, problem);
    this.#unchanged(label, opt, before);
  }

  /**
   * A call that must return a promise rejecting with `want` (not throw synchronously), change
   * nothing, and (`noAlloc`) create no WebAssembly instance.
   */
  async refuseAsync(label: string, call: () => unknown, want: Want, opt?: AnyOpt, noAlloc = false): Promise<void> {
    this.count();
    const before = opt && checksum(opt);
    const instancesBefore = instantiations();
    let problem: string | undefined;
    let result: unknown;
    try {
      result = call();
    } catch (error) {
      problem = `threw synchronously instead of rejecting (${messageOf(error)})`;
    }
    if (problem === undefined) {
      if (!(result instanceof Promise)) problem = 'did not return a promise';
      else {
        try {
          const value = await result;
          problem = 'resolved instead of rejecting';
          // An optimizer that should not exist is released (a group has no dispose()).
          if (value !== opt && typeof (value as { dispose?: unknown } | null)?.dispose === 'function') (value as AnyOpt).dispose();
        } catch (error) {
          problem = judge(error, want);
        }
      }
    }
    if (problem !== undefined) this.fail(label, problem);
    if (noAlloc && instantiations() !== instancesBefore) this.fail(label, 'instantiated WebAssembly before refusing');
    this.#unchanged(label, opt, before);
  }

  /** A call that must be accepted; returns its result (undefined on failure). */
  accept<T>(label: string, call: () => T): T | undefined {
    this.count();
    try {
      return call();
    } catch (error) {
      this.fail(label, `refused (${messageOf(error)})`);
      return undefined;
    }
  }

  async acceptAsync<T>(label: string, call: () => Promise<T>): Promise<T | undefined> {
    this.count();
    try {
      return await call();
    } catch (error) {
      this.fail(label, `refused (${messageOf(error)})`);
      return undefined;
    }
  }

  check(label: string, ok: boolean, problem: string): void {
    if (!ok) this.fail(label, problem);
  }

  done(): void {
    expect(this.failures, `${this.name}: ${this.failures.length} failing case(s)`).toEqual([]);
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

/** A value, the class of its refusal, the path suffix after the field name, the rule and how it is shown. */
interface Bad {
  readonly label: string;
  readonly value: unknown;
  readonly kind: ErrorClass;
  readonly suffix: string;
  readonly rule?: RegExp | undefined;
  readonly shown?: string | undefined;
}

const re = (text: string): RegExp => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
const num = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));
const got = (shown: string): string => `(got ${shown})`;

/** Things that are not numbers, each with how the message must show it. */
const NOT_NUMBERS: readonly (readonly [string, unknown, string | undefined])[] = [
  ['"0.5"', '0.5', '"0.5"'],
  ['""', '', '""'],
  ['1n', 1n, '1n'],
  ['Symbol()', Symbol('hostile'), 'a symbol'],
  ['() => 1', () => 1, 'a function'],
  ['null', null, 'null'],
  ['undefined-like {}', {}, 'an object'],
  ['[]', [], 'an array of length 0'],
  ['[0.5]', [0.5], 'an array of length 1'],
  ['true', true, 'true'],
  ['new Number(0.5)', new Number(0.5), 'a Number'],
  ['Float32Array [0.5]', Float32Array.of(0.5), 'a Float32Array'],
  ['Proxy of Float32Array', new Proxy(Float32Array.of(0.5), {}), undefined],
];

type Range = 'nonneg' | 'positive' | 'beta' | 'unit';
const RANGES: Record<Range, { rule: string; out: readonly number[]; over: readonly number[] }> = {
  nonneg: { rule: '>= 0', out: [-1, -1e-300, -Number.MIN_VALUE, -Number.MAX_VALUE], over: [1e39, 1e300, Number.MAX_VALUE, 3.5e38] },
  positive: { rule: '> 0', out: [0, -0, -1, -Number.MIN_VALUE], over: [1e39, 1e300] },
  beta: { rule: 'in [0, 1)', out: [1, 1.5, -0.1, -Number.MIN_VALUE, 1e39, 1e300, -1e300], over: [] },
  unit: { rule: 'in [0, 1]', out: [1 + 2 ** -52, 2, -0.1, -Number.MIN_VALUE, 1e39, 1e300], over: [] },
};

/** Numbers checked by the optimizers' checkNumber: wrong type, NaN, ±Infinity, out of range, over float32. */
function numberBads(range: Range, suffix = ''): Bad[] {
  const { rule, out, over } = RANGES[range];
  return [
    ...NOT_NUMBERS.map(([label, value, shown]): Bad => ({ label, value, kind: TypeError, suffix, rule: /must be a number/, shown: shown && got(shown) })),
    { label: 'NaN', value: NaN, kind: RangeError, suffix, rule: /not NaN/, shown: got('NaN') },
    { label: 'Infinity', value: Infinity, kind: RangeError, suffix, rule: /finite/, shown: got('Infinity') },
    { label: '-Infinity', value: -Infinity, kind: RangeError, suffix, rule: /finite/, shown: got('-Infinity') },
    ...out.map((v): Bad => ({ label: num(v), value: v, kind: RangeError, suffix, rule: re(`must be ${rule}`), shown: got(num(v)) })),
    ...over.map((v): Bad => ({ label: num(v), value: v, kind: RangeError, suffix, rule: /largest float32/, shown: got(num(v)) })),
  ];
}

/** Integers checked by the schedules' checkInteger (min and <= MAX_SAFE_INTEGER). */
function intBads(min: number): Bad[] {
  const rule = re(`must be an integer >= ${min}`);
  const out = [NaN, Infinity, -Infinity, 1.5, min - 1, min - 0.5, -1, -Number.MIN_VALUE, ...(min > 0 ? [-0] : [])];
  return [
    ...NOT_NUMBERS.map(([label, value, shown]): Bad => ({ label, value, kind: TypeError, suffix: '', rule, shown: shown && got(shown) })),
    ...[...new Set(out)].map((v): Bad => ({ label: num(v), value: v, kind: RangeError, suffix: '', rule, shown: got(num(v)) })),
    ...[2 ** 53, 1e300].map((v): Bad => ({ label: num(v), value: v, kind: RangeError, suffix: '', rule: /MAX_SAFE_INTEGER/, shown: got(num(v)) })),
  ];
}

const NOT_BOOLEANS: readonly (readonly [string, unknown, string | undefined])[] = [
  ['1', 1, '1'],
  ['0', 0, '0'],
  ['"true"', 'true', '"true"'],
  ['"false"', 'false', '"false"'],
  ['""', '', '""'],
  ['null', null, 'null'],
  ['1n', 1n, '1n'],
  ['{}', {}, 'an object'],
  ['[]', [], 'an array of length 0'],
  ['Symbol()', Symbol('b'), 'a symbol'],
  ['new Boolean(false)', new Boolean(false), 'a Boolean'],
  ['() => true', () => true, 'a function'],
];
const boolBads = (): Bad[] =>
  NOT_BOOLEANS.map(([label, value, shown]) => ({ label, value, kind: TypeError, suffix: '', rule: /must be true or false/, shown: shown && got(shown) }));

function oneOfBads(allowed: readonly string[]): Bad[] {
  const first = allowed[0]!;
  const rule = re(`must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  const values: [string, unknown, string | undefined][] = [
    [first.toUpperCase(), first.toUpperCase(), JSON.stringify(first.toUpperCase())],
    [`" ${first}"`, ` ${first}`, JSON.stringify(` ${first}`)],
    [`"${first} "`, `${first} `, JSON.stringify(`${first} `)],
    ['""', '', '""'],
    ['1', 1, '1'],
    ['null', null, 'null'],
    ['true', true, 'true'],
    ['Symbol()', Symbol(first), 'a symbol'],
    [`["${first}"]`, [first], 'an array of length 1'],
    [`new String("${first}")`, new String(first), 'a String'],
    ['{ toString }', { toString: () => first }, 'an object'],
  ];
  return values.map(([label, value, shown]) => ({ label, value, kind: TypeError, suffix: '', rule, shown: shown && got(shown) }));
}

const NOT_FUNCTIONS: readonly (readonly [string, unknown, string | undefined])[] = [
  ['1', 1, '1'],
  ['"() => 1"', '() => 1', '"() => 1"'],
  ['null', null, 'null'],
  ['{}', {}, 'an object'],
  ['[]', [], 'an array of length 0'],
  ['true', true, 'true'],
  ['1n', 1n, '1n'],
  ['Symbol()', Symbol('s'), 'a symbol'],
  ['Float32Array', Float32Array.of(1), 'a Float32Array'],
];
const scheduleBads = (): Bad[] =>
  NOT_FUNCTIONS.map(([label, value, shown]) => ({ label, value, kind: TypeError, suffix: '', rule: /must be a function/, shown: shown && got(shown) }));

function betasBads(): Bad[] {
  const pair = /must be a pair \[beta1, beta2\]/;
  const containers: [string, unknown, string | undefined][] = [
    ['"0.9,0.999"', '0.9,0.999', '"0.9,0.999"'],
    ['0.9', 0.9, '0.9'],
    ['null', null, 'null'],
    ['array-like object', { 0: 0.9, 1: 0.999, length: 2 }, 'an object'],
    ['Float64Array pair', Float64Array.of(0.9, 0.999), 'a Float64Array'],
    ['Float32Array pair', Float32Array.of(0.9, 0.999), 'a Float32Array'],
    ['[0.9]', [0.9], 'an array of length 1'],
    ['three betas', [0.9, 0.999, 0.9], 'an array of length 3'],
    ['[]', [], 'an array of length 0'],
    ['true', true, 'true'],
    ['Set', new Set([0.9, 0.999]), 'a Set'],
    ['() => pair', () => [0.9, 0.999], 'a function'],
  ];
  const out: Bad[] = containers.map(([label, value, shown]) => ({ label, value, kind: TypeError, suffix: '', rule: pair, shown: shown && got(shown) }));
  for (const i of [0, 1]) {
    for (const b of numberBads('beta', `[${i}]`)) {
      out.push({ ...b, label: `betas[${i}] ${b.label}`, value: i === 0 ? [b.value, 0.999] : [0.9, b.value] });
    }
  }
  // eslint-disable-next-line no-sparse-arrays
  out.push({ label: 'hole at [0]', value: [, 0.999], kind: TypeError, suffix: '[0]', rule: /must be a number/, shown: got('undefined') });
  // eslint-disable-next-line no-sparse-arrays
  out.push({ label: 'hole at [1]', value: [0.9, ,], kind: TypeError, suffix: '[1]', rule: /must be a number/, shown: got('undefined') });
  return out;
}

type FieldKind = Range | 'betas' | 'bool' | 'schedule' | readonly string[];

function fieldBads(kind: FieldKind): Bad[] {
  if (Array.isArray(kind)) return oneOfBads(kind as readonly string[]);
  switch (kind) {
    case 'betas':
      return betasBads();
    case 'bool':
      return boolBads();
    case 'schedule':
      return scheduleBads();
    default:
      return numberBads(kind as Range);
  }
}

/** Values a JSON state header can carry (for crafted states). */
function jsonable(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.length === Object.keys(v).length && v.every(jsonable);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return Object.values(v as Dict).every(jsonable);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Families and fixtures
// ---------------------------------------------------------------------------------------------

interface Family {
  readonly name: 'AdamW' | 'Adam' | 'SGD' | 'SGDW';
  readonly cls: {
    create(groups: never, options?: never): Promise<AnyOpt>;
    fromState(bytes: never, options?: never): Promise<AnyOpt>;
    fromStateFile(path: never, options?: never): Promise<AnyOpt>;
    fromSafetensors(bytes: never, options?: never): Promise<AnyOpt>;
  };
  readonly fields: Readonly<Record<string, FieldKind>>;
  /** Options of the fixtures (SGD with momentum, so it has a state array). */
  readonly base: Dict;
  readonly presets: readonly string[];
  /** Hyperparameters of group 1 that would add or remove a state array. */
  readonly stateChange?: Dict;
}

const ADAM_FIELDS: Record<string, FieldKind> = {
  lr: 'nonneg',
  betas: 'betas',
  eps: 'nonneg',
  weightDecay: 'nonneg',
  amsgrad: 'bool',
  maximize: 'bool',
  epsMode: ['torch', 'hat'],
  schedule: 'schedule',
};

const FAMILIES: readonly Family[] = [
  {
    name: 'AdamW',
    cls: AdamW,
    fields: { ...ADAM_FIELDS, weightDecayScale: ['lr', 'schedule'], decayOrder: ['before', 'after'] },
    base: {},
    presets: ['torch', 'keras', 'tfa', 'transformers', 'paper'],
    stateChange: { amsgrad: true },
  },
  { name: 'Adam', cls: Adam, fields: ADAM_FIELDS, base: {}, presets: ['torch', 'keras'], stateChange: { amsgrad: true } },
  {
    name: 'SGD',
    cls: SGD,
    fields: { lr: 'nonneg', momentum: 'nonneg', dampening: 'unit', weightDecay: 'nonneg', nesterov: 'bool', maximize: 'bool', schedule: 'schedule' },
    base: { momentum: 0.5 },
    presets: [],
    stateChange: { momentum: 0 },
  },
  {
    name: 'SGDW',
    cls: SGDW,
    fields: { lr: 'nonneg', momentum: 'beta', weightDecay: 'nonneg', weightDecayScale: ['lr', 'schedule'], maximize: 'bool', schedule: 'schedule' },
    base: {},
    presets: [],
  },
];

const ALL_FIELDS = [...new Set(FAMILIES.flatMap((f) => Object.keys(f.fields)))];
const GLOBAL_KEYS = ['backend', 'threads', 'clipGradNorm', 'nonFinite'];
const TYPOS = ['weight_decay', 'learningRate', 'Lr', 'lr ', 'beta1', 'beta2', 'Betas', 'clip_grad_norm', 'nonfinite', 'weightdecay', '__proto__'];

/** Gradients fed before step number `seed` (group k gets its own values). */
function feed(opt: AnyOpt, seed: number): void {
  opt.groups.forEach((g, k) => g.grads.set(varied(g.size, 1000 * seed + 17 * k + 3)));
}

/** Two groups (group 0 scheduled, group 1 with its own lr), two steps taken, gradients fed. */
async function fixture(fam: Family, options: Dict = {}, groups?: Dict[]): Promise<AnyOpt> {
  const specs = groups ?? [
    { init: varied(N, 1), schedule: SCHED },
    { init: varied(N, 2), lr: 0.02 },
  ];
  const opt = await fam.cls.create(specs as never, { ...fam.base, ...options } as never);
  for (let t = 0; t < 2; t++) {
    feed(opt, t);
    opt.step();
  }
  feed(opt, 7);
  return opt;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** Both take one step from the same gradients and must save the same bytes. */
function expectSameFuture(opt: AnyOpt, twin: AnyOpt): void {
  for (const o of [opt, twin]) {
    feed(o, 42);
    o.step();
  }
  expect(sameBytes(opt.saveState(), twin.saveState()), 'the optimizer and its clean twin diverge after one step').toBe(true);
}

const sentinel = new Error('the caller’s own exception');
const throwing = (): never => {
  throw sentinel;
};
/** Proxies whose traps throw the caller's own exception. */
const throwingProxy = <T extends object>(target: T): T =>
  new Proxy(target, { get: throwing, ownKeys: throwing, getOwnPropertyDescriptor: throwing, has: throwing });
const throwingGetter = (key: string, rest: Dict = {}): Dict =>
  Object.defineProperty({ ...rest }, key, { enumerable: true, configurable: true, get: throwing });
const groupView = (g: unknown): Dict => g as Dict;

// ---------------------------------------------------------------------------------------------
// Per family
// ---------------------------------------------------------------------------------------------

describe.each(FAMILIES)('$name', (fam) => {
  const P = `${fam.name}: `;
  const fieldNames = Object.keys(fam.fields);
  const foreignKeys = ALL_FIELDS.filter((k) => !fieldNames.includes(k));
  const presetKey = fam.presets.length > 0 ? ['preset'] : [];

  /** Group specs that must be refused when they are group number `i`: [label, spec, want without prefix]. */
  function groupSpecCases(i: number): [string, unknown, Omit<Bad, 'value' | 'label' | 'suffix'> & { path?: string | RegExp | undefined }][] {
    const g = `groups[${i}]`;
    const out: ReturnType<typeof groupSpecCases> = [];
    // The entry itself.
    const notObjects: [string, unknown, string | undefined][] = [
      ['5', 5, '5'],
      ['"x"', 'x', '"x"'],
      ['null', null, 'null'],
      ['undefined', undefined, 'undefined'],
      ['[]', [], 'an array of length 0'],
      ['[{ size }]', [{ size: N }], 'an array of length 1'],
      ['true', true, 'true'],
      ['() => ({ size })', () => ({ size: N }), 'a function'],
      ['1n', 1n, '1n'],
      ['Symbol()', Symbol('g'), 'a symbol'],
    ];
    for (const [label, spec, shown] of notObjects) out.push([`entry ${label}`, spec, { kind: TypeError, path: g, rule: /must be an object/, shown: shown && got(shown) }]);
    out.push(['entry {}', {}, { kind: TypeError, path: g, rule: /given a size or an init array/ }]);
    out.push(['entry { lr } only', { lr: 0.1 }, { kind: TypeError, path: g, rule: /given a size or an init array/ }]);
    // size
    const sizeRule = /must be a positive integer/;
    for (const [label, value, shown] of NOT_NUMBERS) {
      out.push([`size ${label}`, { size: value }, { kind: TypeError, path: `${g}.size`, rule: sizeRule, shown: shown && got(shown) }]);
    }
    for (const v of [0, -0, -1, 1.5, NaN, Infinity, -Infinity, Number.MIN_VALUE, -(2 ** 53)]) {
      out.push([`size ${num(v)}`, { size: v }, { kind: RangeError, path: `${g}.size`, rule: sizeRule, shown: got(num(v)) }]);
    }
    // Too large for one memory: the memory limit's message, with the numbers; past exact
    // integers, the integer check's.
    for (const v of [2 ** 30, 2 ** 32]) {
      out.push([`size ${num(v)}`, { size: v }, { kind: RangeError, rule: /parameters need \S+ bytes of memory/ }]);
    }
    for (const v of [2 ** 53, 1e300]) {
      out.push([`size ${num(v)}`, { size: v }, { kind: RangeError, path: `${g}.size`, rule: /must be <= Number\.MAX_SAFE_INTEGER/, shown: got(num(v)) }]);
    }
    // init
    const f32Rule = /must be a Float32Array/;
    const detached = Float32Array.of(1, 2);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    const notF32: [string, unknown, string | undefined][] = [
      ['number[]', [1, 2], 'an array of length 2'],
      ['Float64Array', Float64Array.of(1, 2), 'a Float64Array'],
      ['Uint8Array', Uint8Array.of(1, 2), 'a Uint8Array'],
      ['Int32Array', Int32Array.of(1, 2), 'a Int32Array'],
      ['ArrayBuffer', new ArrayBuffer(8), 'a ArrayBuffer'],
      ['DataView', new DataView(new ArrayBuffer(8)), 'a DataView'],
      ['Proxy of Float32Array', new Proxy(Float32Array.of(1, 2), {}), undefined],
      ['array-like', { length: 2, 0: 1, 1: 2 }, 'an object'],
      ['"1,2"', '1,2', '"1,2"'],
      ['5', 5, '5'],
      ['null', null, 'null'],
      ['true', true, 'true'],
    ];
    for (const [label, value, shown] of notF32) out.push([`init ${label}`, { init: value }, { kind: TypeError, path: `${g}.init`, rule: f32Rule, shown: shown && got(shown) }]);
    out.push(['init detached', { init: detached }, { kind: RangeError, path: `${g}.init.length`, rule: /at least 1/ }]);
    out.push(['init empty', { init: new Float32Array(0) }, { kind: RangeError, path: `${g}.init.length`, rule: /at least 1/ }]);
    for (const [label, v] of [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity], ['1e39 (overflows float32)', 1e39]] as const) {
      for (const at of [0, 5]) {
        const init = varied(6, 9);
        init[at] = v;
        out.push([`init[${at}] ${label}`, { init }, { kind: RangeError, path: `${g}.init[${at}]`, rule: /must be finite/ }]);
      }
    }
    out.push(['size ≠ init.length', { size: 3, init: Float32Array.of(1, 2) }, { kind: RangeError, path: `${g}.size`, rule: /equal to .*init\.length \(2\)/ }]);
    // Hyperparameters.
    for (const [field, kind] of Object.entries(fam.fields)) {
      for (const b of fieldBads(kind)) {
        out.push([`${field} ${b.label}`, { size: N, [field]: b.value }, { kind: b.kind, path: `${g}.${field}${b.suffix}`, rule: b.rule, shown: b.shown }]);
      }
    }
    // Unknown keys: typos, global options, other families' hyperparameters, preset where there is none.
    for (const key of [...TYPOS, ...GLOBAL_KEYS, ...foreignKeys, ...(presetKey.length ? [] : ['preset'])]) {
      out.push([`unknown ${key}`, { size: N, [key]: 0.1 }, { kind: TypeError, path: `${g}.${key}`, rule: /unknown option/ }]);
    }
    // Presets.
    if (fam.presets.length > 0) {
      for (const b of oneOfBads(fam.presets)) out.push([`preset ${b.label}`, { size: N, preset: b.value }, { kind: TypeError, path: `${g}.preset`, rule: b.rule, shown: b.shown }]);
      if (fam.name === 'AdamW') {
        for (const preset of ['tfa', 'paper']) out.push([`preset ${preset} without weightDecay`, { size: N, preset }, { kind: TypeError, path: `${g}.weightDecay`, rule: /needs weightDecay/ }]);
      }
    }
    if (fam.name === 'SGD') {
      out.push(['nesterov without momentum', { size: N, nesterov: true, momentum: 0 }, { kind: RangeError, path: `${g}.nesterov`, rule: /momentum > 0 and dampening 0/ }]);
      out.push(['nesterov with dampening', { size: N, nesterov: true, dampening: 0.5 }, { kind: RangeError, path: `${g}.nesterov`, rule: /momentum > 0 and dampening 0/ }]);
    }
    // The caller's own exceptions.
    out.push(['spec Proxy with throwing traps', throwingProxy({ size: N }), { own: sentinel } as never]);
    out.push(['spec with a throwing size getter', throwingGetter('size'), { own: sentinel } as never]);
    out.push(['spec with a throwing lr getter', throwingGetter('lr', { size: N }), { own: sentinel } as never]);
    out.push(['betas Proxy with throwing traps', { size: N, betas: throwingProxy([0.9, 0.999]) }, (fieldNames.includes('betas') ? { own: sentinel } : { kind: TypeError, path: `${g}.betas`, rule: /unknown option/ }) as never]);
    return out;
  }

  const wantFor = (prefix: string, w: ReturnType<typeof groupSpecCases>[number][2]): Want => ('own' in w ? (w as Want) : { ...w, prefix });

  it('create: options', async () => {
    const area = new Area('create(groups, options)');
    const groups = [{ size: N }];
    const cases: [string, unknown, Want][] = [];
    for (const [field, kind] of Object.entries(fam.fields)) {
      for (const b of fieldBads(kind)) cases.push([`options.${field} ${b.label}`, { [field]: b.value }, { kind: b.kind, prefix: P, path: `options.${field}${b.suffix}`, rule: b.rule, shown: b.shown }]);
    }
    for (const b of oneOfBads(['auto', 'wasm-simd', 'wasm', 'js'])) cases.push([`backend ${b.label}`, { backend: b.value }, { kind: b.kind, prefix: P, path: 'options.backend', rule: b.rule, shown: b.shown }]);
    for (const b of oneOfBads(['throw', 'skip', 'ignore'])) cases.push([`nonFinite ${b.label}`, { nonFinite: b.value }, { kind: b.kind, prefix: P, path: 'options.nonFinite', rule: b.rule, shown: b.shown }]);
    for (const b of numberBads('positive')) cases.push([`clipGradNorm ${b.label}`, { clipGradNorm: b.value }, { kind: b.kind, prefix: P, path: 'options.clipGradNorm', rule: b.rule, shown: b.shown }]);
    const threadsRule = /'auto' or an integer from 1 to 64/;
    for (const [label, value, shown] of [...NOT_NUMBERS, ['"Auto"', 'Auto', '"Auto"'], ['"2"', '2', '"2"']] as const) {
      cases.push([`threads ${label}`, { threads: value }, { kind: TypeError, prefix: P, path: 'options.threads', rule: threadsRule, shown: shown && got(shown) }]);
    }
    for (const v of [0, -0, -1, 1.5, 65, NaN, Infinity, 2 ** 53]) {
      cases.push([`threads ${num(v)}`, { threads: v }, { kind: RangeError, prefix: P, path: 'options.threads', rule: threadsRule, shown: got(num(v)) }]);
    }
    for (const key of [...TYPOS, ...foreignKeys, 'size', 'init', 'groups', ...(presetKey.length ? [] : ['preset'])]) {
      cases.push([`unknown ${key}`, { [key]: 0.1 }, { kind: TypeError, prefix: P, path: `options.${key}`, rule: /unknown option/ }]);
    }
    if (fam.presets.length > 0) {
      for (const b of oneOfBads(fam.presets)) cases.push([`preset ${b.label}`, { preset: b.value }, { kind: b.kind, prefix: P, path: 'options.preset', rule: b.rule, shown: b.shown }]);
      if (fam.name === 'AdamW') {
        for (const preset of ['tfa', 'paper']) cases.push([`preset ${preset} without weightDecay`, { preset }, { kind: TypeError, prefix: P, path: 'options.weightDecay', rule: /needs weightDecay/ }]);
      }
    }
    if (fam.name === 'SGD') {
      cases.push(['nesterov without momentum', { nesterov: true }, { kind: RangeError, prefix: P, path: 'nesterov', rule: /momentum > 0 and dampening 0/ }]);
      cases.push(['nesterov with dampening', { nesterov: true, momentum: 0.9, dampening: 0.1 }, { kind: RangeError, prefix: P, path: 'nesterov', rule: /momentum > 0 and dampening 0/ }]);
    }
    for (const [label, value, shown] of [
      ['"fast"', 'fast', '"fast"'],
      ['5', 5, '5'],
      ['[]', [], 'an array of length 0'],
      ['true', true, 'true'],
      ['() => ({})', () => ({}), 'a function'],
      ['1n', 1n, '1n'],
      ['Symbol()', Symbol('o'), 'a symbol'],
    ] as const) {
      cases.push([`options ${label}`, value, { kind: TypeError, prefix: P, path: 'options', rule: /must be an object/, shown: got(shown) }]);
    }
    cases.push(['options Proxy with throwing traps', throwingProxy({ lr: 0.1 }), { own: sentinel }]);
    cases.push(['options with a throwing lr getter', throwingGetter('lr'), { own: sentinel }]);
    cases.push(['options with a throwing backend getter', throwingGetter('backend'), { own: sentinel }]);
    for (const [label, options, want] of cases) await area.refuseAsync(label, () => fam.cls.create(groups as never, options as never), want, undefined, true);
    area.done();
  });

  it('create: groups', async () => {
    const area = new Area('create(groups, options)');
    const notArrays: [string, unknown, string | undefined][] = [
      ['undefined', undefined, 'undefined'],
      ['null', null, 'null'],
      ['5', 5, '5'],
      ['"x"', 'x', '"x"'],
      ['one group, not in an array', { size: N }, 'an object'],
      ['array-like', { 0: { size: N }, length: 1 }, 'an object'],
      ['Set', new Set([{ size: N }]), 'a Set'],
      ['Float32Array', Float32Array.of(1), 'a Float32Array'],
    ];
    for (const [label, groups, shown] of notArrays) {
      await area.refuseAsync(`groups ${label}`, () => fam.cls.create(groups as never), { kind: TypeError, prefix: P, path: 'groups', rule: /must be an array of parameter groups/, shown: shown && got(shown) }, undefined, true);
    }
    // eslint-disable-next-line no-sparse-arrays
    await area.refuseAsync('a hole in groups', () => fam.cls.create([{ size: N }, , { size: N }] as never), { kind: TypeError, prefix: P, path: 'groups[1]', rule: /must be an object/, shown: got('undefined') }, undefined, true);
    const holey: unknown[] = [{ size: N }];
    holey.length = 2 ** 32 - 1;
    await area.refuseAsync('length 2**32 - 1 with holes', () => fam.cls.create(holey as never), { kind: TypeError, prefix: P, path: 'groups[1]', rule: /must be an object/ }, undefined, true);
    await area.refuseAsync('groups Proxy with throwing traps', () => fam.cls.create(throwingProxy([{ size: N }]) as never), { own: sentinel }, undefined, true);
    for (const [label, spec, want] of groupSpecCases(1)) {
      await area.refuseAsync(`groups[1] ${label}`, () => fam.cls.create([{ size: N }, spec] as never), wantFor(P, want), undefined, true);
    }
    area.done();
  });

  it('addParamGroup', async () => {
    const area = new Area('addParamGroup(spec)');
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    for (const [label, spec, want] of groupSpecCases(2)) {
      area.refuse(label, () => opt.addParamGroup(spec as never), wantFor(P, want), opt);
    }
    area.done();
    expectSameFuture(opt, twin);
  });

  it('setters and set()', async () => {
    const area = new Area('group setters and set()');
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    const g = opt.groups[1]!;
    const path = 'groups[1]';
    for (const [field, kind] of Object.entries(fam.fields)) {
      const bads = [...fieldBads(kind)];
      // In a change `undefined` is a value, refused for everything but schedule (which it removes).
      if (kind !== 'schedule') bads.push({ label: 'undefined', value: undefined, kind: TypeError, suffix: '', shown: got('undefined') });
      for (const b of bads) {
        const want: Want = { kind: b.kind, prefix: P, path: `${path}.${field}${b.suffix}`, rule: b.rule, shown: b.shown };
        area.refuse(`${field} = ${b.label}`, () => (groupView(g)[field] = b.value), want, opt);
        area.refuse(`set({ ${field}: ${b.label} })`, () => g.set({ [field]: b.value } as never), want, opt);
        // All or nothing: a valid change beside the bad one is not applied either.
        if (field !== 'lr') area.refuse(`set({ lr: 0.5, ${field}: ${b.label} })`, () => g.set({ lr: 0.5, [field]: b.value } as never), want, opt);
      }
    }
    const notObjects: [string, unknown, string | undefined][] = [
      ['undefined', undefined, 'undefined'],
      ['null', null, 'null'],
      ['5', 5, '5'],
      ['"lr"', 'lr', '"lr"'],
      ['[]', [], 'an array of length 0'],
      ['entries', [['lr', 0.5]], 'an array of length 1'],
      ['() => ({})', () => ({}), 'a function'],
      ['true', true, 'true'],
    ];
    for (const [label, patch, shown] of notObjects) {
      area.refuse(`set(${label})`, () => g.set(patch as never), { kind: TypeError, prefix: P, path, rule: /must be an object/, shown: shown && got(shown) }, opt);
    }
    for (const key of [...TYPOS, ...GLOBAL_KEYS, ...foreignKeys, 'preset', 'size', 'init', 'params', 'grads', 'state', 'stepCount', 'hyperparameters']) {
      area.refuse(`set({ ${key} })`, () => g.set({ lr: 0.5, [key]: 0.1 } as never), { kind: TypeError, prefix: P, path: `${path}.${key}`, rule: /unknown option/ }, opt);
    }
    if (fam.stateChange) {
      const [[key, value]] = Object.entries(fam.stateChange) as [[string, unknown]];
      area.refuse(`${key} = ${String(value)} (adds or removes a state array)`, () => (groupView(g)[key] = value), { kind: TypeError, prefix: P, path: `${path}.${key}`, rule: /cannot change which state arrays/ }, opt);
      area.refuse(`set({ lr, ${key} }) (adds or removes a state array)`, () => g.set({ lr: 0.5, ...fam.stateChange } as never), { kind: TypeError, prefix: P, path: `${path}.`, rule: /cannot change which state arrays/ }, opt);
    }
    if (fam.name === 'SGD') {
      area.refuse('set({ nesterov, dampening })', () => g.set({ nesterov: true, dampening: 0.5 } as never), { kind: RangeError, prefix: P, path: `${path}.nesterov`, rule: /momentum > 0 and dampening 0/ }, opt);
      area.refuse('set({ nesterov, momentum: 0 })', () => g.set({ nesterov: true, momentum: 0 } as never), { kind: RangeError, prefix: P, path: `${path}.nesterov`, rule: /momentum > 0 and dampening 0/ }, opt);
      area.refuse('dampening = 0.5 with nesterov', () => {
        const h = opt.groups[0]!;
        h.set({ nesterov: true } as never);
        try {
          groupView(h).dampening = 0.5;
        } finally {
          h.set({ nesterov: false } as never);
        }
      }, { kind: RangeError, prefix: P, path: 'groups[0].nesterov', rule: /momentum > 0 and dampening 0/ }, opt);
    }
    // The caller's own exceptions, from the patch or from values inside it.
    area.refuse('set(Proxy with throwing traps)', () => g.set(throwingProxy({ lr: 0.5 }) as never), { own: sentinel }, opt);
    area.refuse('set({ throwing lr getter })', () => g.set(throwingGetter('lr') as never), { own: sentinel }, opt);
    area.refuse('set({ lr, throwing maximize getter })', () => g.set(throwingGetter('maximize', { lr: 0.5 }) as never), { own: sentinel }, opt);
    if (fieldNames.includes('betas')) {
      area.refuse('betas = Proxy with throwing traps', () => (groupView(g).betas = throwingProxy([0.9, 0.999])), { own: sentinel }, opt);
      area.refuse('set({ lr, betas: Proxy with throwing traps })', () => g.set({ lr: 0.5, betas: throwingProxy([0.9, 0.999]) } as never), { own: sentinel }, opt);
    }
    // A setter detached from its group still validates (it is the group's own setter).
    const lrSetter = Object.getOwnPropertyDescriptor(g, 'lr')!.set!;
    area.refuse('lr setter called on another object', () => lrSetter.call({}, -1), { kind: RangeError, prefix: P, path: `${path}.lr`, rule: />= 0/ }, opt);
    area.done();
    expectSameFuture(opt, twin);
  });

  describe.each([
    { nonFinite: 'throw' },
    { nonFinite: 'skip' },
    { nonFinite: 'throw', clipGradNorm: 1 },
    { nonFinite: 'skip', clipGradNorm: 0.5 },
    { nonFinite: 'ignore' },
  ])('step() and stepAsync() with options %o', (options) => {
    const poisons: [string, number][] = [
      ['NaN', 0x7fc00000],
      ['-NaN', 0xffc00000],
      ['NaN with a payload', 0x7fc01234],
      ['signalling NaN', 0x7f800001],
      ['+Infinity', 0x7f800000],
      ['-Infinity', 0xff800000],
    ];
    const places: [number, number][] = [
      [0, 0],
      [1, N - 1],
      [1, 3],
    ];

    it('non-finite gradients', async () => {
      const area = new Area('step()/stepAsync() gradients');
      const opt = await fixture(fam, options);
      const twin = await fixture(fam, options);
      for (const [label, word] of poisons) {
        for (const [k, i] of places) {
          for (const how of ['step', 'stepAsync'] as const) {
            feed(opt, 7);
            const grads = opt.groups[k]!.grads;
            new Uint32Array(grads.buffer, grads.byteOffset, grads.length)[i] = word;
            const name = `${how}() with ${label} at groups[${k}].grads[${i}]`;
            if (options.nonFinite === 'throw') {
              const want: Want = { kind: NonFiniteGradientError, prefix: P, path: `groups[${k}].grads[${i}]`, rule: /the step was not taken/ };
              if (how === 'step') area.refuse(name, () => opt.step(), want, opt);
              else await area.refuseAsync(name, () => opt.stepAsync(), want, opt);
            } else if (options.nonFinite === 'ignore') {
              // Not a refusal: the step is taken, by step() and stepAsync() alike, as by the twin's step().
              area.count();
              feed(twin, 7);
              const twinGrads = twin.groups[k]!.grads;
              new Uint32Array(twinGrads.buffer, twinGrads.byteOffset, twinGrads.length)[i] = word;
              try {
                const result = how === 'step' ? opt.step() : await opt.stepAsync();
                twin.step();
                area.check(name, !result.skipped && sameBytes(opt.saveState(), twin.saveState()), 'differs from the same step taken by step()');
              } catch (error) {
                area.fail(name, `threw under 'ignore' (${messageOf(error)})`);
              }
            } else {
              area.count();
              const before = checksum(opt);
              try {
                const result = how === 'step' ? opt.step() : await opt.stepAsync();
                area.check(name, result.skipped, `did not skip (${JSON.stringify(result)})`);
                if (options.clipGradNorm !== undefined) area.check(name, !Number.isFinite(result.gradNorm), `gradNorm ${String(result.gradNorm)} is finite`);
              } catch (error) {
                area.fail(name, `threw under 'skip' (${messageOf(error)})`);
              }
              area.check(name, checksum(opt) === before, 'a skipped step changed the optimizer');
            }
          }
        }
      }
      feed(opt, 7);
      area.done();
      expectSameFuture(opt, twin);
    });

    it('hostile schedules and scalars that overflow float32', async () => {
      const area = new Area('step()/stepAsync() schedules');
      const opt = await fixture(fam, options);
      const twin = await fixture(fam, options);
      const g = opt.groups[1]!;
      const returns: [string, unknown, ErrorClass, RegExp][] = [
        ['NaN', NaN, RangeError, /schedule returned NaN/],
        ['-1', -1, RangeError, /schedule returned -1/],
        ['-5e-324', -Number.MIN_VALUE, RangeError, /schedule returned -5e-324/],
        ['Infinity', Infinity, RangeError, /schedule returned Infinity/],
        ['-Infinity', -Infinity, RangeError, /schedule returned -Infinity/],
        ['1e300 (lr·η overflows float32)', 1e300, RangeError, /overflows float32/],
        ['Number.MAX_VALUE', Number.MAX_VALUE, RangeError, /overflows float32/],
        // Wrong types are TypeErrors, as everywhere else.
        ['"0.5"', '0.5', TypeError, /schedule returned "0\.5"/],
        ['1n', 1n, TypeError, /schedule returned 1n/],
        ['undefined', undefined, TypeError, /schedule returned undefined/],
        ['null', null, TypeError, /schedule returned null/],
        ['{}', {}, TypeError, /schedule returned an object/],
        ['[1]', [1], TypeError, /schedule returned an array of length 1/],
        ['true', true, TypeError, /schedule returned true/],
        ['Symbol()', Symbol('eta'), TypeError, /schedule returned a symbol/],
        ['new Number(1)', new Number(1), TypeError, /schedule returned a Number/],
      ];
      for (const how of ['step', 'stepAsync'] as const) {
        for (const [label, value, kind, rule] of returns) {
          g.schedule = () => value as number;
          const want: Want = { kind, prefix: P, path: 'groups[1]', rule };
          if (how === 'step') area.refuse(`${how}() with a schedule returning ${label}`, () => opt.step(), want, opt);
          else await area.refuseAsync(`${how}() with a schedule returning ${label}`, () => opt.stepAsync(), want, opt);
        }
        g.schedule = throwing;
        if (how === 'step') area.refuse(`${how}() with a throwing schedule`, () => opt.step(), { own: sentinel }, opt);
        else await area.refuseAsync(`${how}() with a throwing schedule`, () => opt.stepAsync(), { own: sentinel }, opt);
        // Every hyperparameter finite, their product with η not: lr = 3e38 and η = 2.
        g.set({ lr: 3e38, schedule: () => 2 } as never);
        const want: Want = { kind: RangeError, prefix: P, path: 'groups[1]', rule: /overflows float32/ };
        if (how === 'step') area.refuse(`${how}() with lr·η over float32`, () => opt.step(), want, opt);
        else await area.refuseAsync(`${how}() with lr·η over float32`, () => opt.stepAsync(), want, opt);
        g.set({ lr: 0.02, schedule: undefined } as never);
      }
      area.done();
      expectSameFuture(opt, twin);
    });
  });

  it('saveState(options)', async () => {
    const area = new Area('saveState(options)');
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    const S = `${fam.name}.saveState: `;
    const notObjects: [string, unknown, string][] = [
      ['null', null, 'null'],
      ['5', 5, '5'],
      ['"x"', 'x', '"x"'],
      ['[]', [], 'an array of length 0'],
      ['true', true, 'true'],
      ['() => ({})', () => ({}), 'a function'],
      ['Symbol()', Symbol('o'), 'a symbol'],
    ];
    for (const [label, options, shown] of notObjects) area.refuse(`options ${label}`, () => opt.saveState(options as never), { kind: TypeError, prefix: S, path: 'options', rule: /must be an object/, shown: got(shown) }, opt);
    for (const b of boolBads()) area.refuse(`includeParams ${b.label}`, () => opt.saveState({ includeParams: b.value } as never), { kind: b.kind, prefix: S, path: 'options.includeParams', rule: b.rule, shown: b.shown }, opt);
    for (const key of ['include_params', 'includeparams', 'params', 'includeState', 'lr', 'schedule']) {
      area.refuse(`unknown ${key}`, () => opt.saveState({ [key]: true } as never), { kind: TypeError, prefix: S, path: `options.${key}`, rule: /unknown option/ }, opt);
    }
    area.refuse('options Proxy with throwing traps', () => opt.saveState(throwingProxy({}) as never), { own: sentinel }, opt);
    area.refuse('throwing includeParams getter', () => opt.saveState(throwingGetter('includeParams') as never), { own: sentinel }, opt);
    area.done();
    expectSameFuture(opt, twin);
  });

  /** States to refuse, from real optimizers and crafted ones: [label, bytes, want without prefix]. */
  type StateCase = [string, Uint8Array, { kind?: ErrorClass; kinds?: readonly ErrorClass[]; path?: string; rule?: RegExp }];
  async function badStates(valid: Uint8Array, forLoad: boolean): Promise<StateCase[]> {
    const out: StateCase[] = [];
    const n = valid.length;
    for (const len of [...new Set([0, 1, 7, 8, 16, 24, n >> 1, n - 4, n - 1])]) out.push([`truncated to ${len} bytes`, valid.slice(0, len), { kind: RangeError, path: 'state', rule: /truncated/ }]);
    for (const extra of [1, 64]) {
      const longer = new Uint8Array(n + extra);
      longer.set(valid);
      out.push([`${extra} extra bytes`, longer, { kind: RangeError, path: 'state', rule: /extra bytes/ }]);
    }
    for (let i = 0; i < n; i++) {
      for (const mask of [0x01, 0x80]) {
        const flipped = valid.slice();
        flipped[i]! ^= mask;
        out.push([`byte ${i} ^ 0x${mask.toString(16)}`, flipped, { kinds: [Error, RangeError, TypeError], path: 'state' }]);
      }
    }
    const detached = valid.slice();
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    out.push(['a detached Uint8Array (a zero-length state)', detached, { kind: RangeError, path: 'state', rule: /truncated/ }]);
    const shared = new Uint8Array(new SharedArrayBuffer(n));
    shared.set(valid);
    shared[n >> 1]! ^= 0x10;
    out.push(['a corrupted state in shared memory', shared, { kind: Error, path: 'state', rule: /checksum mismatch/ }]);
    // Other optimizers' states of the same shape.
    for (const other of FAMILIES.filter((f) => f !== fam)) {
      const o = await fixture(other);
      out.push([`a state saved by ${other.name}`, o.saveState(), { kind: Error, rule: re(`saved by ${other.name}, not ${fam.name}`) }]);
      o.dispose();
    }
    if (forLoad) {
      const shapes: [string, Dict[]][] = [
        ['one group', [{ size: N, schedule: SCHED }]],
        ['three groups', [{ size: N, schedule: SCHED }, { size: N }, { size: N }]],
        ['group 1 one longer', [{ size: N, schedule: SCHED }, { size: N + 1 }]],
        ['group 0 one shorter', [{ size: N - 1, schedule: SCHED }, { size: N }]],
      ];
      for (const [label, groups] of shapes) {
        const o = await fixture(fam, {}, groups);
        out.push([`a state with ${label}`, o.saveState(), { kind: RangeError, rule: /the state's tensors do not match this optimizer's \(tensors (the state lacks|this optimizer does not have)|tensor "groups\[\d\]" has size \d+ in the state, \d+ in this optimizer/ }]);
        o.dispose();
      }
      if (fam.stateChange) {
        const o = await fixture(fam, {}, [{ size: N, schedule: SCHED }, { size: N, lr: 0.02, ...fam.stateChange }]);
        out.push(['a state whose group 1 has other state arrays', o.saveState(), { kind: RangeError, path: 'groups[1]', rule: /state arrays differ/ }]);
        o.dispose();
      }
      const unscheduled = await fixture(fam, {}, [{ size: N }, { size: N }]);
      out.push(['a state whose group 0 had no schedule', unscheduled.saveState(), { kind: Error, path: 'groups[0]', rule: /saved without a schedule but would resume with one/ }]);
      unscheduled.dispose();
      const bothScheduled = await fixture(fam, {}, [{ size: N, schedule: SCHED }, { size: N, schedule: SCHED }]);
      out.push(['a state whose group 1 had a schedule', bothScheduled.saveState(), { kind: Error, path: 'groups[1]', rule: /saved with a schedule/ }]);
      bothScheduled.dispose();
    }
    // Crafted: everything well-formed but the content.
    const template = decodeState(valid, 'test');
    const craft = (change: (s: OptimizerState) => void): Uint8Array => {
      const s = decodeState(valid, 'test');
      change(s);
      return encodeState(s);
    };
    const hp = 'state.groups[1].hyperparameters';
    for (const [field, kind] of Object.entries(fam.fields)) {
      if (kind === 'schedule') continue;
      for (const b of fieldBads(kind).filter((x) => jsonable(x.value))) {
        out.push([`saved ${field} ${b.label}`, craft((s) => (s.groups[1]!.hyperparameters[field] = b.value as never)), { kind: b.kind, path: `${hp}.${field}${b.suffix}`, ...(b.rule ? { rule: b.rule } : {}) }]);
      }
    }
    for (const key of ['weight_decay', 'schedule', 'Lr', 'preset', 'size', ...foreignKeys]) {
      out.push([`saved unknown hyperparameter ${key}`, craft((s) => (s.groups[1]!.hyperparameters[key] = 0.1)), { kind: TypeError, path: `${hp}.${key}`, rule: /unknown option/ }]);
    }
    for (const [label, value] of [['"yes"', 'yes'], ['1', 1], ['null', null], ['[]', []]] as const) {
      out.push([`saved scheduled ${label}`, craft((s) => (s.groups[1]!.hyperparameters.scheduled = value as never)), { kind: TypeError, path: `${hp}.scheduled`, rule: /must be true or false/ }]);
    }
    out.push(['saved scheduled missing', craft((s) => delete s.groups[1]!.hyperparameters.scheduled), { kind: TypeError, path: `${hp}.scheduled`, rule: /must be true or false/ }]);
    for (const b of oneOfBads(['throw', 'skip', 'ignore']).filter((x) => jsonable(x.value))) {
      out.push([`saved nonFinite ${b.label}`, craft((s) => (s.options.nonFinite = b.value as never)), { kind: b.kind, path: 'state.options.nonFinite', ...(b.rule ? { rule: b.rule } : {}) }]);
    }
    for (const b of numberBads('positive').filter((x) => jsonable(x.value) && x.value !== null)) {
      out.push([`saved clipGradNorm ${b.label}`, craft((s) => (s.options.clipGradNorm = b.value as never)), { kind: b.kind, path: 'state.options.clipGradNorm', ...(b.rule ? { rule: b.rule } : {}) }]);
    }
    for (const key of ['clip_grad_norm', 'backend', 'threads', 'lr']) {
      out.push([`saved unknown option ${key}`, craft((s) => (s.options[key] = 1)), { kind: TypeError, path: `state.options.${key}`, rule: /unknown option/ }]);
    }
    // Version 2: group 1's one tensor is tensors[1], named after its group.
    const stateNames = Object.keys(template.tensors[1]!.arrays).filter((a) => a !== 'params');
    for (const name of stateNames) {
      out.push([`saved without ${name}`, craft((s) => delete s.tensors[1]!.arrays[name]), { kind: RangeError, path: 'state.groups[1]', rule: /holds arrays/ }]);
    }
    out.push(['saved with an extra state array', craft((s) => (s.tensors[1]!.arrays.maxExpAvgSq = s.tensors[1]!.arrays.momentumBuffer = new Float32Array(N))), { kind: RangeError, path: 'state.groups[1]', rule: /holds arrays/ }]);
    out.push(['saved with an unknown array', craft((s) => (s.tensors[1]!.arrays.extra = new Float32Array(N))), { kind: TypeError, path: 'state.tensors[1].extra', rule: /unknown option/ }]);
    if (fam.name === 'SGD') {
      out.push(['saved nesterov with momentum 0', craft((s) => Object.assign(s.groups[1]!.hyperparameters, { nesterov: true, momentum: 0 })), { kind: RangeError, path: `${hp}.nesterov`, rule: /momentum > 0 and dampening 0/ }]);
    }
    return out;
  }

  const notBytes = (): [string, unknown, string | undefined][] => {
    const valid = new Uint8Array(16);
    return [
      ['undefined', undefined, 'undefined'],
      ['null', null, 'null'],
      ['a string', 'ADAMWST', '"ADAMWST"'],
      ['5', 5, '5'],
      ['number[]', Array.from(valid), 'an array of length 16'],
      ['ArrayBuffer', valid.buffer, 'a ArrayBuffer'],
      ['DataView', new DataView(valid.buffer), 'a DataView'],
      ['Int8Array', new Int8Array(16), 'a Int8Array'],
      ['Uint8ClampedArray', new Uint8ClampedArray(16), 'a Uint8ClampedArray'],
      ['Uint16Array', new Uint16Array(8), 'a Uint16Array'],
      ['Float32Array', new Float32Array(4), 'a Float32Array'],
      ['Proxy of Uint8Array', new Proxy(valid, {}), undefined],
      ['array-like', { length: 16 }, 'an object'],
      ['1n', 1n, '1n'],
      ['Symbol()', Symbol('bytes'), 'a symbol'],
    ];
  };

  it('loadState(bytes)', async () => {
    const area = new Area('loadState(bytes)');
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    const L = `${fam.name}.loadState: `;
    for (const [label, bytes, shown] of notBytes()) {
      area.refuse(label, () => opt.loadState(bytes as never), { kind: TypeError, prefix: L, path: 'state', rule: /must be a Uint8Array/, shown: shown && got(shown) }, opt);
    }
    for (const [label, bytes, w] of await badStates(opt.saveState(), true)) {
      const kinds = w.kinds ?? [w.kind!];
      area.count();
      const before = checksum(opt);
      try {
        opt.loadState(bytes);
        area.fail(label, 'accepted');
      } catch (error) {
        const problem = judge(error, { kind: kinds.find((k) => error instanceof Error && error.constructor === k) ?? kinds[0]!, prefix: L, path: w.path, rule: w.rule });
        if (problem !== undefined) area.fail(label, problem);
      }
      if (checksum(opt) !== before) area.fail(label, 'changed the optimizer');
    }
    area.done();
    expectSameFuture(opt, twin);
  });

  it('fromState(bytes, options)', async () => {
    const area = new Area('fromState(bytes, options)');
    const source = await fixture(fam);
    const valid = source.saveState();
    const F = `${fam.name}.fromState: `;
    const restore = { schedule: SCHED };
    for (const [label, bytes, shown] of notBytes()) {
      await area.refuseAsync(label, () => fam.cls.fromState(bytes as never, restore as never), { kind: TypeError, prefix: F, path: 'state', rule: /must be a Uint8Array/, shown: shown && got(shown) }, undefined, true);
    }
    for (const [label, bytes, w] of await badStates(valid, false)) {
      const kinds = w.kinds ?? [w.kind!];
      area.count();
      const calls = instantiations();
      try {
        (await fam.cls.fromState(bytes as never, restore as never)).dispose();
        area.fail(label, 'accepted');
      } catch (error) {
        const problem = judge(error, { kind: kinds.find((k) => error instanceof Error && error.constructor === k) ?? kinds[0]!, prefix: F, path: w.path, rule: w.rule });
        if (problem !== undefined) area.fail(label, problem);
      }
      if (instantiations() !== calls) area.fail(label, 'instantiated WebAssembly before refusing');
    }
    // Options.
    const opts: [string, unknown, Want][] = [];
    for (const [label, value, shown] of [['"fast"', 'fast', '"fast"'], ['5', 5, '5'], ['[]', [], 'an array of length 0'], ['true', true, 'true'], ['() => ({})', () => ({}), 'a function']] as const) {
      opts.push([`options ${label}`, value, { kind: TypeError, prefix: F, path: 'options', rule: /must be an object/, shown: got(shown) }]);
    }
    for (const key of ['lr', 'schedules', 'Schedule', 'Backend', 'clipGradNorm', 'nonFinite', 'includeParams', ...TYPOS]) {
      opts.push([`unknown ${key}`, { ...restore, [key]: 1 }, { kind: TypeError, prefix: F, path: `options.${key}`, rule: /unknown option/ }]);
    }
    for (const b of oneOfBads(['auto', 'wasm-simd', 'wasm', 'js'])) opts.push([`backend ${b.label}`, { ...restore, backend: b.value }, { kind: b.kind, prefix: F, path: 'options.backend', rule: b.rule, shown: b.shown }]);
    for (const v of [0, -1, 1.5, 65, NaN, Infinity]) opts.push([`threads ${num(v)}`, { ...restore, threads: v }, { kind: RangeError, prefix: F, path: 'options.threads', shown: got(num(v)) }]);
    for (const [label, v, shown] of [['"2"', '2', '"2"'], ['null', null, 'null'], ['true', true, 'true'], ['1n', 1n, '1n']] as const) {
      opts.push([`threads ${label}`, { ...restore, threads: v }, { kind: TypeError, prefix: F, path: 'options.threads', shown: got(shown) }]);
    }
    for (const [label, value, shown] of NOT_FUNCTIONS) {
      if (value === null) continue;
      opts.push([`schedule ${label}`, { schedule: value }, { kind: TypeError, prefix: F, path: 'options.schedule', shown: shown && got(shown) }]);
      opts.push([`schedule [SCHED, ${label}]`, { schedule: [SCHED, value] }, { kind: TypeError, prefix: F, path: 'options.schedule[1]', rule: /must be a function/, shown: shown && got(shown) }]);
    }
    opts.push(['schedule [SCHED] (one entry for two groups)', { schedule: [SCHED] }, { kind: TypeError, prefix: F, path: 'options.schedule', rule: /one entry .* per group \(2\)/ }]);
    opts.push(['schedule [SCHED, undefined, SCHED]', { schedule: [SCHED, undefined, SCHED] }, { kind: TypeError, prefix: F, path: 'options.schedule' }]);
    // eslint-disable-next-line no-sparse-arrays
    opts.push(['schedule [ , ] (holes)', { schedule: [, ,] }, { kind: Error, prefix: F, path: 'groups[0]', rule: /saved with a schedule/ }]);
    opts.push(['schedule [SCHED, SCHED]', { schedule: [SCHED, SCHED] }, { kind: Error, prefix: F, path: 'groups[1]', rule: /saved without a schedule/ }]);
    opts.push(['no schedule', {}, { kind: Error, prefix: F, path: 'groups[0]', rule: /saved with a schedule/ }]);
    opts.push(['options Proxy with throwing traps', throwingProxy({ ...restore }), { own: sentinel }]);
    opts.push(['throwing schedule getter', throwingGetter('schedule'), { own: sentinel }]);
    opts.push(['schedule Proxy of an array with throwing traps', { schedule: throwingProxy([SCHED, undefined]) }, { own: sentinel }]);
    for (const [label, options, want] of opts) await area.refuseAsync(label, () => fam.cls.fromState(valid as never, options as never), want, undefined, true);
    area.done();
    source.dispose();
  });

  it('checkpoint files: saveStateToFile, loadStateFromFile, fromStateFile', async () => {
    const area = new Area('checkpoint files');
    const dir = mkdtempSync(join(tmpdir(), `hostile-${fam.name}-`));
    try {
      const opt = await fixture(fam);
      const twin = await fixture(fam);
      const SF = `${fam.name}.saveStateToFile: `;
      const LF = `${fam.name}.loadStateFromFile: `;
      const FF = `${fam.name}.fromStateFile: `;
      const good = join(dir, 'good.ckpt');
      writeFileSync(good, opt.saveState());
      const goodBytes = readFileSync(good);
      const restore = { schedule: SCHED };
      const pathRule = /must be a non-empty string or a file: URL/;
      const badPaths: [string, unknown, string | undefined][] = [
        ['""', '', '""'],
        ['5', 5, '5'],
        ['null', null, 'null'],
        ['undefined', undefined, 'undefined'],
        ['{}', {}, 'an object'],
        ['[]', [], 'an array of length 0'],
        ['["a"]', ['a'], 'an array of length 1'],
        ['1n', 1n, '1n'],
        ['Symbol()', Symbol('p'), 'a symbol'],
        ['true', true, 'true'],
        ['an https: URL', new URL('https://example.com/x.ckpt'), '"https://example.com/x.ckpt"'],
        ['new String(path)', new String(good), 'a String'],
        ['Uint8Array path', new TextEncoder().encode(good), 'a Uint8Array'],
      ];
      for (const [label, path, shown] of badPaths) {
        const want = (prefix: string): Want => ({ kind: TypeError, prefix, path: 'path', rule: pathRule, shown: shown && got(shown) });
        await area.refuseAsync(`saveStateToFile(${label})`, () => opt.saveStateToFile(path as never), want(SF), opt);
        await area.refuseAsync(`loadStateFromFile(${label})`, () => opt.loadStateFromFile(path as never), want(LF), opt);
        await area.refuseAsync(`fromStateFile(${label})`, () => fam.cls.fromStateFile(path as never, restore as never), want(FF), undefined, true);
      }
      const missing = join(dir, 'missing.ckpt');
      await area.refuseAsync('loadStateFromFile(missing file)', () => opt.loadStateFromFile(missing), { kind: Error, prefix: LF, path: missing, rule: /cannot read/ }, opt);
      await area.refuseAsync('fromStateFile(missing file)', () => fam.cls.fromStateFile(missing as never, restore as never), { kind: Error, prefix: FF, path: missing, rule: /cannot read/ }, undefined, true);
      await area.refuseAsync('loadStateFromFile(a directory)', () => opt.loadStateFromFile(dir), { kind: Error, prefix: LF, path: dir, rule: /cannot read/ }, opt);
      await area.refuseAsync('fromStateFile(a directory)', () => fam.cls.fromStateFile(dir as never, restore as never), { kind: Error, prefix: FF, path: dir, rule: /cannot read/ }, undefined, true);
      const nowhere = join(dir, 'no', 'such', 'dir', 'x.ckpt');
      await area.refuseAsync('saveStateToFile(into a missing directory)', () => opt.saveStateToFile(nowhere), { kind: Error, prefix: SF, path: nowhere, rule: /cannot write/ }, opt);
      await area.refuseAsync('saveStateToFile(over a directory)', () => opt.saveStateToFile(dir), { kind: Error, prefix: SF, rule: /cannot write/ }, opt);
      // Bad options: refused before anything is written; the previous checkpoint stays, no temporary file is left.
      const badOptions: [string, unknown, Omit<Extract<Want, { kind: ErrorClass }>, 'prefix'> | { own: unknown }][] = [
        ['null', null, { kind: TypeError, path: 'options', rule: /must be an object/ }],
        ['5', 5, { kind: TypeError, path: 'options', rule: /must be an object/ }],
        ['{ includeParams: 1 }', { includeParams: 1 }, { kind: TypeError, path: 'options.includeParams', rule: /true or false/ }],
        ['{ includeParams: "false" }', { includeParams: 'false' }, { kind: TypeError, path: 'options.includeParams', rule: /true or false/ }],
        ['{ include_params: false }', { include_params: false }, { kind: TypeError, path: 'options.include_params', rule: /unknown option/ }],
        ['throwing getter', throwingGetter('includeParams'), { own: sentinel }],
      ];
      for (const [label, options, w] of badOptions) {
        const want: Want = 'own' in w ? w : { ...w, prefix: SF };
        await area.refuseAsync(`saveStateToFile(good, ${label})`, () => opt.saveStateToFile(good, options as never), want, opt);
        area.check(`saveStateToFile(good, ${label})`, sameBytes(readFileSync(good), goodBytes), 'the previous checkpoint changed');
      }
      const leftovers = readdirSync(dir).filter((f) => f.endsWith('.tmp'));
      area.check('temporary files', leftovers.length === 0, `left ${leftovers.join(', ')}`);
      // Files whose content is bad: the error names the call that was made (and the file).
      const contents: [string, Uint8Array, ErrorClass[]][] = [
        ['an empty file', new Uint8Array(0), [RangeError]],
        ['a text file', new TextEncoder().encode('{"lr": 0.001}\n'), [Error]],
        ['a truncated checkpoint', goodBytes.subarray(0, goodBytes.length - 5), [RangeError]],
        ['a checkpoint with a flipped byte', (() => { const b = Uint8Array.from(goodBytes); b[b.length >> 1]! ^= 4; return b; })(), [Error]],
      ];
      for (const other of FAMILIES.filter((f) => f !== fam)) {
        const o = await fixture(other);
        contents.push([`a checkpoint of ${other.name}`, o.saveState(), [Error]]);
        o.dispose();
      }
      for (const [label, bytes, kinds] of contents) {
        const file = join(dir, 'bad.ckpt');
        writeFileSync(file, bytes);
        await area.refuseAsync(`loadStateFromFile(${label})`, () => opt.loadStateFromFile(file), { kind: kinds[0]!, prefix: LF }, opt);
        await area.refuseAsync(`fromStateFile(${label})`, () => fam.cls.fromStateFile(file as never, restore as never), { kind: kinds[0]!, prefix: FF }, undefined, true);
      }
      // Bad restore options through the file: the error names fromStateFile.
      await area.refuseAsync('fromStateFile(good, { lr })', () => fam.cls.fromStateFile(good as never, { ...restore, lr: 1 } as never), { kind: TypeError, prefix: FF, path: 'options.lr', rule: /unknown option/ }, undefined, true);
      await area.refuseAsync('fromStateFile(good, { threads: 0 })', () => fam.cls.fromStateFile(good as never, { ...restore, threads: 0 } as never), { kind: RangeError, prefix: FF, path: 'options.threads' }, undefined, true);
      await area.refuseAsync('fromStateFile(good, without its schedule)', () => fam.cls.fromStateFile(good as never, {} as never), { kind: Error, prefix: FF, path: 'groups[0]', rule: /saved with a schedule/ }, undefined, true);
      area.done();
      expectSameFuture(opt, twin);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('safetensors: exportSafetensors(options), importSafetensors(bytes), fromSafetensors(bytes, options)', async () => {
    const area = new Area('safetensors');
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    const [E, I, F] = ['exportSafetensors', 'importSafetensors', 'fromSafetensors'].map((m) => `${fam.name}.${m}: `) as [string, string, string];
    const restore = { schedule: SCHED };
    for (const [label, options, shown] of [['null', null, 'null'], ['5', 5, '5'], ['[]', [], 'an array of length 0'], ['() => ({})', () => ({}), 'a function']] as const) {
      area.refuse(`export options ${label}`, () => opt.exportSafetensors(options as never), { kind: TypeError, prefix: E, path: 'options', rule: /must be an object/, shown: got(shown) }, opt);
    }
    for (const b of boolBads()) {
      area.refuse(`export includeParams ${b.label}`, () => opt.exportSafetensors({ includeParams: b.value } as never), { kind: b.kind, prefix: E, path: 'options.includeParams', rule: b.rule, shown: b.shown }, opt);
    }
    for (const key of ['include_params', 'params', 'lr', ...TYPOS]) {
      area.refuse(`export unknown ${key}`, () => opt.exportSafetensors({ [key]: true } as never), { kind: TypeError, prefix: E, path: `options.${key}`, rule: /unknown option/ }, opt);
    }
    area.refuse('export options Proxy with throwing traps', () => opt.exportSafetensors(throwingProxy({}) as never), { own: sentinel }, opt);
    for (const [label, bytes, shown] of notBytes()) {
      const want = { kind: TypeError, path: 'bytes', rule: /must be a Uint8Array/, shown: shown && got(shown) };
      area.refuse(`import ${label}`, () => opt.importSafetensors(bytes as never), { ...want, prefix: I }, opt);
      await area.refuseAsync(`fromSafetensors ${label}`, () => fam.cls.fromSafetensors(bytes as never, restore as never), { ...want, prefix: F }, undefined, true);
    }
    // Every truncation is refused (the header's length or a tensor's offsets run past the end).
    const valid = opt.exportSafetensors({ includeParams: true });
    for (let n = 0; n < valid.length; n += 1 + (n % 7)) {
      area.refuse(`import truncated to ${n} bytes`, () => opt.importSafetensors(valid.slice(0, n)), { kind: RangeError, prefix: I }, opt);
    }
    const detached = valid.slice();
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    area.refuse('import a detached Uint8Array', () => opt.importSafetensors(detached), { kind: RangeError, prefix: I, rule: /truncated safetensors file: 0 bytes/ }, opt);
    const shared = new Uint8Array(new SharedArrayBuffer(valid.length));
    shared.set(valid);
    area.accept('import its own state from shared memory', () => opt.importSafetensors(shared));
    for (const [label, options, want] of [
      ['unknown lr', { ...restore, lr: 1 }, { kind: TypeError, prefix: F, path: 'options.lr', rule: /unknown option/ }],
      ['backend "gpu"', { ...restore, backend: 'gpu' }, { kind: TypeError, prefix: F, path: 'options.backend' }],
      ['threads 0', { ...restore, threads: 0 }, { kind: RangeError, prefix: F, path: 'options.threads' }],
      ['no schedule', {}, { kind: Error, prefix: F, path: 'groups[0]', rule: /saved with a schedule/ }],
      ['options Proxy with throwing traps', throwingProxy({ ...restore }), { own: sentinel }],
    ] as const) {
      await area.refuseAsync(`fromSafetensors(valid, ${label})`, () => fam.cls.fromSafetensors(valid as never, options as never), want as Want, undefined, true);
    }
    area.done();
    expectSameFuture(opt, twin);
  });

  it('zeroGrad() and methods called on something that is not the optimizer', async () => {
    const area = new Area('zeroGrad() and wrong receivers');
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    const proto = Object.getPrototypeOf(opt) as Record<string, (...args: unknown[]) => unknown>;
    const receivers: [string, unknown][] = [
      ['{}', {}],
      ['null', null],
      ['undefined', undefined],
      ['Object.create(opt)', Object.create(opt)],
      ['a Proxy of opt', new Proxy(opt, {})],
      ['a group', opt.groups[0]],
    ];
    const calls: [string, unknown[]][] = [
      ['zeroGrad', []],
      ['step', []],
      ['stepAsync', []],
      ['saveState', [{}]],
      ['loadState', [opt.saveState()]],
      ['exportSafetensors', [{}]],
      ['importSafetensors', [opt.exportSafetensors()]],
      ['addParamGroup', [{ size: N }]],
      ['saveStateToFile', [join(tmpdir(), 'hostile-never-written.ckpt')]],
      ['loadStateFromFile', [join(tmpdir(), 'hostile-never-read.ckpt')]],
      ['dispose', []],
    ];
    for (const [method, args] of calls) {
      const fn = (proto[method] ?? Object.getPrototypeOf(proto)[method]) as (...a: unknown[]) => unknown;
      for (const [label, receiver] of receivers) {
        // A brand check: a TypeError (thrown, or a rejection for the async methods), and nothing changes.
        area.count();
        const before = checksum(opt);
        let error: unknown = undefined;
        try {
          const result = fn.apply(receiver, args);
          if (result instanceof Promise) await result;
        } catch (e) {
          error = e;
        }
        if (!(error instanceof TypeError)) area.fail(`${method}.call(${label})`, error === undefined ? 'was accepted' : `threw ${messageOf(error)}`);
        area.check(`${method}.call(${label})`, checksum(opt) === before, 'changed the optimizer');
      }
    }
    const setPatch = (Object.getPrototypeOf(opt.groups[0]) as { set: (p: unknown) => void }).set;
    for (const [label, receiver] of receivers.filter(([l]) => l !== 'a group')) {
      area.refuse(`group.set.call(${label})`, () => setPatch.call(receiver, { lr: 0.5 }), { kind: TypeError, prefix: '' }, opt);
    }
    // Arguments zeroGrad() does not take change nothing but the gradients.
    for (const [label, arg] of [['NaN', NaN], ['{ params: true }', { params: true }], ['throwing Proxy', throwingProxy({})]] as const) {
      area.count();
      const before = checksum(opt).split('\n').filter((l) => !l.includes(' grads='));
      try {
        (opt.zeroGrad as (a: unknown) => void)(arg);
        area.check(`zeroGrad(${label})`, opt.groups.every((g) => g.grads.every((x) => Object.is(x, 0))), 'did not zero the gradients');
      } catch (error) {
        area.fail(`zeroGrad(${label})`, `threw ${messageOf(error)}`);
      }
      const after = checksum(opt).split('\n').filter((l) => !l.includes(' grads='));
      area.check(`zeroGrad(${label})`, after.join() === before.join(), 'changed something besides the gradients');
      feed(opt, 7);
    }
    area.done();
    expectSameFuture(opt, twin);
  });

  it('−0 is accepted wherever 0 is, and a state saved with it resumes bit for bit', async () => {
    const area = new Area('−0 accepted');
    const zeroable = Object.entries(fam.fields).filter(([, kind]) => kind === 'nonneg' || kind === 'beta' || kind === 'unit' || kind === 'betas');
    const setups: [string, Dict][] = [];
    for (const [field, kind] of zeroable) {
      if (kind === 'betas') {
        setups.push([`betas[0]`, { betas: [-0, 0.999] }], [`betas[1]`, { betas: [0.9, -0] }]);
      } else setups.push([field, { [field]: -0 }]);
    }
    // Inputs with ±0 everywhere, so any sign that matters shows in the bits.
    const init = Float32Array.of(-0, 0, -0, 0, 1, -1, 2, -2);
    const grads = [Float32Array.of(-0, -0, 0, 0, -0, 0, 1, -1), Float32Array.of(0, -0, -0, 0, 1, -1, -0, 0)];
    const run = (o: AnyOpt, t: number): void => {
      o.groups.forEach((g) => g.grads.set(grads[t % 2]!));
      o.step();
    };
    for (const [label, patch] of setups) {
      const field = label.replace(/\[\d\]$/, '');
      // Where a group with momentum 0 has no state array, −0 must not add or remove one either.
      const opts = fam.name === 'SGD' ? {} : fam.base;
      const created = await area.acceptAsync(`create({ ${label}: -0 })`, () => fam.cls.create([{ init }] as never, { ...opts, ...patch } as never));
      await area.acceptAsync(`create([{ ${label}: -0 }])`, async () => (await fam.cls.create([{ init, ...patch }] as never, opts as never)).dispose());
      const fresh = await fam.cls.create([{ init }] as never, opts as never);
      area.accept(`groups[0].${field} = (−0 in ${label})`, () => (groupView(fresh.groups[0])[field] = patch[field]));
      area.accept(`groups[0].set({ ${label}: -0 })`, () => fresh.groups[0]!.set(patch as never));
      const added = await area.acceptAsync(`addParamGroup({ ${label}: -0 })`, async (): Promise<unknown> => fresh.addParamGroup({ init, ...patch } as never));
      area.check(`addParamGroup({ ${label}: -0 })`, added !== undefined, 'no group');
      fresh.dispose();
      if (created === undefined) continue;
      area.count();
      run(created, 0);
      run(created, 1);
      const resumed = await fam.cls.fromState(created.saveState() as never);
      for (let t = 0; t < 3; t++) {
        run(created, t);
        run(resumed, t);
      }
      area.check(`save/resume with ${label} = -0`, sameBytes(created.saveState(), resumed.saveState()), 'the resumed optimizer diverged (the sign of −0 was lost or kept inconsistently)');
      created.dispose();
      resumed.dispose();
    }
    area.done();
  });

  it('lying getters and Proxies that change their answers: only validated values are used', async () => {
    const area = new Area('lying inputs');
    const valid = fam.name === 'SGDW' ? { field: 'momentum', ok: 0.5, bad: 5 } : { field: 'lr', ok: 0.5, bad: -5 };
    /** An object whose `key` reads `ok` the first time and `bad` ever after. */
    const liar = (key: string, ok: unknown, bad: unknown, rest: Dict = {}): Dict => {
      let reads = 0;
      return Object.defineProperty({ ...rest }, key, { enumerable: true, configurable: true, get: () => (reads++ === 0 ? ok : bad) });
    };
    const proxyLiar = (target: Dict, key: string, ok: unknown, bad: unknown): Dict => {
      let reads = 0;
      return new Proxy(target, { get: (t, k, r) => (k === key ? (reads++ === 0 ? ok : bad) : Reflect.get(t, k, r)) });
    };
    /** Either refused in the idiom or accepted with the value that was checked. */
    const settle = (label: string, read: () => unknown, error: unknown): void => {
      if (error !== undefined) {
        const problem = judge(error, { kind: error instanceof RangeError ? RangeError : TypeError, prefix: P });
        if (problem !== undefined) area.fail(label, problem);
        return;
      }
      const value = read();
      area.check(label, Object.is(value, valid.ok), `uses ${mark(value)}, not the value that was checked`);
    };
    const attempt = async (label: string, make: () => Promise<AnyOpt>, read: (o: AnyOpt) => unknown): Promise<void> => {
      area.count();
      try {
        const o = await make();
        settle(label, () => read(o), undefined);
        o.dispose();
      } catch (error) {
        settle(label, () => undefined, error);
      }
    };
    const { field, ok, bad } = valid;
    await attempt(`options.${field} getter`, () => fam.cls.create([{ size: N }] as never, liar(field, ok, bad) as never), (o) => groupView(o.groups[0])[field]);
    await attempt(`options Proxy ${field}`, () => fam.cls.create([{ size: N }] as never, proxyLiar({ [field]: ok }, field, ok, bad) as never), (o) => groupView(o.groups[0])[field]);
    await attempt(`groups[0].${field} getter`, () => fam.cls.create([liar(field, ok, bad, { size: N })] as never), (o) => groupView(o.groups[0])[field]);
    await attempt(`groups Proxy whose entries change`, () => {
      let reads = 0;
      const groups = new Proxy([{ size: N, [field]: ok }], { get: (t, k, r) => (k === '0' ? (reads++ === 0 ? { size: N, [field]: ok } : { size: N, [field]: bad }) : Reflect.get(t, k, r)) });
      return fam.cls.create(groups as never);
    }, (o) => groupView(o.groups[0])[field]);
    area.count();
    try {
      const o = await fam.cls.create([liar('size', N, -1)] as never);
      area.check(`groups[0].size getter (${N} then -1)`, o.groups[0]!.size === N, `size ${o.groups[0]!.size}`);
      o.dispose();
    } catch (error) {
      const problem = judge(error, { kind: RangeError, prefix: P, path: 'groups[0].size' });
      if (problem !== undefined) area.fail(`groups[0].size getter (${N} then -1)`, problem);
    }
    const opt = await fixture(fam);
    const twin = await fixture(fam);
    await attempt('addParamGroup getter', async () => {
      const g = await opt.addParamGroup(liar(field, ok, bad, { size: N }) as never);
      const value = groupView(g)[field];
      return { groups: [{ [field]: value }], dispose: () => {} } as unknown as AnyOpt;
    }, (o) => groupView(o.groups[0])[field]);
    if (opt.groups.length > 2) {
      // The group was accepted: the twin gets the same one, so that the futures still compare.
      await twin.addParamGroup({ size: N, [field]: ok } as never);
      opt.groups[2]!.grads.set(twin.groups[2]!.grads);
    }
    const g = opt.groups[1]!;
    const original = groupView(g)[field];
    for (const [label, patch] of [
      ['set(getter)', liar(field, ok, bad)],
      ['set(Proxy)', proxyLiar({ [field]: ok }, field, ok, bad)],
    ] as const) {
      area.count();
      try {
        g.set(patch as never);
        settle(label, () => groupView(g)[field], undefined);
      } catch (error) {
        settle(label, () => undefined, error);
      }
      g.set({ [field]: original } as never);
    }
    if (fieldNames.includes('betas')) {
      let reads = 0;
      const betas = new Proxy([0.9, 0.999], { get: (t, k, r) => (k === '0' ? (reads++ === 0 ? 0.9 : 7) : Reflect.get(t, k, r)) });
      area.count();
      try {
        g.set({ betas } as never);
        const b = (g as unknown as { betas: readonly number[] }).betas;
        area.check('set({ betas: lying Proxy })', b[0] === 0.9 && b[1] === 0.999, `betas became ${mark(b)}`);
      } catch (error) {
        settle('set({ betas: lying Proxy })', () => undefined, error);
      }
      g.set({ betas: [0.9, 0.999] } as never);
    }
    area.done();
    expectSameFuture(opt, twin);
  });

  it.each(['wasm-simd', 'wasm', 'js'] as const)("transferring the memory behind the views (backend '%s') is not a back door", async (backend) => {
    const area = new Area('transferring the views’ buffer');
    if (!isBackendAvailable(backend)) return;
    const opt = await fixture(fam, { backend });
    const twin = await fixture(fam, { backend });
    const before = checksum(opt);
    area.count();
    const buffer = opt.groups[0]!.params.buffer;
    try {
      structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
    } catch {
      // Refusing the transfer (a non-transferable buffer) is one way to keep the memory.
    }
    area.check('structuredClone(params.buffer, { transfer })', opt.groups[0]!.params.length === N && checksum(opt) === before, 'the optimizer lost its memory (views detached)');
    area.done();
    expectSameFuture(opt, twin);
  });
});

// ---------------------------------------------------------------------------------------------
// Schedules, normalizedWeightDecay, isBackendAvailable
// ---------------------------------------------------------------------------------------------

type Factory = (options: never) => (t: number) => number;
const FACTORIES: readonly { name: string; make: Factory; valid: Dict; fields: Record<string, 'int0' | 'int1' | 'factor'>; typos: string[] }[] = [
  { name: 'cosine', make: schedules.cosine as Factory, valid: { steps: 10, etaMin: 0.1 }, fields: { steps: 'int1', etaMin: 'factor' }, typos: ['step', 'eta_min', 'etamin', 'T_max'] },
  {
    name: 'cosineWarmRestarts',
    make: schedules.cosineWarmRestarts as Factory,
    valid: { t0: 3, tMult: 2, etaMin: 0.1 },
    fields: { t0: 'int1', tMult: 'int1', etaMin: 'factor' },
    typos: ['T_0', 't_0', 'T0', 'tmult', 'T_mult', 'eta_min'],
  },
  { name: 'linearWarmup', make: schedules.linearWarmup as Factory, valid: { steps: 5, startFactor: 0.1 }, fields: { steps: 'int0', startFactor: 'factor' }, typos: ['warmup', 'start_factor', 'num_warmup_steps'] },
  {
    name: 'linear',
    make: schedules.linear as Factory,
    valid: { steps: 5, startFactor: 1, endFactor: 0.1 },
    fields: { steps: 'int1', startFactor: 'factor', endFactor: 'factor' },
    typos: ['total_iters', 'end_factor', 'endfactor'],
  },
];

/** Bad completed-step counts for a returned schedule. */
function stepCountBads(): Bad[] {
  const rule = /must be an integer >= 0/;
  return [
    ...NOT_NUMBERS.map(([label, value, shown]): Bad => ({ label, value, kind: TypeError, suffix: '', rule, shown: shown && got(shown) })),
    { label: 'undefined', value: undefined, kind: TypeError, suffix: '', rule, shown: got('undefined') },
    ...[NaN, Infinity, -Infinity, -1, 1.5, -Number.MIN_VALUE, Number.MIN_VALUE].map((v): Bad => ({ label: num(v), value: v, kind: RangeError, suffix: '', rule, shown: got(num(v)) })),
    ...[2 ** 53, 1e300].map((v): Bad => ({ label: num(v), value: v, kind: RangeError, suffix: '', rule: /MAX_SAFE_INTEGER/, shown: got(num(v)) })),
  ];
}

const NOT_OPTION_BAGS: readonly (readonly [string, unknown, string])[] = [
  ['undefined', undefined, 'undefined'],
  ['null', null, 'null'],
  ['5', 5, '5'],
  ['"x"', 'x', '"x"'],
  ['[]', [], 'an array of length 0'],
  ['true', true, 'true'],
  ['() => ({})', () => ({}), 'a function'],
  ['1n', 1n, '1n'],
  ['Symbol()', Symbol('o'), 'a symbol'],
];

describe('schedules', () => {
  it.each(FACTORIES)('schedules.$name(options) and the schedule it returns', ({ name, make, valid, fields, typos }) => {
    const area = new Area('schedules.*(options) and their schedules');
    const P = `schedules.${name}: `;
    for (const [label, value, shown] of NOT_OPTION_BAGS) area.refuse(`options ${label}`, () => make(value as never), { kind: TypeError, prefix: P, path: 'options', rule: /must be an object/, shown: got(shown) });
    for (const key of typos) area.refuse(`unknown ${key}`, () => make({ ...valid, [key]: 1 } as never), { kind: TypeError, prefix: P, path: key, rule: /unknown option/ });
    for (const [field, kind] of Object.entries(fields)) {
      const bads = kind === 'factor' ? numberBads('unit') : intBads(kind === 'int0' ? 0 : 1);
      for (const b of bads) area.refuse(`${field} ${b.label}`, () => make({ ...valid, [field]: b.value } as never), { kind: b.kind, prefix: P, path: field, rule: b.rule, shown: b.shown });
      if (kind !== 'factor' && field !== 'tMult') area.refuse(`${field} missing`, () => make({ ...valid, [field]: undefined } as never), { kind: TypeError, prefix: P, path: field, shown: got('undefined') });
      // −0 is accepted where 0 is, and gives what 0 gives.
      if (kind !== 'int1') {
        const withNegZero = area.accept(`${field} -0`, () => make({ ...valid, [field]: -0 } as never));
        const withZero = make({ ...valid, [field]: 0 } as never);
        if (withNegZero) area.check(`${field} -0`, [0, 1, 2, 7].every((t) => Object.is(withNegZero(t), withZero(t))), 'differs from 0');
      }
    }
    area.refuse('options Proxy with throwing traps', () => make(throwingProxy({ ...valid }) as never), { own: sentinel });
    const schedule = make(valid as never);
    const S = `schedules.${name} schedule: `;
    for (const b of stepCountBads()) area.refuse(`schedule(${b.label})`, () => schedule(b.value as number), { kind: b.kind, prefix: S, path: 'completedSteps', rule: b.rule, shown: b.shown });
    area.check('schedule(-0)', area.accept('schedule(-0)', () => Object.is(schedule(-0), schedule(0))) === true, 'differs from schedule(0)');
    area.done();
  });

  it('schedules.constant() and its schedule', () => {
    const area = new Area('schedules.*(options) and their schedules');
    const schedule = schedules.constant();
    for (const b of stepCountBads()) area.refuse(`schedule(${b.label})`, () => schedule(b.value as number), { kind: b.kind, prefix: 'schedules.constant schedule: ', path: 'completedSteps', rule: b.rule, shown: b.shown });
    area.done();
  });

  it('schedules.sequence(parts) and its schedule', () => {
    const area = new Area('schedules.sequence(parts) and its schedule');
    const P = 'schedules.sequence: ';
    const f = schedules.constant();
    const seq = (parts: unknown) => schedules.sequence(parts as never);
    for (const [label, value, shown] of NOT_OPTION_BAGS.filter(([l]) => l !== '[]')) {
      area.refuse(`parts ${label}`, () => seq(value), { kind: TypeError, prefix: P, path: 'parts', shown: got(shown) });
    }
    area.refuse('parts { schedule }', () => seq({ schedule: f }), { kind: TypeError, prefix: P, path: 'parts', shown: got('an object') });
    area.refuse('parts []', () => seq([]), { kind: RangeError, prefix: P, path: 'parts', rule: /non-empty/ });
    for (const [label, value, shown] of [['null', null, 'null'], ['5', 5, '5'], ['"x"', 'x', '"x"'], ['undefined', undefined, 'undefined'], ['a function', f, 'a function']] as const) {
      area.refuse(`parts[1] ${label}`, () => seq([{ schedule: f, steps: 1 }, value]), { kind: TypeError, prefix: P, path: 'parts[1]', shown: got(shown) });
    }
    // Holes are refused, as in create(): a part that is not there is not a part of length 0.
    // eslint-disable-next-line no-sparse-arrays
    area.refuse('a hole at parts[0]', () => seq([, { schedule: f }]), { kind: TypeError, prefix: P, path: 'parts[0]', shown: got('undefined') });
    // eslint-disable-next-line no-sparse-arrays
    area.refuse('a hole at parts[1]', () => seq([{ schedule: f, steps: 2 }, , { schedule: f }]), { kind: TypeError, prefix: P, path: 'parts[1]', shown: got('undefined') });
    for (const [label, value, shown] of NOT_FUNCTIONS) {
      area.refuse(`parts[0].schedule ${label}`, () => seq([{ schedule: value, steps: 1 }, { schedule: f }]), { kind: TypeError, prefix: P, path: 'parts[0].schedule', shown: shown && got(shown) });
      area.refuse(`last part's schedule ${label}`, () => seq([{ schedule: f, steps: 1 }, { schedule: value }]), { kind: TypeError, prefix: P, path: 'parts[1].schedule', shown: shown && got(shown) });
    }
    area.refuse('parts[0].steps missing', () => seq([{ schedule: f }, { schedule: f }]), { kind: TypeError, prefix: P, path: 'parts[0].steps', shown: got('undefined') });
    for (const b of intBads(0)) {
      area.refuse(`parts[0].steps ${b.label}`, () => seq([{ schedule: f, steps: b.value }, { schedule: f }]), { kind: b.kind, prefix: P, path: 'parts[0].steps', rule: b.rule, shown: b.shown });
      area.refuse(`last part's steps ${b.label}`, () => seq([{ schedule: f, steps: 1 }, { schedule: f, steps: b.value }]), { kind: b.kind, prefix: P, path: 'parts[1].steps', rule: b.rule, shown: b.shown });
    }
    for (const key of ['step', 'Steps', 'schedules', 'fn', 'length']) {
      area.refuse(`unknown parts[0].${key}`, () => seq([{ schedule: f, steps: 1, [key]: 1 }, { schedule: f }]), { kind: TypeError, prefix: P, path: `parts[0].${key}`, rule: /unknown option/ });
    }
    area.refuse('total steps over MAX_SAFE_INTEGER', () => seq([{ schedule: f, steps: 2 ** 53 - 1 }, { schedule: f, steps: 2 }, { schedule: f }]), { kind: RangeError, prefix: P, rule: /MAX_SAFE_INTEGER/ });
    area.refuse('parts Proxy with throwing traps', () => seq(throwingProxy([{ schedule: f }])), { own: sentinel });
    area.refuse('a part with a throwing schedule getter', () => seq([throwingGetter('schedule', { steps: 1 }), { schedule: f }]), { own: sentinel });
    // The returned schedule: bad step counts, and parts that return garbage.
    const S = /^schedules\.sequence( schedule)?: /;
    const good = seq([{ schedule: schedules.linearWarmup({ steps: 2 }), steps: 2 }, { schedule: schedules.cosine({ steps: 4 }) }]);
    for (const b of stepCountBads()) area.refuse(`schedule(${b.label})`, () => good(b.value as number), { kind: b.kind, prefix: 'schedules.sequence schedule: ', path: 'completedSteps', rule: b.rule, shown: b.shown });
    const returns: [string, unknown, ErrorClass][] = [
      ['NaN', NaN, RangeError],
      ['-1', -1, RangeError],
      ['Infinity', Infinity, RangeError],
      ['"0.5"', '0.5', TypeError],
      ['undefined', undefined, TypeError],
      ['null', null, TypeError],
      ['1n', 1n, TypeError],
      ['{}', {}, TypeError],
    ];
    for (const [label, value, kind] of returns) {
      for (const at of [0, 1]) {
        const parts = [{ schedule: at === 0 ? () => value : f, steps: 2 }, { schedule: at === 1 ? () => value : f }];
        const s = seq(parts);
        area.count();
        try {
          s(at === 0 ? 1 : 3);
          area.fail(`parts[${at}].schedule returning ${label}`, 'accepted');
        } catch (error) {
          const problem = judge(error, { kind, prefix: '', path: `parts[${at}].schedule`, shown: mark(value) === 'undefined' ? 'undefined' : undefined });
          if (problem !== undefined || !S.test((error as Error).message)) area.fail(`parts[${at}].schedule returning ${label}`, problem ?? `no prefix ${String(S)}: ${(error as Error).message}`);
        }
      }
    }
    const throwingPart = seq([{ schedule: throwing, steps: 1 }, { schedule: f }]);
    area.refuse('a part that throws', () => throwingPart(0), { own: sentinel });
    area.done();
  });
});

describe('normalizedWeightDecay(options)', () => {
  it('refuses bad options and results that are no weight decay', () => {
    const area = new Area('normalizedWeightDecay(options)');
    const P = 'normalizedWeightDecay: ';
    const valid = { lambdaNorm: 0.05, batchSize: 128, trainingSize: 50_000, epochs: 100 };
    const nwd = (o: unknown) => normalizedWeightDecay(o as never);
    for (const [label, value, shown] of NOT_OPTION_BAGS) area.refuse(`options ${label}`, () => nwd(value), { kind: TypeError, prefix: P, path: 'options', rule: /must be an object/, shown: got(shown) });
    for (const key of ['lambda_norm', 'lambda', 'batch_size', 'batch', 'training_size', 'epoch', 'steps']) {
      area.refuse(`unknown ${key}`, () => nwd({ ...valid, [key]: 1 }), { kind: TypeError, prefix: P, path: key, rule: /unknown option/ });
    }
    const fields: [string, Bad[]][] = [
      ['lambdaNorm', numberBads('nonneg')],
      ['batchSize', intBads(1)],
      ['trainingSize', intBads(1)],
      ['epochs', numberBads('positive')],
    ];
    for (const [field, bads] of fields) {
      for (const b of bads) area.refuse(`${field} ${b.label}`, () => nwd({ ...valid, [field]: b.value }), { kind: b.kind, prefix: P, path: field, rule: b.rule, shown: b.shown });
      area.refuse(`${field} missing`, () => nwd({ ...valid, [field]: undefined }), { kind: TypeError, prefix: P, path: field, shown: got('undefined') });
    }
    area.refuse('options Proxy with throwing traps', () => nwd(throwingProxy({ ...valid })), { own: sentinel });
    area.refuse('a throwing epochs getter', () => nwd(throwingGetter('epochs', { lambdaNorm: 0.05, batchSize: 1, trainingSize: 1 })), { own: sentinel });
    // Each input in range, the result not a usable weight decay: ∞, NaN, or over float32 (which every optimizer refuses).
    const results: [string, Dict][] = [
      ['λ = ∞ (b/(B·T) overflows)', { lambdaNorm: 0.05, batchSize: 2 ** 53 - 1, trainingSize: 1, epochs: 1e-300 }],
      ['λ = NaN (0 · ∞)', { lambdaNorm: 0, batchSize: 2 ** 53 - 1, trainingSize: 1, epochs: 1e-300 }],
      ['λ = ∞ (epochs subnormal)', { lambdaNorm: 1, batchSize: 1, trainingSize: 1, epochs: Number.MIN_VALUE }],
      ['λ over float32', { lambdaNorm: 3e38, batchSize: 1_000_000, trainingSize: 1, epochs: 1 }],
    ];
    for (const [label, options] of results) area.refuse(label, () => nwd(options), { kind: RangeError, prefix: P });
    // −0 is accepted where 0 is.
    area.check('lambdaNorm -0', area.accept('lambdaNorm -0', () => nwd({ ...valid, lambdaNorm: -0 })) === 0, 'not 0');
    area.done();
  });
});

describe('isBackendAvailable(name)', () => {
  it('answers for the three backends and refuses anything else', () => {
    const area = new Area('isBackendAvailable(name)');
    for (const name of ['wasm-simd', 'wasm', 'js'] as const) {
      const answer = area.accept(name, () => isBackendAvailable(name));
      area.check(name, typeof answer === 'boolean' && (name !== 'js' || answer), `answered ${String(answer)}`);
    }
    const bads: [string, unknown, string][] = [
      ['"simd"', 'simd', '"simd"'],
      ['"WASM"', 'WASM', '"WASM"'],
      ['"wasm "', 'wasm ', '"wasm "'],
      ['"Js"', 'Js', '"Js"'],
      ['""', '', '""'],
      ['"toString"', 'toString', '"toString"'],
      ['"__proto__"', '__proto__', '"__proto__"'],
      ['"constructor"', 'constructor', '"constructor"'],
      ['5', 5, '5'],
      ['null', null, 'null'],
      ['undefined', undefined, 'undefined'],
      ['true', true, 'true'],
      ['{}', {}, 'an object'],
      ['["js"]', ['js'], 'an array of length 1'],
      ['Symbol()', Symbol('js'), 'a symbol'],
      ['1n', 1n, '1n'],
      ['new String("js")', new String('js'), 'a String'],
    ];
    for (const [label, value, shown] of bads) {
      area.refuse(`isBackendAvailable(${label})`, () => isBackendAvailable(value as never), {
        kind: TypeError,
        prefix: 'isBackendAvailable: ',
        rule: /one of 'wasm-simd', 'wasm', 'js'/,
        shown: got(shown),
      });
    }
    // Hostile names never poison the answers for the real ones.
    area.check('js after hostile names', isBackendAvailable('js'), 'js became unavailable');
    area.done();
  });
});
