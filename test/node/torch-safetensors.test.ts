/**
 * A run moves between adamw-wasm and PyTorch through safetensors files (docs/safetensors.md) and
 * continues as if it had never moved. Both directions, for AdamW (amsgrad), AdamW with the
 * biases excluded from weight decay (one JS group, two torch groups), Adam and SGD (momentum),
 * on the default backend and on 'js':
 *
 * - JS → torch: JS takes steps 1–10, exportSafetensors({ includeParams: true }); PyTorch
 *   (test/node/torch-safetensors/driver.py, through python/adamw_wasm_torch.py) builds its
 *   optimizer with optimizer_from_file + load_params and takes steps 11–20; its result must
 *   equal JS taking steps 11–20 itself.
 * - torch → JS: PyTorch takes steps 1–10 and save_optimizer_state(include_params=True);
 *   `fromSafetensors` takes steps 11–20; the result must equal PyTorch's own 20 steps.
 *
 * Both sides step with the same gradients: JS generates them and writes them to a safetensors
 * file the driver reads. Needs Debian's python3-torch at /usr/bin/python3 (scripts/setup.sh
 * installs it); without it every test here fails, saying so.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, AdamW, SGD, toSafetensors, type BackendChoice, type SafetensorsInput } from 'adamw-wasm';
import { compareArrays, EXACT, uniform, type Tolerance } from '../fixtures/torch-fixtures.js';

const PYTHON = '/usr/bin/python3';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DRIVER = join(ROOT, 'test/node/torch-safetensors/driver.py');

/*
 * ATEN_CPU_CAPABILITY=default: torch's kernels without fused multiply-add, whose float32
 * arithmetic is ours operation for operation: every array must match bit for bit.
 *
 * avx2 (torch's default kernels on x86-64): torch fuses some multiply-adds (see
 * test/fixtures/README.md). The bounds are the replay tests' own, justified there:
 * Adam/AdamW use torch-replay.test.ts's FMA tolerance (rtol 1e-5, atol 1e-7: at most 1 ulp per
 * step in m or v, ≥ 5× margin over 60 steps), SGD sgd-replay.test.ts's (rtol 1e-5 and
 * 1e-6·max|ref|: θ is a running sum, so near zero its error is a few ulps of its terms). Here
 * only 10 steps run on the fusing side. Measured (torch 1.13, AVX2; logged by each run), at most
 * 2.8% of the allowance anywhere: AdamW/Adam params 3.0e-8 absolute (5.4e-7 relative where
 * |θ| > 1e-3), state 1.2e-7 absolute (1.8e-7 relative); SGD params 1.9e-6 absolute (3.9e-7
 * relative), momentum buffers 1.2e-10.
 */
const CAPABILITIES = [
  { env: 'default', exact: true },
  { env: 'avx2', exact: false },
] as const;
const ADAM_AVX2: Tolerance = { rtol: 1e-5, atol: 1e-7 };
const SGD_AVX2: Tolerance = { rtol: 1e-5, atol: 0, scaled: 1e-6 };

const BACKENDS: readonly BackendChoice[] = ['auto', 'js'];
const STEPS = 20;
const HALF = 10;

/** The driver's model: two Linear layers, as nn.Linear names and shapes their parameters. */
const MODEL = [
  { name: 'fc1.weight', shape: [8, 6] },
  { name: 'fc1.bias', shape: [8] },
  { name: 'fc2.weight', shape: [3, 8] },
  { name: 'fc2.bias', shape: [3] },
] as const;
/** Gradient scale per tensor, so that the moments span binades. */
const GRAD_SCALE = [1, 0.1, 3, 1e-3];
const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The test data shared bit for bit: initial parameters and the gradient of every step t = 1..20. */
const initOf = (k: number) => Float32Array.from({ length: sizeOf(MODEL[k]!.shape) }, (_, i) => Math.fround(uniform(k + 1, 0, 0, i) * 0.5));
const gradOf = (t: number, k: number) =>
  Float32Array.from({ length: sizeOf(MODEL[k]!.shape) }, (_, i) => Math.fround(Math.fround(0.5 + uniform(k + 1, 1, t, i)) * GRAD_SCALE[k]!));

type AnyOpt = AdamW | Adam | SGD;
interface Case {
  readonly optimizer: 'AdamW' | 'Adam' | 'SGD';
  readonly create: (groups: unknown, options: object) => Promise<AnyOpt>;
  readonly fromSafetensors: (bytes: Uint8Array, options?: object) => Promise<AnyOpt>;
  /** The hyperparameters in adamw-wasm's names, and the same in torch.optim's. */
  readonly js: Readonly<Record<string, unknown>>;
  readonly torch: Readonly<Record<string, unknown>>;
  /** Tensors PyTorch puts in a second group with weight_decay 0 (a RegExp source), as JS's excludeFromWeightDecay does in one. */
  readonly torchNoDecay?: string;
  readonly avx2: Tolerance;
  /** Name shown for the case (default: the optimizer). */
  readonly label?: string;
}

const CASES: readonly Case[] = [
  {
    optimizer: 'AdamW',
    create: (g, o) => AdamW.create(g as never, o),
    fromSafetensors: (b, o) => AdamW.fromSafetensors(b, o),
    js: { lr: 1e-2, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05, amsgrad: true },
    torch: { lr: 1e-2, betas: [0.9, 0.99], eps: 1e-8, weight_decay: 0.05, amsgrad: true },
    avx2: ADAM_AVX2,
  },
  {
    // One JS group excluding the biases is two torch groups (weight_decay 0 for the biases): the
    // converter splits it on the way there, and the file PyTorch writes has two groups.
    optimizer: 'AdamW',
    label: 'AdamW, biases excluded from weight decay',
    create: (g, o) => AdamW.create(g as never, o),
    fromSafetensors: (b, o) => AdamW.fromSafetensors(b, o),
    js: { lr: 1e-2, weightDecay: 0.1, excludeFromWeightDecay: [/\.bias$/] },
    torch: { lr: 1e-2, weight_decay: 0.1 },
    torchNoDecay: '\\.bias$',
    avx2: ADAM_AVX2,
  },
  {
    optimizer: 'Adam',
    create: (g, o) => Adam.create(g as never, o),
    fromSafetensors: (b, o) => Adam.fromSafetensors(b, o),
    js: { lr: 3e-3, weightDecay: 1e-3 },
    torch: { lr: 3e-3, weight_decay: 1e-3 },
    avx2: ADAM_AVX2,
  },
  {
    optimizer: 'SGD',
    create: (g, o) => SGD.create(g as never, o),
    fromSafetensors: (b, o) => SGD.fromSafetensors(b, o),
    js: { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 1e-3 },
    torch: { lr: 0.05, momentum: 0.9, dampening: 0, nesterov: false, weight_decay: 1e-3 },
    avx2: SGD_AVX2,
  },
];

/** Steps t = from+1 .. to with the shared gradients. */
function train(opt: AnyOpt, from: number, to: number): void {
  for (let t = from + 1; t <= to; t++) {
    // By name: a file PyTorch wrote with two groups lists the tensors in another order.
    MODEL.forEach((m, k) => opt.tensor(m.name).grads.set(gradOf(t, k)));
    opt.step();
  }
}

function runDriver(dir: string, capability: string): { cpuCapability: string | null; torch: string } {
  const run = spawnSync(PYTHON, [DRIVER, dir], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, ATEN_CPU_CAPABILITY: capability, OMP_NUM_THREADS: '1' },
  });
  if (run.status !== 0) throw new Error(`driver.py failed (${run.status ?? run.signal}):\n${run.stderr}${run.stdout}`);
  return JSON.parse(run.stdout.trim().split('\n').pop()!);
}

/** Every array and step count of `ours` against `ref`; returns the failures, and records the worst differences. */
function compareOptimizers(label: string, ours: AnyOpt, ref: AnyOpt, tol: Tolerance, worst: Map<string, number>): string[] {
  const failures: string[] = [];
  if (ours.stepCount !== ref.stepCount) failures.push(`${label}: stepCount ${ours.stepCount}, expected ${ref.stepCount}`);
  for (const t of ref.tensors) {
    const mine = ours.tensor(t.name);
    if (mine.stepCount !== t.stepCount) failures.push(`${label} ${t.name}: step ${mine.stepCount}, expected ${t.stepCount}`);
    const arrays: [string, Float32Array, Float32Array][] = [
      ['params', mine.params, t.params],
      ...Object.entries(t.state as Record<string, Float32Array>).map(([name, a]): [string, Float32Array, Float32Array] => [name, (mine.state as Record<string, Float32Array>)[name]!, a]),
    ];
    for (const [name, a, b] of arrays) {
      const problem = compareArrays(`${label} ${t.name}.${name}`, a, b, tol);
      if (problem !== null) failures.push(problem);
      const key = name === 'params' ? 'params' : 'state';
      const floor = tol.atol + (tol.scaled ?? 0) * b.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      const record = (what: string, value: number) => worst.set(`${key} ${what}`, Math.max(worst.get(`${key} ${what}`) ?? 0, value));
      for (let i = 0; i < a.length; i++) {
        const diff = Math.abs(a[i]! - b[i]!);
        record('abs', diff);
        if (Math.abs(b[i]!) > 1e-3) record('rel', diff / Math.abs(b[i]!));
        if (diff > 0) record('/allowed', diff / (floor + tol.rtol * Math.abs(b[i]!)));
      }
    }
  }
  return failures;
}

const show = (worst: Map<string, number>) => [...worst].map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ');

beforeAll(() => {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `these tests need PyTorch at ${PYTHON} (Debian's python3-torch and python3-numpy; scripts/setup.sh installs them): ` +
        `'${PYTHON} -c "import torch"' failed: ${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}`,
    );
  }
});

describe.each(CAPABILITIES)('JS ⇄ PyTorch through safetensors (ATEN_CPU_CAPABILITY=$env)', ({ env, exact }) => {
  describe.each(CASES.map((c) => ({ ...c, name: c.label ?? c.optimizer })))('$name', (c) => {
    const tol = exact ? EXACT : c.avx2;
    let dir: string;
    /** JS's own 20 steps per backend, and the state it exported after 10. */
    const js = new Map<BackendChoice, { after20: AnyOpt; export10: Uint8Array }>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), `adamw-torch-st-${c.optimizer}-`));
      const grads: Record<string, SafetensorsInput> = {};
      for (let t = 1; t <= STEPS; t++) MODEL.forEach((m, k) => (grads[`grads.${t}.${m.name}`] = { dtype: 'F32', shape: m.shape, data: gradOf(t, k) }));
      writeFileSync(join(dir, 'grads.safetensors'), toSafetensors(grads));
      writeFileSync(join(dir, 'init.safetensors'), toSafetensors(Object.fromEntries(MODEL.map((m, k) => [`params.${m.name}`, { dtype: 'F32', shape: m.shape, data: initOf(k) }]))));
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ optimizer: c.optimizer, hyper: c.torch, noDecay: c.torchNoDecay ?? null }));
      for (const backend of BACKENDS) {
        const opt = await c.create([{ tensors: MODEL.map((m, k) => ({ name: m.name, shape: m.shape, init: initOf(k) })) }], { ...c.js, backend });
        train(opt, 0, HALF);
        const export10 = opt.exportSafetensors({ includeParams: true });
        train(opt, HALF, STEPS);
        js.set(backend, { after20: opt, export10 });
      }
      // The backends agree bit for bit, so one file serves both: the driver continues it once.
      writeFileSync(join(dir, 'js10.safetensors'), js.get('auto')!.export10);
      const ran = runDriver(dir, env);
      // The exact claim holds only for torch's kernels without FMA; the tolerance holds for any.
      if (exact) expect(ran.cpuCapability).toBe('NO AVX');
      else console.log(`torch ${ran.torch}, CPU capability ${ran.cpuCapability}`);
    }, 180_000);

    afterAll(() => {
      for (const { after20 } of js.values()) after20.dispose();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('every backend exports the same file after 10 steps', () => {
      expect(Buffer.from(js.get('js')!.export10).equals(Buffer.from(js.get('auto')!.export10))).toBe(true);
    });

    for (const backend of BACKENDS) {
      it(`JS → torch (${backend}): PyTorch continuing JS's file ${exact ? 'equals JS bit for bit' : 'stays within tolerance of JS'}`, async () => {
        const torch = await c.fromSafetensors(readFileSync(join(dir, 'torch-continued.safetensors')), { backend: 'js' });
        const worst = new Map<string, number>();
        expect(compareOptimizers(`JS→torch ${backend}`, js.get(backend)!.after20, torch, tol, worst)).toEqual([]);
        expect(MODEL.map((m) => torch.tensor(m.name).shape)).toEqual(MODEL.map((m) => m.shape));
        expect(torch.groups.length).toBe(c.torchNoDecay === undefined ? 1 : 2);
        if (!exact) console.log(`${c.optimizer} JS→torch (${backend}, ${env}): worst ${show(worst)}`);
        torch.dispose();
      });

      it(`torch → JS (${backend}): JS continuing PyTorch's file ${exact ? 'equals PyTorch bit for bit' : 'stays within tolerance of PyTorch'}`, async () => {
        const resumed = await c.fromSafetensors(readFileSync(join(dir, 'torch10.safetensors')), { backend });
        expect([resumed.stepCount, resumed.backend === 'js']).toEqual([HALF, backend === 'js']);
        train(resumed, HALF, STEPS);
        const torch = await c.fromSafetensors(readFileSync(join(dir, 'torch20.safetensors')), { backend: 'js' });
        const worst = new Map<string, number>();
        expect(compareOptimizers(`torch→JS ${backend}`, resumed, torch, tol, worst)).toEqual([]);
        if (!exact) console.log(`${c.optimizer} torch→JS (${backend}, ${env}): worst ${show(worst)}`);
        resumed.dispose();
        torch.dispose();
      });
    }
  });
});

describe('python/adamw_wasm_torch.py', () => {
  it('passes its own self-test (python/test_adamw_wasm_torch.py)', () => {
    const run = spawnSync(PYTHON, [join(ROOT, 'python/test_adamw_wasm_torch.py')], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    expect(run.status, `${run.stderr}${run.stdout}`).toBe(0);
  });
});
