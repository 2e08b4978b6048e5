// Worker entry (dist/tfjs-fit-worker.js) of `--scenario tfjs`: one tfjs engine and backend per
// worker. Trains one model per optimizer on the same synthetic data, epochs interleaved
// (A, B, A, B, …), timing each epoch and the optimizer's applyGradients calls within it.
import { parentPort, workerData } from 'node:worker_threads';
import { collectGarbage } from '../peers/gc.js';
import { useTfjsBackend, type Tf, type TfjsBackendName } from '../peers/tfjs-backend.js';

export interface FitRequest {
  readonly backend: TfjsBackendName;
  readonly reps: number;
  readonly samples: number;
  readonly batchSize: number;
  /** Units of each dense layer, inputs first: [784, 1024, 256, 10]. */
  readonly layers: readonly number[];
}

export interface FitOptimizerResult {
  readonly optimizer: string;
  /** Per timed epoch. */
  readonly epochMs: readonly number[];
  /** Per timed epoch: the time spent in applyGradients. */
  readonly optimizerMs: readonly number[];
  readonly finalLoss: number;
}

export type FitReply =
  | { readonly type: 'done'; readonly version: string; readonly simd: boolean | null; readonly params: number; readonly steps: number; readonly results: readonly FitOptimizerResult[] }
  | { readonly type: 'error'; readonly message: string };

async function run(request: FitRequest): Promise<FitReply> {
  const tf: Tf = await import('@tensorflow/tfjs-core');
  const info = await useTfjsBackend(tf, request.backend);
  const tfl = await import('@tensorflow/tfjs-layers');
  const { adamw, init } = await import('adamw-wasm-tfjs');
  await init();

  const [inputs, ...units] = request.layers as [number, ...number[]];
  const classes = units[units.length - 1]!;
  // Seeds > 0: tfjs treats 0 as "unseeded".
  const xs = tf.randomNormal([request.samples, inputs], 0, 1, 'float32', 1);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.randomUniform([request.samples], 0, classes, 'int32', 2), classes), 'float32'));
  const optimizers: [string, () => import('@tensorflow/tfjs-core').Optimizer][] = [
    ['tf.train.adam', () => tf.train.adam(1e-3)],
    // One thread, like tfjs-wasm here: the comparison is of the step, not of the core count.
    ['adamw-wasm-tfjs adamw', () => adamw({ learningRate: 1e-3, weightDecay: 0.01, threads: 1 })],
  ];
  const runs = optimizers.map(([name, make]) => {
    const model = tfl.sequential({
      layers: units.map((n, i) =>
        tfl.layers.dense({
          units: n,
          ...(i === 0 ? { inputShape: [inputs] } : {}),
          activation: i === units.length - 1 ? 'softmax' : 'relu',
          kernelInitializer: tfl.initializers.glorotUniform({ seed: 10 + i }),
        }),
      ),
    });
    const optimizer = make();
    let inOptimizer = 0;
    const apply = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (grads) => {
      const t0 = performance.now();
      apply(grads);
      inOptimizer += performance.now() - t0;
    };
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const result = { optimizer: name, epochMs: [] as number[], optimizerMs: [] as number[], finalLoss: NaN };
    const epoch = async (timed: boolean) => {
      collectGarbage();
      inOptimizer = 0;
      const t0 = performance.now();
      const history = await model.fit(xs, ys, { epochs: 1, batchSize: request.batchSize, shuffle: false, verbose: 0 });
      const ms = performance.now() - t0;
      result.finalLoss = history.history.loss![0] as number;
      if (timed) (result.epochMs.push(ms), result.optimizerMs.push(inOptimizer));
    };
    return { model, epoch, result };
  });
  for (const r of runs) await r.epoch(false); // warm-up: compiles kernels, creates the state
  for (let rep = 0; rep < request.reps; rep++) for (const r of runs) await r.epoch(true);
  const params = runs[0]!.model.countParams();
  return {
    type: 'done',
    version: info.version,
    simd: info.simd,
    params,
    steps: Math.ceil(request.samples / request.batchSize),
    results: runs.map((r) => r.result),
  };
}

run(workerData as FitRequest)
  .then((reply) => parentPort!.postMessage(reply))
  .catch((error: unknown) => parentPort!.postMessage({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies FitReply));
