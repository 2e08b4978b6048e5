import { writeFileSync } from 'node:fs';
import { machineLine, type Machine } from './machine.js';
import { rowLabel, sizesOf } from './report.js';
import type { Result } from './types.js';

const LIMIT = 'memory bandwidth (stream probe)';

/** A series' look in the chart: line and point colour, point shape, line dash. */
export interface SeriesStyle {
  readonly color: string;
  readonly shape: string;
  readonly dash: readonly number[];
}

/**
 * Fixed looks keyed by row label, so a backend looks the same in every chart whatever else ran
 * (vega's default palette hands colours out in order of appearance). Ours are blues and
 * greens, the peers warm colours, the limit grey; every shape differs from its neighbours' so
 * the chart also reads in grey scale.
 */
const ROW_STYLES: Readonly<Record<string, Omit<SeriesStyle, 'dash'>>> = {
  'wasm-simd': { color: '#1f77b4', shape: 'circle' },
  wasm: { color: '#17becf', shape: 'square' },
  js: { color: '#2ca02c', shape: 'triangle-up' },
  'tfjs-cpu': { color: '#ff7f0e', shape: 'diamond' },
  'tfjs-wasm': { color: '#d62728', shape: 'triangle-down' },
  'torch foreach': { color: '#9467bd', shape: 'cross' },
  'torch for-loop': { color: '#8c564b', shape: 'triangle-right' },
  'torch fused': { color: '#e377c2', shape: 'triangle-left' },
  'native widest': { color: '#bcbd22', shape: 'square' },
  'native 128-bit': { color: '#8c6d31', shape: 'circle' },
  [LIMIT]: { color: '#7f7f7f', shape: 'stroke' },
};

/** For row labels not in the table (a backend added later): picked by a hash of the label. */
const FALLBACK_COLORS = ['#393b79', '#637939', '#843c39', '#7b4173', '#3182bd', '#e6550d', '#31a354', '#636363'] as const;
const FALLBACK_SHAPES = ['circle', 'square', 'diamond', 'cross', 'triangle-up', 'triangle-down'] as const;

/** Solid for one thread (the one-thread limit dashed); a dash per thread count (fixed by the count itself). */
const THREAD_DASHES: readonly (readonly number[])[] = [[3, 2], [1, 2], [8, 3, 2, 3], [12, 2]];
const SOLID: readonly number[] = [1, 0];
const LIMIT_DASH: readonly number[] = [6, 4];

/** FNV-1a: a stable hash of a label (the same in every run and every Node version). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The look of a row label at a thread count: from ROW_STYLES, else from a hash of the label. */
export function seriesStyle(label: string, threads: number): SeriesStyle {
  const fixed = ROW_STYLES[label];
  const h = hash(label);
  const { color, shape } = fixed ?? { color: FALLBACK_COLORS[h % FALLBACK_COLORS.length]!, shape: FALLBACK_SHAPES[h % FALLBACK_SHAPES.length]! };
  const dash = threads <= 1 ? (label === LIMIT ? LIMIT_DASH : SOLID) : THREAD_DASHES[(Math.round(Math.log2(threads)) + THREAD_DASHES.length - 1) % THREAD_DASHES.length]!;
  return { color, shape, dash };
}

/** Known labels in table order, then unknown ones by name; each by thread count. */
function seriesOrder(a: { label: string; threads: number }, b: { label: string; threads: number }): number {
  const known = Object.keys(ROW_STYLES);
  const rank = (label: string) => (known.includes(label) ? known.indexOf(label) : known.length);
  return rank(a.label) - rank(b.label) || a.label.localeCompare(b.label) || a.threads - b.threads;
}

/** Splits at ", " outside parentheses. */
function parts(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && text.startsWith(', ', i)) {
      out.push(text.slice(start, i));
      start = i + 2;
    }
  }
  return [...out, text.slice(start)];
}

/** The run's description in lines short enough not to widen the chart. */
function subtitle(machine: Machine, title: string): string[] {
  const lines: string[] = [];
  for (const text of [machineLine(machine), title]) {
    let line = '';
    for (const part of parts(text)) {
      if (line && line.length + part.length > 96) {
        lines.push(line);
        line = part;
      } else {
        line = line ? `${line}, ${part}` : part;
      }
    }
    if (line) lines.push(line);
  }
  return lines;
}

/**
 * The vega-lite spec: ns/param vs size, log–log, one line per row label and thread count, each
 * with its fixed look (seriesStyle), the limit dashed grey.
 */
export function plotSpec(machine: Machine, title: string, results: readonly Result[]): Record<string, unknown> {
  const plotted = results.filter((r) => (r.checks ?? 'default') === 'default' && !(r.backend === 'bandwidth' && r.variant !== 'stream'));
  const values = plotted.map((r) => {
    const label = r.backend === 'bandwidth' ? LIMIT : rowLabel(r);
    // The stream probe runs on every thread count: one limit line per count, like the rows it bounds.
    return { series: `${label}${r.threads > 1 ? ` ×${r.threads} threads` : ''}`, label, threads: r.threads, size: r.size, nsPerParam: r.nsPerParam };
  });
  const series = [...new Map(values.map((v) => [v.series, v])).values()].sort(seriesOrder);
  const domain = series.map((s) => s.series);
  const styles = series.map((s) => seriesStyle(s.label, s.threads));
  // One legend: colour, shape and dash share the field, the domain and the title.
  const legend = { title: 'backend', orient: 'right', labelLimit: 400 };
  const color = { field: 'series', type: 'nominal', scale: { domain, range: styles.map((s) => s.color) }, legend };
  const sizes = sizesOf(results);
  const axis = (title: string) => ({
    title,
    grid: true,
    labelExpr: "datum.value >= 1048576 ? format(datum.value / 1048576, '~r') + 'M' : datum.value >= 1024 ? format(datum.value / 1024, '~r') + 'K' : format(datum.value, '~r')",
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'One AdamW step: ns per parameter vs parameter count (log–log)', subtitle: subtitle(machine, title), anchor: 'start' },
    width: 640,
    height: 420,
    background: 'white',
    data: { values },
    encoding: {
      x: { field: 'size', type: 'quantitative', scale: { type: 'log', nice: false }, axis: { ...axis('parameters'), values: sizes } },
      y: {
        field: 'nsPerParam',
        type: 'quantitative',
        scale: { type: 'log' },
        axis: { title: 'ns per parameter per step (median, lower is faster)', grid: true },
      },
      color,
      tooltip: [{ field: 'series' }, { field: 'size' }, { field: 'nsPerParam', format: '.3f' }],
    },
    // A line mark has no shape channel: the points are a layer of their own.
    layer: [
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { strokeDash: { field: 'series', type: 'nominal', scale: { domain, range: styles.map((s) => s.dash) }, legend } },
      },
      {
        mark: { type: 'point', filled: true, size: 50, opacity: 1 },
        encoding: { shape: { field: 'series', type: 'nominal', scale: { domain, range: styles.map((s) => s.shape) }, legend } },
      },
    ],
  };
}

/** Renders the chart headless with vega (no canvas needed for SVG) and writes it. */
export async function writePlot(file: string, machine: Machine, title: string, results: readonly Result[]): Promise<void> {
  let vega: typeof import('vega');
  let vegaLite: typeof import('vega-lite');
  try {
    vega = await import('vega');
    vegaLite = await import('vega-lite');
  } catch (error) {
    throw new Error(`adamw-bench: --plot needs the optional dependencies vega and vega-lite (${error instanceof Error ? error.message : String(error)})`);
  }
  const { spec } = vegaLite.compile(plotSpec(machine, title, results) as unknown as Parameters<typeof vegaLite.compile>[0]);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(file, svg);
}
