// A TypeScript consumer (ESM), compiled with `tsc --strict` (module/moduleResolution NodeNext,
// skipLibCheck off) against the types shipped in the tarball, then run with node: replays the
// no-FMA PyTorch fixture through the public, typed API and requires every bit to match.
import { readFileSync } from 'node:fs';
import {
  AdamW,
  isBackendAvailable,
  type AdamWGroupSpec,
  type AdamWOptions,
  type AdamGroupState,
  type BackendChoice,
  type BackendName,
  type StepResult,
} from 'adamw-wasm';

type Ref = readonly [offset: number, length: number];
interface Manifest {
  name: string;
  steps: number;
  options: AdamWOptions;
  groups: { size: number; seed: number; initScale: number }[];
  checkpoints: { step: number; groups: ({ params: Ref } & { [K in keyof AdamGroupState]?: Ref })[] }[];
}

const hash32 = (seed: number, stream: number, t: number, i: number): number => {
  let x = (Math.imul(seed, 0x9e3779b1) + Math.imul(stream, 0x85ebca77) + Math.imul(t, 0xc2b2ae3d) + Math.imul(i, 0x27d4eb2f)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
};
const uniform = (seed: number, stream: number, t: number, i: number): number => (hash32(seed, stream, t, i) >>> 8) * 2 ** -24 * 2 - 1;
const SCALES = Float32Array.from([1, 1e-3, 30, 1e-6, 0, 0.1, 3]);

const base = new URL('../fixture/adamw-default', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Manifest;
const data = new Float32Array(new Uint8Array(readFileSync(`${base}.bin`)).buffer);
const ref = ([offset, length]: Ref): Float32Array => data.subarray(offset, offset + length);

function sameBits(what: string, actual: Float32Array | undefined, expected: Float32Array): void {
  if (actual === undefined || actual.length !== expected.length) throw new Error(`${what}: missing or wrong length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const i = a.findIndex((bits, j) => bits !== e[j]);
  if (i >= 0) throw new Error(`${what}[${i}] = ${actual[i]}, PyTorch: ${expected[i]}`);
}

async function replay(backend: BackendChoice): Promise<BackendName> {
  const specs: AdamWGroupSpec[] = manifest.groups.map(({ size, seed, initScale }) => {
    const init = new Float32Array(size);
    for (let i = 0; i < size; i++) init[i] = Math.fround(Math.fround(uniform(seed, 0, 0, i)) * Math.fround(initScale));
    return { init };
  });
  const opt: AdamW = await AdamW.create(specs, { ...manifest.options, backend } satisfies AdamWOptions);
  try {
    for (let t = 1; t <= manifest.steps; t++) {
      manifest.groups.forEach(({ size, seed }, k) => {
        const grads: Float32Array = opt.groups[k]!.grads;
        for (let i = 0; i < size; i++) grads[i] = Math.fround(Math.fround(0.5 + uniform(seed, 1, t, i)) * SCALES[i % 7]!);
      });
      const result: StepResult = opt.step();
      if (result.skipped) throw new Error(`step ${t} was skipped`);
      const checkpoint = manifest.checkpoints.find((c) => c.step === t);
      checkpoint?.groups.forEach((g, k) => {
        const group = opt.groups[k]!;
        sameBits(`step ${t} groups[${k}].params`, group.params, ref(g.params));
        const state: AdamGroupState = group.state;
        if (g.expAvg) sameBits(`step ${t} groups[${k}].expAvg`, state.expAvg, ref(g.expAvg));
        if (g.expAvgSq) sameBits(`step ${t} groups[${k}].expAvgSq`, state.expAvgSq, ref(g.expAvgSq));
      });
    }
    return opt.backend;
  } finally {
    opt.dispose();
  }
}

const ran: BackendName[] = [];
for (const backend of ['auto', 'wasm', 'js'] as const) ran.push(await replay(backend));
if (ran[0] !== 'wasm-simd' || !isBackendAvailable('wasm-simd')) throw new Error(`'auto' ran ${ran[0]}`);
console.log(`  typescript (ESM, NodeNext): ${manifest.name} bit-exact with ${ran.join(', ')}`);
