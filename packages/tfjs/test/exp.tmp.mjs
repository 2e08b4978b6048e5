import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { adamw, init } from 'adamw-wasm-tfjs';
import { createRequire } from 'node:module'; import { dirname } from 'node:path';
await init();
const backend = process.argv[2] ?? 'cpu';
if (backend === 'wasm') { const w = await import('@tensorflow/tfjs-backend-wasm'); w.setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/'); }
await tf.setBackend(backend);
const batch = Number(process.argv[3] ?? 64), batches = 8;
const xs = tf.randomNormal([batch * batches, 784], 0, 1, 'float32', 1), ys = tf.oneHot(tf.randomUniform([batch*batches], 0, 10, 'int32', 2), 10).asType?.('float32') ?? tf.cast(tf.oneHot(tf.randomUniform([batch*batches], 0, 10, 'int32', 2), 10), 'float32');
for (const [label, make] of [['tf.train.adam', () => tf.train.adam(1e-3)], ['adamw', () => adamw({ learningRate: 1e-3 })]]) {
  const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 1024, inputShape: [784], activation: 'relu' }), tfl.layers.dense({ units: 256, activation: 'relu' }), tfl.layers.dense({ units: 10, activation: 'softmax' })] });
  const opt = make(); let optMs = 0; const apply = opt.applyGradients.bind(opt); opt.applyGradients = (g) => { const t = performance.now(); apply(g); optMs += performance.now() - t; };
  m.compile({ optimizer: opt, loss: 'categoricalCrossentropy' });
  await m.fit(xs, ys, { epochs: 1, batchSize: batch, verbose: 0 });
  for (let r = 0; r < 3; r++) { optMs = 0; const t = performance.now(); await m.fit(xs, ys, { epochs: 1, batchSize: batch, verbose: 0 }); const ms = performance.now() - t; console.log(backend, label, m.countParams(), 'epoch', ms.toFixed(0), 'ms, optimizer', optMs.toFixed(0), 'ms', (100*optMs/ms).toFixed(1)+'%'); }
}
