import { writeFileSync } from 'node:fs';
import { machineLine, type Machine } from './machine.js';
import { rowLabel, sizesOf } from './report.js';
import type { Result } from './types.js';

const LIMIT = 'memory bandwidth (stream probe)';

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

/** The vega-lite spec: ns/param vs size, log–log, one line per row label, the limit dashed. */
export function plotSpec(machine: Machine, title: string, results: readonly Result[]): Record<string, unknown> {
  const plotted = results.filter((r) => (r.checks ?? 'default') === 'default' && !(r.backend === 'bandwidth' && r.variant !== 'stream'));
  const values = plotted.map((r) => ({
    series: r.backend === 'bandwidth' ? LIMIT : `${rowLabel(r)}${r.threads > 1 ? ` ×${r.threads} threads` : ''}`,
    kind: r.backend === 'bandwidth' ? 'limit' : 'measured',
    size: r.size,
    nsPerParam: r.nsPerParam,
  }));
  const order = [...new Set(values.map((v) => v.series))];
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
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'size', type: 'quantitative', scale: { type: 'log', nice: false }, axis: { ...axis('parameters'), values: sizes } },
      y: {
        field: 'nsPerParam',
        type: 'quantitative',
        scale: { type: 'log' },
        axis: { title: 'ns per parameter per step (median, lower is faster)', grid: true },
      },
      color: { field: 'series', type: 'nominal', sort: order, legend: { title: 'backend', orient: 'right', labelLimit: 400 } },
      strokeDash: {
        field: 'kind',
        type: 'nominal',
        scale: { domain: ['measured', 'limit'], range: [[1, 0], [6, 4]] },
        legend: null,
      },
      tooltip: [{ field: 'series' }, { field: 'size' }, { field: 'nsPerParam', format: '.3f' }],
    },
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
