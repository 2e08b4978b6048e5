import { BASELINE_MODULE_BASE64, SIMD_MODULE_BASE64, THREADS_MODULE_BASE64 } from './modules.generated.js';

/** The embedded builds of crates/adamw-kernels: SIMD, no SIMD, and SIMD over shared memory. */
export type ModuleFlavour = 'simd' | 'baseline' | 'threads';

const sources: Record<ModuleFlavour, string> = {
  simd: SIMD_MODULE_BASE64,
  baseline: BASELINE_MODULE_BASE64,
  threads: THREADS_MODULE_BASE64,
};
const compiled = new Map<ModuleFlavour, Promise<WebAssembly.Module>>();

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  // atob exists in Node ≥ 16, Deno and browsers; no file paths or fetches needed.
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Whether this runtime has WebAssembly at all and can validate the given build. */
export function canRun(flavour: ModuleFlavour): boolean {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') return false;
  try {
    return WebAssembly.validate(decodeBase64(sources[flavour]));
  } catch {
    return false;
  }
}

/** Compiles each build once per process (async: browsers refuse large sync compiles). */
export function compileModule(flavour: ModuleFlavour): Promise<WebAssembly.Module> {
  let module = compiled.get(flavour);
  if (module === undefined) {
    module = WebAssembly.compile(decodeBase64(sources[flavour]));
    compiled.set(flavour, module);
  }
  return module;
}
