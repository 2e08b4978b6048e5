/** The optimizer state format (docs/state-format.md): round trips, layout, determinism, and every way a blob can be refused. */
import { describe, expect, it } from 'vitest';
import { decodeState, describeState, encodeState, STATE_FORMAT_VERSION, type JsonValue, type OptimizerState } from '../src/state/index.js';
import { crc32 } from '../src/state/crc32.js';
import { readFloat32LE, writeFloat32LE } from '../src/state/float32.js';
import { xorshift32 } from './helpers.js';

const WHO = 'AdamW.loadState';
const utf8 = new TextEncoder();

/** Deterministic float32 values of many magnitudes and both signs. */
function floats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = xorshift32(x);
    out[i] = ((x >>> 8) / 2 ** 24 - 0.5) * 2 ** ((x % 17) - 8);
  }
  return out;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** Index of the first element whose bit patterns differ (NaN payloads included), or -1. */
function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const ua = bits(a);
  const ub = bits(b);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return i;
  return -1;
}

function expectSameState(actual: OptimizerState, expected: OptimizerState): void {
  // decodeState also says which version it read.
  const strip = ({ version: _, ...s }: OptimizerState) => ({ ...s, tensors: s.tensors.map((t) => ({ ...t, arrays: Object.keys(t.arrays) })) });
  expect(strip(actual)).toEqual(strip(expected));
  actual.tensors.forEach((t, i) => {
    for (const [name, data] of Object.entries(expected.tensors[i]!.arrays)) {
      expect(firstBitDifference(t.arrays[name]!, data), `tensors[${i}].${name}`).toBe(-1);
    }
  });
}

/** Version 1's shape, in which many of these tests are written: one array set per group. */
interface LegacyState {
  optimizer: string;
  stepCount: number;
  options: { [k: string]: JsonValue };
  includesParams: boolean;
  groups: { size: number; stepCount: number; hyperparameters: { [k: string]: JsonValue }; arrays: { [name: string]: Float32Array } }[];
}

/** The same state in version 2's terms: group i holds one tensor, named `t<i>`. */
function v2(s: LegacyState): OptimizerState {
  return {
    optimizer: s.optimizer,
    stepCount: s.stepCount,
    options: s.options,
    includesParams: s.includesParams,
    groups: s.groups.map((g, i) => ({ hyperparameters: g.hyperparameters, tensors: [`t${i}`] })),
    tensors: s.groups.map((g, i) => ({ name: `t${i}`, size: g.size, stepCount: g.stepCount, arrays: g.arrays })),
  };
}

const HYPER = Object.freeze({ lr: 1e-3, betas: Object.freeze([0.9, 0.999]), eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false });
/** A fresh copy of HYPER (tests edit states in place). */
const hyper = (): { [k: string]: JsonValue } => ({ ...HYPER, betas: [...HYPER.betas] });

function sampleState(includesParams = true): OptimizerState {
  const withParams = (size: number, seed: number, rest: Record<string, Float32Array>) =>
    includesParams ? { params: floats(size, seed), ...rest } : rest;
  return v2({
    optimizer: 'AdamW',
    stepCount: 7,
    options: { backend: 'auto', schedule: { warmup: 100, kind: 'cosine', milestones: [1, 2.5, null] } },
    includesParams,
    groups: [
      { size: 10, stepCount: 7, hyperparameters: hyper(), arrays: withParams(10, 1, { expAvg: floats(10, 2), expAvgSq: floats(10, 3) }) },
      {
        size: 3,
        stepCount: 5,
        hyperparameters: { ...hyper(), lr: 0.5, amsgrad: true, note: 'ünïcödé ✓ "quoted"' },
        arrays: withParams(3, 4, { expAvg: floats(3, 5), expAvgSq: floats(3, 6), maxExpAvgSq: floats(3, 7) }),
      },
      { size: 0, stepCount: 0, hyperparameters: {}, arrays: withParams(0, 8, { expAvg: new Float32Array(0) }) },
      { size: 17, stepCount: 2, hyperparameters: { lr: 0 }, arrays: withParams(17, 9, { momentumBuffer: floats(17, 10) }) },
    ],
  });
}

interface Layout {
  version: number;
  headerLength: number;
  total: bigint;
  header: {
    tensors: { size: number; arrays: { name: string; offset: number }[] }[];
  };
}

function layout(blob: Uint8Array): Layout {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const headerLength = view.getUint32(12, true);
  return {
    version: view.getUint32(8, true),
    headerLength,
    total: view.getBigUint64(16, true),
    header: JSON.parse(new TextDecoder().decode(blob.subarray(24, 24 + headerLength))) as Layout['header'],
  };
}

/** Recomputes the trailing CRC-32 after an edit, so that later checks are reached. */
function reseal(blob: Uint8Array): Uint8Array {
  new DataView(blob.buffer, blob.byteOffset, blob.byteLength).setUint32(blob.length - 4, crc32(blob.subarray(0, blob.length - 4)), true);
  return blob;
}

interface ForgeOptions {
  version?: number;
  /** Overrides the recorded total length. */
  total?: number;
  /** Overrides the recorded header length. */
  headerLength?: number;
  /** Where the checksum goes; defaults to right after the last payload or the header. */
  payloadEnd?: number;
}

/** A blob built by hand, as another writer might: any header text, payload bytes at chosen offsets, a correct CRC. */
function forge(header: unknown, payloads: [offset: number, data: Float32Array][], opts: ForgeOptions = {}): Uint8Array {
  const text = utf8.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const payloadEnd = opts.payloadEnd ?? Math.max(24 + text.length, ...payloads.map(([o, d]) => o + d.byteLength));
  const blob = new Uint8Array(payloadEnd + 4);
  const view = new DataView(blob.buffer);
  blob.set(utf8.encode('ADAMWST\0'), 0);
  view.setUint32(8, opts.version ?? 1, true);
  view.setUint32(12, opts.headerLength ?? text.length, true);
  view.setBigUint64(16, BigInt(opts.total ?? blob.length), true);
  blob.set(text, 24);
  for (const [offset, data] of payloads) blob.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
  return reseal(blob);
}

/** A valid hand-made header: two groups with params and expAvg, arrays from byte 1024 on. */
function forgedHeader() {
  return {
    optimizer: 'Adam',
    stepCount: 3,
    options: {},
    includesParams: true,
    groups: [
      { size: 3, stepCount: 3, hyperparameters: { lr: 0.1 }, arrays: [{ name: 'params', offset: 1024 }, { name: 'expAvg', offset: 1088 }] },
      { size: 2, stepCount: 1, hyperparameters: { lr: 0.2 }, arrays: [{ name: 'params', offset: 1152 }, { name: 'expAvg', offset: 1280 }] },
    ],
  };
}

const FORGED_PAYLOADS: [number, Float32Array][] = [
  [1024, new Float32Array([1, 2, 3])],
  [1088, new Float32Array([4, 5, 6])],
  [1152, new Float32Array([7, 8])],
  [1280, new Float32Array([9, 10])],
];

function forgeEdited(edit: (h: ReturnType<typeof forgedHeader>) => unknown, opts?: ForgeOptions): Uint8Array {
  const h = forgedHeader();
  const result = edit(h);
  return forge(result === undefined ? h : result, FORGED_PAYLOADS, opts);
}

describe('crc32', () => {
  it('matches the standard check values', () => {
    expect(crc32(utf8.encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(utf8.encode('a'))).toBe(0xe8b7be43);
    expect(crc32(utf8.encode('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  it('agrees with the bitwise definition at every length and alignment, and chains', () => {
    const reference = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const byte of b) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = new Uint8Array(floats(64, 42).buffer);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= data.length; end += 3) {
        const slice = data.subarray(start, end);
        expect(crc32(slice)).toBe(reference(slice));
        const cut = start + ((end - start) >> 1);
        expect(crc32(data.subarray(cut, end), crc32(data.subarray(start, cut)))).toBe(reference(slice));
      }
    }
  });
});

describe('round trip', () => {
  it.each([true, false])('several groups, includesParams %s', (includesParams) => {
    const state = sampleState(includesParams);
    const blob = encodeState(state);
    expect(blob).toBeInstanceOf(Uint8Array);
    const back = decodeState(blob, WHO);
    expectSameState(back, state);
    expect(back.includesParams).toBe(includesParams);
    expect(Object.keys(back.tensors[1]!.arrays)).toEqual(Object.keys(state.tensors[1]!.arrays));
  });

  it('empty options, no arrays, no groups', () => {
    for (const legacy of [
      { optimizer: 'SGD', stepCount: 0, options: {}, includesParams: false, groups: [{ size: 4, stepCount: 0, hyperparameters: { lr: 1 }, arrays: {} }] },
      { optimizer: 'SGD', stepCount: 0, options: {}, includesParams: false, groups: [] },
      { optimizer: 'SGDW', stepCount: 9, options: {}, includesParams: true, groups: [{ size: 0, stepCount: 9, hyperparameters: {}, arrays: { params: new Float32Array(0) } }] },
    ] satisfies LegacyState[]) {
      const state = v2(legacy);
      expectSameState(decodeState(encodeState(state), WHO), state);
    }
  });

  it('preserves NaN payloads, ±Infinity, -0, subnormals and extremes bit for bit', () => {
    const patterns = [
      0x7fc00000, 0xffc00000, 0x7fc00001, 0x7fbfffff, 0x7f800001, 0xffffffff, // quiet and signalling NaNs, with payloads
      0x7f800000, 0xff800000, 0x80000000, 0x00000000, 0x00000001, 0x807fffff, 0x7f7fffff, 0xff7fffff, 0x3f800000,
    ];
    const special = new Float32Array(new Uint32Array(patterns).buffer);
    const state = v2({
      optimizer: 'AdamW', stepCount: 1, options: {}, includesParams: true,
      groups: [{ size: special.length, stepCount: 1, hyperparameters: {}, arrays: { params: special, expAvg: special.slice().reverse() } }],
    });
    const back = decodeState(encodeState(state), WHO);
    expect(Array.from(bits(back.tensors[0]!.arrays.params!))).toEqual(patterns);
    expectSameState(back, state);
  });

  it('a 1M-element group', () => {
    const n = 1 << 20;
    const state = v2({
      optimizer: 'AdamW', stepCount: 1000, options: { lrSchedule: 'linear' }, includesParams: true,
      groups: [{ size: n, stepCount: 1000, hyperparameters: hyper(), arrays: { params: floats(n, 1), expAvg: floats(n, 2), expAvgSq: floats(n, 3) } }],
    });
    const blob = encodeState(state);
    expect(blob.length).toBeGreaterThan(3 * 4 * n);
    expect(blob.length).toBeLessThan(3 * 4 * n + 1024);
    expectSameState(decodeState(blob, WHO), state);
  });

  it('decoded arrays are fresh copies, independent of the input bytes', () => {
    const blob = encodeState(sampleState());
    const back = decodeState(blob, WHO);
    const before = back.tensors[0]!.arrays.params!.slice();
    blob.fill(0);
    expect(firstBitDifference(back.tensors[0]!.arrays.params!, before)).toBe(-1);
    expect(back.tensors[0]!.arrays.params!.byteOffset).toBe(0);
  });

  it('reads a blob at any byte offset of any buffer', () => {
    const blob = encodeState(sampleState());
    for (const shift of [1, 2, 3, 5]) {
      const host = new Uint8Array(blob.length + 16);
      host.set(blob, shift);
      expectSameState(decodeState(host.subarray(shift, shift + blob.length), WHO), sampleState());
    }
  });

  it('stores hyperparameters and options as JSON (-0 becomes 0), and keeps odd array names', () => {
    const arrays = Object.fromEntries([['__proto__', new Float32Array([1])], ['a b/ü', new Float32Array([2])]]);
    const state = v2({
      optimizer: 'AdamW', stepCount: 0, options: { x: -0 }, includesParams: false,
      groups: [{ size: 1, stepCount: 0, hyperparameters: { nested: { deep: [[-0]] } }, arrays }],
    });
    const back = decodeState(encodeState(state), WHO);
    expect(Object.is(back.options.x, 0)).toBe(true);
    expect(Object.keys(back.tensors[0]!.arrays)).toEqual(['__proto__', 'a b/ü']);
    expect(Object.getPrototypeOf(back.tensors[0]!.arrays)).toBe(Object.prototype);
    expect(back.tensors[0]!.arrays['a b/ü']![0]).toBe(2);
  });
});

describe('determinism', () => {
  it('equal states encode to identical bytes, whatever the key order of options and hyperparameters', () => {
    const a = encodeState(sampleState());
    expect(encodeState(sampleState())).toEqual(a);
    const reordered = sampleState();
    reordered.options = { schedule: { milestones: [1, 2.5, null], kind: 'cosine', warmup: 100 }, backend: 'auto' };
    reordered.groups[0]!.hyperparameters = Object.fromEntries(Object.entries(hyper()).reverse());
    expect(encodeState(reordered)).toEqual(a);
    expect(encodeState(decodeState(a, WHO))).toEqual(a);
  });
});

describe('layout', () => {
  it('prefix, header, 64-byte-aligned float32 LE arrays, trailing CRC-32', () => {
    const state = sampleState();
    const blob = encodeState(state);
    const { version, headerLength, total, header } = layout(blob);
    expect(Array.from(blob.subarray(0, 8))).toEqual([0x41, 0x44, 0x41, 0x4d, 0x57, 0x53, 0x54, 0x00]);
    expect(version).toBe(STATE_FORMAT_VERSION);
    expect(STATE_FORMAT_VERSION).toBe(2);
    expect(total).toBe(BigInt(blob.length));
    expect(header).toMatchObject({ optimizer: 'AdamW', stepCount: 7, includesParams: true });
    // Arrays: in order, each at the first multiple of 64 at or after the end of what precedes it.
    let cursor = 24 + headerLength;
    const view = new DataView(blob.buffer);
    header.tensors.forEach((g, i) =>
      g.arrays.forEach(({ name, offset }) => {
        expect(offset % 64).toBe(0);
        expect(offset).toBe(Math.ceil(cursor / 64) * 64);
        expect(blob.subarray(cursor, offset).every((b) => b === 0)).toBe(true);
        const data = state.tensors[i]!.arrays[name]!;
        for (let k = 0; k < data.length; k++) expect(view.getFloat32(offset + 4 * k, true)).toBe(data[k]);
        cursor = offset + 4 * g.size;
      }),
    );
    expect(cursor).toBe(blob.length - 4);
    expect(view.getUint32(blob.length - 4, true)).toBe(crc32(blob.subarray(0, blob.length - 4)));
  });

  it('matches the worked example in docs/state-format.md byte for byte', () => {
    const blob = encodeState({
      optimizer: 'SGD', stepCount: 3, options: {}, includesParams: false,
      groups: [{ hyperparameters: { lr: 0.1 }, tensors: ['w'] }],
      tensors: [{ name: 'w', size: 2, stepCount: 3, arrays: { momentumBuffer: new Float32Array([1, -2]) } }],
    });
    const header = '{"optimizer":"SGD","stepCount":3,"options":{},"includesParams":false,' +
      '"groups":[{"hyperparameters":{"lr":0.1},"tensors":["w"]}],' +
      '"tensors":[{"name":"w","size":2,"stepCount":3,"arrays":[{"name":"momentumBuffer","offset":256}]}]}';
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    expect(blob.length).toBe(268);
    expect(hex(blob.subarray(0, 24))).toBe('4144414d57535400' + '02000000' + 'e1000000' + '0c01000000000000');
    expect(new TextDecoder().decode(blob.subarray(24, 249))).toBe(header);
    expect(blob.subarray(249, 256).every((b) => b === 0)).toBe(true);
    expect(hex(blob.subarray(256))).toBe('0000803f' + '000000c0' + '09b6fbae');
  });

  it('lets a reader view arrays in place without copying when the buffer is aligned', () => {
    const state = sampleState();
    const blob = encodeState(state);
    const { header } = layout(blob);
    const entry = header.tensors[1]!.arrays.find((a) => a.name === 'maxExpAvgSq')!;
    const view = new Float32Array(blob.buffer, entry.offset, header.tensors[1]!.size);
    expect(firstBitDifference(view, state.tensors[1]!.arrays.maxExpAvgSq!)).toBe(-1);
  });

  it('puts the checksum right after the header when there are no arrays', () => {
    const blob = encodeState({ optimizer: 'SGD', stepCount: 0, options: {}, includesParams: false, groups: [], tensors: [] });
    expect(blob.length).toBe(24 + layout(blob).headerLength + 4);
  });

  it('aligns arrays for every header length (the header’s offsets depend on its own length)', () => {
    for (let pad = 0; pad < 140; pad++) {
      const state = v2({
        optimizer: 'AdamW', stepCount: 1, options: { pad: 'x'.repeat(pad) }, includesParams: false,
        groups: [{ size: 5, stepCount: 1, hyperparameters: {}, arrays: { a: floats(5, pad + 1), b: floats(5, pad + 2) } }],
      });
      const blob = encodeState(state);
      const { headerLength, header } = layout(blob);
      const [a, b] = header.tensors[0]!.arrays;
      expect(a!.offset).toBe(Math.ceil((24 + headerLength) / 64) * 64);
      expect(b!.offset).toBe(a!.offset + 64);
      expectSameState(decodeState(blob, WHO), state);
    }
  });

  it('big-endian hosts write and read the same little-endian bytes', () => {
    const data = floats(33, 5);
    const native = new Uint8Array(4 + data.byteLength);
    const swapped = new Uint8Array(4 + data.byteLength);
    writeFloat32LE(native, 4, data, true);
    writeFloat32LE(swapped, 4, data, false);
    // On this (little-endian) host, pretending to be big-endian swaps each word.
    for (let i = 4; i < native.length; i += 4) expect(Array.from(swapped.subarray(i, i + 4))).toEqual(Array.from(native.subarray(i, i + 4)).reverse());
    expect(firstBitDifference(readFloat32LE(native, 4, 33, true), data)).toBe(-1);
    expect(firstBitDifference(readFloat32LE(swapped, 4, 33, false), data)).toBe(-1);
  });
});

describe('describeState', () => {
  it('returns the header without the arrays', () => {
    const blob = encodeState(sampleState());
    expect(describeState(blob, WHO)).toEqual({
      version: 2,
      byteLength: blob.length,
      optimizer: 'AdamW',
      stepCount: 7,
      options: sampleState().options,
      includesParams: true,
      groups: sampleState().groups,
      tensors: sampleState().tensors.map((t) => ({ name: t.name, size: t.size, stepCount: t.stepCount, arrayNames: Object.keys(t.arrays) })),
    });
  });

  it('checks the blob as decodeState does', () => {
    const blob = encodeState(sampleState());
    const last = blob.length - 10;
    blob[last] = blob[last]! ^ 1;
    expect(() => describeState(blob, WHO)).toThrow(/checksum mismatch/);
    expect(() => describeState(blob.subarray(0, 100), WHO)).toThrow(/truncated/);
  });
});

describe('decodeState refuses', () => {
  const blob = encodeState(sampleState());

  it('non-Uint8Array input', () => {
    for (const bad of [blob.buffer, Array.from(blob), 'ADAMWST', null, new Uint16Array(4)]) {
      expect(() => decodeState(bad as unknown as Uint8Array, WHO)).toThrow(TypeError);
    }
  });

  it('a blob truncated at any byte, saying how long it should be', () => {
    for (let n = 0; n < blob.length; n++) {
      const cut = blob.slice(0, n);
      const expected = n < 28 ? 'expected at least 28 bytes' : `expected ${blob.length} bytes`;
      expect(() => decodeState(cut, WHO), `cut at ${n}`).toThrow(RangeError);
      expect(() => decodeState(cut, WHO), `cut at ${n}`).toThrow(`${WHO}: truncated state`);
      expect(() => decodeState(cut, WHO), `cut at ${n}`).toThrow(new RegExp(`${expected}.*got ${n}$`));
    }
  });

  it('a large blob truncated at sampled bytes, and one with bytes appended', () => {
    const n = 1 << 18;
    const big = encodeState(v2({
      optimizer: 'AdamW', stepCount: 1, options: {}, includesParams: false,
      groups: [{ size: n, stepCount: 1, hyperparameters: {}, arrays: { expAvg: floats(n, 1), expAvgSq: floats(n, 2) } }],
    }));
    for (let cut = 0; cut < big.length; cut += 65_537) expect(() => decodeState(big.subarray(0, cut), WHO)).toThrow(/truncated state/);
    expect(() => decodeState(big.subarray(0, big.length - 1), WHO)).toThrow(`expected ${big.length} bytes (the length recorded in the state), got ${big.length - 1}`);
    const longer = new Uint8Array(big.length + 3);
    longer.set(big);
    expect(() => decodeState(longer, WHO)).toThrow(/3 extra bytes at the end/);
  });

  it('a single changed byte anywhere', () => {
    for (let i = 0; i < blob.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bad = blob.slice();
        bad[i] = bad[i]! ^ mask;
        const expected =
          i < 8 ? /not an adamw-wasm state/
          : i < 12 ? /unsupported state format version/
          : i < 16 ? /checksum mismatch|does not fit/
          : i < 24 ? /truncated state|extra bytes/
          : /checksum mismatch: the state is corrupted/;
        expect(() => decodeState(bad, WHO), `byte ${i} ^ ${mask}`).toThrow(expected);
      }
    }
  });

  it('corruption of the header, a payload or the checksum, as a checksum mismatch', () => {
    const { headerLength, header } = layout(blob);
    const at = [24, 24 + (headerLength >> 1), 24 + headerLength - 1, header.tensors[0]!.arrays[1]!.offset + 5, blob.length - 5, blob.length - 4, blob.length - 1];
    for (const i of at) {
      const bad = blob.slice();
      bad[i] = bad[i]! ^ 0x10;
      expect(() => decodeState(bad, WHO)).toThrow(`${WHO}: checksum mismatch: the state is corrupted (stored CRC-32 0x`);
    }
  });

  it('wrong magic', () => {
    for (const bad of [utf8.encode('{"optimizer":"AdamW"}'), new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(100)]), utf8.encode('ADAMX')]) {
      expect(() => decodeState(bad, WHO)).toThrow(`${WHO}: not an adamw-wasm state`);
    }
    const renamed = blob.slice();
    renamed[6] = 0x58;
    expect(() => decodeState(reseal(renamed), WHO)).toThrow(/not an adamw-wasm state/);
  });

  it('other versions, naming the supported one', () => {
    for (const version of [0, 3, 0xffffffff]) {
      const bad = blob.slice();
      new DataView(bad.buffer).setUint32(8, version, true);
      expect(() => decodeState(reseal(bad), WHO)).toThrow(`${WHO}: unsupported state format version ${version}; this adamw-wasm reads version 1, 2`);
      expect(() => describeState(reseal(bad), WHO)).toThrow(/unsupported/);
    }
  });

  it('a header length that does not fit', () => {
    const bad = blob.slice();
    new DataView(bad.buffer).setUint32(12, blob.length, true);
    expect(() => decodeState(reseal(bad), WHO)).toThrow(/header does not fit in a \d+-byte state/);
  });

  it('reads version 1, laid out by another writer (gaps, later offsets), as one tensor per group named after it', () => {
    const state = decodeState(forgeEdited(() => undefined), WHO);
    expect(state.tensors.map((t) => Array.from(t.arrays.expAvg!))).toEqual([[4, 5, 6], [9, 10]]);
    expect(state.groups).toEqual([{ hyperparameters: { lr: 0.1 }, tensors: ['groups[0]'] }, { hyperparameters: { lr: 0.2 }, tensors: ['groups[1]'] }]);
    expect(state.tensors.map((t) => [t.name, t.size, t.stepCount])).toEqual([['groups[0]', 3, 3], ['groups[1]', 2, 1]]);
    expect(state.optimizer).toBe('Adam');
    // Padding after the arrays and whitespace in the header are fine too.
    expect(() => decodeState(forge(`  ${JSON.stringify(forgedHeader(), null, 2)}\n`, FORGED_PAYLOADS, { payloadEnd: 2000 }), WHO)).not.toThrow();
  });

  it('malformed or non-UTF-8 header JSON', () => {
    for (const text of ['', '{', '{"optimizer":"AdamW",}', 'null x', '\u0000{}']) {
      expect(() => decodeState(forge(text, []), WHO)).toThrow(`${WHO}: invalid state: malformed header JSON (`);
    }
    const bad = forge('{"optimizer":"AB"}', []);
    bad[24 + 14] = 0xff;
    expect(() => decodeState(reseal(bad), WHO)).toThrow(/header is not valid UTF-8/);
  });

  const headerCases: [string, (h: ReturnType<typeof forgedHeader>) => unknown, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, RegExp][] = [
    ['not an object', () => [1, 2], TypeError, /header must be an object \(got an array of length 2\)/],
    ['null', () => null, TypeError, /header must be an object \(got null\)/],
    ['missing field', (h) => ({ ...h, stepCount: undefined }), TypeError, /header is missing the field 'stepCount'/],
    ['unknown field', (h) => ({ ...h, extra: 1 }), TypeError, /header has an unknown field 'extra'/],
    ['optimizer type', (h) => ({ ...h, optimizer: 5 }), TypeError, /header\.optimizer must be a non-empty string \(got 5\)/],
    ['empty optimizer', (h) => ({ ...h, optimizer: '' }), TypeError, /header\.optimizer must be a non-empty string/],
    ['stepCount type', (h) => ({ ...h, stepCount: '3' }), TypeError, /header\.stepCount must be an integer >= 0 \(got "3"\)/],
    ['negative stepCount', (h) => ({ ...h, stepCount: -1 }), RangeError, /header\.stepCount must be an integer >= 0 \(got -1\)/],
    ['fractional stepCount', (h) => ({ ...h, stepCount: 1.5 }), RangeError, /header\.stepCount must be an integer >= 0 \(got 1\.5\)/],
    ['huge stepCount', (h) => ({ ...h, stepCount: 2 ** 60 }), RangeError, /header\.stepCount must be <= Number\.MAX_SAFE_INTEGER/],
    ['options type', (h) => ({ ...h, options: [] }), TypeError, /header\.options must be an object/],
    ['options Infinity', (h) => `${JSON.stringify({ ...h, options: { x: 0 } }).replace('"x":0', '"x":1e999')}`, TypeError, /header\.options\.x must be a finite number/],
    ['includesParams type', (h) => ({ ...h, includesParams: 'yes' }), TypeError, /header\.includesParams must be a boolean/],
    ['groups type', (h) => ({ ...h, groups: {} }), TypeError, /header\.groups must be an array/],
    ['group type', (h) => ({ ...h, groups: [7] }), TypeError, /header\.groups\[0\] must be an object \(got 7\)/],
    ['group size negative', (h) => void (h.groups[1]!.size = -2), RangeError, /header\.groups\[1\]\.size must be an integer >= 0 \(got -2\)/],
    ['group size fractional', (h) => void (h.groups[1]!.size = 2.5), RangeError, /header\.groups\[1\]\.size must be an integer >= 0/],
    ['group size type', (h) => void ((h.groups[1] as Record<string, unknown>).size = null), TypeError, /header\.groups\[1\]\.size must be an integer >= 0 \(got null\)/],
    ['group stepCount', (h) => void (h.groups[0]!.stepCount = -1), RangeError, /header\.groups\[0\]\.stepCount must be an integer >= 0/],
    ['group hyperparameters', (h) => void ((h.groups[0] as Record<string, unknown>).hyperparameters = 'lr'), TypeError, /header\.groups\[0\]\.hyperparameters must be an object/],
    ['group unknown field', (h) => void ((h.groups[0] as Record<string, unknown>).sizes = 1), TypeError, /header\.groups\[0\] has an unknown field 'sizes'/],
    ['arrays type', (h) => void ((h.groups[0] as Record<string, unknown>).arrays = {}), TypeError, /header\.groups\[0\]\.arrays must be an array/],
    ['array name type', (h) => void ((h.groups[0]!.arrays[1] as Record<string, unknown>).name = 3), TypeError, /header\.groups\[0\]\.arrays\[1\]\.name must be a non-empty string/],
    ['array name empty', (h) => void (h.groups[0]!.arrays[1]!.name = ''), TypeError, /arrays\[1\]\.name must be a non-empty string/],
    ['duplicate array name', (h) => void (h.groups[0]!.arrays[1]!.name = 'params'), TypeError, /arrays\[1\]\.name "params" repeats an earlier array name/],
    ['offset type', (h) => void ((h.groups[0]!.arrays[1] as Record<string, unknown>).offset = '1088'), TypeError, /arrays\[1\]\.offset must be an integer >= 0/],
    ['offset negative', (h) => void (h.groups[0]!.arrays[1]!.offset = -64), RangeError, /arrays\[1\]\.offset must be an integer >= 0/],
    ['params missing', (h) => void (h.groups[1]!.arrays[0]!.name = 'other'), TypeError, /header\.groups\[1\] lacks a 'params' array but header\.includesParams is true/],
    ['params unexpected', (h) => ({ ...h, includesParams: false }), TypeError, /header\.groups\[0\] has a 'params' array but header\.includesParams is false/],
    ['unaligned offset', (h) => void (h.groups[0]!.arrays[1]!.offset = 1100), RangeError, /arrays\[1\] \("expAvg"\) offset 1100 is not a multiple of 64/],
    ['overlapping arrays', (h) => void (h.groups[1]!.arrays[1]!.offset = 1152), RangeError, /groups\[1\]\.arrays\[1\] \("expAvg"\) starts at byte 1152, before the end of header\.groups\[1\]\.arrays\[0\] \("params"\) at byte 1160/],
    ['out-of-order arrays', (h) => void (h.groups[1]!.arrays[1]!.offset = 1088), RangeError, /groups\[1\]\.arrays\[1\] \("expAvg"\) starts at byte 1088, before the end of .*in order/],
    ['array inside the header', (h) => void (h.groups[0]!.arrays[0]!.offset = 0), RangeError, /arrays\[0\] \("params"\) starts at byte 0, before the end of the header at byte \d+/],
    ['array beyond the end', (h) => void (h.groups[1]!.size = 100), RangeError, /groups\[1\]\.arrays\[0\] \("params"\) needs bytes 1152 to 1552 \(100 float32\) but the arrays end at byte 1288 of 1292/],
    ['array far beyond the end', (h) => void (h.groups[1]!.arrays[1]!.offset = 2 ** 40), RangeError, /needs bytes 1099511627776 to 1099511627784/],
  ];

  it.each(headerCases)('a header with a bad field: %s', (_, edit, type, message) => {
    const bad = forgeEdited(edit);
    expect(() => decodeState(bad, WHO)).toThrow(type);
    expect(() => decodeState(bad, WHO)).toThrow(message);
    expect(() => decodeState(bad, WHO)).toThrow(`${WHO}: `);
    expect(() => describeState(bad, WHO)).toThrow(message);
  });

  /** The forged header in version 2's terms: the same arrays, as tensors named a and b. */
  function forgedV2(edit: (h: Record<string, unknown> & { groups: { tensors: string[] }[]; tensors: Record<string, unknown>[] }) => void = () => {}) {
    const v1 = forgedHeader();
    const h = {
      ...v1,
      groups: v1.groups.map((g, i) => ({ hyperparameters: g.hyperparameters, tensors: [['a', 'b'][i]!] })),
      tensors: v1.groups.map((g, i) => ({ name: ['a', 'b'][i]!, size: g.size, stepCount: g.stepCount, arrays: g.arrays })),
    };
    edit(h);
    return forge(h, FORGED_PAYLOADS, { version: 2 });
  }

  it('reads version 2 laid out by another writer', () => {
    const state = decodeState(forgedV2(), WHO);
    expect(state.groups).toEqual([{ hyperparameters: { lr: 0.1 }, tensors: ['a'] }, { hyperparameters: { lr: 0.2 }, tensors: ['b'] }]);
    expect(state.tensors.map((t) => [t.name, Array.from(t.arrays.params!)])).toEqual([['a', [1, 2, 3]], ['b', [7, 8]]]);
  });

  it.each([
    ['a version-1 header under version 2', () => forge(forgedHeader(), FORGED_PAYLOADS, { version: 2 }), /header is missing the field 'tensors'/],
    ['a group naming no tensor', () => forgedV2((h) => void (h.groups[1]!.tensors = ['c'])), /header\.groups\[1\]\.tensors\[0\] names no tensor \("c"\)/],
    ['a tensor in no group', () => forgedV2((h) => void (h.groups[1]!.tensors = [])), /header\.tensors "b" belong to no group/],
    ['a tensor in two groups', () => forgedV2((h) => void (h.groups[1]!.tensors = ['b', 'a'])), /header\.groups\[1\]\.tensors\[1\] "a" is already in header\.groups\[0\]/],
    ['a repeated tensor name', () => forgedV2((h) => void (h.tensors[1]!.name = 'a')), /header\.tensors\[1\]\.name "a" repeats header\.tensors\[0\]'s/],
    ['an empty tensor name', () => forgedV2((h) => void (h.tensors[0]!.name = '')), /header\.tensors\[0\]\.name must be a non-empty string/],
    ['a group field version 1 had', () => forgedV2((h) => void ((h.groups[0] as Record<string, unknown>).size = 3)), /header\.groups\[0\] has an unknown field 'size' \(version 2 has hyperparameters, tensors\)/],
    ['a tensor beyond the end', () => forgedV2((h) => void (h.tensors[1]!.size = 100)), /header\.tensors\[1\]\.arrays\[0\] \("params"\) needs bytes 1152 to 1552/],
  ])('a version-2 header with %s', (_, make, message) => {
    expect(() => decodeState(make(), WHO)).toThrow(message);
  });

  it('non-zero padding', () => {
    for (const at of [1020, 1040, 1290]) {
      const bad = forgeEdited(() => undefined, { payloadEnd: 1292 });
      bad[at] = 1;
      expect(() => decodeState(reseal(bad), WHO)).toThrow(new RegExp(`padding byte ${at} .* is 1, not 0`));
    }
  });
});

describe('encodeState refuses', () => {
  type Edit = (s: OptimizerState & Record<string, unknown>) => void;
  const cases: [string, Edit, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, RegExp][] = [
    ['an empty optimizer name', (s) => void (s.optimizer = ''), TypeError, /state\.optimizer must be a non-empty string/],
    ['a negative stepCount', (s) => void (s.stepCount = -1), RangeError, /state\.stepCount must be an integer >= 0 \(got -1\)/],
    ['a fractional stepCount', (s) => void (s.stepCount = 0.5), RangeError, /state\.stepCount must be an integer >= 0/],
    ['a NaN stepCount', (s) => void (s.stepCount = NaN), RangeError, /state\.stepCount must be an integer >= 0 \(got NaN\)/],
    ['a string stepCount', (s) => void ((s as Record<string, unknown>).stepCount = '1'), TypeError, /state\.stepCount must be an integer >= 0/],
    ['NaN in options', (s) => void (s.options = { x: NaN }), TypeError, /state\.options\.x must be a finite number \(JSON has no NaN or Infinity\) \(got NaN\)/],
    ['undefined in options', (s) => void (s.options = { backend: undefined } as unknown as OptimizerState['options']), TypeError, /state\.options\.backend must be a JSON value .*\(got undefined\)/],
    ['a function in options', (s) => void (s.options = { f: (() => 1) as unknown as string }), TypeError, /state\.options\.f must be a JSON value/],
    ['a Date in options', (s) => void (s.options = { d: new Date(0) as unknown as string }), TypeError, /state\.options\.d must be a JSON value .*\(got a Date\)/],
    ['a hole in an options array', (s) => void (s.options = { a: [1, , 3] as number[] }), TypeError, /state\.options\.a\[1\] must be a JSON value/],
    ['a cycle in options', (s) => { const o: Record<string, unknown> = {}; o.self = o; s.options = o as OptimizerState['options']; }, TypeError, /nested at most 64 deep/],
    ['a non-boolean includesParams', (s) => void ((s as Record<string, unknown>).includesParams = 1), TypeError, /state\.includesParams must be a boolean/],
    ['groups that are not an array', (s) => void ((s as Record<string, unknown>).groups = {}), TypeError, /state\.groups must be an array/],
    ['a hole in groups', (s) => void (s.groups = [s.groups[0]!, , s.groups[1]!] as OptimizerState['groups']), TypeError, /state\.groups\[1\] must be an object \(got undefined\)/],
    ['a fractional size', (s) => void (s.tensors[1]!.size = 2.5), RangeError, /state\.tensors\[1\]\.size must be an integer >= 0/],
    ['a negative tensor stepCount', (s) => void (s.tensors[1]!.stepCount = -3), RangeError, /state\.tensors\[1\]\.stepCount must be an integer >= 0 \(got -3\)/],
    ['Infinity in hyperparameters', (s) => void (s.groups[0]!.hyperparameters.lr = Infinity), TypeError, /state\.groups\[0\]\.hyperparameters\.lr must be a finite number/],
    ['NaN in nested hyperparameters', (s) => void (s.groups[0]!.hyperparameters.betas = [0.9, NaN]), TypeError, /state\.groups\[0\]\.hyperparameters\.betas\[1\] must be a finite number/],
    ['a wrong-length array', (s) => void (s.tensors[1]!.arrays.expAvg = new Float32Array(4)), RangeError, /state\.tensors\[1\]\.arrays\["expAvg"\]\.length must be 3, the tensor's size \(got 4\)/],
    ['a Float64Array', (s) => void (s.tensors[1]!.arrays.expAvg = new Float64Array(3) as unknown as Float32Array), TypeError, /arrays\["expAvg"\] must be a Float32Array \(got a Float64Array\)/],
    ['a plain array', (s) => void (s.tensors[1]!.arrays.expAvg = [1, 2, 3] as unknown as Float32Array), TypeError, /arrays\["expAvg"\] must be a Float32Array \(got an array of length 3\)/],
    ['an empty array name', (s) => void (s.tensors[1]!.arrays[''] = new Float32Array(3)), TypeError, /state\.tensors\[1\]\.arrays has an array with an empty name/],
    ['a missing params array', (s) => void delete s.tensors[2]!.arrays.params, TypeError, /state\.tensors\[2\]\.arrays lacks 'params' but state\.includesParams is true/],
    ['an unexpected params array', (s) => void (s.includesParams = false), TypeError, /state\.tensors\[0\]\.arrays has 'params' but state\.includesParams is false/],
    ['tensors that are not an array', (s) => void ((s as Record<string, unknown>).tensors = {}), TypeError, /state\.tensors must be an array/],
    ['a group naming no tensor', (s) => void (s.groups[0]!.tensors = ['nope']), TypeError, /state\.groups\[0\]\.tensors\[0\] names no tensor \("nope"\)/],
    ['a tensor in two groups', (s) => void (s.groups[1]!.tensors = ['t1', 't0']), TypeError, /state\.groups\[1\]\.tensors\[1\] "t0" is already in state\.groups\[0\]/],
    ['a tensor in no group', (s) => void (s.groups[3]!.tensors = []), TypeError, /state\.tensors "t3" belong to no group/],
    ['a repeated tensor name', (s) => void (s.tensors[2]!.name = 't1'), TypeError, /state\.tensors\[2\]\.name "t1" repeats state\.tensors\[1\]'s/],
    ['group tensors not an array', (s) => void ((s.groups[0] as unknown as Record<string, unknown>).tensors = 't0'), TypeError, /state\.groups\[0\]\.tensors must be an array of tensor names/],
  ];

  it('a state that is not an object', () => {
    for (const bad of [null, undefined, 3, 'state', [sampleState()]]) {
      expect(() => encodeState(bad as unknown as OptimizerState)).toThrow(/^encodeState: state must be an object/);
    }
  });

  it.each(cases)('%s', (_, edit, type, message) => {
    const state = sampleState() as OptimizerState & Record<string, unknown>;
    edit(state);
    expect(() => encodeState(state)).toThrow(type);
    expect(() => encodeState(state)).toThrow(message);
    expect(() => encodeState(state)).toThrow(/^encodeState: /);
    expect(() => encodeState(state, 'AdamW.saveState')).toThrow(/^AdamW\.saveState: /);
  });
});
