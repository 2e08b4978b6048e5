import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AdamW, isBackendAvailable, type BackendName } from 'adamw-wasm';
import { describeMachine, machineLine } from './machine.js';
import { median, min } from './stats.js';

const HELP = `adamw-bench — time one AdamW step per backend, side by side in one run

  --size N        parameters (default 1048576)
  --backends A,B  any of wasm-simd,wasm,js (default: all available)
  --reps N        timed repetitions per backend, interleaved (default 15)
  --amsgrad       use amsgrad (32 bytes/param instead of 28)
  --checks        also time each backend without the non-finite guard (nonFinite 'ignore')
                  and with gradient clipping (clipGradNorm), to show what they cost
  --json FILE     write results as JSON
  --help`;

const ALL: readonly BackendName[] = ['wasm-simd', 'wasm', 'js'];
/** Each timed repetition runs at least this long, so timer resolution does not matter. */
const MIN_REP_MS = 25;

/** Optimizer-wide options a row is measured with (the default is the guard on, no clipping). */
const CHECKS = {
  default: {},
  'no guard': { nonFinite: 'ignore' },
  'clip': { clipGradNorm: 1 },
} as const;
type CheckName = keyof typeof CHECKS;

interface Result {
  backend: BackendName;
  checks: CheckName;
  size: number;
  stepsPerRep: number;
  nsPerParam: number;
  minNsPerParam: number;
  gbPerSecond: number;
  medianMs: number;
  minMs: number;
  runs: number;
}

function positiveInt(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`adamw-bench: --${name} must be a positive integer (got ${text})`);
  return n;
}

function randomFill(a: Float32Array, seed: number): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    a[i] = (x / 2 ** 32) * 2 - 1;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '1048576' },
      backends: { type: 'string' },
      reps: { type: 'string', default: '15' },
      amsgrad: { type: 'boolean', default: false },
      checks: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return console.log(HELP);
  const size = positiveInt('size', values.size);
  const reps = positiveInt('reps', values.reps);
  const requested = values.backends ? values.backends.split(',') : ALL.filter(isBackendAvailable);
  const backends = requested.map((b) => {
    if (!(ALL as readonly string[]).includes(b)) throw new RangeError(`adamw-bench: unknown backend '${b}' (known: ${ALL.join(', ')})`);
    return b as BackendName;
  });
  const bytesPerParam = values.amsgrad ? 32 : 28;
  const machine = describeMachine();

  const init = new Float32Array(size);
  randomFill(init, 1);
  const checkNames: CheckName[] = values.checks ? ['default', 'no guard', 'clip'] : ['default'];
  const rowsToRun = backends.flatMap((backend) => checkNames.map((checks) => ({ backend, checks })));
  const optimizers = await Promise.all(
    rowsToRun.map(async ({ backend, checks }) => {
      const opt = await AdamW.create([{ init }], { backend, amsgrad: values.amsgrad, ...CHECKS[checks] });
      randomFill(opt.groups[0]!.grads, 2);
      return opt;
    }),
  );
  // Calibrate steps per repetition on each backend after a warm-up, then interleave backends
  // rep by rep so drift in machine speed hits them all alike.
  const stepsPerRep = optimizers.map((opt) => {
    for (let i = 0; i < 3; i++) opt.step();
    const t0 = performance.now();
    opt.step();
    const one = Math.max(performance.now() - t0, 1e-3);
    return Math.max(1, Math.ceil(MIN_REP_MS / one));
  });
  const samples: number[][] = optimizers.map(() => []);
  for (let r = 0; r < reps; r++) {
    optimizers.forEach((opt, i) => {
      const n = stepsPerRep[i]!;
      const t0 = performance.now();
      for (let s = 0; s < n; s++) opt.step();
      samples[i]!.push((performance.now() - t0) / n);
    });
    process.stderr.write(`\rrep ${r + 1}/${reps}`);
  }
  process.stderr.write('\r\x1b[K');

  // The copy-in path for users whose parameters live elsewhere: one .set() each way.
  const copySamples: number[] = [];
  const outside = new Float32Array(size);
  const view = optimizers[0]!.groups[0]!.params;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    view.set(outside);
    outside.set(view);
    copySamples.push(performance.now() - t0);
  }
  optimizers.forEach((opt) => opt.dispose());

  const results: Result[] = rowsToRun.map(({ backend, checks }, i) => {
    const ms = samples[i]!;
    const medianMs = median(ms);
    return {
      backend,
      checks,
      size,
      stepsPerRep: stepsPerRep[i]!,
      nsPerParam: (medianMs * 1e6) / size,
      minNsPerParam: (min(ms) * 1e6) / size,
      gbPerSecond: (bytesPerParam * size) / (medianMs * 1e6),
      medianMs,
      minMs: min(ms),
      runs: ms.length,
    };
  });
  const reference = results.find((r) => r.backend === 'wasm-simd' && r.checks === 'default') ?? results[0]!;
  console.log(`machine: ${machineLine(machine)}`);
  console.log(`AdamW step, ${size} params${values.amsgrad ? ', amsgrad' : ''}, median of ${reps} interleaved reps`);
  console.log(`checks: default = non-finite guard on (one read pass over the gradients); no guard = nonFinite 'ignore'; clip = clipGradNorm (norm pass)\n`);
  const rows = results.map((r) => [
    r.backend,
    r.checks,
    r.nsPerParam.toFixed(3),
    r.minNsPerParam.toFixed(3),
    r.medianMs.toFixed(3),
    r.gbPerSecond.toFixed(2),
    `${(r.nsPerParam / reference.nsPerParam).toFixed(2)}×`,
  ]);
  const header = ['backend', 'checks', 'ns/param', 'min ns/param', 'median ms', 'GB/s', `vs ${reference.backend}`];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, c) => cell.padStart(widths[c]!)).join('  '));
  const copyNs = (median(copySamples) * 1e6) / size;
  console.log(`\ncopy-in + copy-out of params (Float32Array.set, both ways): ${copyNs.toFixed(3)} ns/param`);
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ machine, results, copyInOutNsPerParam: copyNs }, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
