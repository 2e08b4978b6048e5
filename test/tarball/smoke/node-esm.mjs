// Node, ESM consumer: `import` resolves the package's "import" condition (dist/index.js).
// Run from the temporary project that installed the tarball (test/tarball/run.mjs copies it there).
import * as pkg from 'adamw-wasm';
import { readFileSync } from 'node:fs';
import { runSmoke } from './core.mjs';

const resolved = import.meta.resolve('adamw-wasm');
if (!resolved.endsWith('/node_modules/adamw-wasm/dist/index.js')) throw new Error(`import resolved ${resolved}`);

const fixture = loadFixture(new URL('../fixture/adamw-default', import.meta.url).pathname);
const report = await runSmoke(pkg, fixture, {
  runtime: `node ${process.version} (ESM)`,
  threads: 2,
  timing: process.argv.includes('--timing'),
  log: (line) => console.log(`  ${line}`),
});
report.resolved = resolved;
console.log(`SMOKE_REPORT ${JSON.stringify(report)}`);

function loadFixture(base) {
  const manifest = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  const bytes = readFileSync(`${base}.bin`);
  return { manifest, data: new Float32Array(new Uint8Array(bytes).buffer) }; // copied: 4-byte aligned
}
