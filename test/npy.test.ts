import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejectsWith, throwsWith } from './helpers.js';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNpy, decodeNpy, encodeNpy, formatShape, readNpyHeader, type NpyData } from '../experiments/io/npy.js';
import { openNpy, readNpyFile, writeNpyFile } from '../experiments/io/npy-node.js';

const dir = mkdtempSync(join(tmpdir(), 'npy-test-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));


const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const MAGIC = [0x93, ...'NUMPY'].map((c) => (typeof c === 'number' ? c : c.charCodeAt(0)));

/**
 * A .npy file built from the format description: magic, version, little-endian header length,
 * the header text padded with spaces and a final '\n' so the data starts at a multiple of `align`.
 */
function npyBytes(header: string, data: Uint8Array, { version = 1, align = 64 } = {}): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  let text = header;
  while ((prefix + text.length + 1) % align !== 0) text += ' ';
  text += '\n';
  const out = new Uint8Array(prefix + text.length + data.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  for (let k = 0; k < text.length; k++) out[prefix + k] = text.charCodeAt(k);
  out.set(data, prefix + text.length);
  return out;
}

test("parses the exact bytes numpy.save writes for np.arange(6, dtype=np.uint8).reshape(2, 3)", () => {
  // NumPy >= 1.19: 21 - len('2') = 20 spaces of room for the first axis to grow, then padding to
  // a 64-byte boundary (128 here), so the header length field is 118 = 0x76 ('v').
  const dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }";
  const header = dict + ' '.repeat(128 - 10 - dict.length - 1) + '\n';
  const file = new Uint8Array([...MAGIC, 0x01, 0x00, 0x76, 0x00, ...Array.from(header, (c) => c.charCodeAt(0)), 0, 1, 2, 3, 4, 5]);
  assert.is(file.length, 134);

  const out = decodeNpy(file, 'arange.npy');
  assert.is(out.dtype, 'uint8');
  assert.is(out.descr, '|u1');
  assert.equal(out.shape, [2, 3]);
  assert.ok(out.data instanceof Uint8Array);
  assert.equal([...out.data], [0, 1, 2, 3, 4, 5]);
  assert.is(out.data.buffer, file.buffer, 'aligned data is viewed, not copied');

  const header0 = readNpyHeader(file.subarray(0, 128));
  assert.equal({ ...header0 }, { dtype: 'uint8', descr: '|u1', shape: [2, 3], version: 1, itemSize: 1, dataOffset: 128, dataLength: 6 });
  assert.equal(encodeNpy(Uint8Array.of(0, 1, 2, 3, 4, 5), [2, 3]), file, 'encoder writes the same bytes as NumPy');
});

test('parses a version 2.0 header (4-byte length field)', () => {
  // np.lib.format.write_array(f, np.arange(4, dtype=np.float32).reshape(2, 2), version=(2, 0))
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }" + ' '.repeat(20);
  const file = npyBytes(dict, bytesOf(Float32Array.of(0, 1, 2, 3)), { version: 2 });
  assert.equal([...file.subarray(6, 12)], [2, 0, 116, 0, 0, 0]);
  const out = decodeNpy(file, 'v2.npy', { dtype: 'float32', shape: [2, 2] });
  assert.equal([...out.data], [0, 1, 2, 3]);
  assert.is(readNpyHeader(file).version, 2);
  assert.equal(encodeNpy(Float32Array.of(0, 1, 2, 3), [2, 2], { version: 2 }), file);
});

test('parses legacy headers: 16-byte alignment, Python 2 longs, double quotes; copies misaligned data', () => {
  const legacy = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", bytesOf(Float32Array.of(1.5, -2, 8)), { align: 16 });
  assert.is(readNpyHeader(legacy).dataOffset % 16, 0);
  assert.equal([...decodeNpy(legacy).data], [1.5, -2, 8]);

  const py2 = npyBytes(`{"descr": "<i8", "fortran_order": False, "shape": (2L, 1L)}`, bytesOf(BigInt64Array.of(-5n, 2n ** 40n)));
  const out = decodeNpy(py2, 'py2.npy', { dtype: 'int64' });
  assert.equal(out.shape, [2, 1]);
  assert.equal([...out.data], [-5n, 2n ** 40n]);

  // Column-major order is the same as row-major when at most one axis exceeds 1.
  const fortranVector = npyBytes("{'descr': '<i4', 'fortran_order': True, 'shape': (1, 3), }", bytesOf(Int32Array.of(7, 8, 9)));
  assert.equal([...decodeNpy(fortranVector).data], [7, 8, 9]);

  const shifted = new Uint8Array(legacy.length + 1);
  shifted.set(legacy, 1);
  const copied = decodeNpy(shifted.subarray(1));
  assert.is.not(copied.data.buffer, shifted.buffer);
  assert.equal([...copied.data], [1.5, -2, 8]);
});

test('round trips every dtype, empty and scalar arrays; data starts 64-byte aligned', () => {
  const cases: [NpyData, number[], string][] = [
    [Uint8Array.of(0, 127, 255), [3], "'descr': '|u1'"],
    [Float32Array.of(1.25, -0, Infinity, NaN, 3e-40, -7), [2, 3], "'descr': '<f4'"],
    [Int32Array.of(-(2 ** 31), 2 ** 31 - 1, 0, 5), [2, 1, 2], "'descr': '<i4'"],
    [BigInt64Array.of(-(2n ** 63n), 2n ** 63n - 1n), [2], "'descr': '<i8'"],
    [Float64Array.of(Math.E, -1e-300), [1, 2], "'descr': '<f8'"],
    [new Float32Array(0), [0, 3], "'shape': (0, 3)"],
    [new Uint8Array(0), [0], "'shape': (0,)"],
    [Int32Array.of(42), [], "'shape': ()"],
    [Uint8Array.of(9, 8, 7, 6, 5), [5], "'shape': (5,)"],
  ];
  for (const [data, shape, text] of cases) {
    const bytes = encodeNpy(data, shape);
    const header = readNpyHeader(bytes);
    assert.is(header.dataOffset % 64, 0);
    assert.is(header.version, 1);
    assert.ok(new TextDecoder('latin1').decode(bytes.subarray(0, header.dataOffset)).includes(text), `header has ${text}`);
    assert.is(bytes[header.dataOffset - 1], 0x0a, 'header ends with a newline');
    const out = decodeNpy(bytes, 'roundtrip.npy');
    assert.equal(out.shape, shape);
    assert.is(out.data.constructor, data.constructor);
    assert.equal(bytesOf(out.data), bytesOf(data));
  }
});

test('switches to format 2.0 only when the header exceeds 65535 bytes', () => {
  const shape = new Array<number>(30000).fill(1);
  const bytes = encodeNpy(Uint8Array.of(9), shape);
  const header = readNpyHeader(bytes);
  assert.is(header.version, 2);
  assert.is(header.dataOffset % 64, 0);
  assert.equal([...decodeNpy(bytes).data], [9]);
  throwsWith(() => encodeNpy(Uint8Array.of(9), shape, { version: 1 }), 'does not fit format version 1.0');
});

test('checkNpy and decodeNpy(expected) name the file, the expectation and what was found', () => {
  const f32 = encodeNpy(new Float32Array(6), [2, 3]);
  throwsWith(() => decodeNpy(f32, 'fog.npy', { dtype: 'uint8' }), "fog.npy: expected dtype uint8, found float32 ('<f4')");
  // The shape is checked against the header alone: no data is needed to report it.
  const headerOnly = npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (100, 32, 32), }", new Uint8Array(0));
  throwsWith(() => decodeNpy(headerOnly, 'fog.npy', { dtype: 'uint8', shape: [-1, 32, 32, 3] }), 'fog.npy: expected shape (*, 32, 32, 3), found (100, 32, 32)');
  throwsWith(() => checkNpy({ dtype: 'uint8', shape: [5, 32, 32, 1] }, { shape: [-1, 32, 32, 3] }, 'x.npy'), 'x.npy: expected shape (*, 32, 32, 3), found (5, 32, 32, 1)');
  checkNpy({ dtype: 'uint8', shape: [7, 32, 32, 3] }, { dtype: 'uint8', shape: [-1, 32, 32, 3] }, 'ok.npy');
  assert.is(formatShape([]), '()');
  assert.is(formatShape([4]), '(4,)');
});

test('truncated and malformed files are rejected with named errors', () => {
  const cifar = npyBytes("{'descr': '|u1', 'fortran_order': False, 'shape': (50000, 32, 32, 3), }", new Uint8Array(1024));
  throwsWith(() => decodeNpy(cifar, 'fog.npy'), 'fog.npy: truncated: header says (50000, 32, 32, 3) uint8 = 153600000 bytes of data but the file has 1024');

  const good = encodeNpy(Float32Array.of(1, 2, 3), [3]);
  const u8 = new Uint8Array(0);
  const cases: [string, Uint8Array, string[]][] = [
    ['empty file', new Uint8Array(0), ['truncated', '0 bytes']],
    ['truncated prefix', good.subarray(0, 9), ['truncated', '9 bytes']],
    ['truncated header', good.subarray(0, 40), ['truncated', 'header length field says 118 bytes but only 30 follow']],
    ['truncated data', good.subarray(0, good.length - 1), ['truncated', '(3,) float32 = 12 bytes of data but the file has 11']],
    ['not npy', new TextEncoder().encode('PK\u0003\u0004 a zip archive'), ['not a .npy file', 'expected magic \\x93NUMPY', 'PK\\x03\\x04']],
    ['version 4.0', Uint8Array.from([...good.subarray(0, 6), 4, 0, ...good.subarray(8)]), ['unsupported .npy format version 4.0']],
    ['fortran order', npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(24)), ['fortran_order True', 'not supported', 'np.ascontiguousarray']],
    ['big-endian', npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), ["big-endian dtype '>f4'", "astype('<f4')"]],
    ['complex', npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), ["unsupported dtype '<c8'", '<f4']],
    ['structured', npyBytes("{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)), ['structured dtype', 'not supported']],
    ['missing key', npyBytes("{'descr': '<f4', 'shape': (1,), }", u8), ["no 'fortran_order' key"]],
    ['extra key', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", u8), ["unexpected keys 'x'"]],
    ['list shape', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", u8), ['shape must be a tuple of non-negative integers', 'a list']],
    ['parenthesized int', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", u8), ['shape must be a tuple', 'found 5']],
    ['negative extent', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", u8), ['shape must be a tuple of non-negative integers', '(2, -1)']],
    ['not a literal', npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", u8), ['not a valid Python literal']],
    ['not a dict', npyBytes("('<f4', False, (1,))", u8), ['header must be a dict']],
  ];
  for (const [label, bytes, fragments] of cases) {
    const message = throwsWith(() => decodeNpy(bytes, 'data/fog.npy'), ...fragments);
    assert.ok(message.startsWith('data/fog.npy: '), `${label}: message names the file: ${message}`);
  }
  throwsWith(() => encodeNpy(new Float32Array(5), [2, 3]), 'shape (2, 3) has 6 elements but the data has 5');
  throwsWith(() => encodeNpy(new Uint16Array(1) as unknown as NpyData, [1]), 'unsupported array type Uint16Array');
});

test('files: atomic write, whole reads, row slices through a file handle', async () => {
  const path = join(dir, 'sub', 'images.npy');
  const rows = 7;
  const images = Uint8Array.from({ length: rows * 4 * 4 * 3 }, (_, i) => (i * 37) % 256);
  await writeNpyFile(path, images, [rows, 4, 4, 3]);
  assert.equal(readdirSync(join(dir, 'sub')), ['images.npy'], 'no temp file left behind');
  assert.equal([...(await readNpyFile(path, { dtype: 'uint8' })).data], [...images]);

  const file = await openNpy(path, { dtype: 'uint8', shape: [-1, 4, 4, 3] });
  try {
    assert.is(file.rows, rows);
    assert.equal(file.rowShape, [4, 4, 3]);
    assert.is(file.dataOffset, 128);
    const rowSize = 48;
    for (const [start, count] of [[0, 1], [2, 3], [6, 1], [0, 7], [7, 0]]) {
      const slice = await file.readRows(start, count);
      assert.ok(slice instanceof Uint8Array);
      assert.equal([...slice], [...images.subarray(start * rowSize, (start + count) * rowSize)], `rows ${start}+${count}`);
    }
    await rejectsWith(file.readRows(5, 3), path, 'readRows(5, 3) is out of range for 7 rows');
    await rejectsWith(file.readRows(-1, 1), 'out of range');
  } finally {
    await file.close();
  }
  await rejectsWith(file.readRows(0, 1), 'after close()');

  const labelsPath = join(dir, 'labels.npy');
  await writeNpyFile(labelsPath, BigInt64Array.of(3n, 1n, 4n, 1n, 5n), [5]);
  const labels = await openNpy(labelsPath, { dtype: 'int64' });
  const tail = await labels.readRows(3, 2);
  assert.ok(tail instanceof BigInt64Array);
  assert.equal([...tail], [1n, 5n]);
  await labels.close();

  const features = join(dir, 'features.npy');
  await writeNpyFile(features, Float32Array.from({ length: 12 }, (_, i) => i / 4), [4, 3]);
  const f = await openNpy(features);
  assert.equal([...(await f.readRows(1, 2))], [0.75, 1, 1.25, 1.5, 1.75, 2]);
  await f.close();

  await rejectsWith(openNpy(path, { dtype: 'float32' }), `${path}: expected dtype float32, found uint8 ('|u1')`);
  const truncated = join(dir, 'truncated.npy');
  writeFileSync(truncated, readFileSync(path).subarray(0, 128 + 100));
  await rejectsWith(openNpy(truncated), `${truncated}: truncated: header says (7, 4, 4, 3) uint8 = 336 bytes of data but the file has 100`);
  await rejectsWith(readNpyFile(truncated), `${truncated}: truncated`);
  const scalar = join(dir, 'scalar.npy');
  await writeNpyFile(scalar, Float32Array.of(1), []);
  await rejectsWith(openNpy(scalar), 'scalar');
  assert.equal([...(await readNpyFile(scalar)).data], [1]);
});

test.run();
