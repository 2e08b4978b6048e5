import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  sourcemap: false,
  // The application's tfjs and adamw-wasm (a peer and a dependency) are imported, never bundled:
  // tfjs's registries and engine must be the application's own.
  external: ['@tensorflow/tfjs-core', 'adamw-wasm'],
});
