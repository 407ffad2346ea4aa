// A zip reader for extraction: finds the end-of-central-directory record (and its zip64 form, which
// archives of more than 65,535 entries such as Tiny ImageNet use), reads the central directory, and
// for each member reads its local header and inflates (node:zlib inflateRaw) or copies its data
// into the target folder, checking the CRC-32 and size the directory records.
//
// Records (all little-endian): end of central directory 0x06054b50 (entries u16 @10, directory size
// u32 @12, offset u32 @16, comment length u16 @20); zip64 locator 0x07064b50 (zip64 record offset u64
// @8); zip64 record 0x06064b50 (entries u64 @32, size u64 @40, offset u64 @48); central header
// 0x02014b50 (flags @8, method @10, crc @16, compressed @20, size @24, name length @28, extra @30,
// comment @32, external attributes @38, local offset @42, name @46); local header 0x04034b50 (name
// length @26, extra length @28, data @30 + both). Extra field 0x0001 holds the 64-bit values of
// whichever of size, compressed size and offset are 0xFFFFFFFF, in that order.
import { createReadStream } from 'node:fs';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Transform } from 'node:stream';
import { createInflateRaw, inflateRawSync } from 'node:zlib';
import { crc32 } from '../io/png.js';
import { ArchiveError, FolderMaker, memberPath, writeMember } from './target.js';
import { SMALL_MEMBER, type ExtractStats } from './tar.js';

interface Entry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  mode: number;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

const u64 = (b: Buffer, at: number) => Number(b.readBigUInt64LE(at));

/** Offset, size and entry count of the central directory. */
async function findDirectory(handle: FileHandle, fileSize: number, archive: string): Promise<{ offset: number; size: number; entries: number }> {
  const tailLength = Math.min(fileSize, 22 + 0xffff);
  const tail = await readAt(handle, fileSize - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === 0x06054b50 && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ArchiveError(`${archive}: no end-of-central-directory record: the zip is truncated, or not a zip file`);
  let entries = tail.readUInt16LE(at + 10);
  let size = tail.readUInt32LE(at + 12);
  let offset = tail.readUInt32LE(at + 16);
  if ((entries === 0xffff || size === 0xffffffff || offset === 0xffffffff) && at >= 20 && tail.readUInt32LE(at - 20) === 0x07064b50) {
    const record = await readAt(handle, u64(tail, at - 20 + 8), 56);
    if (record.length < 56 || record.readUInt32LE(0) !== 0x06064b50) throw new ArchiveError(`${archive}: damaged zip64 end-of-central-directory record`);
    entries = u64(record, 32);
    size = u64(record, 40);
    offset = u64(record, 48);
  }
  if (offset + size > fileSize) throw new ArchiveError(`${archive}: truncated: the central directory (bytes ${offset}..${offset + size}) lies beyond the end of the file (${fileSize} bytes)`);
  return { offset, size, entries };
}

function parseDirectory(dir: Buffer, expected: number, archive: string): Entry[] {
  const entries: Entry[] = [];
  for (let at = 0; at < dir.length; ) {
    if (at + 46 > dir.length || dir.readUInt32LE(at) !== 0x02014b50) throw new ArchiveError(`${archive}: damaged central directory at entry ${entries.length}`);
    const nameLength = dir.readUInt16LE(at + 28);
    const extraLength = dir.readUInt16LE(at + 30);
    const commentLength = dir.readUInt16LE(at + 32);
    const entry: Entry = {
      name: dir.toString('utf8', at + 46, at + 46 + nameLength),
      flags: dir.readUInt16LE(at + 8),
      method: dir.readUInt16LE(at + 10),
      crc: dir.readUInt32LE(at + 16),
      compressed: dir.readUInt32LE(at + 20),
      size: dir.readUInt32LE(at + 24),
      offset: dir.readUInt32LE(at + 42),
      mode: dir.readUInt32LE(at + 38) >>> 16,
    };
    // zip64 extra field: 64-bit values for the fields saturated above, in this order.
    const extra = dir.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = extra.readUInt16LE(e);
      const length = extra.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let k = e + 4;
        for (const field of ['size', 'compressed', 'offset'] as const) {
          if (entry[field] === 0xffffffff && k + 8 <= e + 4 + length) {
            entry[field] = u64(extra, k);
            k += 8;
          }
        }
      }
      e += 4 + length;
    }
    entries.push(entry);
    at += 46 + nameLength + extraLength + commentLength;
  }
  if (entries.length !== expected) throw new ArchiveError(`${archive}: the central directory lists ${entries.length} entries, its end record says ${expected}`);
  return entries;
}

/** Why a member's unpacked bytes (their count and CRC-32) are not what the directory records, or null. */
function mismatch(entry: Entry, size: number, crc: number, archive: string): ArchiveError | null {
  if (size !== entry.size) return new ArchiveError(`${archive}: member '${entry.name}' holds ${size} bytes, the directory says ${entry.size}`);
  if (crc !== entry.crc) return new ArchiveError(`${archive}: member '${entry.name}' fails its CRC-32 check: the archive is damaged`);
  return null;
}

/** Counts bytes and CRC-32 of what passes through. */
function checker(entry: Entry, archive: string): Transform {
  let crc = 0;
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      crc = crc32(chunk, crc);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(mismatch(entry, size, crc, archive));
    },
  });
}

/** A small member: unpacked and checked in memory, written in one call. */
async function writeSmall(entry: Entry, packed: Buffer, target: string, archive: string): Promise<void> {
  const bytes = entry.method === 8 ? inflateRawSync(packed) : packed;
  const error = mismatch(entry, bytes.length, crc32(bytes), archive);
  if (error) throw error;
  await writeFile(target, bytes);
}

/** Extracts the zip file at `path` into `root`; `onProgress` gets the bytes of the file processed. */
export async function extractZip(path: string, root: string, archive: string, onProgress?: (done: number, total: number) => void): Promise<ExtractStats> {
  const handle = await open(path, 'r');
  const stats: ExtractStats = { files: 0, bytes: 0 };
  try {
    const fileSize = (await handle.stat()).size;
    const where = await findDirectory(handle, fileSize, archive);
    const entries = parseDirectory(await readAt(handle, where.offset, where.size), where.entries, archive);
    const folders = new FolderMaker();
    for (const entry of entries) {
      const target = memberPath(root, entry.name, archive);
      if ((entry.mode & 0o170000) === 0o120000) throw new ArchiveError(`${archive}: member '${entry.name}' is a symbolic link; only files and folders are extracted, refusing the archive`);
      if (entry.flags & 1) throw new ArchiveError(`${archive}: member '${entry.name}' is encrypted`);
      if (entry.name.endsWith('/')) {
        if (target) await folders.ensure(target);
        continue;
      }
      if (!target) throw new ArchiveError(`${archive}: a member has no name`);
      if (entry.method !== 0 && entry.method !== 8) throw new ArchiveError(`${archive}: member '${entry.name}' uses compression method ${entry.method}; only stored (0) and deflate (8) are supported`);
      // A small member is read with its local header in one call (name and extra field rarely pass 512 bytes).
      const small = entry.size <= SMALL_MEMBER && entry.compressed <= SMALL_MEMBER;
      const head = await readAt(handle, entry.offset, small ? 30 + Buffer.byteLength(entry.name) + 512 + entry.compressed : 30);
      if (head.length < 30 || head.readUInt32LE(0) !== 0x04034b50) throw new ArchiveError(`${archive}: member '${entry.name}': no local header at byte ${entry.offset}`);
      const dataAt = 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
      const start = entry.offset + dataAt;
      if (start + entry.compressed > fileSize) throw new ArchiveError(`${archive}: truncated: member '${entry.name}' runs past the end of the file`);
      await folders.ensure(dirname(target));
      try {
        if (small) {
          const packed = dataAt + entry.compressed <= head.length ? head.subarray(dataAt, dataAt + entry.compressed) : await readAt(handle, start, entry.compressed);
          await writeSmall(entry, packed, target, archive);
        } else {
          const raw = createReadStream(path, { start, end: start + entry.compressed - 1 });
          await writeMember(target, raw, ...(entry.method === 8 ? [createInflateRaw()] : []), checker(entry, archive));
        }
      } catch (e) {
        if (e instanceof ArchiveError) throw e;
        throw new ArchiveError(`${archive}: member '${entry.name}' cannot be decompressed (${(e as Error).message}): the archive is damaged`);
      }
      stats.files++;
      stats.bytes += entry.size;
      onProgress?.(start + entry.compressed, fileSize);
    }
    return stats;
  } finally {
    await handle.close();
  }
}
