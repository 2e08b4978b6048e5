// Deno consumer: `deno run --allow-read deno.mjs` from the temporary project; the bare
// specifier resolves through its package.json and node_modules (the installed tarball).
import * as pkg from 'adamw-wasm';
import { runSmoke } from './core.mjs';

const base = new URL('../fixture/adamw-default', import.meta.url);
const manifest = JSON.parse(await Deno.readTextFile(new URL(`${base.href}.json`)));
const data = new Float32Array((await Deno.readFile(new URL(`${base.href}.bin`))).slice().buffer);
const report = await runSmoke(pkg, { manifest, data }, {
  runtime: `deno ${Deno.version.deno}`,
  threads: 2,
  timing: Deno.args.includes('--timing'),
  log: (line) => console.log(`  ${line}`),
});
report.resolved = import.meta.resolve('adamw-wasm');
console.log(`SMOKE_REPORT ${JSON.stringify(report)}`);
