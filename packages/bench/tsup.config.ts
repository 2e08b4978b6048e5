import { defineConfig } from 'tsup';

export default defineConfig({
  // The tfjs worker is its own file: each tfjs backend runs in a worker_threads Worker.
  entry: { cli: 'src/cli.ts', 'tfjs-worker': 'src/peers/tfjs-worker.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
  // Optional dependencies stay imports, loaded only when their rows (or --plot) are asked for.
  external: ['adamw-wasm', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', 'vega', 'vega-lite'],
});
