/**
 * What a realm prepares, once and asynchronously, so that optimizers can then be built
 * synchronously (frameworks such as TensorFlow.js construct optimizers in synchronous code): the
 * core count for `threads: 'auto'` and, in Node, the worker constructor (an async import). The
 * compiled modules live in modules.ts.
 */
import { coreCount, loadWorkerSupport } from './threads/spawn.js';

interface Prepared {
  readonly cores: number;
}

let prepared: Prepared | undefined;

/** Learns what the synchronous paths need that only an async call can find out. */
export async function prepare(): Promise<Prepared> {
  if (prepared === undefined) {
    const [cores] = await Promise.all([coreCount(), loadWorkerSupport()]);
    prepared = { cores };
  }
  return prepared;
}

/** What the synchronous paths need, or a clear error when `init()` has not run. */
export function preparedOrThrow(who: string): Prepared {
  if (prepared === undefined) {
    throw new Error(`${who}: call await init() once before building optimizers synchronously (or use the async create())`);
  }
  return prepared;
}

/** Below this many parameters 'auto' keeps one thread: waking workers costs more than it saves, and a loaded machine punishes it most (bench/issue12/README.md). */
export const AUTO_THREADS_MIN_PARAMS = 1 << 19;
/**
 * 'auto' gives each thread at least this many parameters. On a 16-core host, 16 threads beat 8
 * from 1M parameters up (0.19 against 0.27–0.30 ns/param, issue 12's table), i.e. 64K per thread
 * still pays; the memory-bound step gains nothing from more threads than cores.
 */
export const AUTO_PARAMS_PER_THREAD = 1 << 16;

/** The threads `threads: 'auto'` gives `params` parameters on `cores` cores (before asking whether threads can run at all). */
export function autoThreads(cores: number, params: number, maxThreads: number): number {
  if (params < AUTO_THREADS_MIN_PARAMS) return 1;
  return Math.max(1, Math.min(cores, maxThreads, Math.floor(params / AUTO_PARAMS_PER_THREAD)));
}
