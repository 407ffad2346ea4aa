// A streaming tar reader (POSIX ustar and pax, GNU long names): reads 512-byte headers from a byte
// stream (a file, or a gunzipped file for .tar.gz) and writes each regular file into the target
// folder as its bytes arrive, so members of any size pass through without being held in memory.
//
// Header fields used: name (0, 100), size (124, 12; octal, or base-256 when the high bit is set),
// checksum (148, 8), type (156), magic (257, 6), prefix (345, 155; ustar only). Types: '0'/NUL
// file, '5' folder, 'L' GNU long name of the next member, 'x' pax header of the next member (its
// `path` and `size`), 'g' global pax header (ignored). Anything else (links, devices, sparse files) is refused.
// The archive must end with the zero block; a stream that stops before it is truncated.
import { writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArchiveError, FolderMaker, memberPath, writeMember } from './target.js';

const BLOCK = 512;
/** Members up to this size are written in one call (a stream per file costs more than the file). */
export const SMALL_MEMBER = 1 << 20;

/** Reads exact byte counts from an async stream of chunks. */
class ByteReader {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private readonly source: AsyncIterator<Uint8Array>;
  /** Bytes consumed so far (for error messages). */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.source = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /**
   * The next `n` bytes (fewer only at the end of the stream). With `partial`, at most what the
   * first buffered chunk holds, which avoids copying file data.
   */
  async take(n: number, partial = false): Promise<Uint8Array> {
    await this.fill(partial ? 1 : n);
    const want = Math.min(n, this.buffered);
    if (want === 0) return new Uint8Array(0);
    const head = this.chunks[0];
    if (partial || head.length >= want) return this.consume(Math.min(want, head.length));
    const out = new Uint8Array(want);
    for (let got = 0; got < want; ) {
      const part = this.consume(Math.min(this.chunks[0].length, want - got));
      out.set(part, got);
      got += part.length;
    }
    return out;
  }

  /** Removes and returns the first `k` bytes of the first chunk. */
  private consume(k: number): Uint8Array {
    const head = this.chunks[0];
    if (k === head.length) this.chunks.shift();
    else this.chunks[0] = head.subarray(k);
    this.buffered -= k;
    this.offset += k;
    return head.subarray(0, k);
  }

  /** The next `n` bytes as a stream of chunks; throws `truncated()` if the stream ends first. */
  async *stream(n: number, truncated: () => Error): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      const chunk = await this.take(left, true);
      if (chunk.length === 0) throw truncated();
      left -= chunk.length;
      yield chunk;
    }
  }

  async skip(n: number, truncated: () => Error): Promise<void> {
    for await (const _ of this.stream(n, truncated)) void _;
  }
}

function text(block: Uint8Array, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return Buffer.from(end < 0 ? field : field.subarray(0, end)).toString('utf8');
}

function number(block: Uint8Array, start: number, length: number): number {
  if (block[start] & 0x80) {
    // GNU base-256: big-endian two's complement in the remaining bits (only non-negative sizes make sense).
    let value = block[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i];
    return value;
  }
  const digits = text(block, start, length).trim();
  return digits === '' ? 0 : parseInt(digits, 8);
}

function checksumOk(block: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
  return sum === number(block, 148, 8);
}

/** The records of a pax extended header ("<length> key=value\n" each). */
function paxRecords(bytes: Uint8Array): Map<string, string> {
  const body = Buffer.from(bytes).toString('utf8');
  const records = new Map<string, string>();
  for (let at = 0; at < body.length; ) {
    const space = body.indexOf(' ', at);
    const length = parseInt(body.slice(at, space), 10);
    if (!(length > 0) || space < 0) break;
    const record = body.slice(space + 1, at + length - 1);
    const eq = record.indexOf('=');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

export interface ExtractStats {
  files: number;
  bytes: number;
}

/** Extracts the tar stream `source` into `root`; `archive` names it in errors. */
export async function extractTar(source: AsyncIterable<Uint8Array>, root: string, archive: string): Promise<ExtractStats> {
  const reader = new ByteReader(source);
  const folders = new FolderMaker();
  const stats: ExtractStats = { files: 0, bytes: 0 };
  // From a GNU long-name member or a pax header: the next member's name and size.
  let longName: string | null = null;
  let paxSize: number | null = null;
  for (;;) {
    const at = reader.offset;
    const block = await reader.take(BLOCK);
    if (block.length === 0) throw new ArchiveError(`${archive}: truncated: the archive ends at byte ${at} without its end-of-archive block`);
    if (block.length < BLOCK) throw new ArchiveError(`${archive}: truncated: the archive ends inside a header at byte ${at}`);
    if (block.every((b) => b === 0)) return stats; // end of archive; trailing zero padding is not read
    if (!checksumOk(block)) throw new ArchiveError(`${archive}: corrupt header at byte ${at} (checksum mismatch): not a tar archive, or a damaged one`);
    const ustar = text(block, 257, 6) === 'ustar';
    const headerName = ustar && block[345] !== 0 ? `${text(block, 345, 155)}/${text(block, 0, 100)}` : text(block, 0, 100);
    const type = String.fromCharCode(block[156] || 0x30);
    const name = longName ?? headerName;
    const size = (type !== 'L' && type !== 'x' && type !== 'g' ? paxSize : null) ?? number(block, 124, 12);
    const truncated = () => new ArchiveError(`${archive}: truncated: the archive ends inside member '${name}' (${size} bytes, starting at byte ${at + BLOCK})`);
    if (type === 'L' || type === 'x') {
      if (size > SMALL_MEMBER) throw new ArchiveError(`${archive}: an extended header of ${size} bytes at byte ${at}: a damaged archive`);
      const bytes = await reader.take(size);
      if (bytes.length < size) throw truncated();
      await reader.skip(padded(size) - size, truncated);
      if (type === 'L') longName = text(bytes, 0, size);
      else {
        const records = paxRecords(bytes);
        longName = records.get('path') ?? longName;
        paxSize = records.has('size') ? Number(records.get('size')) : paxSize;
      }
      continue;
    }
    longName = null;
    paxSize = null;
    if (type === 'g') {
      await reader.skip(padded(size), truncated);
      continue;
    }
    if (type !== '0' && type !== '5' && type !== '7') {
      const kind = { '1': 'a hard link', '2': 'a symbolic link', '3': 'a character device', '4': 'a block device', '6': 'a FIFO' }[type] ?? `of type '${type}'`;
      throw new ArchiveError(`${archive}: member '${name}' is ${kind}; only files and folders are extracted, refusing the archive`);
    }
    const path = memberPath(root, name, archive);
    if (type === '5') {
      if (path) await folders.ensure(path);
      await reader.skip(padded(size), truncated);
      continue;
    }
    if (!path) throw new ArchiveError(`${archive}: member at byte ${at} is a file without a name`);
    await folders.ensure(dirname(path));
    if (size <= SMALL_MEMBER) {
      const bytes = await reader.take(size);
      if (bytes.length < size) throw truncated();
      await writeFile(path, bytes);
    } else {
      await writeMember(path, reader.stream(size, truncated));
    }
    await reader.skip(padded(size) - size, truncated);
    stats.files++;
    stats.bytes += size;
  }
}
