/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` (gzip'd IDX files), checked before use:
 * magic numbers, dimensions, counts and byte lengths. Images are average-pooled 2×2 to 14×14
 * (196 inputs): tfjs-backend-wasm's backward matMul is slow on the first layer, and pooling
 * quarters it, so a 36-cell grid × 3 methods fits a 2-core machine's budget.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist';
export const SIDE = 28;
export const POOLED_SIDE = 14;
export const INPUTS = POOLED_SIDE * POOLED_SIDE;
export const CLASSES = 10;

const IMAGES_MAGIC = 0x00000803; // unsigned byte, 3 dimensions
const LABELS_MAGIC = 0x00000801; // unsigned byte, 1 dimension

export interface Split {
  /** count × INPUTS values in [0, 1], row-major. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface FashionMnist {
  readonly train: Split;
  readonly test: Split;
}

const FILES = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz', count: 60000 },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz', count: 10000 },
} as const;

const SETUP_HINT = 'install Debian\'s dataset-fashion-mnist (bash scripts/setup.sh does) or pass --data <dir>';

function gunzipFile(path: string): Uint8Array {
  if (!existsSync(path)) throw new Error(`Fashion-MNIST: ${path} is missing; ${SETUP_HINT}`);
  try {
    return gunzipSync(readFileSync(path));
  } catch (error) {
    throw new Error(`Fashion-MNIST: ${path} is not a readable gzip file (${error instanceof Error ? error.message : String(error)}); reinstall dataset-fashion-mnist`);
  }
}

/** Parses one IDX file of unsigned bytes; `dims` are the expected dimensions after the count. */
export function parseIdx(bytes: Uint8Array, file: string, magic: number, count: number, dims: readonly number[]): Uint8Array {
  const header = 4 + 4 * (1 + dims.length);
  const damaged = (rule: string) => new Error(`Fashion-MNIST: ${file} is damaged: ${rule}; reinstall dataset-fashion-mnist`);
  if (bytes.length < header) throw damaged(`${bytes.length} bytes is shorter than its ${header}-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0);
  if (found !== magic) throw damaged(`magic number 0x${found.toString(16).padStart(8, '0')}, expected 0x${magic.toString(16).padStart(8, '0')}`);
  const n = view.getUint32(4);
  if (n !== count) throw damaged(`${n} items, expected ${count}`);
  dims.forEach((d, i) => {
    const got = view.getUint32(8 + 4 * i);
    if (got !== d) throw damaged(`dimension ${i + 1} is ${got}, expected ${d}`);
  });
  const size = count * dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + size) throw damaged(`${bytes.length} bytes, expected ${header + size} (header + ${size} values)`);
  return bytes.subarray(header);
}

/** 2×2 average pooling to 14×14, scaled to [0, 1]. */
function pool(pixels: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count * INPUTS);
  for (let n = 0; n < count; n++) {
    const src = n * SIDE * SIDE;
    const dst = n * INPUTS;
    for (let r = 0; r < POOLED_SIDE; r++) {
      for (let c = 0; c < POOLED_SIDE; c++) {
        const p = src + 2 * r * SIDE + 2 * c;
        out[dst + r * POOLED_SIDE + c] = (pixels[p]! + pixels[p + 1]! + pixels[p + SIDE]! + pixels[p + SIDE + 1]!) / (4 * 255);
      }
    }
  }
  return out;
}

function loadSplit(dir: string, which: keyof typeof FILES): Split {
  const f = FILES[which];
  const pixels = parseIdx(gunzipFile(join(dir, f.images)), f.images, IMAGES_MAGIC, f.count, [SIDE, SIDE]);
  const labels = parseIdx(gunzipFile(join(dir, f.labels)), f.labels, LABELS_MAGIC, f.count, []);
  const bad = labels.findIndex((l) => l >= CLASSES);
  if (bad >= 0) throw new Error(`Fashion-MNIST: ${f.labels} is damaged: label ${labels[bad]} at ${bad} is not a class 0–9; reinstall dataset-fashion-mnist`);
  return { images: pool(pixels, f.count), labels: labels.slice(), count: f.count };
}

export function loadFashionMnist(dir = DEFAULT_DATA_DIR): FashionMnist {
  return { train: loadSplit(dir, 'train'), test: loadSplit(dir, 'test') };
}

/** mulberry32: a small seeded PRNG, so subsets, shuffles and initialisations are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates with a seeded PRNG. */
export function permutation(n: number, random: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** The first `count` items of a seeded permutation, with the same number from every class (±1). */
export function subset(split: Split, count: number, seed: number): Split {
  if (!Number.isInteger(count) || count < CLASSES || count > split.count) {
    throw new RangeError(`subset: count must be an integer in [${CLASSES}, ${split.count}] (got ${count})`);
  }
  const order = permutation(split.count, prng(seed));
  const perClass = new Array<number>(CLASSES).fill(0);
  const quota = Math.ceil(count / CLASSES);
  const picked: number[] = [];
  for (const i of order) {
    const label = split.labels[i]!;
    if (perClass[label]! < quota) {
      perClass[label]!++;
      picked.push(i);
      if (picked.length === count) break;
    }
  }
  const images = new Float32Array(count * INPUTS);
  const labels = new Uint8Array(count);
  picked.forEach((from, to) => {
    images.set(split.images.subarray(from * INPUTS, (from + 1) * INPUTS), to * INPUTS);
    labels[to] = split.labels[from]!;
  });
  return { images, labels, count };
}
