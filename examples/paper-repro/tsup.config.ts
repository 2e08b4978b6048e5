import { defineConfig } from 'tsup';

export default defineConfig({
  // The worker is a file of its own: each runs in a child process.
  entry: { cli: 'src/cli.ts', worker: 'src/worker.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
  external: ['adamw-wasm', 'adamw-wasm-tfjs', /^@tensorflow\//, 'vega', 'vega-lite', '@resvg/resvg-js', 'cli-progress'],
});
