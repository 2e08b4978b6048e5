// What the table, the Markdown and the plot share: row labels, the reference row, the
// bandwidth limit and the formatted cells.
import { UNSTABLE_SPREAD } from './stability.js';
import type { Result } from './types.js';

/** "torch foreach", "wasm-simd (no-guard)", "bandwidth stream". */
export function rowLabel(r: Result): string {
  const extra = r.checks && r.checks !== 'default' ? ` (${r.checks})` : '';
  return `${r.backend}${r.variant ? ` ${r.variant}` : ''}${extra}`;
}

/** The row every ratio is relative to: wasm-simd, 1 thread, default checks. */
export const reference = (results: readonly Result[], size: number): Result | undefined =>
  results.find((r) => r.size === size && r.backend === 'wasm-simd' && r.threads === 1 && (r.checks ?? 'default') === 'default');

/** The measured streaming limit at a size on `threads` threads: the best bandwidth row with that many, in GB/s. */
export function bandwidthLimit(results: readonly Result[], size: number, threads = 1): number | undefined {
  const rows = results.filter((r) => r.backend === 'bandwidth' && r.threads === threads && sizeMatches(r, size));
  return rows.length ? Math.max(...rows.map((r) => r.gbPerSecond)) : undefined;
}

/** The bandwidth probe rounds sizes up to whole 32-byte blocks per thread. */
const sizeMatches = (probe: Result, size: number): boolean => probe.size >= size && probe.size - size < 8 * probe.threads;

export const sizesOf = (results: readonly Result[]): number[] =>
  [...new Set(results.filter((r) => r.backend !== 'bandwidth').map((r) => r.size))].sort((a, b) => a - b);

export function rowsAt(results: readonly Result[], size: number): Result[] {
  return results.filter((r) => (r.backend === 'bandwidth' ? sizeMatches(r, size) : r.size === size));
}

export function formatSize(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)}K`;
  return String(n);
}

export const TABLE_HEADER = ['backend', 'threads', 'ns/param', 'min ns/param', 'median ms', 'GB/s', 'vs wasm-simd', '% bw', 'spread', 'runs'] as const;

const fixed = (x: number): string => (x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3));

export function tableCells(results: readonly Result[], size: number): string[][] {
  const ref = reference(results, size);
  return rowsAt(results, size).map((r) => {
    const limit = bandwidthLimit(results, size, r.threads);
    return [
      rowLabel(r),
      String(r.threads),
      `${fixed(r.nsPerParam)}${r.unstable ? UNSTABLE_MARK : ''}`,
      fixed(r.minNsPerParam),
      fixed(r.medianMs),
      r.gbPerSecond.toFixed(1),
      ref ? `${(r.nsPerParam / ref.nsPerParam).toFixed(2)}×` : '—',
      limit ? `${((100 * r.gbPerSecond) / limit).toFixed(0)}%` : '—',
      r.spread === undefined ? '—' : `${(100 * r.spread).toFixed(0)}%`,
      String(r.runs),
    ];
  });
}

export const LEGEND =
  'ns/param: median time of one step ÷ parameters; min: fastest repetition; GB/s: bytes a step moves ' +
  '(28/param, 36 with amsgrad) ÷ median time; vs wasm-simd: time ÷ wasm-simd\'s (1 thread; > 1 is slower); ' +
  '% bw: GB/s ÷ the best bandwidth probe at that size and thread count (the stream probe runs on every thread count); ' +
  'spread: (75th − 25th percentile) ÷ median of the repetitions.';

/** Marks the ns/param of a row too noisy to trust (Result.unstable). */
export const UNSTABLE_MARK = '!';

/** The legend line for UNSTABLE_MARK; shown only when some row has it. */
export const UNSTABLE_LEGEND =
  `${UNSTABLE_MARK} after ns/param: too noisy to trust, the spread is over ${UNSTABLE_SPREAD * 100}%; ` +
  'rerun on a quieter machine or with more --reps.';

export const anyUnstable = (results: readonly Result[]): boolean => results.some((r) => r.unstable === true);

/**
 * Thread scaling: for each backend (and variant) measured at more than one thread count, one
 * row per size of ns/param at each count and its speedup over that backend's 1-thread row.
 * Undefined when no backend ran with threads.
 */
export function scalingTable(results: readonly Result[]): { header: string[]; rows: string[][] } | undefined {
  const rows = results.filter((r) => (r.checks ?? 'default') === 'default' && r.backend !== 'bandwidth');
  const series = [...new Set(rows.map((r) => rowLabel(r)))].filter((label) => new Set(rows.filter((r) => rowLabel(r) === label).map((r) => r.threads)).size > 1);
  if (!series.length) return undefined;
  const counts = [...new Set(rows.filter((r) => series.includes(rowLabel(r))).map((r) => r.threads))].sort((a, b) => a - b);
  const header = ['backend', 'params', ...counts.map((t) => `${t} thread${t === 1 ? '' : 's'}`)];
  const out: string[][] = [];
  for (const label of series) {
    for (const size of sizesOf(results)) {
      const at = rows.filter((r) => rowLabel(r) === label && r.size === size);
      if (!at.length) continue;
      const one = at.find((r) => r.threads === 1);
      out.push([
        label,
        formatSize(size),
        ...counts.map((t) => {
          const r = at.find((x) => x.threads === t);
          if (!r) return '—';
          const ns = `${fixed(r.nsPerParam)}${r.unstable ? UNSTABLE_MARK : ''}`;
          return one && t !== 1 ? `${ns} (${(one.nsPerParam / r.nsPerParam).toFixed(2)}×)` : ns;
        }),
      ]);
    }
  }
  return { header, rows: out };
}

export const SCALING_LEGEND = 'ns/param at each thread count (speedup over 1 thread; > 1× is faster), default checks.';
