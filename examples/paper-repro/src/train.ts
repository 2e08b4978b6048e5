/** One training run: a seeded MLP in tfjs-layers, trained by adamw-wasm-tfjs, tested per epoch. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { adam, adamw, schedules } from 'adamw-wasm-tfjs';
import { CLASSES, INPUTS, permutation, prng, type Split } from './data.js';
import type { RunResult, RunSpec } from './types.js';

export const HIDDEN = [128, 128] as const;

function buildModel(spec: RunSpec): tfl.Sequential {
  const model = tfl.sequential();
  const batchNorm = spec.model === 'mlp-bn';
  HIDDEN.forEach((units, i) => {
    model.add(
      tfl.layers.dense({
        ...(i === 0 ? { inputShape: [INPUTS] } : {}),
        units,
        // A bias before batch norm is cancelled by its mean subtraction.
        useBias: !batchNorm,
        kernelInitializer: tfl.initializers.heNormal({ seed: spec.seed * 100 + i }),
      }),
    );
    if (batchNorm) model.add(tfl.layers.batchNormalization());
    model.add(tfl.layers.activation({ activation: 'relu' }));
  });
  model.add(tfl.layers.dense({ units: CLASSES, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: spec.seed * 100 + HIDDEN.length }) }));
  return model;
}

export function stepsPerEpoch(spec: Pick<RunSpec, 'trainSize' | 'batchSize'>): number {
  return Math.floor(spec.trainSize / spec.batchSize);
}

/** Warm restarts: cycles of 1, 2, 4, … epochs (T_0 = 1 epoch, T_mult = 2), as in SGDR. */
export const RESTART_T0_EPOCHS = 1;
export const RESTART_T_MULT = 2;

/** The epochs at which AdamWR's cycles end (1, 3, 7, 15, … for T_0 = 1, T_mult = 2), up to `epochs`. */
export function restartEnds(epochs: number): number[] {
  const ends: number[] = [];
  for (let end = RESTART_T0_EPOCHS, length = RESTART_T0_EPOCHS; end <= epochs; length *= RESTART_T_MULT, end += length) ends.push(end);
  return ends;
}

function optimizerFor(spec: RunSpec) {
  const steps = stepsPerEpoch(spec) * spec.epochs;
  const schedule =
    spec.schedule === 'cosine'
      ? schedules.cosine({ steps })
      : schedules.cosineWarmRestarts({ t0: stepsPerEpoch(spec) * RESTART_T0_EPOCHS, tMult: RESTART_T_MULT });
  const common = { learningRate: spec.lr, weightDecay: spec.weightDecay, schedule };
  switch (spec.method) {
    case 'adam-l2':
      return adam(common);
    case 'adamw-paper':
      return adamw({ ...common, weightDecayScale: 'schedule' });
    case 'adamw-torch':
      return adamw({ ...common, weightDecayScale: 'lr' });
  }
}

function testError(model: tfl.Sequential, test: Split): number {
  const wrong = tf.tidy(() => {
    const x = tf.tensor2d(test.images, [test.count, INPUTS]);
    const predicted = tf.argMax(model.predict(x, { batchSize: 2000 }) as tf.Tensor, -1).dataSync();
    let wrongCount = 0;
    for (let i = 0; i < test.count; i++) if (predicted[i] !== test.labels[i]) wrongCount++;
    return wrongCount;
  });
  return wrong / test.count;
}

export async function train(spec: RunSpec, data: { train: Split; test: Split }): Promise<RunResult> {
  const start = performance.now();
  const model = buildModel(spec);
  const optimizer = optimizerFor(spec);
  model.compile({ optimizer, loss: 'sparseCategoricalCrossentropy' });
  const random = prng(spec.seed * 7919 + 1);
  const steps = stepsPerEpoch(spec);
  const xs = new Float32Array(spec.batchSize * INPUTS);
  const ys = new Float32Array(spec.batchSize);
  const testErrors: number[] = [];
  const trainLoss: number[] = [];
  try {
    for (let epoch = 0; epoch < spec.epochs; epoch++) {
      const order = permutation(data.train.count, random);
      let lossSum = 0;
      // The last partial batch is dropped, so every epoch has the same number of steps.
      for (let s = 0; s < steps; s++) {
        for (let j = 0; j < spec.batchSize; j++) {
          const i = order[s * spec.batchSize + j]!;
          xs.set(data.train.images.subarray(i * INPUTS, (i + 1) * INPUTS), j * INPUTS);
          ys[j] = data.train.labels[i]!;
        }
        const x = tf.tensor2d(xs, [spec.batchSize, INPUTS]);
        const y = tf.tensor1d(ys);
        const loss = await model.trainOnBatch(x, y);
        x.dispose();
        y.dispose();
        lossSum += loss as number;
      }
      trainLoss.push(lossSum / steps);
      testErrors.push(testError(model, data.test));
    }
  } finally {
    model.dispose();
    optimizer.dispose();
  }
  return {
    ...spec,
    testError: testErrors,
    trainLoss,
    finalTestError: testErrors[testErrors.length - 1]!,
    wallMs: Math.round(performance.now() - start),
    backend: tf.getBackend(),
  };
}
