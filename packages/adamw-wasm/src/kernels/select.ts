import type { BackendChoice, BackendName, Kernel } from './kernel.js';
import { JsKernel } from './js.js';
import { canRun, compileModule, type ModuleFlavour } from './modules.js';
import { WasmKernel } from './wasm.js';

const flavourOf: Record<Exclude<BackendName, 'js'>, ModuleFlavour> = { 'wasm-simd': 'simd', wasm: 'baseline' };
const availability = new Map<BackendName, boolean>();

/** Whether `backend` can run here (checked once per process). */
export function isBackendAvailable(backend: BackendName): boolean {
  let ok = availability.get(backend);
  if (ok === undefined) {
    ok = backend === 'js' ? true : canRun(flavourOf[backend]);
    availability.set(backend, ok);
  }
  return ok;
}

/** 'auto' → SIMD if the runtime validates it, else the baseline module, else the TS loop. */
export function resolveBackend(choice: BackendChoice, who: string): BackendName {
  if (choice === 'auto') {
    if (isBackendAvailable('wasm-simd')) return 'wasm-simd';
    return isBackendAvailable('wasm') ? 'wasm' : 'js';
  }
  if (!isBackendAvailable(choice)) {
    const why = choice === 'wasm-simd' ? 'does not support WebAssembly SIMD (simd128)' : 'has no usable WebAssembly';
    throw new Error(`${who}: options.backend '${choice}' is not available: this runtime ${why}; use 'auto' to fall back`);
  }
  return choice;
}

export async function createKernel(backend: BackendName): Promise<Kernel> {
  if (backend === 'js') return new JsKernel();
  return WasmKernel.instantiate(await compileModule(flavourOf[backend]), backend);
}
