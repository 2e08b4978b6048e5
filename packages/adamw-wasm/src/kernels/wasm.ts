import type { AdamScalars, BackendName, GroupRegions, SgdScalars } from './kernel.js';
import { done, type Job, type Kernel } from './kernel.js';
import { HYPER_BYTES, writeAdamHyper, writeSgdHyper } from './hyper.js';

const PAGE_BYTES = 65536;

export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  readonly __heap_base: WebAssembly.Global;
  simd_lanes(): number;
  adam_step(hyper: number, params: number, grads: number, m: number, v: number, vmax: number, len: number): void;
  sgd_step(hyper: number, params: number, grads: number, buffer: number, len: number): void;
  sum_squares(ptr: number, len: number): number;
  all_finite(ptr: number, len: number): number;
  sum_squares_blocks(ptr: number, len: number, out: number): void;
}

/** Runs the Rust kernel in its own instance, so each arena owns one linear memory. */
export class WasmKernel implements Kernel {
  readonly threads = 1;
  readonly canBlock = true;
  readonly fault = undefined;
  readonly firstFreeByte: number;
  /** Dropped on dispose, with the instance and its memory. */
  #exports: KernelExports | undefined;
  #hyperView: DataView | undefined;
  #hyperOffset = -1;

  /** Synchronously, from a compiled module (allowed on a page's main thread for modules this small). */
  static instantiate(module: WebAssembly.Module, backend: BackendName): WasmKernel {
    const instance = new WebAssembly.Instance(module, {});
    return new WasmKernel(instance.exports as unknown as KernelExports, backend);
  }

  private constructor(exports: KernelExports, readonly backend: BackendName) {
    const lanes = exports.simd_lanes();
    if ((backend === 'wasm-simd') !== (lanes === 4)) {
      throw new Error(`adamw-wasm: module for '${backend}' reports ${lanes} lane(s); the embedded modules are mixed up`);
    }
    this.#exports = exports;
    this.firstFreeByte = Number(exports.__heap_base.value);
  }

  reserve(endByte: number): ArrayBuffer {
    const memory = this.#live().exports.memory;
    // The scalar block sits right after the arrays, so steps never allocate.
    const hyperOffset = Math.ceil(endByte / 8) * 8;
    const needed = Math.ceil((hyperOffset + HYPER_BYTES) / PAGE_BYTES);
    const have = memory.buffer.byteLength / PAGE_BYTES;
    if (needed > have) {
      try {
        memory.grow(needed - have);
      } catch (cause) {
        throw new RangeError(
          `adamw-wasm: could not grow WebAssembly memory to ${needed * PAGE_BYTES} bytes (${String(cause)}); the runtime refused the allocation`,
        );
      }
    }
    this.#hyperOffset = hyperOffset;
    this.#hyperView = new DataView(memory.buffer);
    return memory.buffer;
  }

  #live(): { exports: KernelExports; view: DataView | undefined } {
    if (this.#exports === undefined) throw new Error('adamw-wasm: kernel used after dispose()');
    return { exports: this.#exports, view: this.#hyperView };
  }

  #ready(): { exports: KernelExports; view: DataView } {
    const { exports, view } = this.#live();
    if (view === undefined) throw new Error('adamw-wasm: kernel used before reserve()');
    return { exports, view };
  }

  adam(r: GroupRegions, s: AdamScalars): Job<void> {
    const { exports, view } = this.#ready();
    writeAdamHyper(view, this.#hyperOffset, s);
    const { expAvg = 0, expAvgSq = 0, maxExpAvgSq = 0 } = r.state;
    return done(exports.adam_step(this.#hyperOffset, r.params, r.grads, expAvg, expAvgSq, maxExpAvgSq, r.length));
  }

  sgd(r: GroupRegions, s: SgdScalars): Job<void> {
    const { exports, view } = this.#ready();
    writeSgdHyper(view, this.#hyperOffset, s);
    return done(exports.sgd_step(this.#hyperOffset, r.params, r.grads, r.state.momentumBuffer ?? 0, r.length));
  }

  sumSquares(byteOffset: number, length: number): Job<number> {
    return done(this.#ready().exports.sum_squares(byteOffset, length));
  }

  allFinite(byteOffset: number, length: number): Job<boolean> {
    return done(this.#ready().exports.all_finite(byteOffset, length) === 1);
  }

  dispose(): void {
    const exports = this.#exports;
    if (exports === undefined) return;
    this.#exports = undefined;
    this.#hyperView = undefined;
    // Growing by nothing still detaches the old ArrayBuffer, so callers' views let go of the memory.
    exports.memory.grow(0);
  }
}
