import type { AdamRegions, AdamScalars, Kernel } from './kernel.js';

const f32 = Math.fround;

/**
 * The pure-TypeScript fallback. Every +, −, ×, ÷ and √ is rounded to f32 with `Math.fround`;
 * since f64 holds more than twice f32's precision, that is exactly f32 arithmetic, so with
 * the reference kernel's operation order the results are bit-identical to the wasm modules.
 */
export class JsKernel implements Kernel {
  readonly backend = 'js' as const;
  readonly firstFreeByte = 0;
  private buffer: ArrayBuffer | undefined;

  reserve(endByte: number): ArrayBuffer {
    this.buffer = new ArrayBuffer(endByte);
    return this.buffer;
  }

  adam(r: AdamRegions, s: AdamScalars): void {
    const buffer = this.buffer;
    if (buffer === undefined) throw new Error('adamw-wasm: kernel used before reserve() or after dispose()');
    const n = r.length;
    const params = new Float32Array(buffer, r.params, n);
    const grads = new Float32Array(buffer, r.grads, n);
    const expAvg = new Float32Array(buffer, r.expAvg, n);
    const expAvgSq = new Float32Array(buffer, r.expAvgSq, n);
    const maxExpAvgSq = s.amsgrad && r.maxExpAvgSq !== undefined ? new Float32Array(buffer, r.maxExpAvgSq, n) : undefined;
    const { decayFactor, l2, beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize } = s;
    const { maximize, coupledL2 } = s;
    for (let i = 0; i < n; i++) {
      const theta = f32(params[i]! * decayFactor);
      let g = grads[i]!;
      if (maximize) g = -g;
      if (coupledL2) g = f32(g + f32(l2 * theta));
      const m = f32(f32(expAvg[i]! * beta1) + f32(oneMinusBeta1 * g));
      const v = f32(f32(expAvgSq[i]! * beta2) + f32(f32(oneMinusBeta2 * g) * g));
      expAvg[i] = m;
      expAvgSq[i] = v;
      let second = v;
      if (maxExpAvgSq !== undefined) {
        // Math.max returns NaN if either side is NaN, like torch.maximum and f32x4.max.
        second = Math.max(maxExpAvgSq[i]!, v);
        maxExpAvgSq[i] = second;
      }
      const denom = f32(f32(f32(Math.sqrt(second)) / biasCorrection2Sqrt) + eps);
      params[i] = f32(theta + f32(f32(negStepSize * m) / denom));
    }
  }

  dispose(): void {
    this.buffer = undefined;
  }
}
