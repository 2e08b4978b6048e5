/** Deterministic test data and bitwise comparison shared by the package's tests. */

/** xorshift32: the tests' one generator of deterministic data (the kernel crate's `xorshift32` too). */
export function xorshift32(x: number): number {
  x = x >>> 0 || 1;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}

/** A stream of xorshift32 values in [0, 1), so a failing seed can be replayed. */
export function uniform(seed: number): () => number {
  let x = seed;
  return () => (x = xorshift32(x)) / 2 ** 32;
}

/** xorshift32 values over many binades, with exact zeros and both signs. */
export function fillVaried(out: Float32Array, seed: number, scale = 1): Float32Array {
  let x = seed;
  for (let i = 0; i < out.length; i++) {
    x = xorshift32(x);
    if (x % 11 === 0) {
      out[i] = 0;
      continue;
    }
    const mantissa = (x >>> 8) / 2 ** 24 - 0.5;
    out[i] = mantissa * scale * 2 ** ((x % 13) - 6);
  }
  return out;
}

export const varied = (n: number, seed: number, scale = 1): Float32Array => fillVaried(new Float32Array(n), seed, scale);

/**
 * Index of the first element whose bits differ, or -1. NaNs of any payload count as equal unless
 * `nanPayloads` (our backends must agree on those too; PyTorch need not).
 */
export function firstBitDifference(a: Float32Array, b: Float32Array, nanPayloads = false): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && (nanPayloads || !(Number.isNaN(a[i]) && Number.isNaN(b[i])))) return i;
  }
  return -1;
}

/** What `checksum` reads of an optimizer (any family). */
interface Checksummed {
  readonly stepCount: number;
  readonly clipGradNorm: number | undefined;
  readonly nonFinite: string;
  readonly groups: readonly { readonly hyperparameters: object }[];
  readonly tensors: readonly {
    readonly name: string;
    readonly group: number;
    readonly shape: readonly number[];
    readonly stepCount: number;
    readonly params: Float32Array;
    readonly grads: Float32Array;
    readonly state: object;
  }[];
}

/**
 * Everything a load can change, as one string: step counts, options, every group's
 * hyperparameters (a schedule by identity), and per tensor its shape and the bits of its
 * parameters, gradients and state arrays. Equal strings: bitwise the same optimizer.
 */
export function checksum(opt: Checksummed): string {
  const ids = new Map<unknown, number>();
  const value = (v: unknown): string =>
    typeof v === 'function' ? `<fn#${ids.get(v) ?? (ids.set(v, ids.size), ids.size - 1)}>` : Object.is(v, -0) ? '-0' : JSON.stringify(v, (_, x: unknown) => (x instanceof RegExp ? `/${x.source}/${x.flags}` : x));
  const bits = (a: Float32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
  const lines = [`stepCount=${opt.stepCount} clip=${opt.clipGradNorm} nonFinite=${opt.nonFinite}`];
  opt.groups.forEach((g, k) => {
    const h = g.hyperparameters as Record<string, unknown>;
    lines.push(`group ${k}: ${Object.keys(h).sort().map((key) => `${key}=${value(h[key])}`).join(' ')}`);
  });
  for (const t of opt.tensors) {
    const state = t.state as Record<string, Float32Array>;
    lines.push(`${t.name} group=${t.group} shape=[${t.shape.join(',')}] steps=${t.stepCount} params=${bits(t.params)} grads=${bits(t.grads)}`);
    for (const name of Object.keys(state).sort()) lines.push(`${t.name} ${name}=${bits(state[name]!)}`);
  }
  return lines.join('\n');
}
