import type { AdamScalars, GroupRegions, SgdScalars } from './kernel.js';
import { done, NORM_BLOCK, type Job, type Kernel } from './kernel.js';

const f32 = Math.fround;
/** Any NaN as the canonical quiet NaN, as every kernel writes it (`canonical` in scalar.rs). */
const canonical = (x: number): number => (x !== x ? NaN : x);

/**
 * The pure-TypeScript fallback. Every +, −, ×, ÷ and √ is rounded to f32 with `Math.fround`;
 * since f64 holds more than twice f32's precision, that is exactly f32 arithmetic, so with
 * the reference kernel's operation order the results are bit-identical to the wasm modules.
 */
export class JsKernel implements Kernel {
  readonly backend = 'js' as const;
  readonly threads = 1;
  readonly canBlock = true;
  readonly fault = undefined;
  readonly firstFreeByte = 0;
  private buffer: ArrayBuffer | undefined;
  private memory: WebAssembly.Memory | undefined;

  reserve(endByte: number): ArrayBuffer {
    // A WebAssembly memory's buffer cannot be transferred away (postMessage, structuredClone),
    // so a caller holding a view cannot detach the optimizer's memory; a runtime without
    // WebAssembly gets a plain ArrayBuffer.
    if (typeof WebAssembly === 'object' && typeof WebAssembly.Memory === 'function') {
      const pages = Math.ceil(endByte / 65536);
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      this.buffer = this.memory.buffer;
    } else {
      this.buffer = new ArrayBuffer(endByte);
    }
    return this.buffer;
  }

  private f32s(byteOffset: number, length: number): Float32Array {
    if (this.buffer === undefined) throw new Error('adamw-wasm: kernel used before reserve() or after dispose()');
    return new Float32Array(this.buffer, byteOffset, length);
  }

  private stateArray(r: GroupRegions, name: keyof GroupRegions['state']): Float32Array {
    const at = r.state[name];
    if (at === undefined) throw new Error(`adamw-wasm: group has no ${name} array`);
    return this.f32s(at, r.length);
  }

  adam(r: GroupRegions, s: AdamScalars): Job<void> {
    const n = r.length;
    const params = this.f32s(r.params, n);
    const grads = this.f32s(r.grads, n);
    const expAvg = this.stateArray(r, 'expAvg');
    const expAvgSq = this.stateArray(r, 'expAvgSq');
    const maxExpAvgSq = s.amsgrad ? this.stateArray(r, 'maxExpAvgSq') : undefined;
    const { gradScale, decayFactor, afterDecay, decayAfter, l2, coupledL2 } = s;
    const { beta1, oneMinusBeta1, beta2, oneMinusBeta2, biasCorrection2Sqrt, eps, negStepSize } = s;
    for (let i = 0; i < n; i++) {
      const theta0 = params[i]!;
      const theta = f32(theta0 * decayFactor);
      let g = f32(grads[i]! * gradScale);
      if (coupledL2) g = f32(g + f32(l2 * theta0));
      const m = f32(f32(expAvg[i]! * beta1) + f32(oneMinusBeta1 * g));
      const v = f32(f32(expAvgSq[i]! * beta2) + f32(f32(oneMinusBeta2 * g) * g));
      expAvg[i] = canonical(m);
      expAvgSq[i] = canonical(v);
      let second = v;
      if (maxExpAvgSq !== undefined) {
        // NaN if either side is NaN, like torch.maximum and f32x4.max.
        second = Math.max(maxExpAvgSq[i]!, v);
        maxExpAvgSq[i] = canonical(second);
      }
      const denom = f32(f32(f32(Math.sqrt(second)) / biasCorrection2Sqrt) + eps);
      let next = f32(theta + f32(f32(negStepSize * m) / denom));
      if (decayAfter) next = f32(next + f32(afterDecay * next));
      params[i] = canonical(next);
    }
    return done(undefined);
  }

  sgd(r: GroupRegions, s: SgdScalars): Job<void> {
    const n = r.length;
    const params = this.f32s(r.params, n);
    const grads = this.f32s(r.grads, n);
    const buffer = s.useMomentum ? this.stateArray(r, 'momentumBuffer') : undefined;
    const { gradScale, decayFactor, l2, coupledL2, momentum, gradCoeff, negLr, nesterov, firstStep } = s;
    for (let i = 0; i < n; i++) {
      const theta0 = params[i]!;
      let g = f32(grads[i]! * gradScale);
      if (coupledL2) g = f32(g + f32(l2 * theta0));
      let d = g;
      if (buffer !== undefined) {
        const buf = firstStep ? g : f32(f32(buffer[i]! * momentum) + f32(gradCoeff * g));
        buffer[i] = canonical(buf);
        d = nesterov ? f32(g + f32(momentum * buf)) : buf;
      }
      params[i] = canonical(f32(f32(theta0 * decayFactor) + f32(negLr * d)));
    }
    return done(undefined);
  }

  sumSquares(byteOffset: number, length: number): Job<number> {
    // The kernel's canonical order: per block, element i into lane i mod 8, lanes combined
    // pairwise, then the trailing 0–7 elements in order; blocks added in order.
    const x = this.f32s(byteOffset, length);
    let total = 0;
    for (let start = 0; start < length; start += NORM_BLOCK) {
      const end = Math.min(start + NORM_BLOCK, length);
      const groupEnd = start + ((end - start) & ~7);
      let l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;
      for (let i = start; i < groupEnd; i += 8) {
        l0 += x[i]! * x[i]!;
        l1 += x[i + 1]! * x[i + 1]!;
        l2 += x[i + 2]! * x[i + 2]!;
        l3 += x[i + 3]! * x[i + 3]!;
        l4 += x[i + 4]! * x[i + 4]!;
        l5 += x[i + 5]! * x[i + 5]!;
        l6 += x[i + 6]! * x[i + 6]!;
        l7 += x[i + 7]! * x[i + 7]!;
      }
      let sum = l0 + l1 + (l2 + l3) + (l4 + l5 + (l6 + l7));
      for (let i = groupEnd; i < end; i++) sum += x[i]! * x[i]!;
      total += sum;
    }
    return done(total);
  }

  allFinite(byteOffset: number, length: number): Job<boolean> {
    const x = this.f32s(byteOffset, length);
    let acc = 0;
    for (let i = 0; i < length; i++) acc += x[i]! * 0;
    return done(acc === 0);
  }

  dispose(): void {
    const [buffer, memory] = [this.buffer, this.memory];
    [this.buffer, this.memory] = [undefined, undefined];
    // Detach the buffer (growing a memory by nothing does that too), so callers' views let go of it.
    if (memory !== undefined) memory.grow(0);
    else if (buffer !== undefined) structuredClone(buffer, { transfer: [buffer] });
  }
}
