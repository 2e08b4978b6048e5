// Worker entry (dist/tfjs-worker.js): one TensorFlow.js engine per worker, so tfjs-cpu and
// tfjs-wasm each own their backend and tensors without migrating data when the CLI switches
// between them rep by rep. Messages: setup → ready, run → ran, anything failing → error.
import { parentPort } from 'node:worker_threads';
import { randomFill } from '../stats.js';
import { collectGarbage } from './gc.js';
import { useTfjsBackend, type Tf, type TfjsBackendName } from './tfjs-backend.js';

export type TfjsRequest =
  | { readonly type: 'setup'; readonly backend: 'cpu' | 'wasm'; readonly size: number }
  | { readonly type: 'run'; readonly steps: number };
export type TfjsReply =
  | { readonly type: 'ready'; readonly version: string; readonly backend: string; readonly simd: boolean | null; readonly multithread: boolean }
  | { readonly type: 'ran'; readonly ms: number; readonly tensors: number }
  | { readonly type: 'error'; readonly message: string };

let step: (() => void) | undefined;
let tfRef: Tf | undefined;

async function setup(backend: TfjsBackendName, size: number): Promise<TfjsReply> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  tfRef = tf;
  const { version, simd, multithread } = await useTfjsBackend(tf, backend);

  const init = new Float32Array(size);
  randomFill(init, 1);
  const grad = new Float32Array(size);
  randomFill(grad, 2);
  const x = tf.variable(tf.tensor1d(init), true, 'x');
  const g = tf.tensor1d(grad);
  // tf.train.adam(learningRate, beta1, beta2, epsilon): Adam, no weight decay (tfjs has no AdamW).
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const named = [{ name: x.name, tensor: g }];
  step = () => optimizer.applyGradients(named);
  step(); // creates the moment variables
  return { type: 'ready', version, backend: tf.getBackend(), simd, multithread };
}

function run(steps: number): TfjsReply {
  if (!step || !tfRef) throw new Error('run before setup');
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) step();
  const ms = performance.now() - t0;
  // Collect the garbage of these steps now, outside the timed region, rather than in
  // background threads while the next row is being timed (tfjs-cpu frees 100s of MB a step).
  collectGarbage();
  return { type: 'ran', ms, tensors: tfRef.memory().numTensors };
}

parentPort!.on('message', (message: TfjsRequest) => {
  (async () => (message.type === 'setup' ? setup(message.backend, message.size) : run(message.steps)))()
    .then((reply) => parentPort!.postMessage(reply))
    .catch((error: unknown) => parentPort!.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies TfjsReply));
});
