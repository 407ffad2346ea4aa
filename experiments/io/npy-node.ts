// Node file helpers for .npy (the codec in npy.ts stays browser-safe): whole-file reads, atomic
// writes, and row-slice reads of large files (CIFAR-10-C is 150 MB per corruption) through a
// FileHandle, so only the rows asked for are in memory.
import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { checkNpy, checkNpyLength, decodeNpy, encodeNpy, npyHeaderSize, npyView, readNpyHeader, type NpyArray, type NpyArrayMap, type NpyData, type NpyDType, type NpyExpectation } from './npy.js';

export interface NpyFile<D extends NpyDType = NpyDType> {
  readonly path: string;
  readonly dtype: D;
  readonly descr: string;
  readonly shape: number[];
  /** Extent of axis 0. */
  readonly rows: number;
  /** Shape of one row: shape without axis 0. */
  readonly rowShape: number[];
  readonly dataOffset: number;
  /** Rows [start, start + count) of axis 0, C order, in a fresh (aligned) array. */
  readRows(start: number, count: number): Promise<NpyArrayMap[D]>;
  close(): Promise<void>;
}

async function readFully(handle: FileHandle, into: Uint8Array, position: number, path: string): Promise<void> {
  let filled = 0;
  while (filled < into.length) {
    const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
    if (bytesRead === 0) throw new Error(`${path}: truncated: wanted ${into.length} bytes at offset ${position}, the file ended after ${filled}`);
    filled += bytesRead;
  }
}

/**
 * Opens a .npy file and validates its header (and `expected`, if given) and size, reading no
 * array data. Call close() when done.
 */
export async function openNpy<D extends NpyDType = NpyDType>(path: string, expected?: NpyExpectation<D>): Promise<NpyFile<D>> {
  const handle = await open(path, 'r');
  try {
    const fileLength = (await handle.stat()).size;
    const prefix = new Uint8Array(Math.min(12, fileLength));
    await readFully(handle, prefix, 0, path);
    const headerSize = npyHeaderSize(prefix, path, fileLength);
    const headerBytes = new Uint8Array(headerSize);
    await readFully(handle, headerBytes, 0, path);
    const header = readNpyHeader(headerBytes, path, fileLength);
    if (expected) checkNpy(header, expected, path);
    checkNpyLength(header, fileLength, path);
    if (header.shape.length === 0) throw new Error(`${path}: openNpy reads rows, but the array is a scalar (shape ()); use readNpyFile`);
    const [rows, ...rowShape] = header.shape;
    const rowElements = rowShape.reduce((a, b) => a * b, 1);
    const rowBytes = rowElements * header.itemSize;
    let closed = false;
    return {
      path,
      dtype: header.dtype as D,
      descr: header.descr,
      shape: header.shape,
      rows,
      rowShape,
      dataOffset: header.dataOffset,
      async readRows(start: number, count: number) {
        if (closed) throw new Error(`${path}: readRows after close()`);
        if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows) {
          throw new Error(`${path}: readRows(${start}, ${count}) is out of range for ${rows} rows`);
        }
        const bytes = new Uint8Array(count * rowBytes);
        await readFully(handle, bytes, header.dataOffset + start * rowBytes, path);
        return npyView(header.dtype as D, bytes, 0, count * rowElements);
      },
      async close() {
        if (closed) return;
        closed = true;
        await handle.close();
      },
    };
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
}

/** Reads a whole .npy file; errors name the path. */
export async function readNpyFile<D extends NpyDType = NpyDType>(path: string, expected?: NpyExpectation<D>): Promise<NpyArray<D>> {
  const buf = await readFile(path);
  return decodeNpy(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path, expected);
}

/** Writes a C-order array as .npy atomically (temp file, fsync, rename). */
export async function writeNpyFile(path: string, data: NpyData, shape: readonly number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape, { source: path }));
}
