// NumPy .npy codec (browser-safe; file helpers live in npy-node.ts).
//
// Layout: magic "\x93NUMPY", major and minor version bytes, the header length (u16 LE in version
// 1.0, u32 LE in 2.0 and 3.0), then the header: a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (50000, 32, 32, 3), } padded with spaces and
// ended by '\n', then the raw array data. NumPy >= 1.19 pads so the data starts on a 64-byte
// boundary (older versions: 16); readers accept any padding. Only little-endian uint8, int32,
// int64, float32 and float64 arrays in C order are supported.

export interface NpyArrayMap {
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  float32: Float32Array;
  float64: Float64Array;
}
export type NpyDType = keyof NpyArrayMap;
export type NpyData = NpyArrayMap[NpyDType];

/** A decoded array; with the default type parameter a union discriminated by `dtype`. */
export type NpyArray<D extends NpyDType = NpyDType> = {
  [K in D]: { dtype: K; descr: string; shape: number[]; data: NpyArrayMap[K] };
}[D];

export interface NpyHeader {
  dtype: NpyDType;
  /** The dtype string as written in the file, e.g. '<f4' or '|u1'. */
  descr: string;
  shape: number[];
  version: 1 | 2 | 3;
  /** Bytes per element. */
  itemSize: number;
  /** Byte offset of the array data in the file. */
  dataOffset: number;
  /** Bytes of array data the header promises: product(shape) x item size. */
  dataLength: number;
}

/** What a caller expects; -1 in `shape` matches any extent. */
export interface NpyExpectation<D extends NpyDType = NpyDType> {
  dtype?: D;
  shape?: readonly number[];
}

interface ArrayCtor {
  readonly BYTES_PER_ELEMENT: number;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NpyData;
}

const DTYPES: Record<NpyDType, { descr: string; ctor: ArrayCtor }> = {
  uint8: { descr: '|u1', ctor: Uint8Array },
  int32: { descr: '<i4', ctor: Int32Array },
  int64: { descr: '<i8', ctor: BigInt64Array },
  float32: { descr: '<f4', ctor: Float32Array },
  float64: { descr: '<f8', ctor: Float64Array },
};
const BY_DESCR: Record<string, NpyDType> = { '|u1': 'uint8', '<u1': 'uint8', '<i4': 'int32', '<i8': 'int64', '<f4': 'float32', '<f8': 'float64' };

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Data alignment written by NumPy >= 1.19. */
const ALIGN = 64;
/** Spare header space NumPy leaves so the first axis can grow in place. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/** Headers above this are rejected as corrupt. */
export const NPY_MAX_HEADER = 1 << 20;

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function requireLittleEndian(source: string): void {
  if (!HOST_LITTLE_ENDIAN) throw new Error(`${source}: .npy support is little-endian only and this host is big-endian`);
}

/** Python tuple repr, '*' for -1 wildcards: (), (5,), (2, 3). */
export function formatShape(shape: readonly number[]): string {
  const dims = shape.map((d) => (d === -1 ? '*' : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const isShape = (s: readonly unknown[]) => s.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);

// --- header literal -----------------------------------------------------------------------------

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
type PyValue = string | number | boolean | null | PyValue[] | PyTuple | Map<string, PyValue>;

/** Parses the subset of Python literals that .npy headers use (ast.literal_eval's job in NumPy). */
function parsePyLiteral(text: string, source: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    const near = text.slice(Math.max(0, i - 20), i + 20).replace(/\n/g, '\\n');
    throw new Error(`${source}: header is not a valid Python literal: ${what} at offset ${i} (near "${near}")`);
  };
  const skip = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
  };
  const expect = (ch: string) => {
    skip();
    if (text[i] !== ch) fail(`expected '${ch}', found ${i < text.length ? `'${text[i]}'` : 'end of header'}`);
    i++;
  };
  // Items up to `close`, with optional trailing comma; reports whether any comma was seen.
  const sequence = (close: string, item: () => void): boolean => {
    let comma = false;
    for (;;) {
      skip();
      if (text[i] === close) break;
      item();
      skip();
      if (text[i] === ',') {
        comma = true;
        i++;
      } else if (text[i] !== close) fail(`expected ',' or '${close}'`);
    }
    i++;
    return comma;
  };
  const value = (): PyValue => {
    skip();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const dict = new Map<string, PyValue>();
      sequence('}', () => {
        const key = value();
        if (typeof key !== 'string') fail('dict keys must be strings');
        expect(':');
        dict.set(key as string, value());
      });
      return dict;
    }
    if (ch === '(' || ch === '[') {
      i++;
      const items: PyValue[] = [];
      const comma = sequence(ch === '(' ? ')' : ']', () => items.push(value()));
      if (ch === '[') return items;
      // (x) is x itself; (x,) and () are tuples.
      return items.length === 1 && !comma ? items[0] : new PyTuple(items);
    }
    if (ch === "'" || ch === '"') {
      i++;
      let s = '';
      while (text[i] !== ch) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === '\\') i++;
        s += text[i++];
      }
      i++;
      return s;
    }
    const m = /^(?:True|False|None|[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[lL]?)/.exec(text.slice(i, i + 64));
    if (!m) return fail(i < text.length ? `unexpected '${ch}'` : 'unexpected end of header');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace(/[lL]$/, ''));
  };
  const result = value();
  skip();
  if (i < text.length) fail('unexpected text after the literal');
  return result;
}

function describePy(v: PyValue): string {
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${describePy(v.items[0])},)` : `(${v.items.map(describePy).join(', ')})`;
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return `a list [${v.map(describePy).join(', ')}]`;
  if (typeof v === 'string') return `'${v}'`;
  return v === null ? 'None' : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);
}

// --- reading ------------------------------------------------------------------------------------

/**
 * Total header size (= data offset) from the file's first 12 bytes (10 suffice for version 1.0).
 * `fileLength` is the size of the whole file when known; by default `bytes` may be a prefix.
 */
export function npyHeaderSize(bytes: Uint8Array, source = 'npy data', fileLength = Infinity): number {
  const head = Math.min(bytes.length, 6);
  if (!MAGIC.slice(0, head).every((b, k) => bytes[k] === b)) {
    const found = Array.from(bytes.subarray(0, 6), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    throw new Error(`${source}: not a .npy file (expected magic \\x93NUMPY, found "${found}")`);
  }
  if (fileLength < 10) throw new Error(`${source}: truncated: ${fileLength} bytes, too short for a .npy header`);
  if (bytes.length < 8) throw new Error(`${source}: npyHeaderSize needs the first 12 bytes of the file, got ${bytes.length}`);
  const [major, minor] = [bytes[6], bytes[7]];
  if (major < 1 || major > 3 || minor !== 0) throw new Error(`${source}: unsupported .npy format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  const fieldBytes = major === 1 ? 2 : 4;
  if (fileLength < 8 + fieldBytes) throw new Error(`${source}: truncated: ${fileLength} bytes, too short for a version ${major}.0 .npy header`);
  if (bytes.length < 8 + fieldBytes) throw new Error(`${source}: npyHeaderSize needs the first 12 bytes of the file, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + 8, fieldBytes);
  const headerLength = fieldBytes === 2 ? view.getUint16(0, true) : view.getUint32(0, true);
  if (headerLength > NPY_MAX_HEADER) throw new Error(`${source}: header length ${headerLength} exceeds the ${NPY_MAX_HEADER}-byte limit (corrupt file?)`);
  const total = 8 + fieldBytes + headerLength;
  if (total > fileLength) throw new Error(`${source}: truncated: the header length field says ${headerLength} bytes but only ${fileLength - 8 - fieldBytes} follow it`);
  return total;
}

/**
 * Parses and validates only the header; `bytes` must hold at least the whole header (the data
 * may be absent, so a caller can read the rest of a large file in slices from `dataOffset`).
 * Pass the file's size as `fileLength` when known, so a short file reports truncation.
 */
export function readNpyHeader(bytes: Uint8Array, source = 'npy data', fileLength = Infinity): NpyHeader {
  const dataOffset = npyHeaderSize(bytes, source, fileLength);
  if (bytes.length < dataOffset) throw new Error(`${source}: readNpyHeader needs the first ${dataOffset} bytes of the file, got ${bytes.length}`);
  const version = bytes[6] as 1 | 2 | 3;
  const start = version === 1 ? 10 : 12;
  const raw = bytes.subarray(start, dataOffset);
  // Versions 1.0 and 2.0 store latin-1 headers, 3.0 UTF-8.
  const text = version === 3 ? new TextDecoder('utf-8').decode(raw) : Array.from(raw, (b) => String.fromCharCode(b)).join('');
  const dict = parsePyLiteral(text, source);
  if (!(dict instanceof Map)) throw new Error(`${source}: header must be a dict, found ${describePy(dict)}`);
  for (const key of ['descr', 'fortran_order', 'shape']) if (!dict.has(key)) throw new Error(`${source}: header has no '${key}' key`);
  const extra = [...dict.keys()].filter((k) => !['descr', 'fortran_order', 'shape'].includes(k));
  if (extra.length) throw new Error(`${source}: header has unexpected keys ${extra.map((k) => `'${k}'`).join(', ')}`);

  const descr = dict.get('descr')!;
  const shapeValue = dict.get('shape')!;
  const fortran = dict.get('fortran_order')!;
  if (typeof descr !== 'string') throw new Error(`${source}: structured dtype ${describePy(descr)} is not supported (expected one of ${Object.keys(BY_DESCR).join(', ')})`);
  if (!Object.prototype.hasOwnProperty.call(BY_DESCR, descr)) {
    if (descr.startsWith('>')) throw new Error(`${source}: big-endian dtype '${descr}' is not supported (save with arr.astype('<${descr.slice(1)}'))`);
    throw new Error(`${source}: unsupported dtype '${descr}' (supported: ${Object.keys(BY_DESCR).join(', ')})`);
  }
  const dtype = BY_DESCR[descr];
  if (!(shapeValue instanceof PyTuple) || !isShape(shapeValue.items)) throw new Error(`${source}: shape must be a tuple of non-negative integers, found ${describePy(shapeValue)}`);
  const shape = shapeValue.items as number[];
  if (typeof fortran !== 'boolean') throw new Error(`${source}: fortran_order must be True or False, found ${describePy(fortran)}`);
  // Column-major and row-major layouts only differ when two or more axes have extent > 1.
  if (fortran && shape.filter((d) => d > 1).length > 1) throw new Error(`${source}: fortran_order True (column-major) arrays are not supported; save np.ascontiguousarray(arr) instead (shape ${formatShape(shape)})`);
  const itemSize = DTYPES[dtype].ctor.BYTES_PER_ELEMENT;
  const dataLength = numel(shape) * itemSize;
  if (!Number.isSafeInteger(dataLength)) throw new Error(`${source}: shape ${formatShape(shape)} is too large`);
  return { dtype, descr, shape, version, itemSize, dataOffset, dataLength };
}

/** Throws, naming `source`, unless `found` has the expected dtype and shape (-1 = any extent). */
export function checkNpy(found: { dtype: NpyDType; descr?: string; shape: readonly number[] }, expected: NpyExpectation, source = 'npy data'): void {
  if (expected.dtype !== undefined && found.dtype !== expected.dtype) {
    throw new Error(`${source}: expected dtype ${expected.dtype}, found ${found.dtype}${found.descr ? ` ('${found.descr}')` : ''}`);
  }
  const want = expected.shape;
  if (want !== undefined && (want.length !== found.shape.length || want.some((d, k) => d !== -1 && d !== found.shape[k]))) {
    throw new Error(`${source}: expected shape ${formatShape(want)}, found ${formatShape(found.shape)}`);
  }
}

/** Throws a truncation error if a file of `fileLength` bytes cannot hold the data the header promises. */
export function checkNpyLength(header: NpyHeader, fileLength: number, source = 'npy data'): void {
  const available = fileLength - header.dataOffset;
  if (available < header.dataLength) {
    throw new Error(`${source}: truncated: header says ${formatShape(header.shape)} ${header.dtype} = ${header.dataLength} bytes of data but the file has ${available}`);
  }
}

/** Wraps bytes at `offset` of `buffer` as the dtype's typed array: a view when aligned, else a copy. */
export function npyView<D extends NpyDType>(dtype: D, bytes: Uint8Array, offset: number, length: number): NpyArrayMap[D] {
  const { ctor } = DTYPES[dtype];
  const size = ctor.BYTES_PER_ELEMENT;
  const start = bytes.byteOffset + offset;
  const data = start % size === 0 ? new ctor(bytes.buffer, start, length) : new ctor(bytes.slice(offset, offset + length * size).buffer, 0, length);
  return data as NpyArrayMap[D];
}

/**
 * Decodes a .npy file. The data views `bytes` when aligned (files from NumPy are), else is copied.
 * With `expected`, the header is checked before the data is looked at. Bytes after the array
 * data are ignored, as NumPy does.
 */
export function decodeNpy<D extends NpyDType = NpyDType>(bytes: Uint8Array, source = 'npy data', expected?: NpyExpectation<D>): NpyArray<D> {
  requireLittleEndian(source);
  const header = readNpyHeader(bytes, source, bytes.length);
  if (expected) checkNpy(header, expected, source);
  checkNpyLength(header, bytes.length, source);
  const data = npyView(header.dtype, bytes, header.dataOffset, numel(header.shape));
  return { dtype: header.dtype, descr: header.descr, shape: header.shape, data } as NpyArray<D>;
}

// --- writing ------------------------------------------------------------------------------------

/** The dtype of a supported typed array, or null. */
export function npyDTypeOf(data: unknown): NpyDType | null {
  for (const dtype of Object.keys(DTYPES) as NpyDType[]) if (data instanceof DTYPES[dtype].ctor) return dtype;
  return null;
}

export interface NpyEncodeOptions {
  /** Format version; by default 1.0, or 2.0 when the header does not fit a 16-bit length. */
  version?: 1 | 2;
  /** Names the output in error messages. */
  source?: string;
}

/** Encodes a C-order array exactly as numpy.save does (NumPy >= 1.19: 64-byte aligned data). */
export function encodeNpy(data: NpyData, shape: readonly number[], options: NpyEncodeOptions = {}): Uint8Array {
  const source = options.source ?? 'encodeNpy';
  requireLittleEndian(source);
  const dtype = npyDTypeOf(data);
  if (!dtype) throw new Error(`${source}: unsupported array type ${(data as object)?.constructor?.name ?? typeof data} (supported: Uint8Array, Int32Array, BigInt64Array, Float32Array, Float64Array)`);
  if (!isShape(shape)) throw new Error(`${source}: shape must be non-negative integers, found [${shape.join(', ')}]`);
  if (numel(shape) !== data.length) throw new Error(`${source}: shape ${formatShape(shape)} has ${numel(shape)} elements but the data has ${data.length}`);
  let header = `{'descr': '${DTYPES[dtype].descr}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const wrap = (version: 1 | 2) => {
    const prefix = 8 + (version === 1 ? 2 : 4);
    const used = header.length + 1; // + '\n'
    const pad = ALIGN - ((prefix + used) % ALIGN);
    return { version, prefix, headerLength: used + pad };
  };
  let layout = wrap(options.version ?? 1);
  if (layout.version === 1 && layout.headerLength > 0xffff) {
    if (options.version === 1) throw new Error(`${source}: header of ${layout.headerLength} bytes does not fit format version 1.0`);
    layout = wrap(2);
  }
  const dataOffset = layout.prefix + layout.headerLength;
  const out = new Uint8Array(dataOffset + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = layout.version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (layout.version === 1) view.setUint16(8, layout.headerLength, true);
  else view.setUint32(8, layout.headerLength, true);
  for (let k = 0; k < header.length; k++) out[layout.prefix + k] = header.charCodeAt(k);
  out.fill(0x20, layout.prefix + header.length, dataOffset - 1);
  out[dataOffset - 1] = 0x0a;
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), dataOffset);
  return out;
}
