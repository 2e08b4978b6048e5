/**
 * Starting workers on each platform: Node's worker_threads (eval source), Web Workers from a
 * Blob URL elsewhere (Deno, browsers). Workers are unref'd in Node once ready, so a process
 * that forgets `dispose()` still exits.
 */
import { importNodeBuiltin, isNode } from '../../platform.js';
import type { WorkerInit } from './worker-source.js';

export interface WorkerHandle {
  terminate(): void;
}

type ExitListener = (why: string) => void;

interface NodeWorker {
  on(event: 'message', f: (m: unknown) => void): void;
  on(event: 'error', f: (e: Error) => void): void;
  on(event: 'exit', f: (code: number) => void): void;
  postMessage(m: unknown): void;
  unref(): void;
  terminate(): Promise<number>;
}

async function spawnNode(source: string, init: WorkerInit, onExit: ExitListener): Promise<WorkerHandle> {
  const { Worker } = await importNodeBuiltin<{ Worker: new (src: string, o: { eval: true; execArgv: string[] }) => NodeWorker }>(
    'worker_threads',
  );
  // No inherited flags: `--input-type=module` would make the eval'd worker ESM, without `require`.
  const worker = new Worker(source, { eval: true, execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    worker.on('message', () => {
      ready = true;
      resolve();
    });
    worker.on('error', (e) => (ready ? onExit(`worker ${init.index} failed: ${e.message}`) : reject(e)));
    worker.on('exit', (code) => {
      if (ready) onExit(`worker ${init.index} exited (code ${code})`);
      else reject(new Error(`worker ${init.index} exited (code ${code}) before it was ready`));
    });
    worker.postMessage(init);
  });
  worker.unref();
  return { terminate: () => void worker.terminate() };
}

async function spawnWeb(source: string, init: WorkerInit, onExit: ExitListener): Promise<WorkerHandle> {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.onmessage = () => resolve();
      worker.onerror = (e) => reject(new Error(`worker ${init.index} failed to start: ${e.message}`));
      worker.postMessage(init);
    });
  } catch (error) {
    worker.terminate();
    throw error;
  } finally {
    URL.revokeObjectURL(url);
  }
  worker.onerror = (e) => onExit(`worker ${init.index} failed: ${e.message}`);
  return { terminate: () => worker.terminate() };
}

/** Starts a worker running `source` (see workerProgram) and sends it `init`; resolves once it is ready. */
export function spawnWorker(source: string, init: WorkerInit, onExit: ExitListener): Promise<WorkerHandle> {
  return isNode() ? spawnNode(source, init, onExit) : spawnWeb(source, init, onExit);
}

/** Whether this runtime can start workers that share memory with this thread. */
export function workersAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  // Browsers expose SharedArrayBuffer only to cross-origin-isolated pages; Node has no flag.
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return false;
  return isNode() || typeof Worker === 'function';
}

/** Whether this thread may block in Atomics.wait (not a browser main thread). */
export function canBlockHere(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/** Logical cores, for `threads: 'auto'`. */
export async function coreCount(): Promise<number> {
  if (isNode()) {
    const os = await importNodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}
