/** Charts with vega-lite: SVG rendered headless by vega, PNG rasterised from it by resvg. */
import { Resvg } from '@resvg/resvg-js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { bestCell, type Curve, type Grid, type Sweep } from './analysis.js';
import { METHOD_LABELS, MODEL_LABELS, type ModelKind } from './types.js';

type Spec = Record<string, unknown>;

const FONT = 'DejaVu Sans';
const CONFIG = { font: FONT, axis: { labelFontSize: 11, titleFontSize: 12 }, title: { fontSize: 15, subtitleFontSize: 12 } };

/** Writes `<name>.svg` and `<name>.png` (2× for sharp text); returns the file names. */
export async function render(dir: string, name: string, spec: Spec): Promise<string[]> {
  const { spec: compiled } = vegaLite.compile({ ...spec, config: CONFIG, background: 'white' } as unknown as vegaLite.TopLevelSpec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  writeFileSync(join(dir, `${name}.svg`), svg);
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: FONT } }).render().asPng();
  writeFileSync(join(dir, `${name}.png`), png);
  return [`${name}.svg`, `${name}.png`];
}

const percent = (x: number) => Number((100 * x).toFixed(2));
const short = (x: number) => (x === 0 ? '0' : Number(x.toPrecision(2)).toExponential().replace('e+', 'e').replace('e-', 'e−'));

/**
 * Figure 2: one heatmap per method, side by side, one colour scale for all (clamped a few points
 * above the best so the valley's shape shows), the value in every cell, each method's best boxed.
 */
export function heatmapSpec(model: ModelKind, grids: readonly Grid[], subtitle: string[]): Spec {
  const values = grids.flatMap((grid) => {
    const best = bestCell(grid);
    return grid.cells.flat().map((c) => ({
      method: METHOD_LABELS[grid.method],
      lr: short(c.lr),
      lrValue: c.lr,
      decay: short(c.weightDecay),
      decayValue: c.weightDecay,
      error: c.errors.length ? percent(c.errors[0]!) : null,
      best: c === best,
    }));
  });
  const finite = values.map((v) => v.error).filter((e): e is number => e !== null);
  const low = Math.floor(Math.min(...finite));
  const high = low + 8;
  return {
    title: { text: `Final test error (%) over learning rate × weight decay — ${MODEL_LABELS[model]}`, subtitle, anchor: 'start' },
    data: { values },
    facet: { column: { field: 'method', type: 'nominal', title: null, sort: grids.map((g) => METHOD_LABELS[g.method]), header: { labelFontSize: 13 } } },
    spec: {
      width: 250,
      height: 250,
      encoding: {
        x: { field: 'decay', type: 'ordinal', sort: { field: 'decayValue' }, title: 'weight decay λ (0 = none)', axis: { labelAngle: -40 } },
        y: { field: 'lr', type: 'ordinal', sort: { field: 'lrValue', order: 'descending' }, title: 'learning rate α' },
      },
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            color: {
              field: 'error',
              type: 'quantitative',
              title: 'test error %',
              scale: { scheme: 'viridis', reverse: true, domain: [low, high], clamp: true },
              legend: { gradientLength: 200 },
            },
          },
        },
        { transform: [{ filter: 'datum.best' }], mark: { type: 'rect', fill: null, stroke: 'red', strokeWidth: 3 } },
        {
          mark: { type: 'text', fontSize: 10 },
          encoding: {
            text: { field: 'error', type: 'quantitative', format: '.1f' },
            color: { condition: { test: `datum.error > ${low + 5}`, value: 'white' }, value: 'black' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent', color: 'shared' } },
  };
}

/** Test error per epoch, mean over seeds with a min–max band. */
export function curvesSpec(title: string, subtitle: string[], curves: readonly Curve[]): Spec {
  const values = curves.flatMap((c) =>
    c.mean.map((m, e) => ({ series: `${c.label} (${c.seeds} seeds)`, epoch: e + 1, mean: percent(m), min: percent(c.min[e]!), max: percent(c.max[e]!) })),
  );
  const low = Math.floor(Math.min(...values.map((v) => v.min)));
  const high = Math.ceil(Math.min(low + 15, Math.max(...values.map((v) => v.max))));
  return {
    title: { text: title, subtitle, anchor: 'start' },
    width: 560,
    height: 320,
    data: { values },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-right', labelLimit: 400 } },
    },
    layer: [
      // Early epochs far above the rest are clamped to the top edge rather than cut off.
      { mark: { type: 'area', opacity: 0.2 }, encoding: { y: { field: 'min', type: 'quantitative', scale: { domain: [low, high], clamp: true } }, y2: { field: 'max' } } },
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'mean', type: 'quantitative', title: 'test error % (lower is better)' } } },
    ],
  };
}

/** Error vs raw λ and vs λ_norm, one line per training length: the lines that coincide transfer. */
export function sweepSpec(subtitle: string[], sweeps: readonly Sweep[]): Spec {
  const values = sweeps.flatMap((s) =>
    s.error.map((e, i) => ({ length: `${s.epochs} epochs`, error: percent(e), raw: s.weightDecay[i], normalized: s.lambdaNorm[i] })),
  );
  const panel = (field: 'raw' | 'normalized', title: string) => ({
    width: 300,
    height: 260,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field, type: 'quantitative', scale: { type: 'log' }, title, axis: { format: '.0e' } },
      y: { field: 'error', type: 'quantitative', scale: { zero: false }, title: 'final test error %' },
      color: { field: 'length', type: 'nominal', title: 'training length' },
    },
  });
  return {
    title: { text: 'Does the best weight decay transfer to a longer run? Raw λ vs normalized λ_norm', subtitle, anchor: 'start' },
    data: { values },
    hconcat: [panel('raw', 'raw λ (decay per step η_t·λ)'), panel('normalized', 'λ_norm = λ / sqrt(b / (B·T))')],
  };
}
