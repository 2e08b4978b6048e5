import { Worker } from 'node:worker_threads';
import type { Prepared, Runner } from '../types.js';
import { BANDWIDTH_MODULE_BASE64 } from './bandwidth-module.generated.js';
import type { Peer } from './peer.js';

/** Bytes one AdamW parameter moves (read θ g m v, write θ m v): the probes move as much. */
const BYTES = 28;
const PAGE = 65536;

interface StreamExports {
  stream(p: number, g: number, m: number, v: number, bytes: number): void;
}

let compiled: Promise<WebAssembly.Module> | undefined;
const probeModule = (): Promise<WebAssembly.Module> =>
  (compiled ??= WebAssembly.compile(Buffer.from(BANDWIDTH_MODULE_BASE64, 'base64')));

/**
 * stream: AdamW's access pattern over four arrays of `size` f32 (θ += g, m += g, v += g as
 * 16-byte integer lanes) in a wasm memory, as our kernel sees memory: 28 bytes/param, 64-byte
 * aligned, nothing else to compute. This is the limit the "% bw" column is relative to.
 */
async function streamRunner(size: number): Promise<Runner> {
  const n = Math.ceil(size / 8) * 8; // whole 32-byte blocks
  const bytes = n * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * bytes) / PAGE) + 1, maximum: 65536 });
  const instance = await WebAssembly.instantiate(await probeModule(), { env: { memory } });
  const { stream } = instance.exports as unknown as StreamExports;
  const all = new Int32Array(memory.buffer, 0, 4 * n);
  for (let i = 0; i < all.length; i++) all[i] = i & 0xff; // touch every page before timing
  return {
    key: { backend: 'bandwidth', threads: 1, variant: 'stream' },
    size: n,
    bytesPerParam: BYTES,
    run(steps) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) stream(0, bytes, 2 * bytes, 3 * bytes, bytes);
      return performance.now() - t0;
    },
    dispose() {},
  };
}

/** The control words the threaded probe shares: a generation the workers wait on, steps to run, workers done. */
const GEN = 0;
const STEPS = 1;
const DONE = 2;
/** A repetition of the threaded probe that takes longer than this has lost a worker. */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * A probe worker: its own wasm memory holding its share of the four arrays, pages touched before
 * it reports ready; then, per generation, `steps` streams over its share and one count in DONE.
 * Runs from its source text (`eval` worker), so the probe needs no file of its own.
 */
function probeWorker({ parentPort, workerData }: typeof import('node:worker_threads')): void {
  const { module, control, share } = workerData as { module: WebAssembly.Module; control: SharedArrayBuffer; share: number };
  const words = new Int32Array(control);
  const bytes = share * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((4 * bytes) / 65536) + 1, maximum: 65536 });
  const { stream } = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as StreamExports;
  new Int32Array(memory.buffer, 0, 4 * share).fill(7);
  let seen = Atomics.load(words, 0);
  parentPort!.postMessage('ready');
  for (;;) {
    Atomics.wait(words, 0, seen);
    seen = Atomics.load(words, 0);
    if (seen < 0) return;
    for (let s = Atomics.load(words, 1); s > 0; s--) stream(0, bytes, 2 * bytes, 3 * bytes, bytes);
    Atomics.add(words, 2, 1);
    Atomics.notify(words, 2);
  }
}

/**
 * stream on `threads` threads: each streams its own 1/threads of the arrays (the calling thread
 * too), as threaded adamw-wasm splits a step; the time is from the wake-up until the last
 * finishes. The multi-core limit the threaded rows compare to.
 */
async function threadedStreamRunner(size: number, threads: number): Promise<Runner> {
  const share = Math.ceil(size / threads / 8) * 8;
  const module = await probeModule();
  const control = new SharedArrayBuffer(16);
  const words = new Int32Array(control);
  const own = await streamRunner(share);
  const source = `(${probeWorker.toString()})(require('node:worker_threads'))`;
  const workers = Array.from({ length: threads - 1 }, () => new Worker(source, { eval: true, workerData: { module, control, share } }));
  // Unref'd: a runner that is never disposed (a failed run) does not keep the process alive.
  for (const w of workers) w.unref();
  const stop = async () => {
    Atomics.store(words, GEN, -1);
    Atomics.notify(words, GEN);
    await Promise.all(workers.map((w) => w.terminate()));
  };
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`bandwidth probe: a worker exited (code ${code}) before it was ready`)));
          }),
      ),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    key: { backend: 'bandwidth', threads, variant: 'stream' },
    size: share * threads,
    bytesPerParam: BYTES,
    run(steps) {
      const t0 = performance.now();
      Atomics.store(words, STEPS, steps);
      Atomics.store(words, DONE, 0);
      Atomics.add(words, GEN, 1);
      Atomics.notify(words, GEN);
      own.run(steps);
      // Re-checked after every wake-up (a notify can come before the last worker counts itself);
      // bounded, since a worker that died would never count itself.
      const deadline = t0 + PROBE_TIMEOUT_MS;
      for (let done = Atomics.load(words, DONE); done < threads - 1; done = Atomics.load(words, DONE)) {
        if (performance.now() > deadline) throw new Error(`bandwidth probe: ${threads - 1 - done} of ${threads - 1} workers did not finish within ${PROBE_TIMEOUT_MS / 1000} s`);
        Atomics.wait(words, DONE, done, 1000);
      }
      return performance.now() - t0;
    },
    dispose: stop,
  };
}

/** copy: TypedArray.set (memmove) of 14 bytes/param between two buffers; read + write counted. */
function copyRunner(size: number): Runner {
  const half = (BYTES / 2) * size;
  const src = new Uint8Array(half).fill(1);
  const dst = new Uint8Array(half).fill(2);
  return {
    key: { backend: 'bandwidth', threads: 1, variant: 'copy' },
    size,
    bytesPerParam: BYTES,
    run(steps) {
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) dst.set(src);
      return performance.now() - t0;
    },
    dispose() {},
  };
}

/** The probes at `size`: stream on each thread count, and copy (one thread). */
export function bandwidthPeer(threads: readonly number[]): Peer {
  return {
    backend: 'bandwidth',
    async prepare(size): Promise<Prepared> {
      const settled = await Promise.allSettled(threads.filter((n) => n > 1).map((n) => threadedStreamRunner(size, n)));
      const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed !== undefined) {
        // The others' workers would otherwise run (and hold their memory) for the rest of the run.
        await Promise.all(started.map((r) => r.dispose()));
        throw failed.reason;
      }
      return { runners: [await streamRunner(size), ...started, copyRunner(size)] };
    },
  };
}
