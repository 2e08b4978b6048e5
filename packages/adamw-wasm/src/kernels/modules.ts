import { BASELINE_MODULE_BASE64, MODULE_SHA256, SIMD_MODULE_BASE64, THREADS_MODULE_BASE64 } from './modules.generated.js';

/** The embedded builds of crates/adamw-kernels: SIMD, no SIMD, and SIMD over shared memory. */
export type ModuleFlavour = 'simd' | 'baseline' | 'threads';

const sources: Record<ModuleFlavour, string> = {
  simd: SIMD_MODULE_BASE64,
  baseline: BASELINE_MODULE_BASE64,
  threads: THREADS_MODULE_BASE64,
};

/**
 * Compiled modules, once per realm: keyed by each module's SHA-256 on the global object, so
 * copies of the package in one realm (an ESM and a CJS build, two bundles) share them.
 */
interface Compiled {
  readonly promise: Promise<WebAssembly.Module>;
  module?: WebAssembly.Module;
}
const realm = globalThis as { [key: symbol]: Map<string, Compiled> | undefined };
const REALM_KEY = Symbol.for('adamw-wasm.compiled-modules');
const compiled = (realm[REALM_KEY] ??= new Map<string, Compiled>());

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

/** Compiles a build once per realm (async: browsers refuse large synchronous compiles). */
export function compileModule(flavour: ModuleFlavour): Promise<WebAssembly.Module> {
  const key = MODULE_SHA256[flavour];
  let entry = compiled.get(key);
  if (entry === undefined) {
    const promise = WebAssembly.compile(decodeBase64(sources[flavour]));
    const created: Compiled = { promise };
    void promise.then((module) => (created.module = module), () => compiled.delete(key));
    entry = created;
    compiled.set(key, entry);
  }
  return entry.promise;
}

/** A build compiled earlier in this realm, for synchronous instantiation; undefined if not (yet). */
export function compiledModule(flavour: ModuleFlavour): WebAssembly.Module | undefined {
  return compiled.get(MODULE_SHA256[flavour])?.module;
}
