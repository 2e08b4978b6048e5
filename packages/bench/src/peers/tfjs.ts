import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Prepared } from '../types.js';
import { errorMessage, type Peer, type PeerContext } from './peer.js';
import type { TfjsReply, TfjsRequest } from './tfjs-worker.js';

const PACKAGES = { cpu: '@tensorflow/tfjs-backend-cpu', wasm: '@tensorflow/tfjs-backend-wasm' } as const;

/** Request/reply over one worker; requests are sequential. */
class TfjsWorker {
  readonly #worker = new Worker(new URL('./tfjs-worker.js', import.meta.url), { stdout: true, stderr: true });
  #pending: { resolve: (r: TfjsReply) => void; reject: (e: Error) => void } | undefined;
  #output = '';

  constructor() {
    // Worker console output is captured (tfjs prints advice on load) so it never reaches our stdout.
    const keep = (chunk: Buffer | string) => {
      this.#output = (this.#output + String(chunk)).slice(-2000);
    };
    this.#worker.stdout.on('data', keep);
    this.#worker.stderr.on('data', keep);
    this.#worker.on('message', (reply: TfjsReply) => {
      const p = this.#pending;
      this.#pending = undefined;
      if (!p) return;
      if (reply.type === 'error') p.reject(new Error(reply.message));
      else p.resolve(reply);
    });
    const fail = (error: Error) => {
      const p = this.#pending;
      this.#pending = undefined;
      p?.reject(error);
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`tfjs worker exited with code ${code}: ${this.#output.trim().slice(-300)}`)));
  }

  request(message: TfjsRequest): Promise<TfjsReply> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(message);
    });
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * tf.train.adam on @tensorflow/tfjs-core with the cpu or wasm backend, in a worker of its own,
 * timing optimizer.applyGradients on one variable of `size` params with a fixed gradient tensor.
 */
export function tfjsPeer(kind: 'cpu' | 'wasm', ctx: PeerContext): Peer {
  const backend = kind === 'cpu' ? 'tfjs-cpu' : 'tfjs-wasm';
  let unavailable: string | undefined;
  return {
    backend,
    async prepare(size): Promise<Prepared> {
      if (unavailable) return { skip: unavailable };
      if (ctx.config.amsgrad) return { skip: (unavailable = `${backend}: skipped with --amsgrad (tf.train.adam has no amsgrad)`) };
      for (const pkg of ['@tensorflow/tfjs-core', PACKAGES[kind]]) {
        if (!installed(pkg)) return { skip: (unavailable = `${backend}: ${pkg} is not installed (an optional dependency of adamw-bench)`) };
      }
      const worker = new TfjsWorker();
      try {
        const ready = await worker.request({ type: 'setup', backend: kind, size });
        if (ready.type !== 'ready') throw new Error(`unexpected reply ${ready.type}`);
        const simd = `(${ready.simd ? 'SIMD' : 'no SIMD'}, ${ready.multithread ? 'threads' : '1 thread'})`;
        ctx.machine.peers['tfjs'] = `${ready.version}`;
        if (kind === 'wasm') ctx.machine.peers[backend] = simd;
      } catch (error) {
        await worker.terminate();
        return { skip: (unavailable = `${backend}: ${errorMessage(error)}`) };
      }
      return {
        runners: [{
          key: { backend, threads: 1 },
          size,
          bytesPerParam: 28,
          async run(steps) {
            const reply = await worker.request({ type: 'run', steps });
            if (reply.type !== 'ran') throw new Error(`${backend}: unexpected reply ${reply.type}`);
            // Let the worker's background GC threads finish freeing this rep's buffers before
            // the next row is timed (2 cores: they would compete with it).
            await new Promise((resolve) => setTimeout(resolve, Math.min(200, reply.ms / 10)));
            return reply.ms;
          },
          dispose: () => worker.terminate(),
        }],
      };
    },
  };
}
