// Tiny ImageNet (200 classes, 64×64 JPEG), published layout:
//   wnids.txt                      200 wnids, one a line; class index = line order
//   words.txt                      optional, "<wnid>\t<names>" lines
//   train/<wnid>/images/*.JPEG     500 a class
//   val/images/*.JPEG              10,000
//   val/val_annotations.txt        "<file>\t<wnid>\t<x0>\t<y0>\t<x1>\t<y1>" lines
// Decoding 110k JPEGs takes a while, so the first load writes one raw uint8 NHWC file per split to
// a cache directory; later loads read samples from it on demand through a file handle (the train
// split is 100,000 × 12,288 bytes ≈ 1.2 GB and is never held in memory).
import { removeStaleTempsOf, syncDirectory, writeFileAtomicWith } from '../io/atomic.js';
import { cacheDirFor } from '../io/cache-dir.js';
import { hostId } from '../io/host.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJpegOfSize, type JpegDecoder } from '../io/jpeg.js';
import { nodeJpegDecoder } from '../io/jpeg-node.js';
import { checkRead, type ImageDataset } from './dataset.js';

export const TINY_IMAGENET_SIZE = 64;
const IMAGE_BYTES = TINY_IMAGENET_SIZE * TINY_IMAGENET_SIZE * 3;
/** Bumped whenever the cache layout or its decoding changes; older caches are rebuilt (2: libjpeg-turbo decoding). */
export const TINY_IMAGENET_CACHE_VERSION = 2;
const CACHE_FORMAT = 'tinyimagenet-cache';
/** Images decoded before a write to the cache file (bounds memory: 1024 × 12 KiB = 12 MiB). */
const CHUNK_IMAGES = 1024;
/** Source files read concurrently while building. */
const READ_CONCURRENCY = 64;
const JPEG_RE = /\.jpe?g$/i;

export type Split = 'train' | 'val';
export type CacheStatus = 'built' | 'reused';

export interface TinyImageNetOptions {
  /** Where the cache files go (default: cacheDirFor(dir), io/cache-dir.ts). */
  cacheDir?: string;
  /** Called while a split's cache is being built, after each group of decoded images. */
  onProgress?: (done: number, total: number, split: Split) => void;
  /**
   * Reuse a cache whose manifest and file sizes are consistent without listing the source tree to
   * compare fingerprints (skips ~110k stat calls). Default false.
   */
  trustCache?: boolean;
}

/** The on-disk manifest `<split>.json` written after the data and label files. */
export interface CacheManifest {
  format: typeof CACHE_FORMAT;
  version: number;
  split: Split;
  count: number;
  height: number;
  width: number;
  channels: 3;
  /** Labels file: little-endian int32, one a sample. */
  labelEncoding: 'int32le';
  wnids: string[];
  fingerprint: Fingerprint;
  createdAt: string;
}

/** Summary of the source listing a cache was built from. */
export interface Fingerprint {
  files: number;
  bytes: number;
  /** sha256 over "relative path, label, size" lines (plus the wnids and annotations). */
  sha256: string;
}

interface SourceEntry {
  path: string;
  label: number;
}

/**
 * A split stored as raw uint8 NHWC in a file, read on demand. Labels are held in memory. The file
 * handle opens on the first read; `close()` releases it.
 */
export class CachedImageDataset implements ImageDataset {
  readonly channels = 3 as const;
  readonly size: number;
  private handle: Promise<FileHandle> | null = null;

  constructor(
    readonly name: string,
    /** The uint8 NHWC data file. */
    readonly path: string,
    readonly height: number,
    readonly width: number,
    readonly numClasses: number,
    readonly labels: Int32Array,
    readonly classNames: readonly string[] | undefined,
    /** Whether this load built the cache or reused an existing one. */
    readonly cacheStatus: CacheStatus,
    /** Why the cache was (re)built, or why it was accepted. */
    readonly cacheReason: string,
  ) {
    this.size = labels.length;
  }

  async read(indices: ArrayLike<number>, images: Uint8Array, labels: Int32Array): Promise<void> {
    checkRead(this, indices, images, labels);
    const n = indices.length;
    if (n === 0) return;
    const bytes = this.height * this.width * 3;
    if (!this.handle) {
      this.handle = open(this.path, 'r');
      this.handle.catch(() => (this.handle = null));
    }
    const fh = await this.handle;
    // Coalesce runs of consecutive indices (sequential evaluation) into single reads.
    const reads: Promise<void>[] = [];
    for (let i = 0; i < n; ) {
      let k = 1;
      while (i + k < n && indices[i + k] === indices[i] + k) k++;
      const length = k * bytes;
      const position = indices[i] * bytes;
      const offset = i * bytes;
      reads.push(
        fh.read(images, offset, length, position).then(({ bytesRead }) => {
          if (bytesRead !== length) throw new Error(`${this.name}: cache file ${this.path} is shorter than its manifest says (read ${bytesRead} of ${length} bytes at ${position}); delete it to rebuild`);
        }),
      );
      i += k;
    }
    for (let i = 0; i < n; i++) labels[i] = this.labels[indices[i]];
    await Promise.all(reads);
  }

  async close(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    if (h) await (await h).close();
  }
}

function fail(message: string): never {
  throw new Error(`Tiny ImageNet: ${message}`);
}

function readWnids(dir: string): string[] {
  const path = join(dir, 'wnids.txt');
  if (!existsSync(path)) fail(`missing ${path} (expected one wnid a line; class index = line order)`);
  const wnids = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (wnids.length === 0) fail(`${path} lists no wnids`);
  const seen = new Set<string>();
  for (const w of wnids) {
    if (seen.has(w)) fail(`${path}: wnid ${w} appears twice`);
    seen.add(w);
  }
  return wnids;
}

/** First name of each wnid from words.txt, or the wnid itself when absent. */
function readClassNames(dir: string, wnids: string[]): string[] {
  const path = join(dir, 'words.txt');
  const names = new Map<string, string>();
  if (existsSync(path)) {
    const wanted = new Set(wnids);
    for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
      const tab = line.indexOf('\t');
      if (tab < 0) continue;
      const wnid = line.slice(0, tab).trim();
      if (wanted.has(wnid)) names.set(wnid, line.slice(tab + 1).split(',')[0].trim() || wnid);
    }
  }
  return wnids.map((w) => names.get(w) ?? w);
}

function listTrain(dir: string, wnids: string[]): SourceEntry[] {
  const entries: SourceEntry[] = [];
  wnids.forEach((wnid, label) => {
    const imagesDir = join(dir, 'train', wnid, 'images');
    if (!existsSync(imagesDir)) fail(`missing ${imagesDir} (wnid ${wnid}, line ${label + 1} of wnids.txt)`);
    const files = readdirSync(imagesDir)
      .filter((f) => JPEG_RE.test(f))
      .sort();
    if (files.length === 0) fail(`${imagesDir} holds no JPEG files`);
    for (const f of files) entries.push({ path: join('train', wnid, 'images', f), label });
  });
  return entries;
}

function listVal(dir: string, wnids: string[]): { entries: SourceEntry[]; annotations: string } {
  const annPath = join(dir, 'val', 'val_annotations.txt');
  const imagesDir = join(dir, 'val', 'images');
  if (!existsSync(annPath)) fail(`missing ${annPath}`);
  if (!existsSync(imagesDir)) fail(`missing ${imagesDir}`);
  const index = new Map(wnids.map((w, i) => [w, i]));
  const present = new Set(readdirSync(imagesDir).filter((f) => JPEG_RE.test(f)));
  const annotations = readFileSync(annPath, 'utf8');
  const entries: SourceEntry[] = [];
  const seen = new Set<string>();
  annotations.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const fields = line.split('\t');
    const where = `${annPath} line ${i + 1}`;
    if (fields.length < 2) fail(`${where}: expected "<file>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>", got ${JSON.stringify(line)}`);
    const file = fields[0].trim();
    const wnid = fields[1].trim();
    const label = index.get(wnid);
    if (label === undefined) fail(`${where}: unknown wnid ${wnid} for ${file} (not in wnids.txt)`);
    if (seen.has(file)) fail(`${where}: ${file} is annotated twice`);
    if (!present.has(file)) fail(`${where}: ${join(imagesDir, file)} does not exist`);
    seen.add(file);
    entries.push({ path: join('val', 'images', file), label });
  });
  for (const f of present) if (!seen.has(f)) fail(`${join(imagesDir, f)} has no line in ${annPath}`);
  if (entries.length === 0) fail(`${annPath} annotates no images`);
  return { entries, annotations };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function fingerprint(dir: string, entries: SourceEntry[], extra: string): Promise<Fingerprint> {
  const sizes = await mapLimit(entries, 256, async (e) => (await stat(join(dir, e.path))).size);
  const h = createHash('sha256');
  h.update(extra);
  let bytes = 0;
  entries.forEach((e, i) => {
    bytes += sizes[i];
    h.update(`${e.path}\t${e.label}\t${sizes[i]}\n`);
  });
  return { files: entries.length, bytes, sha256: h.digest('hex') };
}

interface CachePaths {
  data: string;
  labels: string;
  manifest: string;
}

function cachePaths(cacheDir: string, split: Split): CachePaths {
  return { data: join(cacheDir, `${split}.u8`), labels: join(cacheDir, `${split}.labels.i32`), manifest: join(cacheDir, `${split}.json`) };
}

/** Checks a cache against its manifest; returns the labels or the reason it cannot be used. */
async function checkCache(paths: CachePaths, split: Split, wnids: string[], fp: Fingerprint | null): Promise<{ labels: Int32Array } | { reason: string }> {
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(await readFile(paths.manifest, 'utf8')) as CacheManifest;
  } catch (e) {
    return { reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no cache' : `unreadable manifest ${paths.manifest}` };
  }
  if (manifest.format !== CACHE_FORMAT || manifest.version !== TINY_IMAGENET_CACHE_VERSION) return { reason: `manifest ${paths.manifest} has format ${manifest.format} v${manifest.version}, expected ${CACHE_FORMAT} v${TINY_IMAGENET_CACHE_VERSION}` };
  if (manifest.split !== split || manifest.height !== TINY_IMAGENET_SIZE || manifest.width !== TINY_IMAGENET_SIZE || manifest.channels !== 3) return { reason: `manifest ${paths.manifest} describes another layout` };
  if (!Array.isArray(manifest.wnids) || manifest.wnids.join('\n') !== wnids.join('\n')) return { reason: 'wnids.txt changed since the cache was built' };
  if (fp && (manifest.fingerprint?.files !== fp.files || manifest.fingerprint?.bytes !== fp.bytes || manifest.fingerprint?.sha256 !== fp.sha256)) {
    return { reason: `source changed since the cache was built (fingerprint ${manifest.fingerprint?.files} files/${manifest.fingerprint?.bytes} bytes, now ${fp.files}/${fp.bytes})` };
  }
  const count = manifest.count;
  if (!Number.isInteger(count) || count <= 0) return { reason: `manifest ${paths.manifest} has count ${count}` };
  for (const [path, expected] of [
    [paths.data, count * IMAGE_BYTES],
    [paths.labels, count * 4],
  ] as const) {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      return { reason: `missing ${path}` };
    }
    if (size !== expected) return { reason: `${path} is ${size} bytes, expected ${expected}` };
  }
  const raw = await readFile(paths.labels);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const l = view.getInt32(i * 4, true);
    if (l < 0 || l >= wnids.length) return { reason: `${paths.labels}: label ${l} at ${i} is outside [0, ${wnids.length})` };
    labels[i] = l;
  }
  return { labels };
}

/**
 * Creates the cache folder, or says in one line why it cannot be used (a read-only dataset mount
 * without --cache-dir, a file in the way).
 */
export async function prepareCacheDir(cacheDir: string, what: string): Promise<void> {
  const probe = join(cacheDir, `.write-test-${hostId()}-${process.pid}`);
  try {
    await mkdir(cacheDir, { recursive: true });
    await (await open(probe, 'w')).close();
    await unlink(probe);
  } catch (e) {
    throw new Error(`${what}: cannot write the decode cache in ${cacheDir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); pass --cache-dir DIR with a writable folder`);
  }
}

/** Decodes one source JPEG into `out` at `offset` (64×64 RGB; grayscale is replicated). */
function decodeInto(decoder: JpegDecoder, path: string, data: Uint8Array, out: Uint8Array, offset: number): void {
  try {
    out.set(decodeJpegOfSize(decoder, data, path, TINY_IMAGENET_SIZE, TINY_IMAGENET_SIZE), offset);
  } catch (e) {
    fail((e as Error).message);
  }
}

async function buildCache(dir: string, paths: CachePaths, cacheDir: string, split: Split, entries: SourceEntry[], wnids: string[], fp: Fingerprint, onProgress?: TinyImageNetOptions['onProgress']): Promise<Int32Array> {
  await prepareCacheDir(cacheDir, 'Tiny ImageNet');
  for (const path of Object.values(paths)) await removeStaleTempsOf(path);
  // The manifest goes first and comes back last, so a crash in between never leaves a manifest
  // that vouches for mismatched data.
  await unlink(paths.manifest).catch(() => undefined);
  const total = entries.length;
  const labels = new Int32Array(total);
  const decoder = await nodeJpegDecoder();
  onProgress?.(0, total, split);
  await writeFileAtomicWith(paths.data, async (fh) => {
    const chunk = new Uint8Array(Math.min(CHUNK_IMAGES, total) * IMAGE_BYTES);
    for (let start = 0; start < total; start += CHUNK_IMAGES) {
      const count = Math.min(CHUNK_IMAGES, total - start);
      for (let g = 0; g < count; g += READ_CONCURRENCY) {
        const group = entries.slice(start + g, start + Math.min(g + READ_CONCURRENCY, count));
        const files = await Promise.all(
          group.map((e) =>
            readFile(join(dir, e.path)).catch((err: Error) => {
              fail(`cannot read ${join(dir, e.path)}: ${err.message}`);
            }),
          ),
        );
        group.forEach((e, k) => {
          decodeInto(decoder, join(dir, e.path), files[k], chunk, (g + k) * IMAGE_BYTES);
          labels[start + g + k] = e.label;
        });
        onProgress?.(start + g + group.length, total, split);
      }
      const length = count * IMAGE_BYTES;
      const { bytesWritten } = await fh.write(chunk, 0, length, start * IMAGE_BYTES);
      if (bytesWritten !== length) fail(`short write to ${paths.data}`);
    }
  });
  await writeFileAtomicWith(paths.labels, async (fh) => {
    const buf = new Uint8Array(total * 4);
    const view = new DataView(buf.buffer);
    for (let i = 0; i < total; i++) view.setInt32(i * 4, labels[i], true);
    await fh.write(buf, 0, buf.length, 0);
  });
  const manifest: CacheManifest = {
    format: CACHE_FORMAT,
    version: TINY_IMAGENET_CACHE_VERSION,
    split,
    count: total,
    height: TINY_IMAGENET_SIZE,
    width: TINY_IMAGENET_SIZE,
    channels: 3,
    labelEncoding: 'int32le',
    wnids,
    fingerprint: fp,
    createdAt: new Date().toISOString(),
  };
  await writeFileAtomicWith(paths.manifest, async (fh) => {
    await fh.writeFile(JSON.stringify(manifest, null, 2) + '\n');
  });
  await syncDirectory(cacheDir);
  return labels;
}

async function loadSplit(dir: string, cacheDir: string, split: Split, wnids: string[], classNames: string[], options: TinyImageNetOptions): Promise<CachedImageDataset> {
  const paths = cachePaths(cacheDir, split);
  const make = (labels: Int32Array, status: CacheStatus, reason: string) =>
    new CachedImageDataset(`tinyimagenet-${split}`, paths.data, TINY_IMAGENET_SIZE, TINY_IMAGENET_SIZE, wnids.length, labels, classNames, status, reason);
  const sourceDir = join(dir, split);
  if (!existsSync(sourceDir)) {
    // Only the cache was kept (or copied): use it if it is consistent.
    const cached = await checkCache(paths, split, wnids, null);
    if ('labels' in cached) return make(cached.labels, 'reused', `source ${sourceDir} absent; cache accepted on its manifest`);
    fail(`missing ${sourceDir} and no usable cache in ${cacheDir} (${cached.reason})`);
  }
  if (options.trustCache) {
    const cached = await checkCache(paths, split, wnids, null);
    if ('labels' in cached) return make(cached.labels, 'reused', 'trusted without checking the source fingerprint');
  }
  let entries: SourceEntry[];
  let extra = `v${TINY_IMAGENET_CACHE_VERSION}\n${wnids.join('\n')}\n`;
  if (split === 'train') entries = listTrain(dir, wnids);
  else {
    const listed = listVal(dir, wnids);
    entries = listed.entries;
    extra += createHash('sha256').update(listed.annotations).digest('hex') + '\n';
  }
  const fp = await fingerprint(dir, entries, extra);
  const cached = await checkCache(paths, split, wnids, fp);
  if ('labels' in cached) return make(cached.labels, 'reused', 'fingerprint matches the source');
  const labels = await buildCache(dir, paths, cacheDir, split, entries, wnids, fp, options.onProgress);
  return make(labels, 'built', cached.reason);
}

/**
 * Loads Tiny ImageNet from `dir` (train: class-major in wnids.txt order, files sorted by name;
 * val: in val_annotations.txt order, labels from the annotations). The first load decodes every
 * JPEG (grayscale ones replicated to RGB) into `<cacheDir>/{train,val}.u8` (+ `.labels.i32`, `.json`
 * manifest); a cache whose manifest, sizes or source fingerprint (file names, labels, sizes) do not
 * match is rebuilt. Errors name the path and the problem.
 */
export async function loadTinyImageNet(dir: string, options: TinyImageNetOptions = {}): Promise<{ train: CachedImageDataset; val: CachedImageDataset }> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) fail(`directory ${dir} does not exist`);
  const cacheDir = cacheDirFor(dir, options.cacheDir);
  const wnids = readWnids(dir);
  const classNames = readClassNames(dir, wnids);
  const train = await loadSplit(dir, cacheDir, 'train', wnids, classNames, options);
  const val = await loadSplit(dir, cacheDir, 'val', wnids, classNames, options);
  return { train, val };
}
