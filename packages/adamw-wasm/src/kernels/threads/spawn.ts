/**
 * Workers on each platform: Node's worker_threads (eval source), Web Workers from a Blob URL
 * elsewhere (Deno, browsers). Starting one is synchronous (its first message is queued until it
 * listens), so optimizers can be built synchronously; the worker joins its kernel's jobs once it
 * has booted. Workers are unref'd in Node, so a process that forgets `dispose()` still exits.
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
type NodeWorkerClass = new (src: string, o: { eval: true; execArgv: string[] }) => NodeWorker;

let NodeWorkerCtor: NodeWorkerClass | undefined;

/** Node's Worker class needs an async import; init() loads it once so workers start synchronously. */
export async function loadWorkerSupport(): Promise<void> {
  if (isNode() && NodeWorkerCtor === undefined) {
    NodeWorkerCtor = (await importNodeBuiltin<{ Worker: NodeWorkerClass }>('worker_threads')).Worker;
  }
}

function spawnNode(source: string, init: WorkerInit, onExit: ExitListener): WorkerHandle {
  if (NodeWorkerCtor === undefined) throw new Error('adamw-wasm: worker threads are not loaded: call await init() first');
  // No inherited flags: `--input-type=module` would make the eval'd worker ESM, without `require`.
  const worker = new NodeWorkerCtor(source, { eval: true, execArgv: [] });
  worker.on('error', (e) => onExit(`worker ${init.index} failed: ${e.message}`));
  worker.on('exit', (code) => onExit(`worker ${init.index} exited (code ${code})`));
  // Queued until the worker listens: nothing to wait for here.
  worker.postMessage(init);
  worker.unref();
  return { terminate: () => void worker.terminate() };
}

function spawnWeb(source: string, init: WorkerInit, onExit: ExitListener): WorkerHandle {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  // The blob is needed until the worker has loaded it: it says so with its first message.
  worker.onmessage = () => URL.revokeObjectURL(url);
  worker.onerror = (e) => onExit(`worker ${init.index} failed: ${e.message}`);
  worker.postMessage(init);
  return { terminate: () => worker.terminate() };
}

/**
 * Starts a worker running `source` (see workerProgram) and gives it `init`, synchronously: the
 * worker instantiates the module on its own thread and joins the kernel's jobs when it is
 * ready; any failure or exit is reported to `onExit`.
 */
export function spawnWorker(source: string, init: WorkerInit, onExit: ExitListener): WorkerHandle {
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
