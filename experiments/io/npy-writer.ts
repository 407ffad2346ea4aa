// Streaming .npy writing (Node): the header is written first for the final shape, rows are written
// at their offsets as they are produced, and commit() fsyncs and renames the temp file over the
// target, so a reader sees either no file or a complete one and the whole array is never held in
// memory. The header is byte-identical to encodeNpy's (numpy.save's) for the same dtype and shape.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDirectory, tempPathFor } from './atomic.js';
import { encodeNpy, formatShape, type NpyArrayMap, type NpyDType } from './npy.js';

const DESCR: Record<NpyDType, string> = { uint8: '|u1', int32: '<i4', int64: '<i8', float32: '<f4', float64: '<f8' };
const ITEM_SIZE: Record<NpyDType, number> = { uint8: 1, int32: 4, int64: 8, float32: 4, float64: 8 };
const EMPTY: { [K in NpyDType]: () => NpyArrayMap[K] } = {
  uint8: () => new Uint8Array(0),
  int32: () => new Int32Array(0),
  int64: () => new BigInt64Array(0),
  float32: () => new Float32Array(0),
  float64: () => new Float64Array(0),
};

/**
 * The header (magic, version, length, dict, padding) numpy.save writes for an array of `dtype` and
 * `shape`: the array data follows it directly.
 */
export function npyHeader(dtype: NpyDType, shape: readonly number[]): Uint8Array {
  if (!(dtype in DESCR)) throw new Error(`npyHeader: unsupported dtype ${dtype}`);
  // NumPy pads the header so that growing axis 0 never changes its length; the header of an empty
  // array with axis 0 = 0 therefore has exactly the length of the real one, and only the shape
  // digits differ. Encoding that and patching in the real shape keeps the two byte-identical.
  if (shape.length === 0) return encodeNpy(EMPTY[dtype](), []).subarray(0);
  const probe = encodeNpy(EMPTY[dtype](), [0, ...shape.slice(1)]);
  const headerLength = probe.length;
  const text = Array.from(probe, (b) => String.fromCharCode(b)).join('');
  const from = `'shape': ${formatShape([0, ...shape.slice(1)])}, }`;
  const to = `'shape': ${formatShape(shape)}, }`;
  const at = text.indexOf(from);
  const spaces = to.length - from.length;
  if (at < 0 || text.slice(at + from.length, at + from.length + spaces) !== ' '.repeat(spaces)) throw new Error(`npyHeader: cannot lay out the header for shape ${formatShape(shape)}`);
  const out = new Uint8Array(headerLength);
  out.set(probe);
  for (let k = 0; k < to.length; k++) out[at + k] = to.charCodeAt(k);
  return out;
}

/** Writes one .npy file row block by row block; see the module comment. */
export class NpyWriter<D extends NpyDType = NpyDType> {
  private written: Uint8Array;
  private finished = false;

  private constructor(
    readonly path: string,
    readonly tmpPath: string,
    readonly dtype: D,
    readonly shape: readonly number[],
    private handle: FileHandle,
    private readonly dataOffset: number,
    private readonly rowElements: number,
  ) {
    this.written = new Uint8Array(shape[0]);
  }

  /** Creates `<path>.tmp-<host>-<pid>` holding the header, sized for the whole array. */
  static async create<D extends NpyDType>(path: string, dtype: D, shape: readonly number[]): Promise<NpyWriter<D>> {
    if (shape.length < 1 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`${path}: NpyWriter needs a shape of non-negative integers with at least one axis, got ${formatShape(shape)}`);
    const header = npyHeader(dtype, shape);
    const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
    const tmp = tempPathFor(path);
    await fsp.mkdir(dirname(path), { recursive: true });
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.write(header, 0, header.length, 0);
      await handle.truncate(header.length + shape[0] * rowElements * ITEM_SIZE[dtype]);
    } catch (e) {
      await handle.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw new Error(`${path}: cannot create ${tmp}: ${(e as Error).message}`, { cause: e });
    }
    return new NpyWriter(path, tmp, dtype, shape, handle, header.length, rowElements);
  }

  get rows(): number {
    return this.shape[0];
  }

  /** Writes rows [start, start + data.length / rowElements). */
  async writeRows(start: number, data: NpyArrayMap[D]): Promise<void> {
    if (this.finished) throw new Error(`${this.path}: writeRows after commit() or abort()`);
    if (data.length % this.rowElements !== 0) throw new Error(`${this.path}: ${data.length} elements are not whole rows of ${this.rowElements}`);
    const count = data.length / this.rowElements;
    if (!Number.isInteger(start) || start < 0 || start + count > this.rows) throw new Error(`${this.path}: rows [${start}, ${start + count}) are outside [0, ${this.rows})`);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const position = this.dataOffset + start * this.rowElements * ITEM_SIZE[this.dtype];
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, position + done);
      if (bytesWritten <= 0) throw new Error(`${this.path}: short write to ${this.tmpPath}`);
      done += bytesWritten;
    }
    this.written.fill(1, start, start + count);
  }

  /** Rows not yet written. */
  missingRows(): number {
    let n = 0;
    for (const w of this.written) if (!w) n++;
    return n;
  }

  /** Checks every row was written, fsyncs, and renames the temp file over `path`. */
  async commit(): Promise<void> {
    if (this.finished) throw new Error(`${this.path}: commit() called twice`);
    const missing = this.missingRows();
    if (missing > 0) {
      await this.abort();
      throw new Error(`${this.path}: ${missing} of ${this.rows} rows were never written; nothing was saved`);
    }
    this.finished = true;
    try {
      await this.handle.sync();
      await this.handle.close();
      await fsp.rename(this.tmpPath, this.path);
    } catch (e) {
      await this.handle.close().catch(() => undefined);
      await fsp.rm(this.tmpPath, { force: true }).catch(() => undefined);
      throw new Error(`${this.path}: cannot commit: ${(e as Error).message}`, { cause: e });
    }
    await syncDirectory(dirname(this.path));
  }

  /** Discards the temp file. */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.handle.close().catch(() => undefined);
    await fsp.rm(this.tmpPath, { force: true }).catch(() => undefined);
  }
}
