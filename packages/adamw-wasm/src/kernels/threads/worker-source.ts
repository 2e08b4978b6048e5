import type { Constants } from './control.js';
import { runSlice, type SliceExports } from './slice.js';

/** What the main thread sends a new worker, once. */
export interface WorkerInit {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  readonly control: number;
  readonly index: number;
  readonly stackTop: number;
  readonly constants: Constants;
  /** Test hook: throw inside this job generation (a worker dying mid-step). */
  readonly failAtGeneration?: number;
}

/**
 * The worker's whole program. It runs in a Node worker_threads Worker (CommonJS eval) or a
 * Web Worker (Deno, browsers), so it feature-detects its messaging and must not refer to
 * anything outside its own text except `slice`, which the source passes in.
 */
function workerMain(slice: typeof runSlice): void {
  type Port = { once(event: 'message', f: (m: WorkerInit) => void): void; postMessage(m: unknown): void };
  const g = globalThis as unknown as { require?: (id: string) => { parentPort: Port }; onmessage?: unknown; postMessage?: (m: unknown) => void };
  const node = typeof g.require === 'function' ? g.require('node:worker_threads').parentPort : undefined;
  const post = (m: unknown): void => (node ? node.postMessage(m) : g.postMessage!(m));
  const start = (init: WorkerInit): void => {
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    const ex = instance.exports as unknown as SliceExports & { __stack_pointer: WebAssembly.Global };
    ex.__stack_pointer.value = init.stackTop;
    const s = init.constants.slot;
    const words = (s.picked + 64) as number;
    const i32 = new Int32Array(init.memory.buffer, init.control, words);
    const u32 = new Uint32Array(init.memory.buffer, init.control, words);
    // Read the generation before saying ready: a job may start the moment the main thread hears it.
    let seen = Atomics.load(i32, s.gen);
    post({ ready: true });
    const spin = init.constants.spin;
    for (;;) {
      // Jobs come in bursts (the guard, then one update per group): poll briefly before sleeping,
      // since waking from Atomics.wait costs tens of microseconds.
      for (let k = 0; k < spin && Atomics.load(i32, s.gen) === seen; k++);
      Atomics.wait(i32, s.gen, seen);
      seen = Atomics.load(i32, s.gen);
      Atomics.store(i32, s.picked + init.index, seen);
      if (u32[s.op] === init.constants.op.exit) return;
      try {
        if (seen === init.failAtGeneration) throw new Error('injected worker failure');
        slice(ex, u32, init.index, init.constants);
      } catch {
        Atomics.store(i32, s.error, init.index + 1);
      }
      if (Atomics.sub(i32, s.pending, 1) === 1) Atomics.notify(i32, s.pending);
    }
  };
  if (node) node.once('message', start);
  else g.onmessage = (e: { data: WorkerInit }) => start(e.data);
}

/** The worker program as source text (for `eval` workers and Blob URLs). */
export const WORKER_SOURCE = `(${workerMain.toString()})(${runSlice.toString()});`;
