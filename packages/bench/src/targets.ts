import { bandwidthLimit, reference } from './report.js';
import type { BackendId, Result } from './types.js';

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** undefined when a row the target needs was not measured. */
  readonly met: boolean | undefined;
}

const M1 = 1 << 20;
const M16 = 1 << 24;

function fastest(results: readonly Result[], backend: BackendId, size: number): Result | undefined {
  const rows = results.filter((r) => r.backend === backend && r.size === size && r.threads === 1 && (r.checks ?? 'default') === 'default');
  return rows.sort((a, b) => a.nsPerParam - b.nsPerParam)[0];
}

/** The single-thread speed targets of issue 4, checked against the measured medians. */
export function checkTargets(results: readonly Result[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const sizes = new Set(results.map((r) => r.size));
  const faster = (peer: BackendId, size: number, factor: number, what: string) => {
    if (!sizes.has(size)) return;
    const ws = reference(results, size);
    const other = fastest(results, peer, size);
    const ratio = ws && other ? other.nsPerParam / ws.nsPerParam : undefined;
    checks.push({
      target: `≥ ${factor}× faster than ${what} at ${size === M1 ? '1M' : '16M'}`,
      measured: ratio === undefined ? '—' : `${ratio.toFixed(2)}×${other?.variant ? ` (${other.variant})` : ''}`,
      met: ratio === undefined ? undefined : ratio >= factor,
    });
  };
  const nearNative = (size: number, factor: number) => {
    if (!sizes.has(size)) return;
    const ws = reference(results, size);
    const native = fastest(results, 'native', size);
    const ratio = ws && native ? ws.nsPerParam / native.nsPerParam : undefined;
    checks.push({
      target: `within ${factor}× of native at ${size === M1 ? '1M' : '16M'}`,
      measured: ratio === undefined ? '—' : `${ratio.toFixed(2)}× native's time`,
      met: ratio === undefined ? undefined : ratio <= factor,
    });
  };
  faster('js', M1, 3, 'js');
  faster('tfjs-wasm', M1, 8, 'tfjs-wasm');
  faster('torch', M1, 2, 'torch (best variant)');
  faster('torch', M16, 2, 'torch (best variant)');
  nearNative(M1, 1.5);
  nearNative(M16, 1.25);
  if (sizes.has(M16)) {
    const ws = reference(results, M16);
    const limit = bandwidthLimit(results, M16);
    const share = ws && limit ? ws.gbPerSecond / limit : undefined;
    checks.push({
      target: '≥ 70% of streaming bandwidth at 16M',
      measured: share === undefined ? '—' : `${(share * 100).toFixed(1)}%`,
      met: share === undefined ? undefined : share >= 0.7,
    });
  }
  return checks;
}
