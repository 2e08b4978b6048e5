import { parseArgs } from 'node:util';
import { formatSize } from './report.js';
import { ALL_BACKENDS, CHECKS, type BackendId, type Check } from './types.js';

export const DEFAULT_SIZES = [4096, 16384, 65536, 262144, 1048576, 4194304, 16777216] as const;
/** Our memory holds at most 4 GiB: 16 bytes per parameter (20 with amsgrad). */
export const MAX_SIZE = 2 ** 27;

export const HELP = `adamw-bench — time one AdamW step per backend, side by side in one run

usage: adamw-bench [options]            (node packages/bench/dist/cli.js [options])
       pnpm bench -- [options]          (builds first; a leading -- is ignored)

A full run (the default sizes ${DEFAULT_SIZES.map(formatSize).join(', ')}, every backend) takes about 2½
minutes on a 2-core machine (158 s measured), most of it at the largest sizes. Shorter: fewer or smaller --sizes (e.g. 4k,64k,1m),
fewer --backends, fewer --reps (e.g. 5), a lower --budget or --min-rep-ms.

  --sizes N,N,...   parameter counts (default ${DEFAULT_SIZES.join(',')});
                    suffixes k/K = ×1024, m/M = ×1048576 (e.g. 64k,1m,16m)
  --backends A,B    any of ${ALL_BACKENDS.join(', ')}
                    (default: all; ones that cannot run here are skipped with a note)
  --threads N,N     thread counts for wasm-simd (default: 1, plus the core count when the
                    installed adamw-wasm has a threads option)
  --reps N          timed repetitions per row, interleaved across rows (default 9); every row
                    is first warmed up until its step time is stable (at most a sixth of --budget)
  --steps N         steps per repetition (default: enough for --min-rep-ms)
  --min-rep-ms MS   minimum duration of one repetition when --steps is not given (default 25)
  --budget S        seconds one row may take at one size (default 30); a slow row gets fewer
                    repetitions (never fewer than 5, or --reps if lower), else is skipped
  --amsgrad         amsgrad (36 bytes/param instead of 28); tfjs rows are skipped (no amsgrad)
  --checks          also time our backends without the non-finite guard (nonFinite 'ignore')
                    and with gradient clipping (clipGradNorm 1); default rows have the guard on
  --targets         also show the project's own speed targets (issue 4) and whether this run
                    met them, in the text and --markdown reports (--json always has them)
  --json FILE       write { machine, config, results, targets, notes } as JSON
  --plot FILE.svg   write an SVG chart (ns/param vs size, log-log) rendered with vega-lite
  --markdown FILE   write the tables (and with --targets the target checks) as Markdown
  --from-json FILE  measure nothing: print and render (--plot, --markdown) a recorded --json file
  --scenario NAME   step (default): the rows above; tfjs: one TensorFlow.js model.fit epoch of a
                    1M-parameter MLP with tf.train.adam vs adamw-wasm-tfjs's adamw on tfjs's cpu
                    and wasm backends, and the optimizer's share of the epoch (takes --reps,
                    --json, --markdown, --quiet; --markdown adds or replaces its own section)
  --no-build        do not build the native bench with cargo (use a binary already built)
  --quiet           no progress on stderr (by default: a bar with an ETA on a terminal, one
                    line per row and a periodic line with an ETA otherwise)
  --help            this text

Rows: wasm-simd, wasm, js (adamw-wasm); tfjs-cpu, tfjs-wasm (tf.train.adam, @tensorflow/tfjs-core,
optional dependencies); torch (torch.optim.AdamW: foreach and for-loop on 1 thread, foreach on the other --threads counts,
fused where torch has it on CPU; /usr/bin/python3);
native (needs cargo; widest: adamw-kernels' scalar reference built with -C target-cpu=native;
128-bit, on x86-64: our chunked loop on SSE2 lanes built for baseline x86-64, wasm SIMD's width);
bandwidth (stream: AdamW's access pattern in wasm v128 loads/stores, 28 bytes/param; copy:
TypedArray.set, read + write counted). "% bw" is a row's GB/s over the best bandwidth row.
A "!" after ns/param marks a row whose repetitions spread too widely to trust (see "spread").`;

export type Scenario = 'step' | 'tfjs';

export interface Args {
  readonly scenario: Scenario;
  readonly sizes: readonly number[];
  readonly backends: readonly BackendId[];
  readonly backendsExplicit: boolean;
  readonly threads: readonly number[] | undefined;
  readonly reps: number;
  readonly steps: number | undefined;
  readonly minRepMs: number;
  readonly budgetSeconds: number;
  readonly amsgrad: boolean;
  readonly checks: readonly Check[];
  /** Show the issue-4 target checks in the text and Markdown reports. */
  readonly targets: boolean;
  readonly json: string | undefined;
  readonly plot: string | undefined;
  readonly markdown: string | undefined;
  readonly fromJson: string | undefined;
  readonly build: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
}

export class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(`adamw-bench: ${message} (see --help)`);
}

function positiveInt(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) fail(`--${name} must be a positive integer (got '${text}')`);
  if (n > max) fail(`--${name} must be at most ${max} (got ${n})`);
  return n;
}

function positiveNumber(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number (got '${text}')`);
  return n;
}

export function parseSize(text: string): number {
  const m = /^\s*(\d+)\s*([kKmM]?)\s*$/.exec(text);
  if (!m) fail(`--sizes: '${text}' is not a positive integer (suffixes k, m allowed)`);
  const n = Number(m[1]) * (m[2] === '' ? 1 : /k/i.test(m[2]!) ? 1024 : 1024 * 1024);
  if (n < 1) fail(`--sizes: sizes must be at least 1 (got '${text}')`);
  if (n > MAX_SIZE) fail(`--sizes: at most ${MAX_SIZE} parameters (got ${n})`);
  return n;
}

function list(name: string, text: string): string[] {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) fail(`--${name} is a comma-separated list without empty items (got '${text}')`);
  return items;
}

/**
 * The arguments without a leading `--`: `pnpm bench -- --help` (and npm/yarn alike) pass the
 * separator through to the script, where parseArgs would take everything after it as
 * positionals. Only a leading one is dropped; a `--` later on is still an error.
 */
export function withoutLeadingSeparator(argv: readonly string[]): readonly string[] {
  return argv[0] === '--' ? argv.slice(1) : argv;
}

export function parseCliArgs(argv: readonly string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...withoutLeadingSeparator(argv)],
      strict: true,
      allowPositionals: false,
      options: {
        sizes: { type: 'string' },
        size: { type: 'string' },
        backends: { type: 'string' },
        threads: { type: 'string' },
        reps: { type: 'string', default: '9' },
        steps: { type: 'string' },
        'min-rep-ms': { type: 'string' },
        budget: { type: 'string' },
        scenario: { type: 'string', default: 'step' },
        amsgrad: { type: 'boolean', default: false },
        checks: { type: 'boolean', default: false },
        targets: { type: 'boolean', default: false },
        json: { type: 'string' },
        plot: { type: 'string' },
        markdown: { type: 'string' },
        'from-json': { type: 'string' },
        'no-build': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message.replace(/\. To specify.*$/s, '') : String(error));
  }
  const scenario = values.scenario;
  if (scenario !== 'step' && scenario !== 'tfjs') fail(`--scenario must be step or tfjs (got '${scenario}')`);
  if (scenario === 'tfjs') {
    const stepOnly = { sizes: values.sizes ?? values.size, backends: values.backends, threads: values.threads, steps: values.steps, 'min-rep-ms': values['min-rep-ms'], budget: values.budget, plot: values.plot, 'from-json': values['from-json'] };
    const given = Object.entries(stepOnly).filter(([, v]) => v !== undefined).map(([k]) => `--${k}`);
    if (values.amsgrad) given.push('--amsgrad');
    if (values.checks) given.push('--checks');
    if (values.targets) given.push('--targets');
    if (given.length > 0) fail(`--scenario tfjs times a fixed model: ${given.join(', ')} ${given.length > 1 ? 'do' : 'does'} not apply`);
  }
  if (values.sizes !== undefined && values.size !== undefined) fail('give --sizes or --size, not both');
  const sizeText = values.sizes ?? values.size;
  const sizes = sizeText === undefined ? [...DEFAULT_SIZES] : [...new Set(list('sizes', sizeText).map(parseSize))].sort((a, b) => a - b);

  const backends = values.backends === undefined ? [...ALL_BACKENDS] : list('backends', values.backends).map((b) => {
    if (!(ALL_BACKENDS as readonly string[]).includes(b)) fail(`unknown backend '${b}' (known: ${ALL_BACKENDS.join(', ')})`);
    return b as BackendId;
  });
  const threads = values.threads === undefined
    ? undefined
    : [...new Set(list('threads', values.threads).map((t) => positiveInt('threads', t, 256)))].sort((a, b) => a - b);
  if (values.plot !== undefined && !values.plot.toLowerCase().endsWith('.svg')) fail(`--plot writes SVG: give a file name ending in .svg (got '${values.plot}')`);
  if (values['from-json'] !== undefined && values.json !== undefined) fail('--from-json renders a recorded run: it writes no --json');
  for (const name of ['json', 'plot', 'markdown', 'from-json'] as const) {
    if (values[name] === '') fail(`--${name} needs a file name`);
  }

  return {
    scenario,
    sizes,
    backends: [...new Set(backends)],
    backendsExplicit: values.backends !== undefined,
    threads,
    reps: positiveInt('reps', values.reps, 10_000),
    steps: values.steps === undefined ? undefined : positiveInt('steps', values.steps, 1_000_000),
    minRepMs: positiveNumber('min-rep-ms', values['min-rep-ms'] ?? '25'),
    budgetSeconds: positiveNumber('budget', values.budget ?? '30'),
    amsgrad: values.amsgrad,
    checks: values.checks ? [...CHECKS] : ['default'],
    targets: values.targets,
    json: values.json,
    plot: values.plot,
    markdown: values.markdown,
    fromJson: values['from-json'],
    build: !values['no-build'],
    quiet: values.quiet,
    help: values.help,
  };
}
