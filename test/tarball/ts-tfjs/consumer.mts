// A TypeScript consumer of adamw-wasm-tfjs (ESM), compiled with `tsc --strict` (NodeNext)
// against the types shipped in its tarball and tfjs's own, then run with node: the optimizer is
// a tf.Optimizer for model.compile, its options are typed with tfjs's names, and the instance
// API (iterations, backend, threads, variableNames, getConfig, dispose) is typed. Stored as
// consumer.mts.txt (test/tarball/run.mjs copies it into the app as consumer.mts): the
// workspace's own type-check includes test/ and cannot resolve @tensorflow/* from here.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { adamw, init, schedules, AdamWOptimizer, type AdamWOptions, type InitResult } from 'adamw-wasm-tfjs';

const ready: InitResult = await init();
if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') failed");

const options: AdamWOptions = {
  learningRate: 5e-2,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0.01,
  excludeFromWeightDecay: ['bias', /norm/i],
  schedule: schedules.linearWarmup({ steps: 4 }),
  backend: 'auto',
  threads: 'auto',
};
// Refused by the types and, for JavaScript callers, at run time.
const refused = [
  // @ts-expect-error: tfjs's name for the learning rate is learningRate (adamw-wasm's lr is not an option here)
  () => adamw({ lr: 0.1 }),
  // @ts-expect-error: backend is one of 'auto' | 'wasm-simd' | 'wasm' | 'js'
  () => adamw({ backend: 'webgl' }),
];
for (const make of refused) {
  let threw = false;
  try {
    make();
  } catch {
    threw = true;
  }
  if (!threw) throw new Error(`${String(make)} did not throw`);
}

const opt: tf.Optimizer = adamw(options); // assignable to tfjs's Optimizer
const model = tfl.sequential({
  layers: [
    tfl.layers.dense({ units: 8, inputShape: [4], activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    tfl.layers.dense({ units: 1, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }), // seeds > 0: 0 is unseeded
  ],
});
model.compile({ optimizer: opt, loss: 'meanSquaredError' });
const xs = tf.randomNormal([64, 4], 0, 1, 'float32', 3);
const ys = tf.sum(xs, 1, true);
const history: tfl.History = await model.fit(xs, ys, { epochs: 6, batchSize: 16, shuffle: false, verbose: 0 });
const loss = history.history.loss as number[];

if (!(opt instanceof AdamWOptimizer)) throw new Error('adamw() did not return an AdamWOptimizer');
const iterations: number = opt.iterations;
const backend: string = opt.backend;
const threads: number = opt.threads;
const names: readonly string[] = opt.variableNames;
const config: tf.serialization.ConfigDict = opt.getConfig();
if (iterations !== 24 || names.length !== 4 || config.learningRate !== 5e-2) throw new Error(`iterations ${iterations}, ${names.length} variables`);
if (!(loss[loss.length - 1]! < 0.5 * loss[0]!)) throw new Error(`the loss did not fall: ${loss.join(', ')}`);
opt.dispose();
tf.dispose([xs, ys]);
console.log(
  `  typescript (ESM, NodeNext), adamw-wasm-tfjs: model.compile({ optimizer: adamw(…) }), loss ${loss[0]!.toFixed(3)} → ${loss[loss.length - 1]!.toFixed(3)} ` +
    `in ${iterations} steps on ${backend} (${threads} thread; init: ${ready.backend})`,
);
