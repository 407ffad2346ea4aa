// safetensors codec (browser-safe; file helpers live in safetensors-node.ts).
//
// Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section.
// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets from
// the start of the data section) plus an optional "__metadata__" object of string -> string. The
// header is padded with spaces to a multiple of 8 bytes; tensor data is little-endian, row-major
// and packed: sorted by offset, each tensor starts where the previous one ends and the last one
// ends at the end of the file. Decoding validates the whole header before touching the data.
//
// F16, BF16 and the F8 formats are carried as raw bit patterns (Uint16Array / Uint8Array); BOOL
// as one byte per element.

export interface SafetensorsArrayMap {
  F64: Float64Array;
  F32: Float32Array;
  F16: Uint16Array;
  BF16: Uint16Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U64: BigUint64Array;
  U32: Uint32Array;
  U16: Uint16Array;
  U8: Uint8Array;
  BOOL: Uint8Array;
  F8_E5M2: Uint8Array;
  F8_E4M3: Uint8Array;
}
export type SafetensorsDType = keyof SafetensorsArrayMap;
type AnyArray = SafetensorsArrayMap[SafetensorsDType];

/** One tensor; with the default type parameter a union discriminated by `dtype`. */
export type SafetensorsTensor<D extends SafetensorsDType = SafetensorsDType> = {
  [K in D]: { dtype: K; shape: number[]; data: SafetensorsArrayMap[K] };
}[D];

export interface SafetensorsContents {
  /**
   * Tensors, inserted in data-offset order (iteration lists integer-like names first, as for any
   * JS object). Arrays view the input bytes where aligned, else are copies.
   */
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** N, the JSON length (padding included) from the 8-byte prefix. */
  headerLength: number;
  /** Byte offset of the data section in the file: 8 + N. */
  dataStart: number;
  /** Entries, inserted in data-offset order (integer-like names iterate first). */
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

interface ArrayCtor {
  readonly BYTES_PER_ELEMENT: number;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): AnyArray;
}

// `rank` is the position in the reference implementation's dtype enum; writers order tensors by
// descending rank, then by name, which also keeps every tensor aligned to its element size.
const DTYPES: Record<SafetensorsDType, { size: number; rank: number; ctor: ArrayCtor }> = {
  BOOL: { size: 1, rank: 0, ctor: Uint8Array },
  U8: { size: 1, rank: 1, ctor: Uint8Array },
  I8: { size: 1, rank: 2, ctor: Int8Array },
  F8_E5M2: { size: 1, rank: 3, ctor: Uint8Array },
  F8_E4M3: { size: 1, rank: 4, ctor: Uint8Array },
  I16: { size: 2, rank: 5, ctor: Int16Array },
  U16: { size: 2, rank: 6, ctor: Uint16Array },
  F16: { size: 2, rank: 7, ctor: Uint16Array },
  BF16: { size: 2, rank: 8, ctor: Uint16Array },
  I32: { size: 4, rank: 9, ctor: Int32Array },
  U32: { size: 4, rank: 10, ctor: Uint32Array },
  F32: { size: 4, rank: 11, ctor: Float32Array },
  F64: { size: 8, rank: 12, ctor: Float64Array },
  I64: { size: 8, rank: 13, ctor: BigInt64Array },
  U64: { size: 8, rank: 14, ctor: BigUint64Array },
};

export const SAFETENSORS_DTYPES = Object.keys(DTYPES) as SafetensorsDType[];

/** Headers above this are rejected as corrupt (the reference implementation's limit). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

const METADATA_KEY = '__metadata__';
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function requireLittleEndian(source: string): void {
  if (!HOST_LITTLE_ENDIAN) throw new Error(`${source}: safetensors data is little-endian and this host is big-endian (unsupported)`);
}

const isDType = (d: unknown): d is SafetensorsDType => typeof d === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, d);
const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const fmtShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const fmtValue = (v: unknown) => {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
};
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const isShape = (s: unknown): s is number[] => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);

/** Byte-wise UTF-8 order of names (how the reference writer sorts them). */
function compareUtf8(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Serializes tensors (and optional string metadata) to safetensors bytes. Layout matches the
 * reference writer: "__metadata__" first, tensors ordered by descending dtype alignment then name.
 */
export function encodeSafetensors(tensors: Record<string, SafetensorsTensor>, metadata?: Record<string, string>, source = 'encodeSafetensors'): Uint8Array {
  requireLittleEndian(source);
  const utf8 = new TextEncoder();
  const items = Object.keys(tensors).map((name) => {
    const t = tensors[name];
    const what = `${source}: tensor '${name}'`;
    if (name === METADATA_KEY) throw new Error(`${what}: the name is reserved for metadata`);
    if (!t || typeof t !== 'object') throw new Error(`${what}: expected {dtype, shape, data}, found ${kindOf(t)}`);
    if (!isDType(t.dtype)) throw new Error(`${what}: unknown dtype ${fmtValue(t.dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`);
    if (!isShape(t.shape)) throw new Error(`${what}: shape must be an array of non-negative integers, found ${fmtValue(t.shape)}`);
    const info = DTYPES[t.dtype];
    if (!(t.data instanceof info.ctor)) throw new Error(`${what}: dtype ${t.dtype} needs a ${info.ctor.name}, found ${(t.data as object)?.constructor?.name ?? kindOf(t.data)}`);
    const n = numel(t.shape);
    if (t.data.length !== n) throw new Error(`${what}: shape ${fmtShape(t.shape)} has ${n} elements but the data has ${t.data.length}`);
    return { name, key: utf8.encode(name), t, info };
  });
  items.sort((a, b) => b.info.rank - a.info.rank || compareUtf8(a.key, b.key));

  // Built by hand so integer-like names keep their position (object key order would hoist them).
  const parts: string[] = [];
  if (metadata !== undefined) {
    const entries = Object.keys(metadata).map((k) => {
      const v = metadata[k];
      if (typeof v !== 'string') throw new Error(`${source}: metadata '${k}' must be a string, found ${kindOf(v)}`);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${entries.join(',')}}`);
  }
  let offset = 0;
  for (const { name, t } of items) {
    const end = offset + t.data.byteLength;
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] })}`);
    offset = end;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const { t } of items) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Parses and validates the header. `bytes` must hold at least the first 8 + N bytes of the file;
 * `fileLength` is the size of the whole file (defaults to bytes.length), used to check offsets.
 */
export function parseSafetensorsHeader(bytes: Uint8Array, source = 'safetensors data', fileLength = bytes.length): SafetensorsHeader {
  if (fileLength < 8) throw new Error(`${source}: truncated: ${fileLength} bytes, fewer than the 8-byte header length field`);
  if (bytes.length < 8) throw new Error(`${source}: parseSafetensorsHeader needs the first 8 bytes of the file, got ${bytes.length}`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(SAFETENSORS_MAX_HEADER)) throw new Error(`${source}: header length ${n64} exceeds the ${SAFETENSORS_MAX_HEADER}-byte limit (corrupt file, or not safetensors)`);
  const n = Number(n64);
  if (n > fileLength - 8) throw new Error(`${source}: truncated: the header length field says ${n} bytes but only ${fileLength - 8} follow it`);
  if (bytes.length < 8 + n) throw new Error(`${source}: parseSafetensorsHeader needs the first ${8 + n} bytes of the file, got ${bytes.length}`);
  const dataLength = fileLength - 8 - n;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw new Error(`${source}: header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: header is not valid JSON (${(err as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error(`${source}: header must be a JSON object, found ${kindOf(json)}`);

  const metadata: Record<string, string> = Object.create(null);
  const found: (SafetensorsEntry & { name: string })[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${source}: '${METADATA_KEY}' must be an object of strings, found ${kindOf(value)}`);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new Error(`${source}: '${METADATA_KEY}' entry '${k}' must be a string, found ${kindOf(v)} ${fmtValue(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const what = `${source}: tensor '${name}'`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what}: expected an object {dtype, shape, data_offsets}, found ${kindOf(value)}`);
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isDType(dtype)) throw new Error(`${what}: unknown dtype ${fmtValue(dtype)} (expected one of ${SAFETENSORS_DTYPES.join(', ')})`);
    if (!isShape(shape)) throw new Error(`${what}: shape must be an array of non-negative integers, found ${fmtValue(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new Error(`${what}: data_offsets must be [begin, end] with integers 0 <= begin <= end, found ${fmtValue(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const needed = numel(shape) * DTYPES[dtype].size;
    if (end - begin !== needed) throw new Error(`${what}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${fmtShape(shape)} needs ${needed}`);
    if (end > dataLength) throw new Error(`${source}: truncated: tensor '${name}' has data_offsets [${begin}, ${end}] but the data section holds ${dataLength} bytes`);
    found.push({ name, dtype, shape: [...shape], dataOffsets: [begin, end] });
  }

  found.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  const tensors: Record<string, SafetensorsEntry> = Object.create(null);
  let covered = 0;
  let last: (typeof found)[number] | null = null;
  for (const t of found) {
    const [begin, end] = t.dataOffsets;
    if (begin < covered) throw new Error(`${source}: tensor '${t.name}': data_offsets [${begin}, ${end}] overlap tensor '${last!.name}' at [${last!.dataOffsets.join(', ')}]`);
    if (begin > covered) throw new Error(`${source}: tensor '${t.name}': data_offsets [${begin}, ${end}] leave a gap of ${begin - covered} bytes after ${last ? `tensor '${last.name}' (ends at ${covered})` : 'the start of the data section'}; tensor data must be packed`);
    covered = end;
    last = t;
    tensors[t.name] = { dtype: t.dtype, shape: t.shape, dataOffsets: t.dataOffsets };
  }
  if (covered !== dataLength) throw new Error(`${source}: ${dataLength - covered} unexpected bytes after the tensor data (the tensors cover ${covered} bytes, the data section is ${dataLength})`);
  return { headerLength: n, dataStart: 8 + n, tensors, metadata };
}

/**
 * Decodes a whole safetensors file. Returned arrays view `bytes` (no copy) when the payload is
 * aligned for the element type, as files from standard writers are; otherwise they are copies.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors data'): SafetensorsContents {
  requireLittleEndian(source);
  const header = parseSafetensorsHeader(bytes, source);
  const tensors: Record<string, SafetensorsTensor> = Object.create(null);
  for (const [name, entry] of Object.entries(header.tensors)) {
    const { ctor, size } = DTYPES[entry.dtype];
    const start = bytes.byteOffset + header.dataStart + entry.dataOffsets[0];
    const length = (entry.dataOffsets[1] - entry.dataOffsets[0]) / size;
    const data =
      start % size === 0
        ? new ctor(bytes.buffer, start, length)
        : new ctor(bytes.slice(header.dataStart + entry.dataOffsets[0], header.dataStart + entry.dataOffsets[1]).buffer, 0, length);
    tensors[name] = { dtype: entry.dtype, shape: entry.shape, data } as SafetensorsTensor;
  }
  return { tensors, metadata: header.metadata };
}
