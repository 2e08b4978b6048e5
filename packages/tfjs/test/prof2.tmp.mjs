import * as tf from '@tensorflow/tfjs-core';
import { AdamW, init } from 'adamw-wasm';
import { createRequire } from 'node:module'; import { dirname } from 'node:path';
await init();
const w = await import('@tensorflow/tfjs-backend-wasm'); w.setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
await tf.setBackend('wasm');
const n = 1 << 20;
const v = tf.variable(tf.randomNormal([n], 0, 1, 'float32', 3), true, 'big');
const g = tf.randomNormal([n], 0, 1, 'float32', 4);
const core = new AdamW([{ tensors: [{ name: 'big', init: v.dataSync() }] }]);
const t = core.tensor('big');
const phases = { read: 0, step: 0, write: 0 };
for (let r = 0; r < 60; r++) {
  let a = performance.now();
  t.grads.set(g.dataSync());
  let b = performance.now(); phases.read += r >= 10 ? b - a : 0;
  core.step({ tensors: ['big'] });
  let c = performance.now(); phases.step += r >= 10 ? c - b : 0;
  const u = tf.tensor(t.params, [n], 'float32'); v.assign(u); u.dispose();
  let d = performance.now(); phases.write += r >= 10 ? d - c : 0;
}
for (const k in phases) console.log(k, (phases[k] / 50).toFixed(2), 'ms');
