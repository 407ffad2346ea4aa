// Puts a published dataset into a folder: download (resumable) or take a local archive, check its
// MD5, extract it into a temporary folder, check the layout, then rename it into place. Until that
// rename nothing at the final path exists, so an interrupted or failed run never leaves a half
// dataset that looks whole. A finished dataset is recognised and left alone.
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { formatBytes } from '../../engine/pool.js';
import { writeFileAtomic } from '../io/atomic.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { digestFile, type FileDigest } from './checksum.js';
import type { PublishedArchive } from './datasets.js';
import { downloadFile, type DownloadOptions } from './http.js';
import { layoutProblems } from './layouts.js';
import { extractTar } from './tar.js';
import { ArchiveError } from './target.js';
import { extractZip } from './zip.js';
import { hostId } from '../io/host.js';

export interface DatasetDownloadOptions {
  /** The folder that receives `<archive.folder>`. */
  to: string;
  /** A mirror URL, or an archive already on disk, instead of the published URL. */
  from?: string;
  /** Keep the downloaded archive after extracting it (default: delete it). */
  keepArchive?: boolean;
  log?: (line: string) => void;
  /** Where progress bars go (default stderr). */
  progress?: NodeJS.WriteStream;
  /** Passed to the HTTP download (retries, timeouts). */
  http?: Pick<DownloadOptions, 'attempts' | 'retryDelayMs' | 'idleTimeoutMs'>;
}

export interface DatasetDownloadResult {
  /** The dataset's folder. */
  path: string;
  /** False when the folder was already complete and nothing was done. */
  installed: boolean;
  digest?: FileDigest;
}

/** The record written as `<folder>/download.json`. */
export const RECORD_FILE = 'download.json';

/** The archive unpacked, but not into the published layout. */
class LayoutError extends Error {}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** A progress bar in bytes, with rate and time left. */
function byteBar(label: string, stream: NodeJS.WriteStream | undefined) {
  const bar = new ProgressBar(label, stream, formatBytes);
  const started = Date.now();
  return {
    update(done: number, total: number, fresh = done) {
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? fresh / seconds : 0;
      const fields: Record<string, string> = { rate: `${formatBytes(Math.round(rate))}/s` };
      if (total > 0) fields.ETA = rate > 0 ? formatDuration((total - done) / rate) : '?';
      bar.update(done, total, fields);
    },
    done: () => bar.done(),
  };
}

/** The tar stream of a .tar or .tar.gz file, counting compressed bytes read. */
function tarSource(path: string, gzip: boolean, onRead: (bytes: number) => void): Readable {
  let read = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onRead((read += chunk.length));
      done(null, chunk);
    },
  });
  const stages: NodeJS.ReadWriteStream[] = gzip ? [counter, createGunzip()] : [counter];
  // Errors anywhere (a truncated gzip stream, an unreadable file) end the last stage with that error.
  return pipeline([createReadStream(path, { highWaterMark: 1 << 20 }), ...stages] as unknown as [Readable, NodeJS.ReadWriteStream], () => undefined) as unknown as Readable;
}

async function extract(archive: PublishedArchive, path: string, into: string, size: number, progress: NodeJS.WriteStream | undefined): Promise<void> {
  const bar = byteBar('extract', progress);
  const name = basename(path);
  try {
    if (archive.format === 'zip') {
      await extractZip(path, into, name, (done) => bar.update(done, size));
      bar.update(size, size); // the central directory at the end is read first
    } else {
      const source = tarSource(path, archive.format === 'tar.gz', (done) => bar.update(done, size));
      try {
        await extractTar(source, into, name);
      } finally {
        source.destroy();
      }
    }
  } catch (e) {
    if (e instanceof ArchiveError) throw e;
    const error = e as NodeJS.ErrnoException;
    if (error.code?.startsWith('Z_') || /unexpected end of file|incorrect header check|invalid/i.test(error.message)) {
      throw new ArchiveError(`${name}: cannot decompress (${error.message}): the archive is truncated or damaged`);
    }
    throw e;
  } finally {
    bar.done();
  }
}

/** Downloads (or takes) `archive`, verifies and extracts it into `options.to`. */
export async function downloadDataset(archive: PublishedArchive, options: DatasetDownloadOptions): Promise<DatasetDownloadResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const final = join(options.to, archive.folder);
  if (await exists(final)) {
    const problems = await layoutProblems(final, archive.layout);
    if (problems.length === 0) {
      log(`${archive.title}: ${final} is already complete; nothing to do`);
      return { path: final, installed: false };
    }
    throw new Error(`${final} exists but is not a complete ${archive.title}: ${problems.join('; ')}. Remove it and run again, or choose another --to`);
  }
  await mkdir(options.to, { recursive: true });
  // Leftovers of interrupted runs (any process): half-extracted folders are never reused.
  for (const name of await readdir(options.to)) {
    if (name.startsWith(`.${archive.folder}.extracting-`)) await rm(join(options.to, name), { recursive: true, force: true });
  }

  // 1. The archive: a local file as it is, else downloaded (or a complete earlier download).
  const local = options.from !== undefined && !isUrl(options.from);
  const path = local ? options.from! : join(options.to, archive.archive);
  if (local) {
    if (!(await exists(path)) || !(await stat(path)).isFile()) throw new Error(`--from ${path}: no such file`);
  } else if (!(await exists(path))) {
    const url = options.from ?? archive.url;
    log(`${archive.title}: downloading ${url}${archive.bytes ? ` (${formatBytes(archive.bytes)})` : ''} to ${path}.part`);
    const bar = byteBar('download', options.progress);
    try {
      await downloadFile(url, path, { ...options.http, expectedBytes: options.from ? undefined : archive.bytes, onProgress: (have, total, fresh) => bar.update(have, total, fresh), log });
    } finally {
      bar.done();
    }
  } else {
    log(`${archive.title}: using the archive downloaded earlier, ${path}`);
  }

  // 2. Verify before extracting.
  const size = (await stat(path)).size;
  const verifyBar = byteBar('verify', options.progress);
  const digest = await digestFile(path, (done) => verifyBar.update(done, size));
  verifyBar.done();
  if (archive.md5 && digest.md5 !== archive.md5) {
    if (!local) await rm(path, { force: true });
    throw new Error(`${path}: MD5 ${digest.md5} does not match the published ${archive.md5}: the file is damaged or not the published archive` + (local ? '' : '; it was deleted, so the next run downloads it afresh'));
  }
  log(archive.md5 ? `${basename(path)}: MD5 ${digest.md5} matches the published checksum` : `${basename(path)}: no published checksum; SHA-256 ${digest.sha256} (the layout is checked after extraction)`);

  // 3. Extract into a temporary folder, check the layout, record, rename into place.
  // Named by host and PID: workers on several machines may unpack into one shared folder.
  const temp = join(options.to, `.${archive.folder}.extracting-${hostId()}-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp);
  try {
    await extract(archive, path, temp, size, options.progress);
    const extracted = join(temp, archive.folder);
    if (!(await exists(extracted))) {
      const found = (await readdir(temp)).join(', ') || 'nothing';
      throw new LayoutError(`${basename(path)}: expected the folder ${archive.folder}/ in the archive, found ${found}`);
    }
    const problems = await layoutProblems(extracted, archive.layout);
    if (problems.length) throw new LayoutError(`${basename(path)}: the extracted files do not have the published layout of ${archive.title}: ${problems.join('; ')}`);
    const record = { dataset: archive.name, source: local ? path : options.from ?? archive.url, archive: basename(path), ...digest, publishedMd5: archive.md5 ?? null, verified: archive.md5 ? 'md5 and layout' : 'layout (no published checksum)', createdAt: new Date().toISOString() };
    await writeFileAtomic(join(extracted, RECORD_FILE), JSON.stringify(record, null, 2) + '\n');
    await rename(extracted, final);
  } catch (e) {
    // A damaged or hostile download is useless: remove it so the next run fetches it again.
    if (!local && (e instanceof ArchiveError || e instanceof LayoutError)) {
      await rm(path, { force: true });
      throw new Error(`${(e as Error).message}; the downloaded archive was deleted, so the next run downloads it afresh`);
    }
    throw e;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  if (!local && !options.keepArchive) await rm(path, { force: true });
  log(`${archive.title} is ready in ${final} (${archive.usage} ${final})`);
  return { path: final, installed: true, digest };
}
