import { machineLine, type Machine } from './machine.js';
import { anyUnstable, formatSize, LEGEND, SCALING_LEGEND, scalingTable, sizesOf, TABLE_HEADER, tableCells, UNSTABLE_LEGEND } from './report.js';
import type { TargetCheck } from './targets.js';
import type { Result } from './types.js';

/** Right-aligned columns, the first left-aligned. */
export function alignColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

/** The report on stdout. `targets`: the issue-4 checks to show (none unless --targets). */
export function renderText(machine: Machine, title: string, results: readonly Result[], targets: readonly TargetCheck[], notes: readonly string[]): string {
  const out = [`machine: ${machineLine(machine)}`, title, LEGEND, ...(anyUnstable(results) ? [UNSTABLE_LEGEND] : []), ''];
  for (const size of sizesOf(results)) {
    out.push(`${size} params (${formatSize(size)})`, alignColumns([[...TABLE_HEADER], ...tableCells(results, size)]), '');
  }
  const scaling = scalingTable(results);
  if (scaling) out.push(`thread scaling: ${SCALING_LEGEND}`, alignColumns([scaling.header, ...scaling.rows]), '');
  if (targets.length) {
    out.push('targets (issue 4, wasm-simd 1 thread):');
    out.push(alignColumns(targets.map((t) => [`  ${t.target}`, t.measured, t.met === undefined ? 'not measured' : t.met ? 'met' : 'MISSED'])), '');
  }
  for (const n of notes) out.push(`note: ${n}`);
  return out.join('\n').trimEnd();
}
