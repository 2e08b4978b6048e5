// Node, CommonJS consumer of adamw-wasm-tfjs: `require` resolves the package's "require"
// condition (dist/index.cjs), which requires the application's tfjs-core and adamw-wasm (their
// CommonJS builds, the same instances as below). The shared smoke logic is an ES module, loaded
// with import(); tfjs and the package are required. tfjs backend 'cpu' only.
'use strict';
const path = require('node:path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfl = require('@tensorflow/tfjs-layers');
const pkg = require('adamw-wasm-tfjs');

const resolved = require.resolve('adamw-wasm-tfjs');
if (!resolved.endsWith(path.join('node_modules', 'adamw-wasm-tfjs', 'dist', 'index.cjs'))) {
  throw new Error(`require resolved ${resolved}`);
}

async function main() {
  const { runTfjsSmoke } = await import('./tfjs-smoke.mjs');
  const report = await runTfjsSmoke({ tf, tfl, pkg }, {
    runtime: `node ${process.version} (CommonJS)`,
    backends: ['cpu'],
    log: (line) => console.log(`  ${line}`),
  });
  report.resolved = resolved;
  console.log(`SMOKE_REPORT ${JSON.stringify(report)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
