// Independent readers of the published formats, written from their specifications for the fuzz
// oracle: when a loader accepts a mutated file, what it returns must equal what these read. They
// accept only the canonical forms the mutations start from and return null for anything else.

/** CIFAR-10 binary: 3,073-byte records (label, then 1,024 R, G and B bytes); null if ragged or a label ≥ 10. */
export function referenceCifar(bytes: Uint8Array): { images: Uint8Array; labels: number[] } | null {
  if (bytes.length === 0 || bytes.length % 3073 !== 0) return null;
  const n = bytes.length / 3073;
  const images = new Uint8Array(n * 3072);
  const labels: number[] = [];
  for (let r = 0; r < n; r++) {
    const label = bytes[r * 3073];
    if (label > 9) return null;
    labels.push(label);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) images[r * 3072 + p * 3 + c] = bytes[r * 3073 + 1 + c * 1024 + p];
  }
  return { images, labels };
}

export interface ReferenceNpy {
  descr: string;
  shape: number[];
  dataOffset: number;
  /** The array's bytes (anything after them excluded). */
  payload: Uint8Array;
}

const NPY_ITEM: Record<string, number> = { '|u1': 1, '<i4': 4, '<i8': 8, '<f4': 4, '<f8': 8 };

/** A C-order .npy (versions 1.0–3.0) in NumPy's canonical header form; null otherwise. */
export function referenceNpy(bytes: Uint8Array): ReferenceNpy | null {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || !magic.every((b, i) => bytes[i] === b)) return null;
  const major = bytes[6];
  if (bytes[7] !== 0 || major < 1 || major > 3) return null;
  const field = major === 1 ? 2 : 4;
  if (bytes.length < 8 + field) return null;
  const length = field === 2 ? bytes[8] | (bytes[9] << 8) : (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16)) + bytes[11] * 2 ** 24;
  const dataOffset = 8 + field + length;
  if (dataOffset > bytes.length) return null;
  const text = Array.from(bytes.subarray(8 + field, dataOffset), (b) => String.fromCharCode(b)).join('');
  const m = /^\{'descr': '([^']*)', 'fortran_order': (True|False), 'shape': \(([^)]*)\), \} *\n$/.exec(text);
  if (!m || !(m[1] in NPY_ITEM)) return null;
  const dims = m[3].split(',').map((d) => d.trim()).filter((d, i, all) => d !== '' || i < all.length - 1);
  if (!dims.every((d) => /^\d+$/.test(d))) return null;
  if (m[3].trim() !== '' && dims.length === 1 && !m[3].trim().endsWith(',')) return null; // (5) is not a tuple
  const shape = dims.map(Number);
  if (m[2] === 'True' && shape.filter((d) => d > 1).length > 1) return null;
  const size = shape.reduce((a, b) => a * b, 1) * NPY_ITEM[m[1]];
  // Bytes after the array are allowed, as numpy.load allows them (np.save can append arrays to one file).
  if (dataOffset + size > bytes.length) return null;
  return { descr: m[1], shape, dataOffset, payload: bytes.subarray(dataOffset, dataOffset + size) };
}

export interface ReferenceTensor {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

const ST_ITEM: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8 };

/** A safetensors file: u64 header length, JSON header, packed data; null if anything is off. */
export function referenceSafetensors(bytes: Uint8Array): { tensors: Record<string, ReferenceTensor>; metadata: Record<string, string> } | null {
  if (bytes.length < 8) return null;
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8) return null;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    return null;
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) return null;
  const data = bytes.subarray(8 + n);
  const tensors: Record<string, ReferenceTensor> = {};
  const spans: [number, number][] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value) || Object.values(value as object).some((v) => typeof v !== 'string')) return null;
      metadata = value as Record<string, string>;
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!t || typeof t !== 'object' || typeof t.dtype !== 'string' || !(t.dtype in ST_ITEM)) return null;
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return null;
    const o = t.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every((v) => Number.isSafeInteger(v) && v >= 0)) return null;
    const [begin, end] = o as [number, number];
    if (end - begin !== (t.shape as number[]).reduce((a, b) => a * b, 1) * ST_ITEM[t.dtype] || end > data.length) return null;
    spans.push([begin, end]);
    tensors[name] = { dtype: t.dtype, shape: t.shape as number[], bytes: data.subarray(begin, end) };
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end] of spans) {
    if (begin !== covered) return null;
    covered = end;
  }
  return covered === data.length ? { tensors, metadata } : null;
}

/** The segments of a JPEG file: [marker, offset] of each, up to and including the start of scan. */
export function jpegSegments(bytes: Uint8Array): { marker: number; offset: number; length: number }[] {
  const out: { marker: number; offset: number; length: number }[] = [];
  let i = 2;
  while (i + 4 <= bytes.length && bytes[i] === 0xff) {
    const marker = bytes[i + 1];
    const length = (bytes[i + 2] << 8) | bytes[i + 3];
    out.push({ marker, offset: i, length });
    i += 2 + length;
    if (marker === 0xda) break;
  }
  return out;
}
