// A TypeScript consumer compiled as CommonJS (.cts, NodeNext): its types come from the
// "require" condition (index.d.cts) and the require() below loads dist/index.cjs. (Written
// with require() + `typeof import()` rather than `import x = require()`, so that the
// workspace's own type-check, which is ESM with verbatimModuleSyntax, accepts this file too.)
import type { AdamWHyperparameters, BackendName } from 'adamw-wasm';

const { AdamW, ADAMW_DEFAULTS }: typeof import('adamw-wasm') = require('adamw-wasm');

async function main(): Promise<void> {
  const defaults: AdamWHyperparameters = ADAMW_DEFAULTS;
  const results: Float32Array[] = [];
  for (const backend of ['wasm-simd', 'wasm', 'js'] satisfies BackendName[]) {
    const opt = await AdamW.create([{ init: Float32Array.from([1, -2, 3]) }], { backend, lr: 0.1 });
    opt.groups[0]!.grads.set([0.5, -0.25, 4]);
    opt.step();
    results.push(opt.groups[0]!.params.slice());
    opt.dispose();
  }
  const [simd, wasm, js] = results as [Float32Array, Float32Array, Float32Array];
  if (simd.some((v, i) => !Object.is(v, wasm[i]) || !Object.is(v, js[i]))) throw new Error('backends disagree');
  if (simd[0] === 1) throw new Error('step did not move the parameters');
  console.log(`  typescript (CommonJS, NodeNext): one step agrees on 3 backends; default lr ${defaults.lr}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
