// Node, ESM consumer of adamw-wasm-tfjs: `import` resolves the package's "import" condition
// (dist/index.js), which imports the application's tfjs-core and adamw-wasm. Trains on the tfjs
// backends 'cpu' and 'wasm' (tfjs-backend-wasm's .wasm files from its own dist/). Run from the
// temporary project that installed the tarballs (test/tarball/run.mjs copies it there).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import * as pkg from 'adamw-wasm-tfjs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { runTfjsSmoke } from './tfjs-smoke.mjs';

const resolved = import.meta.resolve('adamw-wasm-tfjs');
if (!resolved.endsWith('/node_modules/adamw-wasm-tfjs/dist/index.js')) throw new Error(`import resolved ${resolved}`);
const wasmDir = `${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`;
if (!wasmDir.endsWith('/node_modules/@tensorflow/tfjs-backend-wasm/dist/')) throw new Error(`tfjs-backend-wasm's .wasm files are in ${wasmDir}`);
setWasmPaths(wasmDir);

const report = await runTfjsSmoke({ tf, tfl, pkg }, {
  runtime: `node ${process.version} (ESM)`,
  log: (line) => console.log(`  ${line}`),
});
report.notes.push(`tfjs-backend-wasm: SIMD ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, multithread ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')}, threads ${getThreadsCount()}`);
report.resolved = resolved;
console.log(`SMOKE_REPORT ${JSON.stringify(report)}`);
