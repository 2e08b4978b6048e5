import { parseArgs } from 'node:util';
import { ALL_BACKENDS, CHECKS, type BackendId, type Check } from './types.js';

export const DEFAULT_SIZES = [4096, 16384, 65536, 262144, 1048576, 4194304, 16777216] as const;
/** Our memory holds at most 4 GiB: 16 bytes per parameter (20 with amsgrad). */
export const MAX_SIZE = 2 ** 27;

export const HELP = `adamw-bench — time one AdamW step per backend, side by side in one run

usage: adamw-bench [options]            (node packages/bench/dist/cli.js [options])

  --sizes N,N,...   parameter counts (default ${DEFAULT_SIZES.join(',')});
                    suffixes k/K = ×1024, m/M = ×1048576 (e.g. 64k,1m,16m)
  --backends A,B    any of ${ALL_BACKENDS.join(', ')}
                    (default: all; ones that cannot run here are skipped with a note)
  --threads N,N     thread counts for wasm-simd (default: 1, plus the core count when the
                    installed adamw-wasm has a threads option)
  --reps N          timed repetitions per row, interleaved across rows (default 9)
  --steps N         steps per repetition (default: enough for --min-rep-ms)
  --min-rep-ms MS   minimum duration of one repetition when --steps is not given (default 25)
  --budget S        seconds one row may take at one size (default 30); a slow row gets fewer
                    repetitions (never fewer than 5, or --reps if lower), else is skipped
  --amsgrad         amsgrad (36 bytes/param instead of 28); tfjs rows are skipped (no amsgrad)
  --checks          also time our backends without the non-finite guard (nonFinite 'ignore')
                    and with gradient clipping (clipGradNorm 1); default rows have the guard on
  --json FILE       write { machine, config, results, notes } as JSON
  --plot FILE.svg   write an SVG chart (ns/param vs size, log-log) rendered with vega-lite
  --markdown FILE   write the tables and the issue-4 target checks as Markdown
  --from-json FILE  measure nothing: print and render (--plot, --markdown) a recorded --json file
  --no-build        do not build the native bench with cargo (use a binary already built)
  --quiet           no progress output on stderr
  --help            this text

Rows: wasm-simd, wasm, js (adamw-wasm); tfjs-cpu, tfjs-wasm (tf.train.adam, @tensorflow/tfjs-core,
optional dependencies); torch (torch.optim.AdamW, 1 thread, foreach and for-loop, /usr/bin/python3);
native (adamw-kernels' scalar reference built with -C target-cpu=native, needs cargo);
bandwidth (stream: AdamW's access pattern in wasm v128 loads/stores, 28 bytes/param; copy:
TypedArray.set, read + write counted). "% bw" is a row's GB/s over the best bandwidth row.`;

export interface Args {
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

export function parseCliArgs(argv: readonly string[]): Args {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        sizes: { type: 'string' },
        size: { type: 'string' },
        backends: { type: 'string' },
        threads: { type: 'string' },
        reps: { type: 'string', default: '9' },
        steps: { type: 'string' },
        'min-rep-ms': { type: 'string', default: '25' },
        budget: { type: 'string', default: '30' },
        amsgrad: { type: 'boolean', default: false },
        checks: { type: 'boolean', default: false },
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
    sizes,
    backends: [...new Set(backends)],
    backendsExplicit: values.backends !== undefined,
    threads,
    reps: positiveInt('reps', values.reps, 10_000),
    steps: values.steps === undefined ? undefined : positiveInt('steps', values.steps, 1_000_000),
    minRepMs: positiveNumber('min-rep-ms', values['min-rep-ms']),
    budgetSeconds: positiveNumber('budget', values.budget),
    amsgrad: values.amsgrad,
    checks: values.checks ? [...CHECKS] : ['default'],
    json: values.json,
    plot: values.plot,
    markdown: values.markdown,
    fromJson: values['from-json'],
    build: !values['no-build'],
    quiet: values.quiet,
    help: values.help,
  };
}
