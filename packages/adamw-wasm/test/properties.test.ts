/**
 * Property-based tests (fast-check) of three promises the package makes:
 *
 *  P1  every backend ('js', 'wasm', 'wasm-simd') and every thread count gives the same bits,
 *      step after step, for random optimizers, hyperparameters (edge values included),
 *      schedules, groups and gradient streams (±0, subnormals, ±huge, NaN payloads, ±Inf);
 *  P2  saveState() at a random step, restored with fromState() (any backend/threads) or
 *      loadState() into a fresh identical optimizer, resumes bit for bit;
 *  P3  random interleavings of calls, with stepAsync() left in flight (addParamGroup is synchronous), follow
 *      the one-call-at-a-time rule: refused calls throw (or reject) with the busy message and
 *      change nothing, accepted calls behave as on a sequential reference, nothing hangs.
 *
 * Arrays are compared as Uint32 words: NaN payloads and the sign of zero count.
 *
 * Replay a failure: the seed is printed at the start of each property and by fast-check on
 * failure, with the path of the shrunk counterexample:
 *   FC_SEED=<seed> FC_PATH=<path> pnpm exec vitest run packages/adamw-wasm/test/properties.test.ts -t P1
 * FC_RUNS_SCALE=<factor> multiplies every numRuns (e.g. 10 for a long soak).
 */
import { describe, it } from 'vitest';
import fc from 'fast-check';
import { Adam, AdamW, NonFiniteGradientError, normalizedWeightDecay, schedules, SGD, SGDW, type BackendName, type Schedule } from 'adamw-wasm';
import { xorshift32 } from './helpers.js';

// ───────────────────────────── replay and budget ─────────────────────────────

const ENV_SEED = process.env.FC_SEED;
const ENV_PATH = process.env.FC_PATH;
const SCALE = process.env.FC_RUNS_SCALE === undefined ? 1 : Number(process.env.FC_RUNS_SCALE);
const SEED = ENV_SEED === undefined ? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0 : Number(ENV_SEED);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

function params<T>(name: string, numRuns: number): fc.Parameters<T> {
  console.log(`[properties] ${name}: numRuns=${numRuns} seed=${SEED}${ENV_PATH === undefined ? '' : ` path=${ENV_PATH}`}`);
  return {
    numRuns,
    seed: SEED,
    ...(ENV_PATH === undefined ? {} : { path: ENV_PATH }),
    // A single run that takes this long has hung (a pending promise that never settles).
    timeout: 30_000,
    // Bounds shrinking too, so that a failure is reported (with its seed) before vitest's timeout.
    interruptAfterTimeLimit: 240_000,
    markInterruptAsFailure: true,
  };
}

// ───────────────────────────── the API, loosely typed ─────────────────────────────

type FamilyName = 'AdamW' | 'Adam' | 'SGD' | 'SGDW';
type Opt = AdamW | Adam | SGD | SGDW;
type Spec = Record<string, unknown>;

interface AnyGroup {
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly state: Readonly<Record<string, Float32Array>>;
  readonly size: number;
  readonly stepCount: number;
  readonly hyperparameters: Readonly<Record<string, unknown>>;
  set(patch: Spec): void;
}
const groupsOf = (opt: Opt): readonly AnyGroup[] => opt.groups as unknown as readonly AnyGroup[];
/** addParamGroup is synchronous: it returns the group or throws. */
const addGroup = (opt: Opt, spec: Spec): unknown => (opt as unknown as { addParamGroup(spec: Spec): unknown }).addParamGroup(spec);

const CREATE: Record<FamilyName, (groups: Spec[], options: Spec) => Promise<Opt>> = {
  AdamW: (g, o) => AdamW.create(g as never, o as never),
  Adam: (g, o) => Adam.create(g as never, o as never),
  SGD: (g, o) => SGD.create(g as never, o as never),
  SGDW: (g, o) => SGDW.create(g as never, o as never),
};
const FROM_STATE: Record<FamilyName, (bytes: Uint8Array, o: Spec) => Promise<Opt>> = {
  AdamW: (b, o) => AdamW.fromState(b, o as never),
  Adam: (b, o) => Adam.fromState(b, o as never),
  SGD: (b, o) => SGD.fromState(b, o as never),
  SGDW: (b, o) => SGDW.fromState(b, o as never),
};

interface Target {
  readonly backend: BackendName;
  readonly threads: number;
}
const showTarget = (t: Target): string => `${t.backend}${t.threads > 1 ? `×${t.threads}` : ''}`;

// ───────────────────────────── schedules as data ─────────────────────────────

type BaseSched =
  | { kind: 'constant' }
  | { kind: 'linearWarmup'; steps: number; startFactor?: number }
  | { kind: 'linear'; steps: number; startFactor?: number; endFactor?: number }
  | { kind: 'cosine'; steps: number; etaMin?: number }
  | { kind: 'cosineWarmRestarts'; t0: number; tMult?: number; etaMin?: number };
type SchedSpec =
  | BaseSched
  | { kind: 'sequence'; parts: { part: BaseSched; steps: number }[]; last: BaseSched }
  /** `base`, except at completed step `at`, where it returns `value` (garbage, huge, -0...). */
  | { kind: 'custom'; base: BaseSched; at: number; value: number }
  /** Only in patches: remove the schedule. */
  | { kind: 'none' };

const factorArb = fc.oneof(fc.constantFrom(0, -0, 1, 0.5, 1e-30), fc.double({ min: 0, max: 1, noNaN: true }));
const baseSchedArb: fc.Arbitrary<BaseSched> = fc.oneof(
  fc.constant({ kind: 'constant' as const }),
  fc.record({ kind: fc.constant('linearWarmup' as const), steps: fc.integer({ min: 0, max: 8 }), startFactor: factorArb }, { requiredKeys: ['kind', 'steps'] }),
  fc.record(
    { kind: fc.constant('linear' as const), steps: fc.integer({ min: 1, max: 8 }), startFactor: factorArb, endFactor: factorArb },
    { requiredKeys: ['kind', 'steps'] },
  ),
  fc.record({ kind: fc.constant('cosine' as const), steps: fc.integer({ min: 1, max: 8 }), etaMin: factorArb }, { requiredKeys: ['kind', 'steps'] }),
  fc.record(
    { kind: fc.constant('cosineWarmRestarts' as const), t0: fc.integer({ min: 1, max: 5 }), tMult: fc.integer({ min: 1, max: 3 }), etaMin: factorArb },
    { requiredKeys: ['kind', 't0'] },
  ),
);
const schedArb: fc.Arbitrary<SchedSpec> = fc.oneof(
  { weight: 5, arbitrary: baseSchedArb },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('sequence' as const),
      parts: fc.array(fc.record({ part: baseSchedArb, steps: fc.integer({ min: 0, max: 4 }) }), { maxLength: 2 }),
      last: baseSchedArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('custom' as const),
      base: baseSchedArb,
      at: fc.integer({ min: 0, max: 8 }),
      value: fc.constantFrom(Number.NaN, -1, Number.POSITIVE_INFINITY, 1e30, 2, 0, -0, 1e-40),
    }),
  },
);

function buildBase(s: BaseSched): Schedule {
  switch (s.kind) {
    case 'constant':
      return schedules.constant();
    case 'linearWarmup': {
      const { kind: _, ...o } = s;
      return schedules.linearWarmup(o);
    }
    case 'linear': {
      const { kind: _, ...o } = s;
      return schedules.linear(o);
    }
    case 'cosine': {
      const { kind: _, ...o } = s;
      return schedules.cosine(o);
    }
    case 'cosineWarmRestarts': {
      const { kind: _, ...o } = s;
      return schedules.cosineWarmRestarts(o);
    }
  }
}

function buildSchedule(s: SchedSpec): Schedule | undefined {
  switch (s.kind) {
    case 'none':
      return undefined;
    case 'sequence':
      return schedules.sequence([...s.parts.map((p) => ({ schedule: buildBase(p.part), steps: p.steps })), { schedule: buildBase(s.last) }]);
    case 'custom': {
      const base = buildBase(s.base);
      return (t) => (t === s.at ? s.value : base(t));
    }
    default:
      return buildBase(s);
  }
}

/** A hyperparameter spec with its schedule spec turned into a function. */
function materialize(spec: Spec): Spec {
  const out: Spec = {};
  for (const [key, value] of Object.entries(spec)) out[key] = key === 'schedule' ? buildSchedule(value as SchedSpec) : value;
  return out;
}

// ───────────────────────────── hyperparameters ─────────────────────────────

const F32_MAX = 3.4028234663852886e38;
const lrArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1e-3, 1e-2, 0.1, 3e-4) },
  { weight: 3, arbitrary: fc.constantFrom(0, -0, 1e-45, 1e-38, 1e-20, 1, 10, 1e4, 1e30, F32_MAX) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 10, noNaN: true }) },
);
const betaArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0.9, 0.999, 0.5, 0.99) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, 5e-324, 1e-10, 0.9999999, 1 - 2 ** -24, 1 - 2 ** -53) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }) },
);
const epsArb = fc.oneof(
  fc.constantFrom(0, -0, 1e-45, 1e-30, 1e-8, 1e-7, 1e-6, 1e-3, 1, 1e10),
  fc.double({ min: 0, max: 1, noNaN: true }),
);
const wdArb = fc.oneof(
  fc.constantFrom(0, -0, 1e-4, 1e-2, 0.1, 1, 10, 1e30, F32_MAX),
  fc.double({ min: 0, max: 2, noNaN: true }),
);
const sgdMomentumArb = fc.oneof(fc.constantFrom(0, -0, 0.5, 0.9, 0.99, 1, 1.5, 1e-10), fc.double({ min: 0, max: 2, noNaN: true }));
const clipArb = fc.oneof(fc.constantFrom(1e-30, 1e-6, 0.5, 1, 5, 1e10, F32_MAX), fc.double({ min: 1e-3, max: 100, noNaN: true }));

const schedOrNone = fc.oneof({ weight: 4, arbitrary: schedArb }, { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) });

function hyperModel(family: FamilyName, forPatch: boolean): Record<string, fc.Arbitrary<unknown>> {
  const common = { lr: lrArb, maximize: fc.boolean(), schedule: forPatch ? schedOrNone : schedArb };
  const adam = { ...common, betas: fc.tuple(betaArb, betaArb), eps: epsArb, weightDecay: wdArb, amsgrad: fc.boolean(), epsMode: fc.constantFrom('torch', 'hat') };
  switch (family) {
    case 'AdamW':
      return {
        ...adam,
        weightDecayScale: fc.constantFrom('lr', 'schedule'),
        decayOrder: fc.constantFrom('before', 'after'),
        ...(forPatch ? {} : { preset: fc.constantFrom('torch', 'keras', 'tfa', 'transformers', 'paper') }),
      };
    case 'Adam':
      return { ...adam, ...(forPatch ? {} : { preset: fc.constantFrom('torch', 'keras') }) };
    case 'SGD':
      return { ...common, momentum: sgdMomentumArb, dampening: factorArb, weightDecay: wdArb, nesterov: fc.boolean() };
    case 'SGDW':
      return { ...common, momentum: betaArb, weightDecay: wdArb, weightDecayScale: fc.constantFrom('lr', 'schedule') };
  }
}

/** Each key present with probability about 1/4 (fc.record's own default is 1/2, too many overrides). */
function sparseRecord(model: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Spec> {
  const entries = Object.entries(model).map(([key, arb]) =>
    fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb.map((v) => [key, v] as const) }),
  );
  return fc.tuple(...entries).map((kvs) => {
    const out: Spec = {};
    for (const kv of kvs) if (kv !== undefined) out[kv[0]] = kv[1];
    return out;
  });
}

// ───────────────────────────── groups, gradients ─────────────────────────────

type InitRegime = 'varied' | 'signedZeros' | 'big' | 'tiny';
interface InitSpec {
  seed: number;
  regime: InitRegime;
}
interface GroupCfg {
  size: number;
  init: InitSpec | undefined;
  hyper: Spec;
}
interface Config {
  family: FamilyName;
  options: Spec;
  groups: GroupCfg[];
  /** Groups added with addParamGroup right after create. */
  added: GroupCfg[];
}

const sizeArb = (max: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 70 }) },
    { weight: 2, arbitrary: fc.integer({ min: 71, max: Math.min(5000, max) }) },
    { weight: 1, arbitrary: fc.integer({ min: Math.min(5001, max), max }) },
  );

const groupArb = (family: FamilyName, maxSize: number): fc.Arbitrary<GroupCfg> =>
  fc.record({
    size: sizeArb(maxSize),
    init: fc.option(fc.record({ seed: fc.nat(), regime: fc.constantFrom<InitRegime>('varied', 'signedZeros', 'big', 'tiny') }), { nil: undefined }),
    hyper: sparseRecord(hyperModel(family, false)),
  });

const GLOBAL_MODEL = { clipGradNorm: clipArb, nonFinite: fc.constantFrom('throw', 'skip', 'ignore') };

/** Makes a generated config valid: presets that need weightDecay get one; Nesterov gets momentum and no dampening. */
function fixGroup(family: FamilyName, options: Spec, g: GroupCfg, wdFallback: number): GroupCfg {
  const hyper = { ...g.hyper };
  const preset = (hyper.preset ?? options.preset) as string | undefined;
  if ((preset === 'tfa' || preset === 'paper') && hyper.weightDecay === undefined && options.weightDecay === undefined) hyper.weightDecay = wdFallback;
  if (family === 'SGD') {
    const nesterov = (hyper.nesterov ?? options.nesterov ?? false) as boolean;
    const momentum = (hyper.momentum ?? options.momentum ?? 0) as number;
    const dampening = (hyper.dampening ?? options.dampening ?? 0) as number;
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      if (momentum <= 0) hyper.momentum = 0.9;
      hyper.dampening = 0;
    }
  }
  return { ...g, hyper };
}

function configArb(maxTotal: number, maxAdded: number): fc.Arbitrary<Config> {
  return fc.constantFrom<FamilyName>('AdamW', 'Adam', 'SGD', 'SGDW').chain((family) =>
    fc
      .record({
        family: fc.constant(family),
        options: fc.tuple(sparseRecord(hyperModel(family, false)), sparseRecord(GLOBAL_MODEL)).map(([h, g]) => ({ ...h, ...g })),
        groups: fc.array(groupArb(family, 100_000), { minLength: 1, maxLength: 3 }),
        added: fc.array(groupArb(family, 5000), { maxLength: maxAdded }),
        // The paper's normalized weight decay, for presets that need weightDecay.
        nwd: fc.record({
          lambdaNorm: fc.constantFrom(0, 0.025, 0.05, 1),
          batchSize: fc.integer({ min: 1, max: 512 }),
          trainingSize: fc.integer({ min: 1, max: 100_000 }),
          epochs: fc.constantFrom(0.5, 1, 100),
        }),
      })
      .map(({ nwd, ...cfg }) => {
        const total = [...cfg.groups, ...cfg.added].reduce((n, g) => n + g.size, 0);
        const shrink = (g: GroupCfg): GroupCfg => (total <= maxTotal ? g : { ...g, size: Math.max(1, Math.floor((g.size * maxTotal) / total)) });
        const wd = normalizedWeightDecay(nwd);
        return {
          ...cfg,
          groups: cfg.groups.map((g) => fixGroup(family, cfg.options, shrink(g), wd)),
          added: cfg.added.map((g) => fixGroup(family, cfg.options, shrink(g), wd)),
        };
      }),
  );
}

const xorshift = xorshift32;

function makeInit(size: number, spec: InitSpec): Float32Array {
  const out = new Float32Array(size);
  const bits = new Uint32Array(out.buffer);
  let x = (spec.seed ^ 0x5bd1e995) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x = xorshift(x);
    const sign = x & 0x80000000;
    const mantissa = x & 0x7fffff;
    switch (spec.regime) {
      case 'varied':
        out[i] = x % 11 === 0 ? 0 : ((x >>> 8) / 2 ** 24 - 0.5) * 2 ** ((x % 13) - 6);
        break;
      case 'signedZeros':
        bits[i] = x % 3 === 0 ? sign : sign | mantissa | ((120 + (x % 10)) << 23);
        break;
      case 'big':
        bits[i] = sign | mantissa | ((220 + (x % 34)) << 23); // up to 2^126: finite
        break;
      case 'tiny':
        bits[i] = sign | mantissa | ((x % 4) << 23); // subnormals and the smallest normals
        break;
    }
  }
  return out;
}

type GradRegime = 'varied' | 'small' | 'tiny' | 'subnormal' | 'huge' | 'allFinite' | 'zeros';
type Special =
  | '+0'
  | '-0'
  | '+minSub'
  | '-minSub'
  | '+maxSub'
  | 'minNormal'
  | '+max'
  | '-max'
  | 'NaN'
  | '-NaN'
  | 'sNaN'
  | '+Inf'
  | '-Inf'
  | { nanPayload: number; negative: boolean };
interface GradSpec {
  seed: number;
  regime: GradRegime;
  specials: { group: number; at: number; value: Special }[];
}

const SPECIAL_BITS: Record<Exclude<Special, object>, number> = {
  '+0': 0,
  '-0': 0x80000000,
  '+minSub': 1,
  '-minSub': 0x80000001,
  '+maxSub': 0x007fffff,
  minNormal: 0x00800000,
  '+max': 0x7f7fffff,
  '-max': 0xff7fffff,
  NaN: 0x7fc00000,
  '-NaN': 0xffc00000,
  sNaN: 0x7f800001,
  '+Inf': 0x7f800000,
  '-Inf': 0xff800000,
};
const specialBits = (s: Special): number =>
  typeof s === 'string' ? SPECIAL_BITS[s] : ((s.negative ? 0x80000000 : 0) | 0x7f800000 | (s.nanPayload & 0x7fffff) || 0x7fc00000) >>> 0;

const specialArb: fc.Arbitrary<Special> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Special>('+0', '-0', '+minSub', '-minSub', '+maxSub', 'minNormal', '+max', '-max') },
  { weight: 2, arbitrary: fc.constantFrom<Special>('NaN', '-NaN', 'sNaN', '+Inf', '-Inf') },
  { weight: 1, arbitrary: fc.record({ nanPayload: fc.integer({ min: 1, max: 0x7fffff }), negative: fc.boolean() }) },
);

const gradArb: fc.Arbitrary<GradSpec> = fc.record({
  seed: fc.nat(),
  regime: fc.oneof(
    { weight: 4, arbitrary: fc.constant<GradRegime>('varied') },
    { weight: 3, arbitrary: fc.constantFrom<GradRegime>('small', 'tiny', 'subnormal', 'huge', 'allFinite', 'zeros') },
  ),
  specials: fc.oneof(
    { weight: 3, arbitrary: fc.constant<GradSpec['specials']>([]) },
    { weight: 2, arbitrary: fc.array(fc.record({ group: fc.nat(3), at: fc.nat(), value: specialArb }), { minLength: 1, maxLength: 3 }) },
  ),
});

function fillGrads(out: Float32Array, spec: GradSpec, group: number, groups: number): void {
  const bits = new Uint32Array(out.buffer, out.byteOffset, out.length);
  let x = (spec.seed + 7919 * (group + 1)) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    x = xorshift(x);
    const sign = x & 0x80000000;
    const mantissa = x & 0x7fffff;
    switch (spec.regime) {
      case 'varied':
        out[i] = x % 11 === 0 ? 0 : ((x >>> 8) / 2 ** 24 - 0.5) * 2 ** ((x % 13) - 6);
        break;
      case 'small':
        out[i] = ((x >>> 8) / 2 ** 24 - 0.5) * 1e-6;
        break;
      case 'tiny':
        bits[i] = sign | mantissa | ((1 + (x % 20)) << 23);
        break;
      case 'subnormal':
        bits[i] = sign | (x % 5 === 0 ? 0 : mantissa);
        break;
      case 'huge':
        bits[i] = sign | mantissa | ((251 + (x % 4)) << 23);
        break;
      case 'allFinite': {
        const e = (x >>> 23) & 0xff;
        bits[i] = sign | mantissa | ((e === 255 ? 254 : e) << 23);
        break;
      }
      case 'zeros':
        bits[i] = sign;
        break;
    }
  }
  for (const s of spec.specials) if (s.group % groups === group) bits[s.at % out.length] = specialBits(s.value);
}

// ───────────────────────────── bitwise comparison ─────────────────────────────

const hex = (u: number): string => `0x${(u >>> 0).toString(16).padStart(8, '0')}`;
const u32 = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** A bitwise difference; `group` is filled in by assertSameOptimizer, so that a step can show its inputs there. */
class BitMismatch extends Error {
  group: number | undefined;
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** Throws unless `a` and `b` hold the same bits (NaN payloads and signed zeros included). */
function assertSameBits(what: string, a: Float32Array, b: Float32Array): void {
  if (a.length !== b.length) throw new Error(`${what}: length ${a.length} vs ${b.length}`);
  const ua = u32(a);
  const ub = u32(b);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) throw new BitMismatch(`${what}: element ${i} differs: ${hex(ua[i]!)} (${a[i]}) vs ${hex(ub[i]!)} (${b[i]})`, i);
  }
}

/**
 * A number exactly (shortest round-trip text), -0 kept. NaN is just NaN: a JS number has one
 * NaN as far as the language goes (engines may change a double's NaN payload in transit), so
 * payloads are compared where they are observable and promised: in the Float32Array views.
 */
const showNumber = (x: number): string => (Object.is(x, -0) ? '-0' : String(x));

function showValue(v: unknown): string {
  if (typeof v === 'number') return showNumber(v);
  if (typeof v === 'function') return `fn#${fnId(v)}`;
  if (Array.isArray(v)) return `[${v.map(showValue).join(',')}]`;
  return String(v);
}
const fnIds = new WeakMap<object, number>();
let nextFnId = 0;
function fnId(f: object): number {
  let id = fnIds.get(f);
  if (id === undefined) fnIds.set(f, (id = nextFnId++));
  return id;
}

/** Hyperparameters as text, numbers by their bits, schedules by identity. */
function showHyper(h: Readonly<Record<string, unknown>>): string {
  return Object.keys(h)
    .sort()
    .map((k) => `${k}=${showValue(h[k])}`)
    .join(' ');
}

type Outcome = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly text: string; readonly error: unknown };

function showError(e: unknown): string {
  if (!(e instanceof Error)) return `non-Error thrown: ${String(e)}`;
  const extra = e instanceof NonFiniteGradientError ? ` {group=${e.group} index=${e.index} value=${showNumber(e.value)}}` : '';
  return `${e.constructor.name}: ${e.message}${extra}`;
}

function showResult(r: unknown): string {
  if (r === undefined) return 'undefined';
  if (typeof r !== 'object' || r === null) return `unexpected ${String(r)}`;
  return `{${Object.keys(r)
    .sort()
    .map((k) => `${k}:${showValue((r as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

function outcomeSync(fn: () => unknown): Outcome {
  try {
    return { ok: true, text: showResult(fn()) };
  } catch (error) {
    return { ok: false, text: showError(error), error };
  }
}

async function outcomeAsync(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, text: showResult(await fn()) };
  } catch (error) {
    return { ok: false, text: showError(error), error };
  }
}

function assertSameOutcomes(what: string, names: readonly string[], outcomes: readonly Outcome[]): void {
  const first = outcomes[0]!;
  outcomes.forEach((o, i) => {
    if (o.ok !== first.ok || o.text !== first.text) {
      throw new Error(`${what}: outcomes differ\n  ${names[0]}: ${first.ok ? 'ok' : 'threw'} ${first.text}\n  ${names[i]}: ${o.ok ? 'ok' : 'threw'} ${o.text}`);
    }
  });
}

/** Everything observable of an optimizer's state: step counts, hyperparameters, params, state, (grads). */
function assertSameOptimizer(what: string, a: Opt, b: Opt, withGrads = true): void {
  if (a.stepCount !== b.stepCount) throw new Error(`${what}: stepCount ${a.stepCount} vs ${b.stepCount}`);
  const ga = groupsOf(a);
  const gb = groupsOf(b);
  if (ga.length !== gb.length) throw new Error(`${what}: ${ga.length} groups vs ${gb.length}`);
  ga.forEach((x, k) => {
    try {
      assertSameGroup(`${what}, groups[${k}]`, x, gb[k]!, withGrads);
    } catch (error) {
      if (error instanceof BitMismatch) error.group = k;
      throw error;
    }
  });
}

function assertSameGroup(at: string, x: AnyGroup, y: AnyGroup, withGrads: boolean): void {
  if (x.size !== y.size) throw new Error(`${at}: size ${x.size} vs ${y.size}`);
  if (x.stepCount !== y.stepCount) throw new Error(`${at}: stepCount ${x.stepCount} vs ${y.stepCount}`);
  const hx = showHyper(x.hyperparameters);
  const hy = showHyper(y.hyperparameters);
  if (hx !== hy) throw new Error(`${at}: hyperparameters differ\n  ${hx}\n  ${hy}`);
  assertSameBits(`${at}.params`, x.params, y.params);
  if (withGrads) assertSameBits(`${at}.grads`, x.grads, y.grads);
  const sx = Object.keys(x.state).sort();
  const sy = Object.keys(y.state).sort();
  if (sx.join() !== sy.join()) throw new Error(`${at}: state arrays [${sx}] vs [${sy}]`);
  for (const name of sx) assertSameBits(`${at}.state.${name}`, x.state[name]!, y.state[name]!);
}

interface Snapshot {
  readonly stepCount: number;
  readonly groups: readonly { stepCount: number; hyper: string; arrays: Record<string, Float32Array> }[];
}
function snapshot(opt: Opt): Snapshot {
  return {
    stepCount: opt.stepCount,
    groups: groupsOf(opt).map((g) => ({
      stepCount: g.stepCount,
      hyper: showHyper(g.hyperparameters),
      arrays: Object.fromEntries([['params', g.params.slice()], ...Object.entries(g.state).map(([k, v]) => [k, v.slice()] as const)]),
    })),
  };
}
function assertMatchesSnapshot(what: string, opt: Opt, s: Snapshot): void {
  if (opt.stepCount !== s.stepCount) throw new Error(`${what}: stepCount ${opt.stepCount}, was ${s.stepCount}`);
  groupsOf(opt).forEach((g, k) => {
    const was = s.groups[k]!;
    if (g.stepCount !== was.stepCount) throw new Error(`${what}: groups[${k}].stepCount ${g.stepCount}, was ${was.stepCount}`);
    if (showHyper(g.hyperparameters) !== was.hyper) throw new Error(`${what}: groups[${k}] hyperparameters changed`);
    assertSameBits(`${what}: groups[${k}].params (vs before)`, g.params, was.arrays.params!);
    for (const [name, view] of Object.entries(g.state)) assertSameBits(`${what}: groups[${k}].state.${name} (vs before)`, view, was.arrays[name]!);
  });
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ───────────────────────────── building and stepping ─────────────────────────────

/** What the steps of the running property did, so that the log shows the runs are not vacuous. */
const tally = { took: 0, skipped: 0, nonFinite: 0, schedule: 0, overflow: 0, otherError: 0, elementUpdates: 0 };
function resetTally(): void {
  for (const key of Object.keys(tally) as (keyof typeof tally)[]) tally[key] = 0;
}
function countStep(o: Outcome, elements: number): void {
  if (o.ok) {
    if (o.text.includes('skipped:true')) tally.skipped += 1;
    else {
      tally.took += 1;
      tally.elementUpdates += elements;
    }
  } else if (o.error instanceof NonFiniteGradientError) tally.nonFinite += 1;
  else if (/schedule returned|schedules\.sequence/.test(o.text)) tally.schedule += 1;
  else if (o.text.includes('overflows float32')) tally.overflow += 1;
  else tally.otherError += 1;
}
const showTally = (): string =>
  `steps taken ${tally.took}, skipped ${tally.skipped}, refused: non-finite ${tally.nonFinite}, schedule ${tally.schedule}, ` +
  `f32 overflow ${tally.overflow}, other ${tally.otherError}; ${(tally.elementUpdates / 1e6).toFixed(1)}M element updates compared`;

interface Built {
  readonly family: FamilyName;
  readonly groups: Spec[];
  readonly options: Spec;
  readonly added: Spec[];
}

function groupSpec(g: GroupCfg): Spec {
  return { ...(g.init === undefined ? { size: g.size } : { init: makeInit(g.size, g.init) }), ...materialize(g.hyper) };
}

/** The config as API arguments; schedules are built once, so every instance shares the same functions. */
function build(cfg: Config): Built {
  return { family: cfg.family, groups: cfg.groups.map(groupSpec), options: materialize(cfg.options), added: cfg.added.map(groupSpec) };
}

async function instantiate(b: Built, t: Target): Promise<Opt> {
  const opt = await CREATE[b.family](b.groups, { ...b.options, backend: t.backend, threads: t.threads });
  try {
    if (opt.backend !== t.backend || opt.threads !== t.threads) throw new Error(`asked for ${showTarget(t)}, got ${opt.backend}×${opt.threads}`);
    for (const spec of b.added) await addGroup(opt, spec);
  } catch (error) {
    opt.dispose();
    throw error;
  }
  return opt;
}

interface PatchSpec {
  group: number;
  values: Spec;
  /** Assign each key as a property (`group.lr = x`) instead of one set() call. */
  viaSetter: boolean;
}
interface StepSpec {
  grads: GradSpec;
  async: boolean;
  zeroGrad: boolean;
  patch: PatchSpec | undefined;
}

const patchArb = (family: FamilyName): fc.Arbitrary<PatchSpec> =>
  fc.record({ group: fc.nat(3), values: sparseRecord(hyperModel(family, true)), viaSetter: fc.boolean() });

const stepsArb = (family: FamilyName, min: number, max: number): fc.Arbitrary<StepSpec[]> =>
  fc.array(
    fc.record({
      grads: gradArb,
      async: fc.boolean(),
      zeroGrad: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      patch: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: patchArb(family) }),
    }),
    { minLength: min, maxLength: max },
  );

function applyPatch(g: AnyGroup, values: Spec, viaSetter: boolean): void {
  if (!viaSetter) return g.set(values);
  for (const [key, value] of Object.entries(values)) (g as unknown as Record<string, unknown>)[key] = value;
}

/**
 * One step of a scripted run on every instance, in lock step: the same patch, gradients and
 * step call; outcomes and all arrays compared with the first instance. Returns the outcome.
 */
async function lockStep(what: string, names: readonly string[], opts: readonly Opt[], spec: StepSpec, count = true): Promise<Outcome> {
  const ref = opts[0]!;
  const n = groupsOf(ref).length;
  if (spec.patch !== undefined) {
    const p = spec.patch;
    const values = materialize(p.values);
    const outcomes = opts.map((o) => outcomeSync(() => applyPatch(groupsOf(o)[p.group % n]!, values, p.viaSetter)));
    assertSameOutcomes(`${what}, patch of groups[${p.group % n}]`, names, outcomes);
  }
  const grads = groupsOf(ref).map((g, k) => {
    const a = new Float32Array(g.size);
    fillGrads(a, spec.grads, k, n);
    return a;
  });
  for (const o of opts) groupsOf(o).forEach((g, k) => g.grads.set(grads[k]!)); // a same-type set() copies bytes: payloads kept
  if (spec.zeroGrad) {
    for (const o of opts) o.zeroGrad();
    for (const a of grads) a.fill(0);
  }
  const before = snapshot(ref);
  const outcomes: Outcome[] = [];
  for (const o of opts) outcomes.push(spec.async ? await outcomeAsync(() => o.stepAsync()) : outcomeSync(() => o.step()));
  assertSameOutcomes(`${what} (${spec.async ? 'stepAsync' : 'step'})`, names, outcomes);
  const out = outcomes[0]!;
  if (count) countStep(out, groupsOf(ref).reduce((sum, g) => sum + g.size, 0) * opts.length);
  const took = out.ok && !out.text.includes('skipped:true');
  if (took) {
    if (ref.stepCount !== before.stepCount + 1) throw new Error(`${what}: a step was taken but stepCount went ${before.stepCount} → ${ref.stepCount}`);
    groupsOf(ref).forEach((g, k) => {
      if (g.stepCount !== before.groups[k]!.stepCount + 1) throw new Error(`${what}: groups[${k}].stepCount did not advance`);
    });
  } else {
    // Refused (thrown) or skipped: nothing was written.
    assertMatchesSnapshot(`${what}, ${out.ok ? 'skipped' : 'refused'} step`, ref, before);
  }
  if (out.ok && (out.text.includes('gradNorm:') !== (ref.clipGradNorm !== undefined))) {
    throw new Error(`${what}: gradNorm present iff clipping: ${out.text}, clipGradNorm ${ref.clipGradNorm}`);
  }
  try {
    opts.forEach((o, i) => {
      groupsOf(o).forEach((g, k) => assertSameBits(`${what}, ${names[i]} groups[${k}].grads (untouched by the step)`, g.grads, grads[k]!));
      if (i > 0) assertSameOptimizer(`${what}, ${names[i]} vs ${names[0]}`, ref, o);
    });
  } catch (error) {
    if (error instanceof BitMismatch && error.group !== undefined) {
      // The element's inputs to this step, for a one-element reproduction.
      const { group: k, index: i } = error;
      const was = before.groups[k]!.arrays;
      const inputs = [['grad', grads[k]!], ...Object.entries(was)] as const;
      error.message += `\n  inputs of groups[${k}][${i}] to this step: ${inputs.map(([n, a]) => `${n}=${hex(u32(a)[i]!)} (${a[i]})`).join(', ')}`;
      error.message += `\n  hyperparameters: ${before.groups[k]!.hyper}; group stepCount before: ${before.groups[k]!.stepCount}`;
    }
    throw error;
  }
  return out;
}

function disposeAll(opts: readonly Opt[]): void {
  for (const o of opts) o.dispose();
}

// ───────────────────────────── P1: backends and threads agree ─────────────────────────────

describe('properties', () => {
  it('P1: every backend and thread count gives the same bits, step after step', { timeout: 300_000 }, async () => {
    const numRuns = runs(800);
    let steps = 0;
    let threadedRuns = 0;
    resetTally();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(
        configArb(120_000, 1).chain((cfg) =>
          fc.record({
            cfg: fc.constant(cfg),
            steps: stepsArb(cfg.family, 1, 8),
            threads: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 8 }) }),
          }),
        ),
        async ({ cfg, steps: script, threads }) => {
          const built = build(cfg);
          const targets: Target[] = [
            { backend: 'js', threads: 1 },
            { backend: 'wasm', threads: 1 },
            { backend: 'wasm-simd', threads: 1 },
            ...(threads > 1 ? [{ backend: 'wasm-simd' as const, threads }] : []),
          ];
          const names = targets.map(showTarget);
          const opts: Opt[] = [];
          try {
            for (const t of targets) opts.push(await instantiate(built, t));
            if (threads > 1) threadedRuns++;
            opts.forEach((o, i) => assertSameOptimizer(`after create, ${names[i]}`, opts[0]!, o));
            for (let s = 0; s < script.length; s++) {
              await lockStep(`step ${s + 1}/${script.length}`, names, opts, script[s]!);
              steps += 1;
            }
          } finally {
            disposeAll(opts);
          }
        },
      ),
      params(`P1 backends×threads`, numRuns),
    );
    console.log(
      `[properties] P1 backends×threads: numRuns=${numRuns}, steps compared=${steps} (each on 3–4 instances; ` +
        `${threadedRuns} runs with 2–8 threads), ${showTally()}; ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  // ───────────────────────────── P2: save/load resumes bitwise ─────────────────────────────

  it('P2: saveState at a random step, restored anywhere, resumes bit for bit', { timeout: 300_000 }, async () => {
    const numRuns = runs(450);
    let steps = 0;
    resetTally();
    const started = performance.now();
    const targetArb: fc.Arbitrary<Target> = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom<Target>({ backend: 'js', threads: 1 }, { backend: 'wasm', threads: 1 }, { backend: 'wasm-simd', threads: 1 }) },
      { weight: 1, arbitrary: fc.integer({ min: 2, max: 4 }).map((threads): Target => ({ backend: 'wasm-simd', threads })) },
    );
    await fc.assert(
      fc.asyncProperty(
        configArb(60_000, 1).chain((cfg) =>
          fc.record({
            cfg: fc.constant(cfg),
            before: stepsArb(cfg.family, 0, 5),
            after: stepsArb(cfg.family, 1, 5),
            includeParams: fc.constantFrom<boolean | undefined>(true, false, undefined),
            scheduleAsFunction: fc.boolean(),
            ref: targetArb,
            restoreTo: targetArb,
            loadInto: targetArb,
          }),
        ),
        async ({ cfg, before, after, includeParams, scheduleAsFunction, ref: refTarget, restoreTo, loadInto }) => {
          const built = build(cfg);
          const opts: Opt[] = [];
          try {
            const ref = await instantiate(built, refTarget);
            opts.push(ref);
            for (let s = 0; s < before.length; s++) await lockStep(`before save, step ${s + 1}`, ['uninterrupted'], [ref], before[s]!, false);
            const bytes = includeParams === undefined ? ref.saveState() : ref.saveState({ includeParams });
            const withParams = includeParams !== false;
            // Schedules are not saved: pass the ones the groups have now (patches may have changed them).
            const now = groupsOf(ref).map((g) => g.hyperparameters.schedule as Schedule | undefined);
            const distinct = [...new Set(now.filter((s) => s !== undefined))];
            const schedule = scheduleAsFunction && distinct.length === 1 ? { schedule: distinct[0] } : distinct.length > 0 ? { schedule: now } : {};
            const restored = await FROM_STATE[cfg.family](bytes, { backend: restoreTo.backend, threads: restoreTo.threads, ...schedule });
            opts.push(restored);
            if (restored.backend !== restoreTo.backend || restored.threads !== restoreTo.threads) throw new Error(`fromState gave ${restored.backend}×${restored.threads}`);
            const fresh = await instantiate(built, loadInto);
            opts.push(fresh);
            groupsOf(fresh).forEach((g, k) => g.set({ schedule: now[k] }));
            fresh.loadState(bytes);
            if (!withParams) {
              // The state holds no parameters: the caller carries them over.
              for (const o of [restored, fresh]) groupsOf(o).forEach((g, k) => g.params.set(groupsOf(ref)[k]!.params));
            }
            const names = ['uninterrupted', `fromState→${showTarget(restoreTo)}`, `loadState→${showTarget(loadInto)}`];
            assertSameOptimizer(`right after restore (${names[1]})`, ref, restored, false);
            assertSameOptimizer(`right after restore (${names[2]})`, ref, fresh, false);
            for (let s = 0; s < after.length; s++) {
              await lockStep(`after restore at step ${before.length}, step ${s + 1}/${after.length}`, names, opts, after[s]!);
              steps += 1;
            }
            // The same state encodes to the same bytes.
            const saved = opts.map((o) => o.saveState());
            saved.forEach((b, i) => {
              if (!bytesEqual(b, saved[0]!)) throw new Error(`saveState() bytes of ${names[i]} differ from the uninterrupted run's`);
            });
          } finally {
            disposeAll(opts);
          }
        },
      ),
      params('P2 save/load', numRuns),
    );
    console.log(
      `[properties] P2 save/load: numRuns=${numRuns}, resumed steps compared=${steps} (each on 3 instances), ${showTally()}; ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  // ───────────────────────────── P3: interleavings ─────────────────────────────

  it('P3: random interleavings follow the one-call-at-a-time rule, never corrupt state, never hang', { timeout: 300_000 }, async () => {
    const numRuns = runs(500);
    const stats = { steps: 0, refused: 0, pendingLeft: 0, ops: 0, reentries: 0 };
    resetTally();
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(
        configArb(20_000, 0).chain((cfg) =>
          fc.record({
            cfg: fc.constant(cfg),
            threads: fc.constantFrom(1, 1, 2, 3, 4),
            ops: fc.array(opArb(cfg.family), { minLength: 3, maxLength: 30 }),
            disposeWhilePending: fc.boolean(),
          }),
        ),
        async ({ cfg, threads, ops, disposeWhilePending }) => {
          const built = build(cfg);
          const sut = await instantiate(built, { backend: 'wasm-simd', threads });
          let ref: Opt | undefined;
          try {
            // The reference runs the same kernel on one thread, sequentially: backend agreement is
            // P1's business, so a backend difference does not hide an interleaving bug here.
            ref = await instantiate(built, { backend: 'wasm-simd', threads: 1 });
            await interleave(cfg.family, sut, ref, ops, disposeWhilePending, stats);
          } finally {
            // interleave() disposes both; this only cleans up after a failure.
            try {
              sut.dispose();
            } catch {
              // still busy after a failure: its workers are unref'd
            }
            ref?.dispose();
          }
        },
      ),
      params('P3 interleavings', numRuns),
    );
    console.log(
      `[properties] P3 interleavings: numRuns=${numRuns}, ops=${stats.ops}, steps compared=${stats.steps}, ` +
        `calls refused while busy=${stats.refused} (+${stats.reentries} from schedules), calls left in flight=${stats.pendingLeft}, ${showTally()}; ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  });
});

// ───────────────────────────── the interleaving model ─────────────────────────────

type Op =
  | { op: 'grads'; grads: GradSpec }
  | { op: 'step' }
  | { op: 'stepAsync'; await: boolean }
  | { op: 'addParamGroup'; group: GroupCfg; await: boolean }
  | { op: 'set'; patch: PatchSpec }
  | { op: 'saveState'; includeParams: boolean }
  | { op: 'loadState'; which: number }
  | { op: 'zeroGrad' }
  | { op: 'awaitAll' }
  | { op: 'read' }
  /** Give a group a schedule that calls back into its own optimizer during the step (refused). */
  | { op: 'reentrantSchedule'; group: number; call: ReentrantCall };

type ReentrantCall = 'step()' | 'zeroGrad()' | 'saveState()' | 'setter';

function opArb(family: FamilyName): fc.Arbitrary<Op> {
  return fc.oneof(
    { weight: 4, arbitrary: gradArb.map((grads): Op => ({ op: 'grads', grads })) },
    { weight: 2, arbitrary: fc.constant<Op>({ op: 'step' }) },
    { weight: 4, arbitrary: fc.boolean().map((a): Op => ({ op: 'stepAsync', await: a })) },
    { weight: 1, arbitrary: fc.record({ group: groupArb(family, 3000), await: fc.boolean() }).map((r): Op => ({ op: 'addParamGroup', ...r })) },
    { weight: 2, arbitrary: patchArb(family).map((patch): Op => ({ op: 'set', patch })) },
    { weight: 1, arbitrary: fc.boolean().map((includeParams): Op => ({ op: 'saveState', includeParams })) },
    { weight: 1, arbitrary: fc.nat().map((which): Op => ({ op: 'loadState', which })) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'zeroGrad' }) },
    { weight: 2, arbitrary: fc.constant<Op>({ op: 'awaitAll' }) },
    { weight: 1, arbitrary: fc.constant<Op>({ op: 'read' }) },
    {
      weight: 1,
      arbitrary: fc
        .record({ group: fc.nat(3), call: fc.constantFrom<ReentrantCall>('step()', 'zeroGrad()', 'saveState()', 'setter') })
        .map((r): Op => ({ op: 'reentrantSchedule', ...r })),
    },
  );
}

const SETTLE_MS = 10_000;
function settleWithin<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${SETTLE_MS} ms (hang)`)), SETTLE_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The busy message, exactly: `<Name>: <method> called while <other> is in flight; await it first (one call at a time)`. */
function busyPattern(family: FamilyName, method: string, other: string): RegExp {
  return new RegExp(`^${family}: ${escapeRe(method)} called while ${escapeRe(other)} is in flight; await it first \\(one call at a time\\)$`);
}

interface Pending {
  readonly kind: 'stepAsync()' | 'addParamGroup()';
  /** The SUT's promise, with its outcome captured (never rejects). */
  readonly outcome: Promise<Outcome>;
  /** The same call on the reference, run once the SUT's has settled (nothing else was accepted meanwhile). */
  readonly onRef: () => Promise<Outcome>;
  /** stepAsync()/addParamGroup() calls made while this was in flight: each must reject with the busy message. */
  readonly refusedAsync: { method: string; promise: Promise<Outcome> }[];
}

async function interleave(
  family: FamilyName,
  sut: Opt,
  ref: Opt,
  ops: readonly Op[],
  disposeWhilePending: boolean,
  stats: { steps: number; refused: number; pendingLeft: number; ops: number; reentries: number },
): Promise<void> {
  const saved: Uint8Array[] = [];
  let pending: Pending | undefined;
  const names = ['ref', 'sut']; // outcomes are always listed reference first

  /** While a call is in flight, `call` must throw synchronously with the busy message and change nothing. */
  const expectRefused = (method: string, call: () => unknown): void => {
    const p = pending!;
    const before = groupsOf(sut).map((g) => g.hyperparameters);
    const o = outcomeSync(call);
    if (o.ok || !busyPattern(family, method, p.kind).test((o.error as Error).message)) {
      throw new Error(`${method} while ${p.kind} was in flight: expected the busy error, got ${o.ok ? 'success' : o.text}`);
    }
    groupsOf(sut).forEach((g, k) => {
      if (g.hyperparameters !== before[k]) throw new Error(`${method}, refused, still changed groups[${k}]'s hyperparameters`);
    });
    stats.refused += 1;
  };
  /** Same for an async call: it must not throw synchronously, and its promise must reject with the busy message. */
  const expectRejected = (method: string, call: () => Promise<unknown>): void => {
    let promise: Promise<unknown>;
    try {
      promise = call();
    } catch (error) {
      throw new Error(`${method} while ${pending!.kind} was in flight threw synchronously instead of rejecting: ${showError(error)}`);
    }
    pending!.refusedAsync.push({ method, promise: outcomeAsync(() => promise) });
    stats.refused += 1;
  };

  /** Awaits the call in flight (bounded), runs it on the reference, compares. */
  const settle = async (): Promise<void> => {
    if (pending === undefined) return;
    const p = pending;
    const got = await settleWithin(`${p.kind} left in flight`, p.outcome);
    for (const r of p.refusedAsync) {
      const o = await settleWithin(`${r.method} refused while busy`, r.promise);
      if (o.ok || !busyPattern(family, r.method, p.kind).test((o.error as Error).message)) {
        throw new Error(`${r.method} while ${p.kind} was in flight: expected a rejection with the busy error, got ${o.ok ? 'success' : o.text}`);
      }
    }
    pending = undefined;
    const want = await p.onRef();
    assertSameOutcomes(`${p.kind} (left in flight, then awaited)`, names, [want, got]);
    if (p.kind === 'stepAsync()') {
      countStep(want, elements());
      stats.steps += 1;
    }
    assertSameOptimizer(`after ${p.kind} settled`, ref, sut);
  };

  const groupIndex = (k: number): number => k % groupsOf(sut).length;

  /**
   * A schedule that, each time a step asks it for η_t, calls `call` on its own optimizer: that
   * call must be refused with the busy message naming the step in flight. Violations are
   * collected here and reported after the op.
   */
  const reentryProblems: string[] = [];
  const reentrant = (o: Opt, call: ReentrantCall): Schedule => {
    const method = call === 'setter' ? 'groups[0].lr (setter)' : call;
    return (t) => {
      const r = outcomeSync(() => {
        if (call === 'step()') o.step();
        else if (call === 'zeroGrad()') o.zeroGrad();
        else if (call === 'saveState()') o.saveState();
        else (groupsOf(o)[0] as unknown as { lr: number }).lr = 0.5;
      });
      const message = r.ok ? '' : (r.error as Error).message;
      if (r.ok || !(busyPattern(family, method, 'step()').test(message) || busyPattern(family, method, 'stepAsync()').test(message))) {
        reentryProblems.push(`a schedule calling ${method} during a step: expected the busy error, got ${r.ok ? 'success' : r.text}`);
      }
      stats.reentries += 1;
      return 1 - 1 / (t + 2);
    };
  };
  const elements = (): number => 2 * groupsOf(ref).reduce((sum, g) => sum + g.size, 0);

  for (const [i, op] of ops.entries()) {
    stats.ops += 1;
    const what = `op ${i + 1}/${ops.length} (${op.op})`;
    if (pending !== undefined) {
      // Nothing here may yield to the event loop, so the call in flight stays in flight.
      switch (op.op) {
        case 'grads':
          break; // writing views while a step runs is a race by contract: the model never does it
        case 'step':
          expectRefused('step()', () => sut.step());
          break;
        case 'stepAsync':
          expectRejected('stepAsync()', () => sut.stepAsync());
          break;
        case 'addParamGroup':
          expectRefused('addParamGroup()', () => addGroup(sut, groupSpec(op.group)));
          break;
        case 'set': {
          const k = groupIndex(op.patch.group);
          const values = materialize(op.patch.values);
          const g = groupsOf(sut)[k]!;
          // set(patch), and a property setter (an empty patch via setters would assign nothing).
          expectRefused(`groups[${k}].set()`, () => g.set(values));
          const [key, value] = Object.entries(values)[0] ?? ['lr', 0.5];
          expectRefused(`groups[${k}].${key} (setter)`, () => ((g as unknown as Record<string, unknown>)[key] = value));
          break;
        }
        case 'saveState':
          expectRefused('saveState()', () => sut.saveState({ includeParams: op.includeParams }));
          break;
        case 'loadState': {
          const bytes = saved[op.which % Math.max(1, saved.length)];
          if (bytes !== undefined) expectRefused('loadState()', () => sut.loadState(bytes));
          break;
        }
        case 'zeroGrad':
          expectRefused('zeroGrad()', () => sut.zeroGrad());
          break;
        case 'awaitAll':
          await settle();
          break;
        case 'reentrantSchedule': {
          const k = groupIndex(op.group);
          expectRefused(`groups[${k}].set()`, () => groupsOf(sut)[k]!.set({ schedule: reentrant(sut, op.call) }));
          break;
        }
        case 'read': {
          // Getters stay readable while a call is in flight.
          const o = outcomeSync(() => {
            const g = groupsOf(sut);
            if (typeof sut.stepCount !== 'number' || sut.backend !== 'wasm-simd' || sut.threads < 1) throw new Error('bad getter value');
            for (const x of g) {
              void x.hyperparameters;
              void x.stepCount;
              if (x.params.length !== x.size || x.grads.length !== x.size) throw new Error('view of the wrong length');
              for (const v of Object.values(x.state)) if (v.length !== x.size) throw new Error('state view of the wrong length');
            }
            void sut.clipGradNorm;
            void sut.nonFinite;
          });
          if (!o.ok) throw new Error(`${what}: a getter failed while ${pending.kind} was in flight: ${o.text}`);
          break;
        }
      }
      continue;
    }

    // Nothing in flight: the call runs on both; outcomes and states must match.
    switch (op.op) {
      case 'grads': {
        const n = groupsOf(sut).length;
        groupsOf(sut).forEach((g, k) => {
          fillGrads(g.grads, op.grads, k, n);
          groupsOf(ref)[k]!.grads.set(g.grads);
        });
        break;
      }
      case 'step': {
        const want = outcomeSync(() => ref.step());
        assertSameOutcomes(what, names, [want, outcomeSync(() => sut.step())]);
        countStep(want, elements());
        stats.steps += 1;
        break;
      }
      case 'stepAsync': {
        if (op.await) {
          const got = await settleWithin('stepAsync()', outcomeAsync(() => sut.stepAsync()));
          const want = await outcomeAsync(() => ref.stepAsync());
          assertSameOutcomes(what, names, [want, got]);
          countStep(want, elements());
          stats.steps += 1;
        } else {
          const promise = sut.stepAsync();
          pending = { kind: 'stepAsync()', outcome: outcomeAsync(() => promise), onRef: () => outcomeAsync(() => ref.stepAsync()), refusedAsync: [] };
          stats.pendingLeft += 1;
        }
        break;
      }
      case 'addParamGroup': {
        // Synchronous: never in flight, whether or not the caller would have awaited it.
        const spec = groupSpec(op.group);
        assertSameOutcomes(what, names, [outcomeSync(() => addGroup(ref, spec)), outcomeSync(() => addGroup(sut, spec))]);
        break;
      }
      case 'set': {
        const k = groupIndex(op.patch.group);
        const values = materialize(op.patch.values);
        assertSameOutcomes(what, names, [
          outcomeSync(() => applyPatch(groupsOf(ref)[k]!, values, op.patch.viaSetter)),
          outcomeSync(() => applyPatch(groupsOf(sut)[k]!, values, op.patch.viaSetter)),
        ]);
        break;
      }
      case 'saveState': {
        const a = ref.saveState({ includeParams: op.includeParams });
        const b = sut.saveState({ includeParams: op.includeParams });
        if (!bytesEqual(a, b)) throw new Error(`${what}: saveState() bytes differ between the reference and the SUT`);
        saved.push(b);
        break;
      }
      case 'loadState': {
        const bytes = saved[op.which % Math.max(1, saved.length)];
        if (bytes !== undefined) assertSameOutcomes(what, names, [outcomeSync(() => ref.loadState(bytes)), outcomeSync(() => sut.loadState(bytes))]);
        break;
      }
      case 'zeroGrad':
        ref.zeroGrad();
        sut.zeroGrad();
        break;
      case 'reentrantSchedule': {
        const k = groupIndex(op.group);
        const forRef = reentrant(ref, op.call);
        const forSut = reentrant(sut, op.call);
        fnIds.set(forSut, fnId(forRef)); // the same schedule, as far as comparing hyperparameters goes
        assertSameOutcomes(what, names, [
          outcomeSync(() => groupsOf(ref)[k]!.set({ schedule: forRef })),
          outcomeSync(() => groupsOf(sut)[k]!.set({ schedule: forSut })),
        ]);
        break;
      }
      case 'awaitAll':
      case 'read':
        break;
    }
    if (reentryProblems.length > 0) throw new Error(`${what}: ${reentryProblems[0]}`);
    if (pending === undefined) assertSameOptimizer(`after ${what}`, ref, sut);
  }

  // The end: dispose, sometimes while a call is still in flight (refused; the call then completes normally).
  if (pending !== undefined && disposeWhilePending) expectRefused('dispose()', () => sut.dispose());
  await settle();
  if (reentryProblems.length > 0) throw new Error(`at the end: ${reentryProblems[0]}`);
  assertSameOptimizer('at the end', ref, sut);
  const bytes = [ref.saveState(), sut.saveState()];
  if (!bytesEqual(bytes[0]!, bytes[1]!)) throw new Error('at the end: saveState() bytes differ between the reference and the SUT');
  ref.dispose();
  sut.dispose();
  sut.dispose(); // a second dispose is a no-op
  const after = outcomeSync(() => sut.step());
  if (after.ok || !after.text.includes(`${family}: step() called after dispose()`)) throw new Error(`step() after dispose(): ${after.text}`);
  const view = outcomeSync(() => groupsOf(sut)[0]!.params);
  if (view.ok) throw new Error('groups[0].params readable after dispose()');
}
