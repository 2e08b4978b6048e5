import type { Constants, SyncOps } from './control.js';
import { runJob, runSlice, type SliceExports } from './slice.js';

/** What the main thread sends a new worker, once. */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  readonly control: number;
  /** This worker's thread index (the main thread is 0). */
  readonly index: number;
  readonly threads: number;
  readonly stackTop: number;
  readonly constants: Constants;
}

/**
 * The worker's whole program. It runs in a Node worker_threads Worker (CommonJS eval) or a
 * Web Worker (Deno, browsers), so it feature-detects its messaging and must not refer to
 * anything outside its own text except its arguments, which the source passes in.
 */
function workerMain(slice: typeof runSlice, job: typeof runJob, sync: SyncOps): void {
  type Port = { once(event: 'message', f: (m: WorkerInit) => void): void; postMessage(m: unknown): void };
  type NodeProcess = { on(event: 'exit', f: () => void): void };
  const g = globalThis as unknown as {
    require?: (id: string) => { parentPort: Port };
    process?: NodeProcess;
    onmessage?: unknown;
    postMessage?: (m: unknown) => void;
  };
  const node = typeof g.require === 'function' ? g.require('node:worker_threads').parentPort : undefined;
  const post = (m: unknown): void => (node ? node.postMessage(m) : g.postMessage!(m));
  const start = (init: WorkerInit): void => {
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    const ex = instance.exports as unknown as SliceExports & { __stack_pointer: WebAssembly.Global };
    ex.__stack_pointer.value = init.stackTop;
    const k = init.constants;
    const s = k.slot;
    const i32 = new Int32Array(init.memory.buffer, init.control, k.words);
    const u32 = new Uint32Array(init.memory.buffer, init.control, k.words);
    // However this thread ends (an exception, process.exit in Node), say so and wake the main
    // thread, which may be blocked waiting on a slice this thread claimed.
    const gone = (): void => {
      sync.store(i32, s.alive + init.index, -1);
      sync.notify(i32, s.done);
    };
    if (node) g.process!.on('exit', gone);
    // Jobs may have run (on the other threads) while this one was starting: join from the next one.
    let seen = sync.load(i32, s.gen);
    sync.store(i32, s.alive + init.index, 1);
    try {
      for (;;) {
        // Stopped already (a kernel disposed before this worker booted has bumped gen for the
        // last time): leave rather than wait for a job that will never come. A Deno worker
        // blocked in Atomics.wait can keep its process alive even after terminate().
        if (u32[s.op] === k.op.exit) return;
        // Jobs come in bursts (the guard, then one update per group): poll briefly before sleeping,
        // since waking from Atomics.wait costs tens of microseconds.
        for (let n = 0; n < k.spin && sync.load(i32, s.gen) === seen; n++);
        // Re-check after every wake-up: a notify may arrive late, for a job this thread already ran.
        while (sync.load(i32, s.gen) === seen) sync.wait(i32, s.gen, seen);
        seen = sync.load(i32, s.gen);
        sync.store(i32, s.woke + init.index, seen);
        if (u32[s.op] === k.op.exit) return;
        job(sync, i32, seen, init.index, init.threads, k, (index) => slice(ex, u32, index, k));
      }
    } finally {
      gone();
    }
  };
  if (node) node.once('message', start);
  else g.onmessage = (e: { data: WorkerInit }) => start(e.data);
  // Booted: from now on the one message with the kernel's memory needs no waiting.
  post({ booted: true });
}

/** Sources of the expressions a worker program is built from. */
export interface WorkerParts {
  /** The Atomics operations (a stress test substitutes a wrapper that sleeps at random). */
  readonly sync?: string;
  /** The slice runner (a fault-injection test substitutes one that fails). */
  readonly slice?: string;
}

/** The worker program as source text (for `eval` workers and Blob URLs). */
export function workerProgram({ sync = 'Atomics', slice = runSlice.toString() }: WorkerParts = {}): string {
  return `(${workerMain.toString()})(${slice}, ${runJob.toString()}, ${sync});`;
}

export const WORKER_SOURCE = workerProgram();
