// The chart's looks: fixed per backend, whatever else ran (vega's palette used to hand colours
// out in order of appearance, so a backend changed colour between runs).
import { describe, expect, it } from 'vitest';
import type { Machine } from '../src/machine.js';
import { plotSpec, seriesStyle } from '../src/plot.js';
import type { Result } from '../src/types.js';

const machine = { cpu: 'test', cores: 2, memoryGiB: 1, node: 'v20', platform: 'linux-x64', date: '2025-01-01', peers: {} } as unknown as Machine;
const row = (backend: string, threads = 1, variant?: string): Result =>
  ({ backend, threads, variant, checks: 'default', size: 4096, nsPerParam: 1, minNsPerParam: 1, gbPerSecond: 1, medianMs: 1, minMs: 1, runs: 5, stepsPerRep: 1 }) as Result;

/** series → its colour, shape and dash, read back from the spec's scales. */
function looks(results: Result[]): Record<string, [string, string, string]> {
  const spec = plotSpec(machine, 'title', results) as { encoding: { color: { scale: { domain: string[]; range: string[] } } }; layer: { encoding: Record<string, { scale: { domain: string[]; range: unknown[] } }> }[] };
  const { domain, range: colors } = spec.encoding.color.scale;
  const dashes = spec.layer[0]!.encoding['strokeDash']!.scale;
  const shapes = spec.layer[1]!.encoding['shape']!.scale;
  expect(dashes.domain).toEqual(domain);
  expect(shapes.domain).toEqual(domain);
  return Object.fromEntries(domain.map((s, i) => [s, [colors[i]!, String(shapes.range[i]), JSON.stringify(dashes.range[i])]]));
}

describe('chart looks', () => {
  it('gives a backend the same colour, marker and dash whatever other rows ran, and in any order', () => {
    const all = looks([row('js'), row('wasm-simd'), row('wasm-simd', 2), row('torch', 1, 'foreach'), row('bandwidth', 1, 'stream')]);
    const few = looks([row('torch', 1, 'foreach'), row('wasm-simd', 2)]);
    expect(few['torch foreach']).toEqual(all['torch foreach']);
    expect(few['wasm-simd ×2 threads']).toEqual(all['wasm-simd ×2 threads']);
    expect(all['wasm-simd']).toEqual(['#1f77b4', 'circle', '[1,0]']);
    // Threads keep the backend's colour and marker, dashed; the limit is grey and dashed.
    expect(all['wasm-simd ×2 threads']![0]).toBe('#1f77b4');
    expect(all['wasm-simd ×2 threads']![2]).not.toBe('[1,0]');
    expect(all['memory bandwidth (stream probe)']![0]).toBe('#7f7f7f');
    // Legend order is fixed too: the table's order, not the order the rows ran in.
    expect(Object.keys(all)).toEqual(['wasm-simd', 'wasm-simd ×2 threads', 'js', 'torch foreach', 'memory bandwidth (stream probe)']);
  });

  it('gives every known backend a distinct look', () => {
    const labels = ['wasm-simd', 'wasm', 'js', 'tfjs-cpu', 'tfjs-wasm', 'torch foreach', 'torch for-loop', 'torch fused', 'native widest', 'native 128-bit'];
    const colors = labels.map((l) => seriesStyle(l, 1).color);
    expect(new Set(colors).size).toBe(labels.length);
  });

  it('styles an unknown name deterministically', () => {
    expect(seriesStyle('cuda fused', 1)).toEqual(seriesStyle('cuda fused', 1));
    expect(seriesStyle('cuda fused', 1).color).toMatch(/^#[0-9a-f]{6}$/);
    expect(seriesStyle('cuda fused', 4).dash).toEqual(seriesStyle('wasm-simd', 4).dash);
  });
});
