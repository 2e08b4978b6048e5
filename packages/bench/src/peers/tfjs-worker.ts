// Worker entry (dist/tfjs-worker.js): one TensorFlow.js engine per worker, so tfjs-cpu and
// tfjs-wasm each own their backend and tensors without migrating data when the CLI switches
// between them rep by rep. Messages: setup → ready, run → ran, anything failing → error.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { randomFill } from '../stats.js';

export type TfjsRequest =
  | { readonly type: 'setup'; readonly backend: 'cpu' | 'wasm'; readonly size: number }
  | { readonly type: 'run'; readonly steps: number };
export type TfjsReply =
  | { readonly type: 'ready'; readonly version: string; readonly backend: string; readonly simd: boolean | null; readonly multithread: boolean }
  | { readonly type: 'ran'; readonly ms: number; readonly tensors: number }
  | { readonly type: 'error'; readonly message: string };

/** V8's full GC, exposed for this worker only (workers cannot take --expose-gc). */
const collectGarbage: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : () => {};
  } catch {
    return () => {};
  }
})();

type Tf = typeof import('@tensorflow/tfjs-core');
let step: (() => void) | undefined;
let tfRef: Tf | undefined;

async function setup(backend: 'cpu' | 'wasm', size: number): Promise<TfjsReply> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  tfRef = tf;
  if (backend === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // The .wasm files ship in the package; a directory path with a trailing slash makes the
    // Emscripten loader read them with fs in Node.
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // one thread, like every other row
  }
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) {
    throw new Error(`tf.setBackend('${backend}') failed (active backend: ${tf.getBackend()})`);
  }
  await tf.ready();
  const simd = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) : null;
  const multithread = backend === 'wasm' ? Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) : false;

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
  if (backend === 'wasm' && tf.backend().constructor.name !== 'BackendWasm') {
    throw new Error(`expected the wasm backend to execute, got ${tf.backend().constructor.name}`);
  }
  return { type: 'ready', version: tf.version_core, backend: tf.getBackend(), simd, multithread };
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
