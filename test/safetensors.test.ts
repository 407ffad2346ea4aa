import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectsWith, throwsWith } from './helpers.js';
import { existsSync, mkdtempSync, promises as fsPromises, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, parseSafetensorsHeader, SAFETENSORS_DTYPES, type SafetensorsTensor } from '../experiments/io/safetensors.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../experiments/io/safetensors-node.js';
import { tempPathFor, writeFileAtomic } from '../experiments/io/atomic.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const ascii = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const u64le = (n: number | bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file from the spec: u64 LE length, JSON padded with spaces to a multiple of 8, data. */
function rawFile(json: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = ascii(json);
  const padded = Math.ceil(header.length / 8) * 8;
  return concat(u64le(padded), header, ascii(' '.repeat(padded - header.length)), data);
}

const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });

test('round trip: every dtype, empty and scalar tensors, metadata', () => {
  const tensors: Record<string, SafetensorsTensor> = {
    f64: { dtype: 'F64', shape: [3], data: Float64Array.of(Math.PI, -0, 1e300) },
    f32: { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1.5, -2, Infinity, -Infinity, 0, 3e-40) },
    f32nan: { dtype: 'F32', shape: [1], data: Float32Array.of(NaN) },
    f16: { dtype: 'F16', shape: [2], data: Uint16Array.of(0x3c00, 0xfbff) },
    bf16: { dtype: 'BF16', shape: [2], data: Uint16Array.of(0x3f80, 0xc000) },
    i64: { dtype: 'I64', shape: [3], data: BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n, 0n) },
    u64: { dtype: 'U64', shape: [1], data: BigUint64Array.of(2n ** 64n - 1n) },
    i32: { dtype: 'I32', shape: [2, 2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, 7) },
    u32: { dtype: 'U32', shape: [1], data: Uint32Array.of(2 ** 32 - 1) },
    i16: { dtype: 'I16', shape: [2], data: Int16Array.of(-32768, 32767) },
    u16: { dtype: 'U16', shape: [1], data: Uint16Array.of(65535) },
    i8: { dtype: 'I8', shape: [2], data: Int8Array.of(-128, 127) },
    u8: { dtype: 'U8', shape: [3], data: Uint8Array.of(0, 128, 255) },
    bool: { dtype: 'BOOL', shape: [2], data: Uint8Array.of(1, 0) },
    f8a: { dtype: 'F8_E5M2', shape: [1], data: Uint8Array.of(0x3c) },
    f8b: { dtype: 'F8_E4M3', shape: [1], data: Uint8Array.of(0x38) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    emptyI64: { dtype: 'I64', shape: [3, 0], data: new BigInt64Array(0) },
    scalar: { dtype: 'I64', shape: [], data: BigInt64Array.of(42n) },
    scalarF32: { dtype: 'F32', shape: [], data: Float32Array.of(0.25) },
  };
  const covered = new Set(Object.values(tensors).map((t) => t.dtype));
  assert.equal([...covered].sort(), [...SAFETENSORS_DTYPES].sort(), 'every dtype is exercised');
  const bytes = encodeSafetensors(tensors, { format: 'pt', note: 'ünïcode ✓' });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0, 'header padded to 8 bytes');
  const { tensors: out, metadata } = decodeSafetensors(bytes, 'roundtrip');
  assert.equal({ ...metadata }, { format: 'pt', note: 'ünïcode ✓' });
  assert.equal(Object.keys(out).sort(), Object.keys(tensors).sort());
  for (const [name, t] of Object.entries(tensors)) {
    const got = out[name];
    assert.is(got.dtype, t.dtype, name);
    assert.equal(got.shape, t.shape, name);
    assert.is(got.data.constructor, t.data.constructor, name);
    assert.equal(bytesOf(got.data), bytesOf(t.data), `${name} bytes`);
    assert.is((got.data.byteOffset - bytes.byteOffset) % got.data.BYTES_PER_ELEMENT, 0, `${name} aligned`);
  }
  // Without metadata the key is omitted entirely, as the reference writer does.
  assert.not.ok(new TextDecoder().decode(encodeSafetensors({ x: tensors.u8 })).includes('__metadata__'));
});

test('decodes a file laid out as safetensors.torch.save_file writes it, and encodes it identically', () => {
  // save_file({'fc.weight': torch.arange(6.).reshape(2, 3), 'fc.bias': torch.tensor([0.5, -1.]),
  //            'step': torch.tensor(7)}, path, metadata={'format': 'pt'}):
  // "__metadata__" first, then tensors by descending dtype alignment (I64 before F32), then name.
  const json =
    '{"__metadata__":{"format":"pt"},' +
    '"step":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
    '"fc.bias":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},' +
    '"fc.weight":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]}}';
  const data = concat(bytesOf(BigInt64Array.of(7n)), bytesOf(Float32Array.of(0.5, -1)), bytesOf(Float32Array.of(0, 1, 2, 3, 4, 5)));
  const file = rawFile(json, data);
  assert.is(file.length, 8 + 216 + 40);
  assert.equal([...file.subarray(0, 8)], [216, 0, 0, 0, 0, 0, 0, 0]);

  const { tensors, metadata } = decodeSafetensors(file, 'model.safetensors');
  assert.equal({ ...metadata }, { format: 'pt' });
  assert.equal(Object.keys(tensors), ['step', 'fc.bias', 'fc.weight'], 'data-offset order');
  const { step, 'fc.bias': bias, 'fc.weight': weight } = tensors;
  assert.ok(step.dtype === 'I64' && bias.dtype === 'F32' && weight.dtype === 'F32');
  assert.equal(step.shape, []);
  assert.equal([...(step.data as BigInt64Array)], [7n]);
  assert.equal([...(bias.data as Float32Array)], [0.5, -1]);
  assert.equal(weight.shape, [2, 3]);
  assert.equal([...(weight.data as Float32Array)], [0, 1, 2, 3, 4, 5]);

  const reencoded = encodeSafetensors(
    {
      'fc.weight': { dtype: 'F32', shape: [2, 3], data: Float32Array.of(0, 1, 2, 3, 4, 5) },
      'fc.bias': { dtype: 'F32', shape: [2], data: Float32Array.of(0.5, -1) },
      step: { dtype: 'I64', shape: [], data: BigInt64Array.of(7n) },
    },
    { format: 'pt' },
  );
  assert.equal(reencoded, file, 'byte-identical to the reference layout');
});

test('an empty dict encodes as "{}" padded to 8 bytes', () => {
  const bytes = encodeSafetensors({});
  assert.equal([...bytes], [8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 32, 32, 32, 32, 32, 32]);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.equal(Object.keys(tensors), []);
  assert.equal(Object.keys(metadata), []);
  // A null __metadata__ is allowed by the reference reader.
  assert.equal(Object.keys(decodeSafetensors(rawFile('{"__metadata__":null}')).metadata), []);
});

test('decode views aligned payloads and copies misaligned ones', () => {
  const bytes = encodeSafetensors({ w: { dtype: 'F32', shape: [4], data: Float32Array.of(1, 2, 3, 4) } });
  const view = decodeSafetensors(bytes).tensors.w.data;
  assert.is(view.buffer, bytes.buffer, 'aligned: no copy');
  // The same file at an odd offset inside a larger buffer.
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const copy = decodeSafetensors(shifted.subarray(1)).tensors.w.data;
  assert.is.not(copy.buffer, shifted.buffer, 'misaligned: copied');
  assert.equal([...(copy as Float32Array)], [1, 2, 3, 4]);
});

test('names that look like integers or use non-ASCII keep their tensors apart', () => {
  const t = (v: number): SafetensorsTensor => ({ dtype: 'U8', shape: [1], data: Uint8Array.of(v) });
  const bytes = encodeSafetensors({ '10': t(10), '2': t(2), é: t(233), __proto__x: t(1), 'a b/"c"': t(3) });
  const { tensors } = decodeSafetensors(bytes);
  assert.equal(Object.values(tensors).map((x) => (x.data as Uint8Array)[0]).sort((a, b) => a - b), [1, 2, 3, 10, 233]);
  assert.is((tensors['é'].data as Uint8Array)[0], 233);
  assert.is((tensors['a b/"c"'].data as Uint8Array)[0], 3);
  const header = parseSafetensorsHeader(bytes);
  // Packed in the reference order: byte-wise UTF-8 comparison of the names.
  const offsets = Object.entries(header.tensors).map(([name, e]) => [name, e.dataOffsets[0]]);
  assert.equal(offsets.sort((a, b) => (a[1] as number) - (b[1] as number)).map((x) => x[0]), ['10', '2', '__proto__x', 'a b/"c"', 'é']);
});

test('parseSafetensorsHeader reads only the header of a large file', () => {
  const bytes = encodeSafetensors({ big: { dtype: 'F32', shape: [1000], data: new Float32Array(1000) } });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = parseSafetensorsHeader(bytes.subarray(0, 8 + n), 'big.safetensors', bytes.length);
  assert.is(header.dataStart, 8 + n);
  assert.equal(header.tensors.big, { dtype: 'F32', shape: [1000], dataOffsets: [0, 4000] });
  throwsWith(() => parseSafetensorsHeader(bytes.subarray(0, 20), 'big.safetensors', bytes.length), 'big.safetensors', `needs the first ${8 + n} bytes`);
});

test('corrupt inputs are rejected with messages naming the file, tensor and problem', () => {
  const src = 'checkpoint.safetensors';
  const f32x4 = bytesOf(Float32Array.of(1, 2, 3, 4));
  const good = rawFile(JSON.stringify({ w: entry('F32', [4], [0, 16]) }), f32x4);
  const cases: [string, Uint8Array, string[]][] = [
    ['empty file', new Uint8Array(0), ['truncated', '0 bytes', '8-byte header length']],
    ['truncated length field', good.subarray(0, 5), ['truncated', '5 bytes']],
    ['header length beyond the file', concat(u64le(1000), ascii('{}      ')), ['truncated', 'says 1000 bytes', 'only 8 follow']],
    ['absurd header length', concat(u64le(2n ** 60n), ascii('{}      ')), ['exceeds the 100000000-byte limit']],
    ['truncated data', good.subarray(0, good.length - 3), ['truncated', "tensor 'w'", 'data_offsets [0, 16]', 'holds 13 bytes']],
    ['invalid UTF-8', concat(u64le(8), Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d, 32, 32, 32, 32)), ['not valid UTF-8']],
    ['bad JSON', rawFile('{"w": {"dtype": "F32",'), ['not valid JSON']],
    ['JSON array', rawFile('[1, 2]'), ['must be a JSON object', 'found an array']],
    ['entry not an object', rawFile('{"w": 5}'), ["tensor 'w'", 'expected an object']],
    ['unknown dtype', rawFile(JSON.stringify({ w: entry('F128', [4], [0, 16]) }), f32x4), ["tensor 'w'", `unknown dtype "F128"`, 'F32']],
    ['missing dtype', rawFile(JSON.stringify({ w: { shape: [4], data_offsets: [0, 16] } }), f32x4), ["tensor 'w'", 'unknown dtype undefined']],
    ['negative shape', rawFile(JSON.stringify({ w: entry('F32', [-4], [0, 16]) }), f32x4), ["tensor 'w'", 'shape must be an array of non-negative integers', '[-4]']],
    ['fractional shape', rawFile(JSON.stringify({ w: entry('F32', [2.5], [0, 16]) }), f32x4), ["tensor 'w'", 'shape must be']],
    ['offsets not a pair', rawFile(JSON.stringify({ w: entry('F32', [4], [0]) }), f32x4), ["tensor 'w'", 'data_offsets must be [begin, end]', '[0]']],
    ['reversed offsets', rawFile(JSON.stringify({ w: entry('F32', [0], [16, 0]) }), f32x4), ["tensor 'w'", 'data_offsets must be [begin, end]']],
    ['size mismatch', rawFile(JSON.stringify({ 'fc.weight': entry('F32', [10, 4], [0, 100]) }), new Uint8Array(100)), [`${src}: tensor 'fc.weight': data_offsets [0, 100] hold 100 bytes but F32 [10, 4] needs 160`]],
    ['out-of-range offsets', rawFile(JSON.stringify({ w: entry('F32', [4], [16, 32]) }), f32x4), ['truncated', "tensor 'w'", '[16, 32]', 'data section holds 16 bytes']],
    [
      'overlapping offsets',
      rawFile(JSON.stringify({ a: entry('F32', [4], [0, 16]), b: entry('F32', [4], [8, 24]) }), new Uint8Array(24)),
      ["tensor 'b': data_offsets [8, 24] overlap tensor 'a' at [0, 16]"],
    ],
    ['gap between tensors', rawFile(JSON.stringify({ a: entry('U8', [4], [0, 4]), b: entry('U8', [4], [8, 12]) }), new Uint8Array(12)), ["tensor 'b'", 'gap of 4 bytes', "tensor 'a'"]],
    ['gap at the start', rawFile(JSON.stringify({ a: entry('U8', [4], [4, 8]) }), new Uint8Array(8)), ["tensor 'a'", 'gap of 4 bytes', 'start of the data section']],
    ['trailing bytes', concat(good, new Uint8Array(4)), ['4 unexpected bytes after the tensor data']],
    ['metadata not strings', rawFile(JSON.stringify({ __metadata__: { epoch: 3 } })), ["'__metadata__' entry 'epoch' must be a string", 'found number 3']],
    ['metadata not an object', rawFile(JSON.stringify({ __metadata__: 'pt' })), ["'__metadata__' must be an object of strings", 'found string']],
  ];
  for (const [label, bytes, fragments] of cases) {
    const message = throwsWith(() => decodeSafetensors(bytes, src), ...fragments);
    assert.ok(message.startsWith(`${src}: `), `${label}: message names the source: ${message}`);
  }
});

test('encoder rejects inconsistent tensors', () => {
  throwsWith(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2, 3], data: new Float32Array(5) } }), "tensor 'w'", 'shape [2, 3] has 6 elements but the data has 5');
  throwsWith(() => encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Int32Array(2) } as unknown as SafetensorsTensor }), "tensor 'w'", 'F32 needs a Float32Array, found Int32Array');
  throwsWith(() => encodeSafetensors({ w: { dtype: 'F99', shape: [1], data: new Uint8Array(1) } as unknown as SafetensorsTensor }), 'unknown dtype "F99"');
  throwsWith(() => encodeSafetensors({ w: { dtype: 'U8', shape: [-1], data: new Uint8Array(1) } }), 'shape must be an array of non-negative integers');
  throwsWith(() => encodeSafetensors({ __metadata__: { dtype: 'U8', shape: [1], data: new Uint8Array(1) } }), 'reserved');
  throwsWith(() => encodeSafetensors({}, { epoch: 3 as unknown as string }), "metadata 'epoch' must be a string");
});

test('files: write atomically, read back, errors name the path', async () => {
  const path = join(dir, 'nested', 'deeper', 'model.safetensors');
  const tensors: Record<string, SafetensorsTensor> = {
    'layer.0.weight': { dtype: 'F32', shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
    labels: { dtype: 'I32', shape: [2], data: Int32Array.of(-1, 9) },
  };
  await writeSafetensorsFile(path, tensors, { epoch: '3' });
  assert.equal(readdirSync(join(dir, 'nested', 'deeper')), ['model.safetensors'], 'no temp file left behind');
  const { tensors: out, metadata } = await readSafetensorsFile(path);
  assert.is(metadata.epoch, '3');
  assert.equal([...(out['layer.0.weight'].data as Float32Array)], [1, 2, 3, 4, 5, 6]);
  assert.equal([...(out.labels.data as Int32Array)], [-1, 9]);

  const broken = join(dir, 'broken.safetensors');
  writeFileSync(broken, readFileSync(path).subarray(0, 40));
  await rejectsWith(readSafetensorsFile(broken), broken, 'truncated');
});

test('writeFileAtomic: replaces files whole; a failed rename keeps the old file and removes the temp', async () => {
  const path = join(dir, 'atomic', 'state.json');
  await writeFileAtomic(path, '{"v":1}');
  await writeFileAtomic(path, ascii('{"v":2}'));
  assert.is(readFileSync(path, 'utf8'), '{"v":2}');
  assert.equal(readdirSync(join(dir, 'atomic')), ['state.json']);

  // Concurrent writes to one path are serialized: the last one wins, nothing is torn.
  await Promise.all([1, 2, 3, 4].map((v) => writeFileAtomic(path, `{"v":${v}}`)));
  assert.is(readFileSync(path, 'utf8'), '{"v":4}');

  const original = fsPromises.rename;
  let tempSeen = false;
  (fsPromises as { rename: unknown }).rename = async (from: string) => {
    tempSeen = from === tempPathFor(path) && existsSync(from);
    throw Object.assign(new Error('EIO: simulated crash before rename'), { code: 'EIO' });
  };
  try {
    await rejectsWith(writeFileAtomic(path, '{"v":"new"}'), path, 'simulated crash');
    await rejectsWith(
      writeSafetensorsFile(path, { x: { dtype: 'U8', shape: [1], data: Uint8Array.of(1) } }),
      path,
      'simulated crash',
    );
  } finally {
    (fsPromises as { rename: unknown }).rename = original;
  }
  assert.ok(tempSeen, 'the new content went to the temp file first');
  assert.is(readFileSync(path, 'utf8'), '{"v":4}', 'old file intact');
  assert.equal(readdirSync(join(dir, 'atomic')), ['state.json'], 'temp file removed');
});

test.run();
