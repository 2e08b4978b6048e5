import { defineConfig } from 'tsup';

export default defineConfig({
  // The tfjs workers are files of their own: each tfjs backend runs in a worker_threads Worker.
  entry: { cli: 'src/cli.ts', 'tfjs-worker': 'src/peers/tfjs-worker.ts', 'tfjs-fit-worker': 'src/scenarios/tfjs-fit-worker.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
  // Optional dependencies stay imports, loaded only when their rows (or --plot) are asked for.
  external: ['adamw-wasm', 'adamw-wasm-tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', 'vega', 'vega-lite'],
});
