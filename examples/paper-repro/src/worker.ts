/**
 * A worker process: loads the data once, then trains the runs it is sent, one at a time.
 * Messages in: { data: DataConfig } once, then { spec }; out: { ready } | { result } | { error }.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { init } from 'adamw-wasm-tfjs';
import { loadFashionMnist, subset } from './data.js';
import { train } from './train.js';
import type { RunSpec } from './types.js';

export interface DataConfig {
  readonly dir: string;
  readonly trainSize: number;
  readonly testSize: number;
  readonly dataSeed: number;
  readonly backend: 'wasm' | 'cpu';
}

type Incoming = { data: DataConfig } | { spec: RunSpec };

const send = (message: unknown) => process.send!(message);
let data: Awaited<ReturnType<typeof prepare>> | undefined;

async function prepare(config: DataConfig) {
  // The optimizer steps on this thread; the tfjs backend does the layers.
  await init();
  if (!(await tf.setBackend(config.backend))) throw new Error(`paper-repro: the tfjs ${config.backend} backend did not start`);
  await tf.ready();
  const all = loadFashionMnist(config.dir);
  return {
    train: subset(all.train, config.trainSize, config.dataSeed),
    test: config.testSize === all.test.count ? all.test : subset(all.test, config.testSize, config.dataSeed + 1),
  };
}

process.on('message', (message: Incoming) => {
  void (async () => {
    try {
      if ('data' in message) {
        data = await prepare(message.data);
        send({ ready: true });
      } else {
        if (!data) throw new Error('paper-repro worker: a run arrived before the data');
        send({ result: await train(message.spec, data) });
      }
    } catch (error) {
      send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
