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

/** 'auto' never uses more threads than this: the step is memory-bound. */
export const AUTO_THREADS_MAX = 8;
export const autoThreads = (cores: number): number => Math.max(1, Math.min(AUTO_THREADS_MAX, cores));
