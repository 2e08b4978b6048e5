// The adamw-bench CLI on a tiny size: the shape and sanity of its output, not its timings.
// Needs only the built CLI (pnpm build): no torch, tfjs or cargo.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliArgs, UsageError } from '../src/args.js';
import { writeFitMarkdown, type FitDocument } from '../src/scenarios/tfjs-fit.js';
import { scalingTable } from '../src/report.js';
import { median } from '../src/stats.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'adamw-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ROW_KEYS = ['backend', 'threads', 'size', 'nsPerParam', 'gbPerSecond', 'medianMs', 'minMs', 'runs'] as const;
const BACKENDS = ['wasm-simd', 'wasm', 'js', 'tfjs-cpu', 'tfjs-wasm', 'torch', 'native', 'bandwidth'];

interface Row {
  backend: string;
  threads: number;
  size: number;
  nsPerParam: number;
  gbPerSecond: number;
  medianMs: number;
  minMs: number;
  runs: number;
  spread: number;
  unstable: boolean;
  variant?: string;
  checks?: string;
}

describe('adamw-bench CLI', () => {
  it('writes a well-formed JSON report, table, chart and Markdown for a tiny run', async () => {
    expect(existsSync(CLI), `${CLI} missing: run pnpm build first`).toBe(true);
    const json = join(dir, 'out.json');
    const svg = join(dir, 'out.svg');
    const md = join(dir, 'out.md');
    const { stdout } = await run(process.execPath, [
      CLI, '--sizes', '4096', '--reps', '2', '--min-rep-ms', '2', '--backends', 'wasm-simd,js,bandwidth',
      '--threads', '1', '--checks', '--json', json, '--plot', svg, '--markdown', md, '--quiet',
    ], { timeout: 60_000 });

    const doc = JSON.parse(readFileSync(json, 'utf8')) as { machine: Record<string, unknown>; results: Row[]; config: { command: string }; notes: string[] };
    expect(typeof doc.machine['cpu']).toBe('string');
    expect(doc.machine['cores']).toBeGreaterThan(0);
    expect(doc.machine['node']).toBe(process.version);
    expect(doc.config.command).toContain('--sizes 4096');

    const results = doc.results;
    expect(results.length).toBeGreaterThanOrEqual(2 + 2 + 2); // js×3 checks + wasm-simd×3 (when available) + 2 probes
    for (const row of results) {
      for (const key of ROW_KEYS) expect(row, `row ${JSON.stringify(row)} lacks ${key}`).toHaveProperty(key);
      expect(BACKENDS).toContain(row.backend);
      expect(Number.isInteger(row.threads) && row.threads >= 1).toBe(true);
      for (const key of ['nsPerParam', 'gbPerSecond', 'medianMs', 'minMs'] as const) {
        expect(Number.isFinite(row[key]) && row[key] > 0, `${row.backend}.${key} = ${row[key]}`).toBe(true);
      }
      expect(row.minMs).toBeLessThanOrEqual(row.medianMs);
      expect(row.runs).toBe(2);
      expect(row.spread).toBeGreaterThanOrEqual(0);
      expect(typeof row.unstable).toBe('boolean');
      // ns/param and GB/s are consistent with the median time and 28 bytes/param.
      expect(row.nsPerParam).toBeCloseTo((row.medianMs * 1e6) / row.size, 6);
      expect(row.gbPerSecond).toBeCloseTo((28 * row.size) / (row.medianMs * 1e6), 6);
    }
    const ours = results.filter((r) => r.backend === 'js' || r.backend === 'wasm-simd');
    expect(ours.every((r) => r.size === 4096 && r.checks !== undefined)).toBe(true);
    expect(new Set(results.filter((r) => r.backend === 'js').map((r) => r.checks))).toEqual(new Set(['default', 'no-guard', 'clip']));
    expect(results.filter((r) => r.backend === 'bandwidth').map((r) => r.variant).sort()).toEqual(['copy', 'stream']);

    expect(stdout).toMatch(/^machine: /);
    expect(stdout).toMatch(/\njs\s+1\s/);
    expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
    expect(readFileSync(md, 'utf8')).toContain('| backend | threads | ns/param');

    // --from-json renders the recorded run again without measuring.
    const again = join(dir, 'again.md');
    const rerun = await run(process.execPath, [CLI, '--from-json', json, '--markdown', again]);
    expect(rerun.stdout).toContain('machine: ');
    expect(readFileSync(again, 'utf8')).toContain(doc.config.command);
  });

  it('runs the stream probe on every thread count, each row\'s % bw against the probe with as many threads', async () => {
    const json = join(dir, 'threads.json');
    const { stdout } = await run(process.execPath, [
      CLI, '--sizes', '65536', '--reps', '2', '--min-rep-ms', '2', '--backends', 'wasm-simd,bandwidth', '--threads', '1,2', '--json', json, '--quiet',
    ], { timeout: 60_000 });
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { results: Row[] }).results.filter((r) => r.backend === 'bandwidth');
    expect(rows.map((r) => `${r.variant} ${r.threads}`).sort()).toEqual(['copy 1', 'stream 1', 'stream 2']);
    expect(rows.every((r) => r.size === 65536)).toBe(true);
    // Each row's % bw is against the probe with its own thread count, not the best of all.
    const all = (JSON.parse(readFileSync(json, 'utf8')) as { results: Row[] }).results;
    const gb = (backend: string, threads: number) => all.find((r) => r.backend === backend && r.threads === threads && (r.variant ?? 'stream') === 'stream')!.gbPerSecond;
    for (const threads of [1, 2]) {
      const shown = new RegExp(`\\nwasm-simd\\s+${threads}\\s.*?\\s(\\d+)%\\s+\\d+%\\s+2\\n`).exec(stdout);
      expect(shown, stdout).not.toBeNull();
      expect(Number(shown![1])).toBe(Math.round((100 * gb('wasm-simd', threads)) / gb('bandwidth', threads)));
    }
  });

  it('rejects bad options with a clear message and exit code 2', async () => {
    for (const [args, message] of [
      [['--sizes', '12x'], /--sizes: '12x' is not a positive integer/],
      [['--backends', 'wasm-simd,cuda'], /unknown backend 'cuda'/],
      [['--reps', '0'], /--reps must be a positive integer/],
      [['--plot', 'chart.png'], /\.svg/],
      [['--frobnicate'], /Unknown option '--frobnicate'/],
      [['--from-json', join(dir, 'missing.json')], /cannot read/],
    ] as const) {
      const error = await run(process.execPath, [CLI, ...args]).then(() => undefined, (e: { code: number; stderr: string }) => e);
      expect(error, `adamw-bench ${args.join(' ')} should fail`).toBeDefined();
      expect(error!.code).toBe(2);
      expect(error!.stderr).toMatch(message);
    }
  });

  it('prints help, also after the -- that pnpm bench -- --help passes on', async () => {
    const { stdout } = await run(process.execPath, [CLI, '--help']);
    expect(stdout).toContain('--sizes');
    expect(stdout).toContain('tfjs-wasm');
    // What a full run costs and how to shorten it.
    expect(stdout).toContain('4K, 16K, 64K, 256K, 1M, 4M, 16M');
    expect(stdout).toContain('takes about 2½\nminutes');
    expect((await run(process.execPath, [CLI, '--', '--help'])).stdout).toBe(stdout);
  });

  it('shows the issue-4 targets only with --targets (text and Markdown; the JSON always has them)', async () => {
    const M1 = 1 << 20;
    const result = (backend: string, nsPerParam: number, variant?: string) =>
      ({ backend, threads: 1, size: M1, nsPerParam, minNsPerParam: nsPerParam, gbPerSecond: 28 / nsPerParam, medianMs: nsPerParam, minMs: nsPerParam, runs: 9, stepsPerRep: 1, spread: 0.01, unstable: false, ...(variant ? { variant } : {}) });
    const json = join(dir, 'targets.json');
    const machine = { cpu: 'test', cores: 2, memoryGiB: 1, node: 'v20', v8: '11', platform: 'linux-x64', date: '2025-01-01T00:00:00Z', peers: {} };
    const config = { command: 'cli.js', sizes: [M1], backends: ['wasm-simd', 'js'], threads: [1], reps: 9, steps: null, minRepMs: 25, budgetSeconds: 30, amsgrad: false, checks: ['default'], bytesPerParam: 28 };
    writeFileSync(json, JSON.stringify({ machine, config, results: [result('wasm-simd', 1), result('js', 2)], targets: [], notes: [] }));
    const plainMd = join(dir, 'plain.md');
    const targetsMd = join(dir, 'targets.md');
    const plain = await run(process.execPath, [CLI, '--from-json', json, '--markdown', plainMd]);
    const shown = await run(process.execPath, [CLI, '--from-json', json, '--markdown', targetsMd, '--targets']);
    expect(plain.stdout).not.toMatch(/targets|MISSED/);
    expect(readFileSync(plainMd, 'utf8')).not.toMatch(/Targets|missed/);
    expect(shown.stdout).toMatch(/targets \(issue 4[\s\S]*≥ 3× faster than js at 1M\s+2\.00×\s+MISSED/);
    expect(readFileSync(targetsMd, 'utf8')).toContain('| ≥ 3× faster than js at 1M | 2.00× | **missed** |');
  });

  it('marks rows too noisy to trust, with a legend line, in the text and Markdown tables', async () => {
    const json = join(dir, 'noisy.json');
    const machine = { cpu: 'test', cores: 2, memoryGiB: 1, node: 'v20', v8: '11', platform: 'linux-x64', date: '2025-01-01T00:00:00Z', peers: {} };
    const config = { command: 'cli.js', sizes: [4096], backends: ['js'], threads: [1], reps: 9, steps: null, minRepMs: 25, budgetSeconds: 30, amsgrad: false, checks: ['default'], bytesPerParam: 28 };
    const result = (threads: number, spread: number, unstable: boolean) =>
      ({ backend: 'js', threads, size: 4096, nsPerParam: 2, minNsPerParam: 1.5, gbPerSecond: 14, medianMs: 0.008, minMs: 0.006, runs: 9, stepsPerRep: 1, spread, unstable });
    writeFileSync(json, JSON.stringify({ machine, config, results: [result(1, 0.02, false), result(2, 0.4, true)], targets: [], notes: [] }));
    const md = join(dir, 'noisy.md');
    const { stdout } = await run(process.execPath, [CLI, '--from-json', json, '--markdown', md]);
    expect(stdout).toMatch(/^! after ns\/param: too noisy to trust/m);
    expect(stdout).toMatch(/\njs\s+1\s+2\.000\s.*\s2%\s+9\n/);
    expect(stdout).toMatch(/\njs\s+2\s+2\.000!\s.*\s40%\s+9\n/);
    const text = readFileSync(md, 'utf8');
    expect(text).toContain('| js | 2 | 2.000! |');
    expect(text).toMatch(/^! after ns\/param: too noisy to trust/m);
  });
});

describe('thread scaling table', () => {
  const result = (backend: string, threads: number, size: number, nsPerParam: number, variant?: string) =>
    ({ backend, threads, size, nsPerParam, variant, checks: 'default', minNsPerParam: nsPerParam, gbPerSecond: 1, medianMs: 1, minMs: 1, runs: 5, stepsPerRep: 1 }) as never;

  it('gives ns/param and the speedup over 1 thread for every backend measured at several counts', () => {
    const table = scalingTable([
      result('wasm-simd', 1, 1 << 20, 1.0),
      result('wasm-simd', 2, 1 << 20, 0.5),
      result('wasm-simd', 4, 1 << 20, 0.4),
      result('torch', 1, 1 << 20, 6.0, 'foreach'),
      result('torch', 2, 1 << 20, 4.0, 'foreach'),
      result('torch', 1, 1 << 20, 1.6, 'for-loop'),
      result('js', 1, 1 << 20, 30),
    ]);
    expect(table!.header).toEqual(['backend', 'params', '1 thread', '2 threads', '4 threads']);
    expect(table!.rows).toEqual([
      ['wasm-simd', '1M', '1.000', '0.500 (2.00×)', '0.400 (2.50×)'],
      ['torch foreach', '1M', '6.000', '4.000 (1.50×)', '—'],
    ]);
  });

  it('is absent when nothing ran with threads', () => {
    expect(scalingTable([result('wasm-simd', 1, 4096, 1), result('js', 1, 4096, 9)])).toBeUndefined();
  });
});

describe('adamw-bench argument parsing', () => {
  it('parses sizes with suffixes, sorted and deduplicated', () => {
    const args = parseCliArgs(['--sizes', '1m,4k,4096,64K']);
    expect(args.sizes).toEqual([4096, 65536, 1048576]);
    expect(parseCliArgs(['--size', '1000']).sizes).toEqual([1000]);
    expect(parseCliArgs([]).sizes[0]).toBe(4096);
    expect(parseCliArgs([]).sizes.at(-1)).toBe(16777216);
  });

  it('ignores one leading -- (pnpm bench -- --sizes 4k), not a later one', () => {
    expect(parseCliArgs(['--', '--sizes', '4k', '--targets']).sizes).toEqual([4096]);
    expect(parseCliArgs(['--', '--help']).help).toBe(true);
    expect(parseCliArgs(['--', '--targets']).targets).toBe(true);
    expect(parseCliArgs([]).targets).toBe(false);
    expect(() => parseCliArgs(['--sizes', '4k', '--', '--help'])).toThrow(UsageError);
    expect(() => parseCliArgs(['--', '--', '--help'])).toThrow(UsageError);
  });

  it('validates', () => {
    expect(() => parseCliArgs(['--sizes', '0'])).toThrow(UsageError);
    expect(() => parseCliArgs(['--sizes', '1,,2'])).toThrow(/empty items/);
    expect(() => parseCliArgs(['--threads', '0'])).toThrow(/--threads/);
    expect(() => parseCliArgs(['--budget', '-1'])).toThrow(/--budget/);
    expect(() => parseCliArgs(['--size', '1', '--sizes', '2'])).toThrow(/not both/);
    expect(() => parseCliArgs(['--sizes', String(2 ** 40)])).toThrow(/at most/);
  });

  it('takes medians', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('--scenario tfjs', () => {
  it('takes only the options that apply to it', () => {
    expect(parseCliArgs(['--scenario', 'tfjs', '--reps', '3']).scenario).toBe('tfjs');
    expect(parseCliArgs([]).scenario).toBe('step');
    expect(() => parseCliArgs(['--scenario', 'fit'])).toThrow(/--scenario must be step or tfjs/);
    expect(() => parseCliArgs(['--scenario', 'tfjs', '--sizes', '1m', '--amsgrad'])).toThrow(/--sizes, --amsgrad do not apply/);
    expect(() => parseCliArgs(['--scenario', 'tfjs', '--targets'])).toThrow(/--targets does not apply/);
  });

  it('times one model.fit epoch per optimizer on tfjs cpu and wasm, and keeps one Markdown section per file', async () => {
    const json = join(dir, 'fit.json');
    const md = join(dir, 'fit.md');
    writeFileSync(md, '# earlier results\n\nkept as they are\n');
    const argv = [CLI, '--scenario', 'tfjs', '--reps', '1', '--quiet', '--json', json, '--markdown', md];
    const { stdout } = await run(process.execPath, argv, { timeout: 300_000 });
    expect(stdout).toMatch(/MLP 784-1024-256-10 \(relu, softmax; 1,068,810 parameters\)/);
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { model: { params: number; steps: number }; rows: { backend: string; optimizer: string; epochMs: number; optimizerMsPerStep: number; optimizerShare: number; finalLoss: number }[] };
    expect(doc.model.params).toBeGreaterThanOrEqual(1_000_000);
    expect(doc.rows.map((r) => `${r.backend}: ${r.optimizer}`)).toEqual(['cpu: tf.train.adam', 'cpu: adamw-wasm-tfjs adamw', 'wasm: tf.train.adam', 'wasm: adamw-wasm-tfjs adamw']);
    for (const r of doc.rows) {
      expect(r.epochMs).toBeGreaterThan(0);
      expect(r.optimizerMsPerStep * doc.model.steps).toBeLessThan(r.epochMs);
      expect(r.optimizerShare).toBeGreaterThan(0);
      expect(Number.isFinite(r.finalLoss)).toBe(true);
    }
    writeFitMarkdown(md, JSON.parse(readFileSync(json, 'utf8')) as FitDocument); // as a second run would: replaces the section
    const text = readFileSync(md, 'utf8');
    expect(text.startsWith('# earlier results\n\nkept as they are\n')).toBe(true);
    expect(text.match(/## TensorFlow\.js: one model\.fit epoch/g)).toHaveLength(1);
    expect(text).toMatch(/\| cpu: adamw-wasm-tfjs adamw \| \d+ \| [\d.]+ \| [\d.]+% \| [\d.]+× (faster|slower) \| [\d.]+× (faster|slower) \|/);
  }, 600_000);
});
