// Node, CommonJS consumer: `require` resolves the package's "require" condition (dist/index.cjs).
// The shared smoke logic is an ES module, loaded with import(); the package itself is required.
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');
const pkg = require('adamw-wasm');

const resolved = require.resolve('adamw-wasm');
if (!resolved.endsWith(path.join('node_modules', 'adamw-wasm', 'dist', 'index.cjs'))) {
  throw new Error(`require resolved ${resolved}`);
}

async function main() {
  const { runSmoke } = await import('./core.mjs');
  const base = path.join(__dirname, '..', 'fixture', 'adamw-default');
  const manifest = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  const data = new Float32Array(new Uint8Array(readFileSync(`${base}.bin`)).buffer);
  const report = await runSmoke(pkg, { manifest, data }, {
    runtime: `node ${process.version} (CommonJS)`,
    log: (line) => console.log(`  ${line}`),
  });
  report.resolved = resolved;
  console.log(`SMOKE_REPORT ${JSON.stringify(report)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
