/**
 * Replays the `tensors` sets (test/fixtures/torch-tensors*, see test/fixtures/README.md): models
 * of named tensors in two torch param groups where some tensors have `grad = None` on some steps.
 * Through the public API with named tensors and `opt.step({ tensors: stepped })`, on every backend
 * and with worker threads, comparing every tensor's params, every state array and step count at
 * every stored checkpoint.
 */
import { describe, it, expect } from 'vitest';
import { AdamW, Adam, type BackendName, type TensorPattern } from 'adamw-wasm';
import {
  bitsOf,
  compareArrays,
  EXACT,
  fillGradient,
  initParams,
  listCases,
  loadTensorsCase,
  TENSORS_FIXTURE_SETS,
  type FixtureTensor,
  type HyperOptions,
  type TensorCheckpoint,
  type TensorsCase,
  type TensorsFixtureSet,
  type Tolerance,
} from '../fixtures/torch-fixtures.js';

/*
 * 'torch-tensors-nofma' (ATEN_CPU_CAPABILITY=default): bit for bit, every backend and thread count.
 * 'torch-tensors' (AVX2): torch-replay.test.ts's FMA tolerance (rtol 1e-5, atol 1e-7; see its
 * justification): skipping a tensor changes nothing in its arithmetic, only which steps it takes.
 * Measured worst over these cases (all runs bit-identical to each other): 0.33× the allowance
 * (expAvg of adamw-tensors, 4.3e-6 relative); params 0.075×, expAvgSq and maxExpAvgSq 0.03×.
 */
const AVX2: Tolerance = { rtol: 1e-5, atol: 1e-7 };

const RUNS: readonly { backend: BackendName; threads: number }[] = [
  { backend: 'wasm-simd', threads: 1 },
  { backend: 'wasm', threads: 1 },
  { backend: 'js', threads: 1 },
  // dense/kernel (4099) spans two NORM_BLOCKs of 4096, so its slices go to different threads
  { backend: 'wasm-simd', threads: 3 },
];

const EXPECTED_CASES = ['adam-tensors', 'adamw-tensors', 'adamw-tensors-no-decay'];
/** Cases whose two torch groups differ only in weight decay: also replayed as one group with excludeFromWeightDecay. */
const ONE_GROUP_CASES = ['adamw-tensors-no-decay'];

type StateKey = 'expAvg' | 'expAvgSq' | 'maxExpAvgSq';
const STATE_KEYS: readonly StateKey[] = ['expAvg', 'expAvgSq', 'maxExpAvgSq'];

/** What the comparison needs of a tensor; the public Tensor exposes at least this. */
interface TensorView {
  readonly name: string;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly stepCount: number;
  readonly state: Readonly<Partial<Record<StateKey, Float32Array>>>;
}

interface OptimizerView {
  readonly backend: string;
  readonly threads: number;
  readonly stepCount: number;
  readonly tensors: readonly TensorView[];
  tensor(name: string): TensorView;
  step(options?: { tensors?: readonly string[] }): unknown;
  dispose(): void;
}

const tensorsOf = (c: TensorsCase): FixtureTensor[] => c.groups.flatMap((g) => g.tensors);
const specOf = (t: FixtureTensor): { name: string; init: Float32Array } => ({ name: t.name, init: initParams(t) });

/** How the model is built: as torch's groups, or as one group excluding the wd-0 group's tensors by name. */
type Build = { kind: 'groups' } | { kind: 'one group'; exclude: readonly TensorPattern[]; where: 'option' | 'group key' };

/** The one-group spelling of a case whose groups differ only in weight decay, or why there is none. */
function oneGroupOf(c: TensorsCase): { hyper: HyperOptions; excluded: string[] } | string {
  if (c.groups.length !== 2) return `${c.groups.length} groups`;
  const wd = (o: HyperOptions): number | undefined => o.weightDecay ?? c.options.weightDecay;
  const { weightDecay: _a, ...rest0 } = c.groups[0]!.overrides;
  const { weightDecay: _b, ...rest1 } = c.groups[1]!.overrides;
  if (JSON.stringify(rest0) !== JSON.stringify(rest1)) return `groups differ in more than weight decay: ${JSON.stringify(rest0)} vs ${JSON.stringify(rest1)}`;
  const zero = c.groups.findIndex((g) => wd(g.overrides) === 0);
  if (zero < 0 || wd(c.groups[1 - zero]!.overrides) === 0) return 'not one decaying and one wd-0 group';
  return { hyper: c.groups[1 - zero]!.overrides, excluded: c.groups[zero]!.tensors.map((t) => t.name) };
}

async function create(c: TensorsCase, backend: BackendName, threads: number, build: Build): Promise<OptimizerView> {
  const Optimizer = c.optimizer === 'AdamW' ? AdamW : Adam;
  const options = { ...c.options, backend, threads };
  if (build.kind === 'groups') {
    return Optimizer.create(c.groups.map((g) => ({ tensors: g.tensors.map(specOf), ...g.overrides })), options);
  }
  const one = oneGroupOf(c);
  if (typeof one === 'string') throw new Error(`${c.name}: no one-group spelling (${one})`);
  // the tensors in torch's order (group by group); nothing couples them, so the order is free
  const group = { tensors: tensorsOf(c).map(specOf), ...one.hyper };
  return build.where === 'option'
    ? Optimizer.create([group], { ...options, excludeFromWeightDecay: build.exclude })
    : Optimizer.create([{ ...group, excludeFromWeightDecay: build.exclude }], options);
}

function compareTensor(at: string, c: TensorsCase, ours: TensorView, ref: TensorCheckpoint, step: number, stepped: number, tol: Tolerance): string[] {
  const failures: string[] = [];
  const check = (what: string, o: Float32Array | undefined, r: Float32Array): void => {
    if (!o) return void failures.push(`${at} ${what}: missing on our side`);
    const msg = compareArrays(`${at} ${what}`, o, r, tol);
    if (msg) failures.push(msg);
  };
  check('params', ours.params, c.array(ref.params));
  if (step === 0) return failures;
  // torch's step count, the steps it had a gradient (counted from `stepped`), and ours agree
  if (ref.stepCount !== stepped) failures.push(`${at}: torch's stepCount ${ref.stepCount}, stepped ${stepped} times in the manifest`);
  if (ours.stepCount !== stepped) failures.push(`${at}: stepCount ${ours.stepCount}, expected ${stepped}`);
  if (ref.torchState !== stepped > 0) failures.push(`${at}: torchState ${ref.torchState} after ${stepped} steps`);
  // every state array, and no other
  const ourKeys = STATE_KEYS.filter((k) => ours.state[k] !== undefined);
  const refKeys = STATE_KEYS.filter((k) => ref[k] !== undefined);
  if (ourKeys.join() !== refKeys.join()) failures.push(`${at}: state ${ourKeys.join()}, torch ${refKeys.join()}`);
  for (const key of refKeys) check(key, ours.state[key], c.array(ref[key]!));
  return failures;
}

/**
 * Runs all steps: every tensor gets its gradient for step t (as a model computing all of them
 * would), and only the tensors torch had a gradient for are stepped. Returns every mismatch.
 */
async function replay(c: TensorsCase, backend: BackendName, threads: number, tol: Tolerance, build: Build = { kind: 'groups' }): Promise<string[]> {
  const opt = await create(c, backend, threads, build);
  const failures: string[] = [];
  try {
    if (opt.backend !== backend) failures.push(`${c.name}: backend ${opt.backend}, asked for ${backend}`);
    if (opt.threads !== threads) failures.push(`${c.name}: ${opt.threads} threads, asked for ${threads}`);
    const specs = tensorsOf(c);
    if (opt.tensors.map((t) => t.name).join() !== specs.map((t) => t.name).join()) return [`${c.name}: tensors ${opt.tensors.map((t) => t.name).join()}`];
    const views = specs.map((t) => opt.tensor(t.name));
    const byStep = new Map(c.checkpoints.map((ck) => [ck.step, ck.tensors]));
    const counts = specs.map(() => 0);
    const compare = (t: number): void => {
      const ref = byStep.get(t);
      if (!ref) return;
      if (opt.stepCount !== t) failures.push(`${c.name} [${backend}] step ${t}: opt.stepCount ${opt.stepCount}`);
      ref.forEach((rt, k) => failures.push(...compareTensor(`${c.name} [${backend} ×${threads}] step ${t} ${rt.name}`, c, views[k]!, rt, t, counts[k]!, tol)));
    };
    compare(0);
    for (let t = 1; t <= c.steps; t++) {
      specs.forEach((spec, k) => fillGradient(spec, t, views[k]!.grads));
      const stepped = c.stepped[t - 1]!;
      opt.step({ tensors: stepped });
      specs.forEach((spec, k) => {
        if (stepped.includes(spec.name)) counts[k]! += 1;
      });
      compare(t);
    }
  } finally {
    opt.dispose();
  }
  return failures;
}

const listed = (set: TensorsFixtureSet): string[] => listCases(set);

describe.each(TENSORS_FIXTURE_SETS)('named tensors with grad None, torch replay (%s)', (set) => {
  const exact = set === 'torch-tensors-nofma';
  const tol = exact ? EXACT : AVX2;
  const cases = listed(set);

  it('has the fixtures', () => {
    expect(cases).toEqual(EXPECTED_CASES);
  });

  for (const name of cases) {
    describe(name, () => {
      it('is recorded from torch with the expected kernels, and exercises what it claims', () => {
        const c = loadTensorsCase(name, set);
        expect(c.cpuCapability).toBe(exact ? 'NO AVX' : 'AVX2');
        const specs = tensorsOf(c);
        expect(specs.length).toBeGreaterThanOrEqual(4);
        expect(c.groups.length).toBe(2);
        // a tensor spanning more than one NORM_BLOCK (threads split it), sizes off the lane widths
        expect(specs.some((t) => t.size > 4096)).toBe(true);
        expect(specs.every((t) => t.size % 4 !== 0)).toBe(true);
        // step-0 params are our inputs bit for bit
        const zero = c.checkpoints.find((ck) => ck.step === 0)!;
        specs.forEach((t, k) => expect(Array.from(initParams(t), bitsOf), t.name).toEqual(Array.from(c.array(zero.tensors[k]!.params), bitsOf)));
        // some tensor skipped at some step; a whole group skipped at one step; a step with none
        expect(c.stepped.some((s) => s.length > 0 && s.length < specs.length)).toBe(true);
        expect(c.stepped.some((s) => s.length > 0 && c.groups.some((g) => g.tensors.every((t) => !s.includes(t.name))))).toBe(true);
        expect(c.stepped.some((s) => s.length === 0)).toBe(true);
        // a checkpoint with a tensor torch holds no state for yet (zeros, stepCount 0), in each group
        const first = c.checkpoints.find((ck) => ck.step === 1)!;
        const stateless = first.tensors.filter((t) => t.torchState === false);
        expect(stateless.length).toBeGreaterThanOrEqual(2);
        for (const t of stateless) {
          expect(t.stepCount).toBe(0);
          for (const key of STATE_KEYS) if (t[key]) expect(c.array(t[key]).every((x) => bitsOf(x) === 0), `${t.name} ${key}`).toBe(true);
        }
      });

      for (const { backend, threads } of RUNS) {
        it(`${backend}, ${threads} thread${threads > 1 ? 's' : ''}: ${exact ? 'bit-identical to' : 'within tolerance of'} torch at every checkpoint`, async () => {
          expect(await replay(loadTensorsCase(name, set), backend, threads, tol)).toEqual([]);
        });
      }

      const one = oneGroupOf(loadTensorsCase(name, set));
      if (typeof one === 'string') {
        it(`has no one-group spelling (${one})`, () => {
          expect(ONE_GROUP_CASES).not.toContain(name);
        });
      } else {
        // the wd-0 group's tensors by name (as strings) as an option, or by a RegExp as a group key
        const pattern = /\/bias$/;
        it('the one-group spelling excludes exactly the wd-0 group', () => {
          expect(ONE_GROUP_CASES).toContain(name);
          expect(tensorsOf(loadTensorsCase(name, set)).filter((t) => pattern.test(t.name)).map((t) => t.name)).toEqual(one.excluded);
        });
        const builds: Build[] = [
          { kind: 'one group', exclude: one.excluded, where: 'option' },
          { kind: 'one group', exclude: [pattern], where: 'group key' },
        ];
        for (const build of builds) {
          for (const { backend, threads } of RUNS) {
            it(`as one group, excludeFromWeightDecay ${build.kind === 'one group' ? build.where : ''}, ${backend}, ${threads} thread${threads > 1 ? 's' : ''}: ${exact ? 'bit-identical' : 'within tolerance'}`, async () => {
              expect(await replay(loadTensorsCase(name, set), backend, threads, tol, build)).toEqual([]);
            });
          }
        }
      }
    });
  }
});
