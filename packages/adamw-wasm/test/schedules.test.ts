/**
 * Learning-rate schedules: replayed against PyTorch 1.13's schedulers (fixture written by
 * test/fixtures/torch-schedules/generate.py), plus SGDR against torch's recurrence for long
 * runs, composition, argument validation and normalized weight decay.
 *
 * Against torch, base·η_t must equal lr[t] within 1e-12 relative (+1e-18 absolute). Measured
 * (Node 20, glibc torch): bit-exact for SGDR with eta_min = 0 and T_mult = 1 (same formula, same
 * operation order, and V8's cos agrees with glibc's at those arguments), for transformers' warmup
 * and linear-with-warmup lambdas (same arithmetic). Everything else agrees within 3e-14:
 * - SGDR T_0=1, T_mult=3: V8's Math.cos (fdlibm) differs from glibc's cos by 1 ulp at 3 of 301
 *   arguments; near the cycle's end 1 + cos cancels, so 1 ulp becomes 9e-15 relative.
 * - SGDR with eta_min: torch's eta_min is absolute, ours relative (etaMin = eta_min/base), so the
 *   products round differently (≤ 3e-16).
 * - CosineAnnealingLR and LinearLR step recursively (lr ← lr·ratio); the ratios telescope to the
 *   closed form up to a few ulp per step (≤ 1e-15 over 100 steps), so torch's recursive values
 *   are within 1e-12 of the closed form and we compare to them directly.
 * - transformers' cosine computes cos(π·progress), we cos(π·t/steps): 2.6e-14 near the end.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdamW } from 'adamw-wasm';
import { normalizedWeightDecay, schedules, type Schedule } from '../src/schedules/index.js';

interface TorchCase { name: string; torch: string; baseLr: number; lr: number[] }
interface Fixture { torch: string; steps: number; cases: TorchCase[] }

const fixture = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/torch-schedules/lr-sequences.json', import.meta.url), 'utf8'),
) as Fixture;

const s = schedules;

interface Expectation {
  ours: Schedule;
  /** Every value identical to torch's, bit for bit. */
  exact: boolean;
  /**
   * Compare t ≤ upTo only. torch's CosineAnnealingLR keeps following the cosine back up after
   * T_max (period 2·T_max); ours holds etaMin, which is what "anneal over N steps" means.
   */
  upTo?: number;
}

const CASES: Record<string, Expectation> = {
  'sgdr-t10': { ours: s.cosineWarmRestarts({ t0: 10 }), exact: true },
  'sgdr-t7-mult2-etamin': { ours: s.cosineWarmRestarts({ t0: 7, tMult: 2, etaMin: 1e-5 / 1e-3 }), exact: false },
  'sgdr-t1-mult3': { ours: s.cosineWarmRestarts({ t0: 1, tMult: 3 }), exact: false },
  'cosine-50': { ours: s.cosine({ steps: 50 }), exact: false, upTo: 50 },
  'cosine-50-etamin': { ours: s.cosine({ steps: 50, etaMin: 1e-4 / 1e-2 }), exact: false, upTo: 50 },
  'linear-up': { ours: s.linearWarmup({ steps: 20, startFactor: 0.25 }), exact: false },
  'linear-down': { ours: s.linear({ steps: 100 }), exact: false },
  // SequentialLR restarts the cosine at the milestone: lr[10] is the cosine's t = 0 value.
  'sequential-warmup-cosine': {
    ours: s.sequence([{ schedule: s.linearWarmup({ steps: 10, startFactor: 0.1 }), steps: 10 }, { schedule: s.cosine({ steps: 90 }) }]),
    exact: false,
    upTo: 100,
  },
  'hf-warmup': { ours: s.linearWarmup({ steps: 20 }), exact: true },
  'hf-linear-with-warmup': {
    ours: s.sequence([{ schedule: s.linearWarmup({ steps: 30 }), steps: 30 }, { schedule: s.linear({ steps: 220 }) }]),
    exact: true,
  },
  'hf-cosine-with-warmup': {
    ours: s.sequence([{ schedule: s.linearWarmup({ steps: 30 }), steps: 30 }, { schedule: s.cosine({ steps: 270 }) }]),
    exact: false,
  },
};

describe('against torch.optim.lr_scheduler (1.13)', () => {
  it('the fixture holds every case, and only those', () => {
    expect(fixture.cases.map((c) => c.name).sort()).toEqual(Object.keys(CASES).sort());
    for (const c of fixture.cases) expect(c.lr).toHaveLength(fixture.steps + 1);
  });

  for (const c of fixture.cases) {
    const e = CASES[c.name]!;
    it(`${c.name}: ${c.torch}`, () => {
      const n = Math.min(c.lr.length - 1, e.upTo ?? Infinity);
      let exact = true;
      for (let t = 0; t <= n; t++) {
        const want = c.lr[t]!;
        const got = c.baseLr * e.ours(t);
        if (!Object.is(got, want)) exact = false;
        if (Math.abs(got - want) > 1e-12 * Math.abs(want) + 1e-18) {
          expect.fail(`t=${t}: torch ${want}, ours ${got}`);
        }
      }
      // Locks in the bit-exactness claims of the header comment.
      if (e.exact) expect(exact).toBe(true);
    });
  }

  it("after T_max torch's CosineAnnealingLR rises again; ours holds etaMin", () => {
    for (const name of ['cosine-50', 'cosine-50-etamin']) {
      const c = fixture.cases.find((x) => x.name === name)!;
      const e = CASES[name]!;
      const floor = e.ours(50);
      for (let t = 51; t < c.lr.length; t++) expect(e.ours(t)).toBe(floor);
      expect(c.lr[100]! / c.baseLr).toBeCloseTo(1, 12); // torch: back at the base lr after 2·T_max
    }
  });
});

/** torch's CosineAnnealingWarmRestarts.step() (epoch=None), literally, on relative multipliers. */
function* torchSgdr(t0: number, tMult: number, etaMin: number): Generator<number> {
  let tCur = 0;
  let tI = t0;
  for (;;) {
    yield etaMin + ((1 - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2;
    tCur += 1;
    if (tCur >= tI) {
      tCur -= tI;
      tI *= tMult;
    }
  }
}

describe('cosineWarmRestarts', () => {
  it("equals torch's per-step recurrence bit for bit over 20 000 steps", () => {
    for (const [t0, tMult, etaMin] of [[1, 1, 0], [10, 1, 0], [7, 2, 0.01], [1, 3, 0], [5, 4, 0.5], [3, 2, 1], [1000, 1, 0.1]] as const) {
      const ours = s.cosineWarmRestarts({ t0, tMult, etaMin });
      const ref = torchSgdr(t0, tMult, etaMin);
      for (let t = 0; t < 20_000; t++) {
        const want = ref.next().value as number;
        if (!Object.is(ours(t), want)) expect.fail(`t0=${t0} tMult=${tMult} etaMin=${etaMin} t=${t}: ${ours(t)} vs ${want}`);
      }
    }
  });

  it('restarts at the cycle boundaries (η = 1) and reaches the end of a cycle close to etaMin', () => {
    const f = s.cosineWarmRestarts({ t0: 10, tMult: 2, etaMin: 0.1 });
    for (const start of [0, 10, 30, 70, 150]) expect(f(start)).toBe(1);
    expect(f(9)).toBeCloseTo(0.1 + 0.9 * (1 + Math.cos(0.9 * Math.PI)) / 2, 15);
    expect(f(20)).toBe(0.1 + (0.9 * (1 + Math.cos(Math.PI / 2))) / 2); // middle of the 20-step cycle
  });

  it('is fast, exact and finite for huge t (no O(t) work)', () => {
    const f = s.cosineWarmRestarts({ t0: 10, tMult: 2 });
    const start = performance.now();
    const v = f(1e9);
    expect(performance.now() - start).toBeLessThan(50);
    // Cycle starts are 10·(2^k − 1); 1e9 lies in the cycle starting at 10·(2^26 − 1) = 671 088 630, length 671 088 640.
    expect(v).toBe((1 + Math.cos((Math.PI * (1e9 - 671_088_630)) / 671_088_640)) / 2);
    for (const t of [2 ** 40, Number.MAX_SAFE_INTEGER]) {
      const x = f(t);
      expect(Number.isFinite(x) && x >= 0 && x <= 1).toBe(true);
    }
    expect(s.cosineWarmRestarts({ t0: 7 })(1e9)).toBe((1 + Math.cos((Math.PI * (1e9 % 7)) / 7)) / 2);
    expect(s.cosineWarmRestarts({ t0: 3, tMult: 1000 })(Number.MAX_SAFE_INTEGER)).toBeGreaterThanOrEqual(0);
  });
});

describe('linear, warmup, cosine, constant', () => {
  it('have the documented endpoints and hold them afterwards', () => {
    expect(s.constant()(0)).toBe(1);
    expect(s.constant()(123_456)).toBe(1);
    const w = s.linearWarmup({ steps: 4 });
    expect([0, 1, 2, 3, 4, 5, 1000].map(w)).toEqual([0, 0.25, 0.5, 0.75, 1, 1, 1]);
    expect([0, 2, 4].map(s.linearWarmup({ steps: 4, startFactor: 0.2 }))).toEqual([0.2, 0.6, 1]);
    expect(s.linearWarmup({ steps: 0 })(0)).toBe(1); // no warmup
    const l = s.linear({ steps: 4 });
    expect([0, 1, 2, 3, 4, 5].map(l)).toEqual([1, 0.75, 0.5, 0.25, 0, 0]);
    expect([0, 2, 4, 9].map(s.linear({ steps: 4, startFactor: 0.5, endFactor: 1 }))).toEqual([0.5, 0.75, 1, 1]);
    const c = s.cosine({ steps: 100, etaMin: 0.1 });
    expect(c(0)).toBe(1);
    expect(c(50)).toBeCloseTo(0.55, 15);
    expect(c(100)).toBe(0.1);
    expect(c(1e12)).toBe(0.1);
  });

  it('return finite values >= 0 everywhere, including the extreme options', () => {
    const all: Schedule[] = [
      s.linearWarmup({ steps: 7, startFactor: 0 }),
      s.linearWarmup({ steps: 7, startFactor: 1 }),
      s.linear({ steps: 1 }),
      s.linear({ steps: 13, startFactor: 0, endFactor: 0 }),
      s.cosine({ steps: 1 }),
      s.cosine({ steps: 13, etaMin: 1 }),
      s.cosineWarmRestarts({ t0: 1 }),
      s.cosineWarmRestarts({ t0: 2, tMult: 7, etaMin: 1 }),
    ];
    for (const f of all) {
      for (let t = 0; t < 100; t++) {
        const x = f(t);
        expect(Number.isFinite(x) && x >= 0 && x <= 1).toBe(true);
      }
    }
  });
});

describe('sequence', () => {
  it('gives each part its local step count; the last part continues for ever', () => {
    const seen: number[][] = [[], [], []];
    const probe = (k: number, v: number): Schedule => (t) => (seen[k]!.push(t), v);
    const f = s.sequence([{ schedule: probe(0, 0.1), steps: 3 }, { schedule: probe(1, 0.2), steps: 2 }, { schedule: probe(2, 0.3) }]);
    expect([0, 1, 2, 3, 4, 5, 6, 100].map(f)).toEqual([0.1, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.3]);
    expect(seen).toEqual([[0, 1, 2], [0, 1], [0, 1, 95]]);
  });

  it('warmup 100 then cosine 900 (the usual recipe)', () => {
    const f = s.sequence([{ schedule: s.linearWarmup({ steps: 100 }), steps: 100 }, { schedule: s.cosine({ steps: 900 }) }]);
    expect(f(0)).toBe(0);
    expect(f(50)).toBe(0.5);
    expect(f(100)).toBe(1);
    expect(f(550)).toBeCloseTo(0.5, 15);
    expect(f(1000)).toBe(0);
    expect(f(5000)).toBe(0);
  });

  it('skips zero-step parts, nests, and ignores steps on the last part', () => {
    const f = s.sequence([{ schedule: s.linearWarmup({ steps: 0 }), steps: 0 }, { schedule: s.linear({ steps: 10 }), steps: 99 }]);
    expect([0, 5, 10, 500].map(f)).toEqual([1, 0.5, 0, 0]);
    const inner = s.sequence([{ schedule: s.constant(), steps: 2 }, { schedule: s.linear({ steps: 2 }) }]);
    const outer = s.sequence([{ schedule: s.linearWarmup({ steps: 2 }), steps: 2 }, { schedule: inner }]);
    expect([0, 1, 2, 3, 4, 5, 6].map(outer)).toEqual([0, 0.5, 1, 1, 1, 0.5, 0]);
  });

  it("rejects a part's value that is not a finite number >= 0", () => {
    for (const bad of [NaN, -0.5, Infinity, '1' as unknown as number]) {
      const f = s.sequence([{ schedule: s.constant(), steps: 1 }, { schedule: () => bad }]);
      expect(f(0)).toBe(1);
      expect(() => f(3)).toThrow(/^schedules\.sequence: the value of parts\[1\]\.schedule\(2\) must be a finite number >= 0/);
    }
  });
});

describe('normalizedWeightDecay', () => {
  it('is λ_norm·sqrt(b / (B·T))', () => {
    // b/(B·T) = 125/(50 000·25) = 1e-4, sqrt = 0.01, λ = 0.05·0.01 = 5e-4.
    expect(normalizedWeightDecay({ lambdaNorm: 0.05, batchSize: 125, trainingSize: 50_000, epochs: 25 })).toBeCloseTo(5e-4, 17);
    // CIFAR-10-like: b = 128, B = 50 000, T = 200: sqrt(128 / 1e7) = sqrt(1.28e-5) = 0.00357770876399966…
    expect(normalizedWeightDecay({ lambdaNorm: 0.025, batchSize: 128, trainingSize: 50_000, epochs: 200 })).toBeCloseTo(
      0.025 * 0.0035777087639996635,
      18,
    );
    expect(normalizedWeightDecay({ lambdaNorm: 0, batchSize: 1, trainingSize: 1, epochs: 0.5 })).toBe(0);
    // Quadrupling the number of updates (b/4) halves λ.
    const a = normalizedWeightDecay({ lambdaNorm: 1, batchSize: 256, trainingSize: 1000, epochs: 10 });
    const b = normalizedWeightDecay({ lambdaNorm: 1, batchSize: 64, trainingSize: 1000, epochs: 10 });
    expect(b / a).toBeCloseTo(0.5, 15);
  });
});

describe('validation', () => {
  type Call = () => unknown;
  const cases: [string, Call, ErrorConstructor, RegExp | string][] = [
    // options bags
    ['options not an object', () => s.cosine(undefined as never), TypeError, 'schedules.cosine: options must be an object (got undefined)'],
    ['options null', () => s.linear(null as never), TypeError, 'schedules.linear: options must be an object (got null)'],
    ['options an array', () => s.linearWarmup([] as never), TypeError, 'options must be an object (got an array of length 0)'],
    ['unknown key', () => s.linear({ steps: 10, end: 0 } as never), TypeError, 'schedules.linear: unknown option end; known options are steps, startFactor, endFactor'],
    ['unknown key (snake_case)', () => s.cosineWarmRestarts({ t0: 10, T_mult: 2 } as never), TypeError, /unknown option T_mult/],
    // step counts
    ['t0 = 0', () => s.cosineWarmRestarts({ t0: 0 }), RangeError, 'schedules.cosineWarmRestarts: t0 must be an integer >= 1 (got 0)'],
    ['t0 not integer', () => s.cosineWarmRestarts({ t0: 2.5 }), RangeError, 't0 must be an integer >= 1 (got 2.5)'],
    ['t0 a string', () => s.cosineWarmRestarts({ t0: '10' as never }), TypeError, 't0 must be an integer >= 1 (got "10")'],
    ['t0 missing', () => s.cosineWarmRestarts({} as never), TypeError, 't0 must be an integer >= 1 (got undefined)'],
    ['tMult = 0', () => s.cosineWarmRestarts({ t0: 1, tMult: 0 }), RangeError, 'tMult must be an integer >= 1 (got 0)'],
    ['tMult not integer', () => s.cosineWarmRestarts({ t0: 1, tMult: 1.5 }), RangeError, 'tMult must be an integer >= 1 (got 1.5)'],
    ['steps too big', () => s.cosine({ steps: 2 ** 53 }), RangeError, 'schedules.cosine: steps must be <= Number.MAX_SAFE_INTEGER (got 9007199254740992)'],
    ['cosine steps = 0', () => s.cosine({ steps: 0 }), RangeError, 'schedules.cosine: steps must be an integer >= 1 (got 0)'],
    ['cosine steps NaN', () => s.cosine({ steps: NaN }), RangeError, 'steps must be an integer >= 1 (got NaN)'],
    ['linear steps = 0', () => s.linear({ steps: 0 }), RangeError, 'schedules.linear: steps must be an integer >= 1 (got 0)'],
    ['linear steps Infinity', () => s.linear({ steps: Infinity }), RangeError, 'steps must be an integer >= 1 (got Infinity)'],
    ['warmup steps < 0', () => s.linearWarmup({ steps: -1 }), RangeError, 'schedules.linearWarmup: steps must be an integer >= 0 (got -1)'],
    // factors
    ['etaMin > 1', () => s.cosine({ steps: 5, etaMin: 1.5 }), RangeError, 'schedules.cosine: etaMin must be in [0, 1] (got 1.5)'],
    ['etaMin < 0', () => s.cosineWarmRestarts({ t0: 5, etaMin: -0.1 }), RangeError, 'etaMin must be in [0, 1] (got -0.1)'],
    ['etaMin NaN', () => s.cosineWarmRestarts({ t0: 5, etaMin: NaN }), RangeError, 'etaMin must be a number, not NaN (got NaN)'],
    ['etaMin a string', () => s.cosine({ steps: 5, etaMin: '0' as never }), TypeError, 'etaMin must be a number (got "0")'],
    ['startFactor > 1', () => s.linearWarmup({ steps: 5, startFactor: 2 }), RangeError, 'schedules.linearWarmup: startFactor must be in [0, 1] (got 2)'],
    ['startFactor < 0', () => s.linear({ steps: 5, startFactor: -1 }), RangeError, 'schedules.linear: startFactor must be in [0, 1] (got -1)'],
    ['endFactor Infinity', () => s.linear({ steps: 5, endFactor: Infinity }), RangeError, 'endFactor must be finite (got Infinity)'],
    // sequence
    ['parts not an array', () => s.sequence({} as never), TypeError, 'schedules.sequence: parts must be an array of { schedule, steps } (got an object)'],
    ['parts empty', () => s.sequence([] as never), RangeError, 'schedules.sequence: parts must be non-empty (got an array of length 0)'],
    ['part not an object', () => s.sequence([null] as never), TypeError, 'parts[0] must be an object { schedule, steps } (got null)'],
    ['part unknown key', () => s.sequence([{ schedule: s.constant(), step: 3 }] as never), TypeError, 'schedules.sequence: unknown option parts[0].step; known options are schedule, steps'],
    ['schedule not a function', () => s.sequence([{ schedule: 1 as never }]), TypeError, 'parts[0].schedule must be a function (completedSteps) => number (got 1)'],
    ['steps missing on a non-last part', () => s.sequence([{ schedule: s.constant() } as never, { schedule: s.constant() }]), TypeError, 'parts[0].steps must be an integer >= 0 (got undefined)'],
    ['steps negative', () => s.sequence([{ schedule: s.constant(), steps: -2 }, { schedule: s.constant() }]), RangeError, 'parts[0].steps must be an integer >= 0 (got -2)'],
    ['last steps invalid', () => s.sequence([{ schedule: s.constant(), steps: 1.5 }]), RangeError, 'parts[0].steps must be an integer >= 0 (got 1.5)'],
    // normalizedWeightDecay
    ['lambdaNorm < 0', () => normalizedWeightDecay({ lambdaNorm: -1, batchSize: 1, trainingSize: 1, epochs: 1 }), RangeError, 'normalizedWeightDecay: lambdaNorm must be >= 0 (got -1)'],
    ['batchSize 0', () => normalizedWeightDecay({ lambdaNorm: 1, batchSize: 0, trainingSize: 1, epochs: 1 }), RangeError, 'normalizedWeightDecay: batchSize must be an integer >= 1 (got 0)'],
    ['trainingSize fractional', () => normalizedWeightDecay({ lambdaNorm: 1, batchSize: 1, trainingSize: 0.5, epochs: 1 }), RangeError, 'trainingSize must be an integer >= 1 (got 0.5)'],
    ['epochs 0', () => normalizedWeightDecay({ lambdaNorm: 1, batchSize: 1, trainingSize: 1, epochs: 0 }), RangeError, 'normalizedWeightDecay: epochs must be > 0 (got 0)'],
    ['epochs missing', () => normalizedWeightDecay({ lambdaNorm: 1, batchSize: 1, trainingSize: 1 } as never), TypeError, 'epochs must be a number (got undefined)'],
    ['nwd unknown key', () => normalizedWeightDecay({ lambdaNorm: 1, batchSize: 1, trainingSize: 1, epochs: 1, lambda: 2 } as never), TypeError, 'unknown option lambda'],
  ];
  for (const [what, call, type, message] of cases) {
    it(what, () => {
      expect(call).toThrow(type);
      expect(call).toThrow(message);
    });
  }

  it('undefined options count as absent (defaults)', () => {
    expect(s.linear({ steps: 4, endFactor: undefined } as never)(4)).toBe(0);
    expect(s.cosineWarmRestarts({ t0: 4, tMult: undefined, etaMin: undefined } as never)(4)).toBe(1);
  });

  it('every schedule rejects a step count that is not an integer >= 0', () => {
    const all: [string, Schedule][] = [
      ['constant', s.constant()],
      ['linearWarmup', s.linearWarmup({ steps: 3 })],
      ['linear', s.linear({ steps: 3 })],
      ['cosine', s.cosine({ steps: 3 })],
      ['cosineWarmRestarts', s.cosineWarmRestarts({ t0: 3, tMult: 2 })],
      ['sequence', s.sequence([{ schedule: s.constant(), steps: 1 }, { schedule: s.constant() }])],
    ];
    for (const [name, f] of all) {
      for (const bad of [-1, 0.5, NaN, Infinity]) {
        expect(() => f(bad)).toThrow(RangeError);
        expect(() => f(bad)).toThrow(`schedules.${name} schedule: completedSteps must be an integer >= 0 (got ${bad})`);
      }
      expect(() => f(2 ** 53)).toThrow(`completedSteps must be <= Number.MAX_SAFE_INTEGER (got ${2 ** 53})`);
      expect(() => f('1' as never)).toThrow(TypeError);
      expect(() => f(undefined as never)).toThrow(`schedules.${name} schedule: completedSteps must be an integer >= 0 (got undefined)`);
    }
  });
});

describe('toJSON / fromJSON', () => {
  const { toJSON, fromJSON } = schedules;
  const built = {
    constant: schedules.constant(),
    linearWarmup: schedules.linearWarmup({ steps: 7, startFactor: 0.1 }),
    linear: schedules.linear({ steps: 50, endFactor: 0.25 }),
    cosine: schedules.cosine({ steps: 30 }),
    cosineWarmRestarts: schedules.cosineWarmRestarts({ t0: 5, tMult: 2, etaMin: 0.01 }),
    sequence: schedules.sequence([
      { schedule: schedules.linearWarmup({ steps: 10 }), steps: 10 },
      { schedule: schedules.sequence([{ schedule: schedules.constant(), steps: 3 }, { schedule: schedules.cosine({ steps: 20 }) }]), steps: 40 },
      { schedule: schedules.cosineWarmRestarts({ t0: 8 }), steps: 99 },
    ]),
  };

  it('describe every factory with its options, defaults filled in, and rebuild the same function through JSON text', () => {
    expect(toJSON(built.cosine)).toEqual({ factory: 'cosine', options: { steps: 30, etaMin: 0 } });
    expect(toJSON(built.linearWarmup)).toEqual({ factory: 'linearWarmup', options: { steps: 7, startFactor: 0.1 } });
    expect(toJSON(built.sequence)).toMatchObject({ factory: 'sequence', options: [{ steps: 10 }, { steps: 40 }, { steps: 99 }] });
    for (const [name, schedule] of Object.entries(built)) {
      const json = toJSON(schedule)!;
      expect(json.factory).toBe(name);
      expect(Object.isFrozen(json)).toBe(true);
      const rebuilt = fromJSON(JSON.parse(JSON.stringify(json)));
      expect(toJSON(rebuilt)).toEqual(json);
      for (let t = 0; t < 200; t++) expect(Object.is(rebuilt(t), schedule(t)), `${name} at ${t}`).toBe(true);
    }
  });

  it('have no description for hand-written functions, or sequences containing one', () => {
    const mine = (t: number) => 1 / (1 + t);
    expect(toJSON(mine)).toBeUndefined();
    expect(toJSON(schedules.sequence([{ schedule: schedules.constant(), steps: 2 }, { schedule: mine }]))).toBeUndefined();
    expect(() => toJSON(5 as never)).toThrow(/schedules\.toJSON: schedule must be a function/);
  });

  it('fromJSON refuses what no factory built, naming the path and the rule', () => {
    const cases: [unknown, ErrorConstructor, RegExp][] = [
      [null, TypeError, /schedules\.fromJSON: json must be an object/],
      [{ factory: 'step', options: {} }, TypeError, /json\.factory must be one of 'constant', 'linearWarmup'/],
      [{ factory: 'cosine', options: { steps: 0 } }, RangeError, /schedules\.cosine: steps must be an integer >= 1/],
      [{ factory: 'cosine', options: { steps: 5 }, extra: 1 }, TypeError, /unknown option json\.extra/],
      [{ factory: 'constant', options: { steps: 5 } }, TypeError, /unknown option json\.options\.steps/],
      [{ factory: 'sequence', options: {} }, TypeError, /json\.options must be an array of \{ schedule, steps \}/],
      [{ factory: 'sequence', options: [{ schedule: { factory: 'nope' }, steps: 1 }] }, TypeError, /json\.options\[0\]\.schedule\.factory must be one of/],
      [{ factory: 'sequence', options: [{ schedule: { factory: 'constant', options: {} }, steps: -1 }, { schedule: { factory: 'constant' } }] }, RangeError, /parts\[0\]\.steps must be an integer >= 0/],
    ];
    for (const [json, kind, message] of cases) {
      expect(() => fromJSON(json as never), JSON.stringify(json)).toThrow(kind);
      expect(() => fromJSON(json as never), JSON.stringify(json)).toThrow(message);
    }
  });
});

describe('the effective learning rate: group.nextLr and group.lastLr', () => {
  it("equal torch's scheduled lr at every step (HF linear-with-warmup, bit for bit)", async () => {
    const c = fixture.cases.find((x) => x.name === 'hf-linear-with-warmup')!;
    const opt = await AdamW.create([{ size: 8 }], { lr: c.baseLr, backend: 'js', schedule: CASES[c.name]!.ours });
    const group = opt.groups[0]!;
    expect(group.lastLr).toBeUndefined();
    for (let t = 0; t < 40; t++) {
      expect(group.nextLr).toBe(c.lr[t]);
      group.grads.fill(0.5);
      opt.step();
      expect(group.lastLr).toBe(c.lr[t]);
    }
    opt.dispose();
  });

  it('follow lr changes, survive a skipped step, reset on loading a state, and name a broken schedule', async () => {
    let broken = false;
    const opt = await AdamW.create([{ size: 8 }], { lr: 0.1, backend: 'js', nonFinite: 'skip', schedule: (t) => (broken ? NaN : 1 / (t + 1)) });
    const group = opt.groups[0]!;
    const saved = opt.saveState();
    opt.step();
    expect(group.lastLr).toBe(0.1);
    expect(group.nextLr).toBe(0.1 / 2);
    group.lr = 0.3;
    expect(group.nextLr).toBe(0.3 / 2);
    expect(group.lastLr).toBe(0.1); // what the step used, not recomputed
    group.grads[3] = NaN;
    expect(opt.step().skipped).toBe(true);
    expect(group.lastLr).toBe(0.1);
    opt.loadState(saved);
    expect(group.lastLr).toBeUndefined();
    expect(group.nextLr).toBe(0.1);
    broken = true;
    expect(() => group.nextLr).toThrow(/^AdamW\.groups\[0\]\.nextLr: groups\[0\]\.schedule returned NaN for completed step 0; a schedule must return a finite number >= 0$/);
    broken = false;
    // The schedule is caller code: calling back into the optimizer from it is refused, as during step().
    let reentered: unknown;
    group.set({ schedule: () => { try { opt.step(); } catch (error) { reentered = error; } return 1; } });
    expect(group.nextLr).toBe(0.1);
    expect(String(reentered)).toMatch(/groups\[0\]\.nextLr/);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });
});
