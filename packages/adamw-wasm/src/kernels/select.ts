import { BACKEND_NAMES, type BackendChoice, type BackendName, type Kernel } from './kernel.js';
import { checkOneOf } from '../validate.js';
import { JsKernel } from './js.js';
import { canRun, compileModule, compiledModule, type ModuleFlavour } from './modules.js';
import { AUTO_THREADS_MIN_PARAMS, autoThreads, prepare, preparedOrThrow } from './runtime.js';
import { WasmKernel } from './wasm.js';
import { ThreadedKernel } from './threaded.js';
import { canBlockHere, workersAvailable } from './threads/spawn.js';
import { MAX_THREADS } from './threads/control.js';

const flavourOf: Record<Exclude<BackendName, 'js'>, ModuleFlavour> = { 'wasm-simd': 'simd', wasm: 'baseline' };
const availability = new Map<BackendName, boolean>();

/** Whether `backend` can run here (checked once per process). */
export function isBackendAvailable(backend: BackendName): boolean {
  checkOneOf('isBackendAvailable', 'backend', backend, BACKEND_NAMES);
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

let threadSupport: boolean | undefined;
/** Whether worker threads over shared wasm memory can run here (checked once). */
export function threadsAvailable(): boolean {
  if (threadSupport === undefined) {
    threadSupport = false;
    if (workersAvailable() && canRun('threads')) {
      try {
        new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
        threadSupport = true;
      } catch {
        // shared memory refused (e.g. a page that is not cross-origin isolated)
      }
    }
  }
  return threadSupport;
}

/**
 * How many threads an arena of `params` parameters gets. 'auto': `autoThreads` (one below 512K
 * parameters, then one per 64K up to every core) for wasm-simd arenas where threads can run and
 * this thread may block — so that `step()` keeps working on a browser page's main thread — else 1. An
 * explicit count is honoured exactly or refused with the reason. Needs `init()` (the core count).
 */
export function resolveThreads(choice: 'auto' | number, backend: BackendName, params: number, who: string): number {
  if (choice === 'auto') {
    if (backend !== 'wasm-simd' || params < AUTO_THREADS_MIN_PARAMS || !threadsAvailable() || !canBlockHere()) return 1;
    return autoThreads(preparedOrThrow(who).cores, params, MAX_THREADS);
  }
  if (choice === 1) return 1;
  if (backend !== 'wasm-simd') throw new Error(`${who}: options.threads ${choice} needs the 'wasm-simd' backend (got '${backend}')`);
  if (!threadsAvailable()) {
    throw new Error(
      `${who}: options.threads ${choice} is not available: this runtime cannot share WebAssembly memory with workers ` +
        '(browsers need a cross-origin-isolated page: COOP same-origin + COEP require-corp); use threads: \'auto\' to fall back',
    );
  }
  return choice;
}

/** The module a backend runs, compiled by init(), or a clear error. */
function moduleFor(flavour: ModuleFlavour, who: string): WebAssembly.Module {
  const module = compiledModule(flavour);
  if (module === undefined) {
    throw new Error(`${who}: call await init() once before building optimizers synchronously (or use the async create()); it compiles the WebAssembly modules`);
  }
  return module;
}

/** Throws unless init() has compiled what `backend` runs (kernels are then built synchronously). */
export function assertInitialized(backend: BackendName, who: string): void {
  if (backend !== 'js') moduleFor(flavourOf[backend], who);
}

/**
 * A kernel for one arena, synchronously, from the modules init() compiled (create() awaits
 * init() first). A threaded kernel's workers boot on their own; until they join, the calling
 * thread takes their slices.
 */
export function createKernel(backend: BackendName, threads: number, who: string): Kernel {
  if (backend === 'js') return new JsKernel();
  if (threads > 1) {
    preparedOrThrow(who);
    return ThreadedKernel.attach(moduleFor('threads', who), threads);
  }
  return WasmKernel.instantiate(moduleFor(flavourOf[backend], who), backend);
}

/** What `init()` found. */
export interface InitResult {
  /** What `backend: 'auto'` runs here. */
  readonly backend: BackendName;
  /** Whether worker threads over shared memory can run here (`threads` > 1). */
  readonly threads: boolean;
  /** Logical cores (what `threads: 'auto'` is based on). */
  readonly cores: number;
}

/**
 * Compiles the WebAssembly modules once per realm and learns what `threads: 'auto'` and worker
 * threads need (the core count; Node's worker_threads). Idempotent and cheap when repeated.
 * After it, `new AdamW(…)`, `AdamW.fromStateDict(…)` and `addParamGroup` are synchronous.
 */
export async function init(): Promise<InitResult> {
  const flavours = (['simd', 'baseline', 'threads'] as const).filter(canRun);
  await Promise.all(flavours.map((flavour) => compileModule(flavour)));
  const { cores } = await prepare();
  const backend = resolveBackend('auto', 'init');
  return { backend, threads: backend === 'wasm-simd' && threadsAvailable(), cores };
}
