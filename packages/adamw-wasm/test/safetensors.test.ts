/** The safetensors codec (docs/safetensors.md, "The container"): layout, reference files, conversions, round trips, and every refusal. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromSafetensors, safetensorsToFloat32, toSafetensors, type SafetensorsDtype, type SafetensorsInput, type SafetensorsTensor } from '../src/state/safetensors.js';

const DTYPES: readonly SafetensorsDtype[] = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'];
const SIZE: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** A byte string written as Python writes `b'...'` literals (every char code < 256). */
const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A file by hand: the length field (default: the header's length), the header bytes, the data. */
function file(header: string | Uint8Array, data: ArrayLike<number> = [], length?: bigint): Uint8Array {
  const h = typeof header === 'string' ? utf8(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const entry = (dtype: string, shape: unknown, offsets: unknown): string => JSON.stringify({ dtype, shape, data_offsets: offsets });
const tensor = (dtype: SafetensorsDtype, shape: number[], data: ArrayLike<number>): SafetensorsTensor => ({ dtype, shape, data: Uint8Array.from(data) });

describe('layout', () => {
  it('matches a hand-computed file: length field, metadata first, space padding, 8-aligned contiguous data', () => {
    const bytes = toSafetensors({ a: new Float32Array([1, -2]), b: { dtype: 'I64', shape: [], data: new BigInt64Array([5n]) } }, { format: 'pt' });
    const json = '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}';
    expect(json.length).toBe(138); // padded with 6 spaces to 144, so the data starts at 152 = 19 × 8
    const expected = [
      ...[144, 0, 0, 0, 0, 0, 0, 0],
      ...utf8(json),
      ...utf8('      '),
      ...[0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0], // 1, -2 as float32 LE
      ...[5, 0, 0, 0, 0, 0, 0, 0],
    ];
    expect([...bytes]).toEqual(expected);
    expect(bytes.length).toBe(168);
  });

  it('writes what the reference implementation writes (its test_pt.py fixture) and reads it back', () => {
    // safetensors.torch.save({"test": torch.zeros((2, 2), dtype=torch.int32)}), from huggingface/safetensors' tests
    const reference = latin1('@\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ' + '\x00'.repeat(16));
    expect(toSafetensors({ test: { dtype: 'I32', shape: [2, 2], data: new Int32Array(4) } })).toEqual(reference);
    const read = fromSafetensors(reference);
    expect([...read.tensors.keys()]).toEqual(['test']);
    expect(read.tensors.get('test')).toEqual(tensor('I32', [2, 2], new Array(16).fill(0)));
    expect(read.metadata).toEqual({});
  });

  it('reads the reference test_deserialization_metadata fixture (a header length that is not 8-aligned)', () => {
    const reference = latin1(
      'f\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ' + '\x00'.repeat(16),
    );
    const read = fromSafetensors(reference);
    expect(read.metadata).toEqual({ framework: 'pt' });
    expect(read.tensors.get('test1')).toEqual(tensor('I32', [2, 2], new Array(16).fill(0)));
  });

  it('writes typed arrays little-endian, takes Uint8Array data as raw bytes, and honours subarray offsets', () => {
    const backing = new Float32Array([9, 1, 9]);
    const bytes = toSafetensors(
      new Map<string, SafetensorsInput>([
        ['f64', { dtype: 'F64', shape: [1], data: new Float64Array([1]) }],
        ['i64', { dtype: 'I64', shape: [1], data: new BigInt64Array([-2n]) }],
        ['bf16', { dtype: 'BF16', shape: [1], data: new Uint16Array([0x3f80]) }],
        ['raw', { dtype: 'I16', shape: [1], data: Uint8Array.of(0x34, 0x12) }],
        ['sub', backing.subarray(1, 2)],
      ]),
    );
    const read = fromSafetensors(bytes);
    expect([...read.tensors.keys()]).toEqual(['f64', 'i64', 'bf16', 'raw', 'sub']);
    expect([...read.tensors.get('f64')!.data]).toEqual([0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    expect([...read.tensors.get('i64')!.data]).toEqual([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect([...read.tensors.get('bf16')!.data]).toEqual([0x80, 0x3f]);
    expect([...read.tensors.get('raw')!.data]).toEqual([0x34, 0x12]);
    expect(read.tensors.get('sub')).toEqual(tensor('F32', [1], [0, 0, 0x80, 0x3f]));
  });

  it('returns views of the input, in header order, whatever order the data are in', () => {
    const bytes = file(`{"1":${entry('U8', [2], [1, 3])},"0":${entry('U8', [], [0, 1])},"z":${entry('F32', [0, 5], [3, 3])}}`, [7, 8, 9]);
    const read = fromSafetensors(bytes);
    expect([...read.tensors.keys()]).toEqual(['1', '0', 'z']); // not Object.keys order, which puts "0" first
    const one = read.tensors.get('1')!;
    expect(one.data.buffer).toBe(bytes.buffer);
    expect(one.data.byteOffset).toBe(bytes.length - 2);
    expect([...one.data]).toEqual([8, 9]);
    expect(read.tensors.get('0')).toEqual(tensor('U8', [], [7]));
    expect(read.tensors.get('z')).toEqual(tensor('F32', [0, 5], []));
  });

  it('accepts an empty file, "__proto__" as a name, and escaped names', () => {
    expect(fromSafetensors(toSafetensors({})).tensors.size).toBe(0);
    expect(fromSafetensors(file('{}   ')).tensors.size).toBe(0);
    const names = new Map<string, SafetensorsInput>([['__proto__', new Float32Array(1)], ['a"\\\n\u2028é😀', new Float32Array(0)]]);
    const read = fromSafetensors(toSafetensors(names, JSON.parse('{"__proto__":"x"}') as Record<string, string>));
    expect([...read.tensors.keys()]).toEqual([...names.keys()]);
    expect(Object.keys(read.metadata)).toEqual(['__proto__']);
  });
});

describe('safetensorsToFloat32', () => {
  const f32bits = (a: Float32Array): number[] => [...new Uint32Array(a.buffer)];
  const u16 = (values: number[]): Uint8Array => new Uint8Array(new Uint16Array(values).buffer);

  it('widens F16 exactly (normals, subnormals, ±0, ±inf, NaN)', () => {
    const halves = [0x3c00, 0xc000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x3555, 0x8000, 0x7c00, 0xfc00];
    const out = safetensorsToFloat32(tensor('F16', [halves.length], u16(halves)));
    expect([...out]).toEqual([1, -2, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 65504, 0.333251953125, -0, Infinity, -Infinity]);
    expect(Object.is(out[7], -0)).toBe(true);
    expect(f32bits(safetensorsToFloat32(tensor('F16', [2], u16([0x7e00, 0xfd01]))))).toEqual([0x7fc00000, 0xffa02000]); // NaN payloads kept
  });

  it('widens every one of the 65536 F16 bit patterns to the value it denotes', () => {
    const all = Array.from({ length: 65536 }, (_, i) => i);
    const out = safetensorsToFloat32(tensor('F16', [2, 32768], u16(all)));
    for (const h of all) {
      const sign = h & 0x8000 ? -1 : 1;
      const exponent = (h >> 10) & 0x1f;
      const mantissa = h & 0x3ff;
      const value = exponent === 0 ? mantissa * 2 ** -24 : exponent === 31 ? (mantissa ? NaN : Infinity) : (1 + mantissa / 1024) * 2 ** (exponent - 15);
      if (!Object.is(out[h], sign * value)) expect([h, out[h]]).toEqual([h, sign * value]);
    }
  });

  it('widens BF16 exactly, and rounds F64 to nearest like Math.fround', () => {
    const bf = safetensorsToFloat32(tensor('BF16', [5], u16([0x3f80, 0xc000, 0x7f80, 0x0001, 0x7fc1])));
    expect(f32bits(bf)).toEqual([0x3f800000, 0xc0000000, 0x7f800000, 0x00010000, 0x7fc10000]);
    expect(bf[0]).toBe(1);
    expect(bf[1]).toBe(-2);
    const doubles = [1 / 3, 1e300, -1e300, -0, 2 ** -149, 2 ** -150, 3 * 2 ** -150, 16777217, NaN];
    const f64 = safetensorsToFloat32(tensor('F64', [3, 3], new Uint8Array(new Float64Array(doubles).buffer)));
    expect([...f64]).toEqual(doubles.map(Math.fround));
    expect(Object.is(f64[3], -0)).toBe(true);
  });

  it('keeps F32 bit for bit, converts 0-element and scalar tensors', () => {
    const bits = [0x7fc00001, 0x80000000, 0x3f800000];
    expect(f32bits(safetensorsToFloat32(tensor('F32', [3], new Uint8Array(new Uint32Array(bits).buffer))))).toEqual(bits);
    expect(safetensorsToFloat32(tensor('F16', [0, 3], []))).toEqual(new Float32Array(0));
    expect([...safetensorsToFloat32(tensor('BF16', [], [0x80, 0x3f]))]).toEqual([1]);
  });

  it('refuses other dtypes and inconsistent tensors, naming who and the path', () => {
    expect(() => safetensorsToFloat32(tensor('I64', [1], new Array(8).fill(0)))).toThrow(/^safetensorsToFloat32: tensor\.dtype must be F32, F64, F16 or BF16 .*\(got "I64"\)/);
    expect(() => safetensorsToFloat32(tensor('BOOL', [1], [1]), 'load', 'tensors["x"]')).toThrow(/^load: tensors\["x"\]\.dtype must be F32, F64, F16 or BF16/);
    expect(() => safetensorsToFloat32(tensor('F32', [2], [0, 0, 0, 0]))).toThrow(/tensor\.data has 4 bytes but 2 F32 elements need 8/);
    expect(() => safetensorsToFloat32({ dtype: 'F32', shape: [1], data: new Float32Array(1) as unknown as Uint8Array })).toThrow(/tensor\.data must be a Uint8Array/);
  });
});

/** Random tensors of every dtype, given as raw bytes or as the dtype's typed array. */
const inputArb = fc
  .record({ dtype: fc.constantFrom(...DTYPES), shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }), typed: fc.boolean() })
  .chain(({ dtype, shape, typed }) => {
    const length = shape.reduce((a, d) => a * d, 1) * SIZE[dtype];
    return fc.uint8Array({ minLength: length, maxLength: length }).map((bytes) => ({ dtype, shape, bytes, typed }));
  });
const names = fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }).filter((s) => s !== '__metadata__');
const TYPED: Record<SafetensorsDtype, new (buffer: ArrayBuffer) => ArrayBufferView> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array,
  I32: Int32Array, I16: Int16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array,
};
const hostLittleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

describe('round trips', () => {
  it('keeps every tensor (dtype, shape, bytes, order) and the metadata (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(names, inputArb), { selector: ([name]) => name, maxLength: 5 }),
        fc.option(fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })), { nil: undefined }),
        (list, metadata) => {
          const input = new Map<string, SafetensorsInput>(
            list.map(([name, { dtype, shape, bytes, typed }]) => [
              name,
              { dtype, shape, data: typed && hostLittleEndian ? new TYPED[dtype](bytes.slice().buffer) : bytes },
            ]),
          );
          const written = toSafetensors(input, metadata);
          const headerLength = Number(new DataView(written.buffer).getBigUint64(0, true));
          expect(headerLength % 8).toBe(0);
          const json = new TextDecoder().decode(written.subarray(8, 8 + headerLength));
          expect(json).toBe(json.trimEnd() + ' '.repeat(json.length - json.trimEnd().length));
          expect(json.length - json.trimEnd().length).toBeLessThan(8);
          expect(written.length).toBe(8 + headerLength + list.reduce((a, [, t]) => a + t.bytes.length, 0));

          const read = fromSafetensors(written);
          expect([...read.tensors.keys()]).toEqual(list.map(([name]) => name));
          for (const [name, t] of list) expect(read.tensors.get(name)).toEqual({ dtype: t.dtype, shape: t.shape, data: t.bytes });
          expect(read.metadata).toEqual(metadata ?? {});
          expect(toSafetensors(read.tensors, read.metadata)).toEqual(metadata === undefined ? toSafetensors(input, {}) : written);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('hostile files are refused with a message naming the problem', () => {
  const ok = `{"a":${entry('F32', [2], [0, 8])}}`;
  const refuses = (bytes: Uint8Array, message: RegExp, kind: new () => Error = Error): void => {
    expect(() => fromSafetensors(bytes)).toThrow(kind);
    expect(() => fromSafetensors(bytes)).toThrow(message);
  };

  it('is the valid base file', () => expect(fromSafetensors(file(ok, new Array(8).fill(0))).tensors.size).toBe(1));

  it('too short, header length beyond the file, or over the 100 MB cap', () => {
    for (let n = 0; n < 8; n++) refuses(new Uint8Array(n), new RegExp(`^fromSafetensors: truncated safetensors file: ${n} bytes`), RangeError);
    refuses(file(ok, [], 100n).subarray(0, 20), /truncated safetensors file: a 100-byte header needs 108 bytes, got 20/, RangeError);
    refuses(file(ok, [], BigInt(ok.length) + 1n), /truncated/, RangeError);
    refuses(file('', [], 100_000_000n), /a 100000000-byte header needs 100000008 bytes, got 8/, RangeError);
    // 8-byte files claiming enormous headers: refused from the length alone, nothing allocated
    refuses(file('', [], 100_000_001n), /header length 100000001 \(the first 8 bytes\) is over the 100000000-byte limit/, RangeError);
    refuses(file('', [], 2n ** 64n - 1n), /header length 18446744073709551615 .* over the 100000000-byte limit/, RangeError);
    refuses(file('', [], 2n ** 53n + 1n), /header length 9007199254740993 /, RangeError);
  });

  it('a header that is not UTF-8 or not a JSON object', () => {
    refuses(file(Uint8Array.of(0x7b, 0xff, 0x7d)), /^fromSafetensors: the header is not valid UTF-8$/);
    refuses(file(Uint8Array.of(0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d)), /not valid UTF-8/); // an encoded surrogate
    refuses(file(Uint8Array.of(0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d)), /not valid UTF-8/); // an overlong '/'
    refuses(file(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d)), /the header is not JSON/); // a byte-order mark
    refuses(file(''), /the header is not JSON/);
    refuses(file('{"a":'), /the header is not JSON/);
    refuses(file('\0\0\0\0'), /the header is not JSON/);
    for (const json of ['[]', '1', 'null', '"x"', 'true']) refuses(file(json), /^fromSafetensors: header must be an object/, TypeError);
  });

  it('duplicate keys, also hidden behind escapes, at any depth', () => {
    const a = entry('U8', [0], [0, 0]);
    refuses(file(`{"a":${a},"a":${a}}`), /^fromSafetensors: header has the key "a" more than once/, TypeError);
    refuses(file(`{"a":${a},"\\u0061":${a}}`), /header has the key "a" more than once/, TypeError);
    refuses(file(`{"q\\"":${a},"q\\u0022":${a}}`), /header has the key "q\\"" more than once/, TypeError);
    refuses(file(`{"__metadata__":{},"__metadata__":{}}`), /header has the key "__metadata__" more than once/, TypeError);
    refuses(file(`{"a":{"dtype":"U8","shape":[0],"dtype":"U8","data_offsets":[0,0]}}`), /header\["a"\] has the key "dtype" more than once/, TypeError);
    refuses(file(`{"__metadata__":{"k":"1","\\u006b":"2"}}`), /header\["__metadata__"\] has the key "k" more than once/, TypeError);
    refuses(file(`{"a":{"dtype":"U8","shape":[{"x":1,"x":2}],"data_offsets":[0,0]}}`), /header\["a"\]\["shape"\]\[0\] has the key "x" more than once/, TypeError);
    // Not duplicates: the same key in different objects, and key-like text inside strings.
    const read = fromSafetensors(file(`{"__metadata__":{"a":"{\\"a\\":1,\\"a\\":[2]}","dtype":"\\\\"},"a":${a},"dtype":${a}}`));
    expect(read.metadata).toEqual({ a: '{"a":1,"a":[2]}', dtype: '\\' });
    expect([...read.tensors.keys()]).toEqual(['a', 'dtype']);
  });

  it('tensor entries: not an object, missing or extra keys, unknown dtype, bad shape', () => {
    const zeros = new Array(8).fill(0);
    refuses(file(`{"a":1}`), /^fromSafetensors: header\["a"\] must be an object \(got 1\)/, TypeError);
    refuses(file(`{"a":{"dtype":"F32","shape":[2]}}`, zeros), /header\["a"\] is missing the field 'data_offsets'/, TypeError);
    refuses(file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"offset":0}}`, zeros), /header\["a"\] has an unknown field "offset"/, TypeError);
    for (const dtype of ['f32', 'U16', 'F8_E4M3', 'C64', 1]) {
      refuses(file(`{"a":${JSON.stringify({ dtype, shape: [2], data_offsets: [0, 8] })}}`, zeros), /header\["a"\]\.dtype must be one of 'F64', 'F32'/, TypeError);
    }
    refuses(file(`{"a":${entry('F32', 2, [0, 8])}}`, zeros), /header\["a"\]\.shape must be an array of dimensions.* \(got 2\)/, TypeError);
    refuses(file(`{"a":${entry('F32', [-1], [0, 8])}}`, zeros), /header\["a"\]\.shape\[0\] must be an integer >= 0 \(got -1\)/, RangeError);
    refuses(file(`{"a":${entry('F32', [2, 0.5], [0, 8])}}`, zeros), /header\["a"\]\.shape\[1\] must be an integer >= 0 \(got 0\.5\)/, RangeError);
    refuses(file(`{"a":${entry('F32', ['2'], [0, 8])}}`, zeros), /header\["a"\]\.shape\[0\] must be an integer >= 0 \(got "2"\)/, TypeError);
    refuses(file(`{"a":${entry('F32', [2 ** 60], [0, 8])}}`, zeros), /shape\[0\] must be <= Number.MAX_SAFE_INTEGER/, RangeError);
    refuses(file(`{"a":${entry('F32', new Array(65).fill(1), [0, 8])}}`, zeros), /header\["a"\]\.shape\.length must be at most 64/, RangeError);
    // A product that overflows to Infinity is still just the wrong size.
    refuses(file(`{"a":${entry('F32', new Array(30).fill(2 ** 50), [0, 8])}}`, zeros), /needs Infinity/, RangeError);
  });

  it('offsets: malformed, out of order, out of range, overlapping, with gaps, not covering, wrong size', () => {
    const data = new Array(12).fill(0);
    const two = (x: unknown, y: unknown): Uint8Array => file(`{"x":${entry('U8', [4], x)},"y":${entry('F32', [2], y)}}`, data);
    expect(fromSafetensors(two([8, 12], [0, 8])).tensors.size).toBe(2);
    refuses(two([0, 4, 8], [4, 12]), /header\["x"\]\.data_offsets must be a pair \[begin, end\]/, TypeError);
    refuses(two([0, -4], [4, 12]), /header\["x"\]\.data_offsets\[1\] must be an integer >= 0 \(got -4\)/, RangeError);
    refuses(two(['0', 4], [4, 12]), /data_offsets\[0\] must be an integer >= 0 \(got "0"\)/, TypeError);
    refuses(two([4, 0], [4, 12]), /header\["x"\]\.data_offsets \[4, 0\] are out of order/, RangeError);
    refuses(two([0, 4], [8, 16]), /header\["y"\]\.data_offsets \[8, 16\] run past the end of the 12-byte data section/, RangeError);
    refuses(two([0, 4], [2, 10]), /header\["y"\]\.data_offsets \[2, 10\] overlap header\["x"\], which ends at 4/, RangeError);
    refuses(two([0, 4], [0, 8]), /overlap/, RangeError);
    refuses(two([1, 5], [5, 13]), /run past the end/, RangeError);
    refuses(file(`{"x":${entry('U8', [4], [0, 4])},"y":${entry('F32', [1], [8, 12])}}`, data), /header\["y"\]\.data_offsets \[8, 12\] leave a gap after header\["x"\] \(bytes 4 to 8/, RangeError);
    refuses(file(`{"y":${entry('F32', [2], [4, 12])}}`, data), /leave a gap after the start of the data section \(bytes 0 to 4/, RangeError);
    refuses(file(`{"y":${entry('F32', [2], [0, 8])}}`, data), /the tensors cover 8 bytes of the 12-byte data section \(bytes 8 to 12 belong to no tensor\)/, RangeError);
    refuses(file(`{"y":${entry('F32', [3], [0, 8])}}`, data), /header\["y"\]\.data_offsets \[0, 8\] span 8 bytes but shape \[3\] of F32 needs 12/, RangeError);
    refuses(file(`{"y":${entry('F64', [], [0, 12])}}`, data), /span 12 bytes but shape \[\] of F64 needs 8/, RangeError);
    refuses(file(`{"z":${entry('U8', [0], [2, 2])},"y":${entry('F32', [3], [0, 12])}}`, data), /header\["z"\]\.data_offsets \[2, 2\] overlap header\["y"\], which ends at 12/, RangeError);
  });

  it('__metadata__ that is not a string → string map', () => {
    refuses(file('{"__metadata__":{"k":1}}'), /^fromSafetensors: header\["__metadata__"\]\["k"\] must be a string \(got 1\)/, TypeError);
    refuses(file('{"__metadata__":{"k":null}}'), /\["k"\] must be a string \(got null\)/, TypeError);
    refuses(file('{"__metadata__":{"k":{}}}'), /\["k"\] must be a string/, TypeError);
    for (const value of ['"x"', '[]', 'null', '1']) refuses(file(`{"__metadata__":${value}}`), /header\["__metadata__"\] must be an object/, TypeError);
  });

  it('input that is not a Uint8Array', () => {
    expect(() => fromSafetensors([1, 2, 3] as unknown as Uint8Array)).toThrow(/^fromSafetensors: bytes must be a Uint8Array \(got an array of length 3\)/);
    expect(() => fromSafetensors(new Float32Array(4) as unknown as Uint8Array)).toThrow(/bytes must be a Uint8Array \(got a Float32Array\)/);
  });

  it('random mutations of a valid file decode consistently or throw an Error (fast-check)', () => {
    const bases = [
      toSafetensors({ a: new Float32Array([1, -2]), b: { dtype: 'I64', shape: [], data: new BigInt64Array([5n]) } }, { format: 'pt' }),
      toSafetensors({ w: { dtype: 'F16', shape: [2, 2], data: new Uint16Array(4) }, e: { dtype: 'BOOL', shape: [0], data: new Uint8Array(0) }, '1': new Float32Array(1) }),
      toSafetensors({ big: { dtype: 'BF16', shape: [8, 16], data: new Uint16Array(128) } }), // mostly data: mutations that decode
    ];
    // Mostly characters that keep the header UTF-8 and often JSON, so that the checks after parsing are reached too.
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(...utf8('{}[],:"\\0123456789 eE-.u')));
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.array(fc.tuple(fc.nat(), byte), { minLength: 1, maxLength: 4 }),
        fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, fc.integer({ min: -12, max: 12 })),
        (base, edits, resize) => {
          const mutated = new Uint8Array(Math.max(0, base.length + resize));
          mutated.set(base.subarray(0, mutated.length));
          for (const [at, value] of edits) if (mutated.length > 0) mutated[at % mutated.length] = value;
          let read;
          try {
            read = fromSafetensors(mutated);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
            expect((e as Error).message).toMatch(/^fromSafetensors: /);
            return;
          }
          const dataStart = 8 + Number(new DataView(mutated.buffer).getBigUint64(0, true));
          let total = 0;
          for (const t of read.tensors.values()) {
            expect(DTYPES).toContain(t.dtype);
            expect(t.data.buffer).toBe(mutated.buffer);
            expect(t.data.byteOffset).toBeGreaterThanOrEqual(dataStart);
            expect(t.data.length).toBe(t.shape.reduce((a, d) => a * d, 1) * SIZE[t.dtype]);
            total += t.data.length;
          }
          expect(total).toBe(mutated.length - dataStart);
          const again = fromSafetensors(toSafetensors(read.tensors, read.metadata));
          expect([...again.tensors]).toEqual([...read.tensors]);
          expect(again.metadata).toEqual(read.metadata);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('toSafetensors refuses bad input with a message naming the path', () => {
  const w = (tensors: unknown, metadata?: unknown) => () => toSafetensors(tensors as Record<string, SafetensorsInput>, metadata as Record<string, string>);

  it('names', () => {
    expect(w({ '': new Float32Array(1) })).toThrow(/^toSafetensors: each key of tensors must be a non-empty well-formed Unicode string other than "__metadata__" \(got ""\)/);
    expect(w({ __metadata__: new Float32Array(1) })).toThrow(/each key of tensors must be .* \(got "__metadata__"\)/);
    expect(w(new Map([[1, new Float32Array(1)]]))).toThrow(/each key of tensors must be .* \(got 1\)/);
    expect(w({ 'a\ud800': new Float32Array(1) })).toThrow(TypeError);
    expect(w(null)).toThrow(/^toSafetensors: tensors must be an object \(got null\)/);
  });

  it('tensors', () => {
    expect(w({ a: 1 })).toThrow(/^toSafetensors: tensors\["a"\] must be an object \(got 1\)/);
    expect(w({ a: new Float64Array(1) })).toThrow(/tensors\["a"\] must be a Float32Array or \{ dtype, shape, data \} \(got a Float64Array\)/);
    expect(w({ a: { dtype: 'F32', shape: [1], data: new Float32Array(1), name: 'x' } })).toThrow(/unknown option tensors\["a"\]\.name/);
    expect(w({ a: { dtype: 'F8', shape: [1], data: new Uint8Array(1) } })).toThrow(/tensors\["a"\]\.dtype must be one of 'F64'/);
    expect(w({ a: { dtype: 'F32', shape: 1, data: new Float32Array(1) } })).toThrow(/tensors\["a"\]\.shape must be an array of dimensions/);
    expect(w({ a: { dtype: 'F32', shape: new Array(2 ** 32 - 1), data: new Float32Array(1) } })).toThrow(/tensors\["a"\]\.shape\.length must be at most 64/);
    expect(w({ a: { dtype: 'F32', shape: [-1], data: new Float32Array(1) } })).toThrow(RangeError);
    expect(w({ a: { dtype: 'F32', shape: [1.5], data: new Float32Array(1) } })).toThrow(/tensors\["a"\]\.shape\[0\] must be an integer >= 0 \(got 1\.5\)/);
    expect(w({ a: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/tensors\["a"\]\.data has 8 bytes but shape \[3\] of F32 needs 12/);
    expect(w({ a: { dtype: 'I64', shape: [1], data: new Uint8Array(4) } })).toThrow(/data has 4 bytes but shape \[1\] of I64 needs 8/);
    expect(w({ a: { dtype: 'F32', shape: [1], data: new Float64Array(1) } })).toThrow(/tensors\["a"\]\.data must be a Uint8Array of little-endian bytes or a Float32Array \(got a Float64Array\)/);
    expect(w({ a: { dtype: 'F16', shape: [1], data: new Int16Array(1) } })).toThrow(/or a Uint16Array/);
    expect(w({ a: { dtype: 'U8', shape: [1], data: [1] } })).toThrow(/data must be a Uint8Array/);
  });

  it('metadata', () => {
    expect(w({}, { k: 1 })).toThrow(/^toSafetensors: metadata\["k"\] must be a well-formed Unicode string \(got 1\)/);
    expect(w({}, 'x')).toThrow(/^toSafetensors: metadata must be an object/);
    expect(w({}, { k: '\udc00' })).toThrow(/metadata\["k"\] must be a well-formed Unicode string/);
  });
});
