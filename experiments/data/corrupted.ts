// Corrupted test sets in their published layouts, one ImageDataset per (corruption, severity).
//
// CIFAR-10-C layout (also what the `corrupt` command writes, for any dataset):
//   <corruption>.npy   uint8 (S·N, H, W, 3), severity-major: rows [(s−1)·N, s·N) hold severity s
//   labels.npy         (S·N,) uint8 (int32/int64 accepted): the N test labels repeated S times
//   corrupt.json       optional, written by `corrupt`: which severities the files hold (default 1..5)
// A dataset reads only its N-row slice, on demand, through openNpy: a 150 MB corruption file is
// never loaded whole.
//
// Tiny-ImageNet-C layout: <corruption>/<severity 1-5>/<wnid>/*.JPEG, 64×64. Labels are the
// positions of the wnids in the clean Tiny ImageNet wnids.txt (given as a list, a file, or found
// in the tree's root); without one, the sorted wnid directories (which do not match the clean
// label order, so a model's predictions would be compared against other classes). Images are in
// label order, files sorted by name within a class. The first load decodes the JPEGs into a cache
// (`<cache dir>/<corruption>-<severity>.{u8,labels.i32,json}`; io/cache-dir.ts picks the folder), as
// the clean loader does.
import { removeStaleTempsOf, writeFileAtomicWith } from '../io/atomic.js';
import { cacheDirFor } from '../io/cache-dir.js';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJpegOfSize } from '../io/jpeg.js';
import { nodeJpegDecoder } from '../io/jpeg-node.js';
import { BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES, checkCorruptionName, checkSeverity, type CorruptionName } from '../corruptions/types.js';
import { openNpy, type NpyFile } from '../io/npy-node.js';
import { formatShape } from '../io/npy.js';
import { checkRead, type ImageDataset } from './dataset.js';
import { CachedImageDataset, TINY_IMAGENET_SIZE, prepareCacheDir } from './tinyimagenet.js';

export const SEVERITIES = [1, 2, 3, 4, 5] as const;
/** Written by `corrupt` beside the .npy files. */
export const CORRUPT_MANIFEST = 'corrupt.json';
export const LABELS_FILE = 'labels.npy';

export interface CorruptManifest {
  format: 'cifar10-c-layout';
  version: 1;
  /** Source dataset and test split the images came from. */
  data: string;
  testSplit?: string;
  /** Images per severity (N). */
  count: number;
  height: number;
  width: number;
  /** Severities in file order: rows [k·N, (k+1)·N) hold severities[k]. */
  severities: number[];
  seed: number;
  batchSize: number;
  parameters: string;
  /** The corruptions whose .npy files are complete. */
  corruptions: string[];
  /** Where frost's textures came from (a directory, or procedural stand-ins). */
  frost?: string;
  numClasses: number;
  classNames?: string[];
  createdAt: string;
  updatedAt: string;
}

function listNames(names: Iterable<string>): string {
  const list = [...names].sort();
  return list.length ? list.join(', ') : 'none';
}

const EXTRA: readonly CorruptionName[] = CORRUPTION_NAMES.filter((n) => !BENCHMARK_CORRUPTIONS.includes(n));

/** Parses --corruptions (names; `all`, `benchmark` or `extra` as shorthands). */
export function parseCorruptionList(items: readonly string[] | undefined, fallback: readonly CorruptionName[] = CORRUPTION_NAMES): CorruptionName[] {
  if (!items || items.length === 0) return [...fallback];
  const out: CorruptionName[] = [];
  for (const item of items) {
    const names = item === 'all' ? CORRUPTION_NAMES : item === 'benchmark' ? BENCHMARK_CORRUPTIONS : item === 'extra' ? EXTRA : [checkCorruptionName(item)];
    for (const n of names) if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Parses --severities (integers 1..5, no repeats), in the order given. */
export function parseSeverityList(values: readonly number[] | undefined): number[] {
  if (!values || values.length === 0) return [...SEVERITIES];
  const out: number[] = [];
  for (const s of values) {
    checkSeverity(s);
    if (out.includes(s)) throw new Error(`severity ${s} is listed twice`);
    out.push(s);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10-C layout

/** Reads `corrupt.json` of a directory, or null when it has none (a published set). */
export function readCorruptManifest(dir: string): CorruptManifest | null {
  const path = join(dir, CORRUPT_MANIFEST);
  if (!existsSync(path)) return null;
  let m: CorruptManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as CorruptManifest;
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== 'cifar10-c-layout' || !Array.isArray(m.severities) || !Number.isInteger(m.count)) throw new Error(`${path}: not a corrupt.json manifest (format ${JSON.stringify(m.format)})`);
  return m;
}

/** The corruptions with a .npy file in `dir`. */
export function corruptionsInDir(dir: string): CorruptionName[] {
  if (!existsSync(dir)) return [];
  const present = new Set(readdirSync(dir));
  return CORRUPTION_NAMES.filter((n) => present.has(`${n}.npy`) || (statSafe(join(dir, n))?.isDirectory() ?? false));
}

function statSafe(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

export interface Cifar10COptions {
  /** Classes of the labels (default: 10, or max label + 1 when larger). */
  numClasses?: number;
  classNames?: readonly string[];
  /** Severities the files hold, in order (default: corrupt.json's, else 1..5). */
  severities?: readonly number[];
}

/**
 * N consecutive rows of a uint8 (rows, H, W, 3) .npy file, read on demand. The file handle opens
 * on the first read (and again after close()).
 */
export class NpyRowsDataset implements ImageDataset {
  readonly channels = 3 as const;
  readonly size: number;
  private file: Promise<NpyFile<'uint8'>> | null = null;

  constructor(
    readonly name: string,
    readonly path: string,
    /** First row of the slice. */
    readonly rowStart: number,
    readonly height: number,
    readonly width: number,
    readonly numClasses: number,
    readonly labels: Int32Array,
    readonly classNames?: readonly string[],
  ) {
    this.size = labels.length;
  }

  async read(indices: ArrayLike<number>, images: Uint8Array, labels: Int32Array): Promise<void> {
    checkRead(this, indices, images, labels);
    const n = indices.length;
    if (n === 0) return;
    if (!this.file) {
      this.file = openNpy(this.path, { dtype: 'uint8', shape: [-1, this.height, this.width, 3] });
      this.file.catch(() => (this.file = null));
    }
    const file = await this.file;
    const bytes = this.height * this.width * 3;
    const reads: Promise<void>[] = [];
    // Runs of consecutive indices (sequential evaluation) become single reads.
    for (let i = 0; i < n; ) {
      let k = 1;
      while (i + k < n && indices[i + k] === indices[i] + k) k++;
      const at = i;
      reads.push(file.readRows(this.rowStart + indices[i], k).then((rows) => images.set(rows, at * bytes)));
      i += k;
    }
    for (let i = 0; i < n; i++) labels[i] = this.labels[indices[i]];
    await Promise.all(reads);
  }

  async close(): Promise<void> {
    const f = this.file;
    this.file = null;
    if (f) await (await f).close();
  }
}

/** Reads a labels .npy (1-D uint8/int32/int64) rows [start, start + count) as Int32Array. */
async function readLabels(path: string, start: number, count: number, totalRows: number, imagesPath: string): Promise<Int32Array> {
  const file = await openNpy(path);
  try {
    if (!['uint8', 'int32', 'int64'].includes(file.dtype) || file.shape.length !== 1) {
      throw new Error(`${path}: expected 1-D integer labels (uint8, int32 or int64), found ${file.dtype} ${formatShape(file.shape)}`);
    }
    if (file.rows !== totalRows) throw new Error(`${path} holds ${file.rows} labels but ${imagesPath} holds ${totalRows} images; the counts must match`);
    const raw = await file.readRows(start, count);
    return Int32Array.from(raw as ArrayLike<number | bigint>, (v) => Number(v));
  } finally {
    await file.close();
  }
}

/**
 * Severity `severity` of `corruption` from a CIFAR-10-C-layout directory: `<dir>/<corruption>.npy`
 * (uint8, S·N rows of H×W×3, severity-major) and `<dir>/labels.npy`. Only headers and N labels
 * are read here; images stream from the file as they are read.
 */
export async function loadCifar10C(dir: string, corruption: string, severity: number, options: Cifar10COptions = {}): Promise<NpyRowsDataset> {
  const name = checkCorruptionName(corruption);
  checkSeverity(severity);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`CIFAR-10-C: directory ${dir} does not exist`);
  const manifest = options.severities ? null : readCorruptManifest(dir);
  const severities = options.severities ? [...options.severities] : manifest?.severities ?? [...SEVERITIES];
  const slot = severities.indexOf(severity);
  const imagesPath = join(dir, `${name}.npy`);
  if (!existsSync(imagesPath)) throw new Error(`CIFAR-10-C: missing ${imagesPath} (corruptions in ${dir}: ${listNames(corruptionsInDir(dir))})`);
  if (slot < 0) throw new Error(`CIFAR-10-C: ${imagesPath} holds severities ${severities.join(', ')} (per ${join(dir, CORRUPT_MANIFEST)}), not ${severity}`);
  const labelsPath = join(dir, LABELS_FILE);
  if (!existsSync(labelsPath)) throw new Error(`CIFAR-10-C: missing ${labelsPath} (the labels of ${imagesPath})`);
  const file = await openNpy(imagesPath);
  let rows: number;
  let height: number;
  let width: number;
  try {
    if (file.dtype !== 'uint8') throw new Error(`${imagesPath}: expected dtype uint8, found ${file.dtype} ('${file.descr}')`);
    if (file.shape.length !== 4 || file.shape[3] !== 3) throw new Error(`${imagesPath}: expected shape (${severities.length}·N, H, W, 3), found ${formatShape(file.shape)}`);
    [rows, height, width] = file.shape;
  } finally {
    await file.close();
  }
  if (rows % severities.length !== 0 || rows === 0) throw new Error(`${imagesPath}: ${rows} rows are not ${severities.length} severities × N images (shape ${formatShape(file.shape)})`);
  const n = rows / severities.length;
  if (manifest && manifest.count !== n) throw new Error(`${imagesPath}: ${rows} rows, but ${join(dir, CORRUPT_MANIFEST)} says ${severities.length} × ${manifest.count}`);
  const labels = await readLabels(labelsPath, slot * n, n, rows, imagesPath);
  let max = -1;
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0) throw new Error(`${labelsPath}: label ${labels[i]} at row ${slot * n + i} is negative`);
    max = Math.max(max, labels[i]);
  }
  const numClasses = options.numClasses ?? manifest?.numClasses ?? Math.max(10, max + 1);
  if (max >= numClasses) throw new Error(`${labelsPath}: label ${max} is outside [0, ${numClasses})`);
  return new NpyRowsDataset(`${name}-${severity}`, imagesPath, slot * n, height, width, numClasses, labels, options.classNames ?? manifest?.classNames);
}

// ---------------------------------------------------------------------------------------------
// Tiny-ImageNet-C layout

/** Bumped whenever the cache layout or its decoding changes (2: libjpeg-turbo decoding). */
export const TINY_IMAGENET_C_CACHE_VERSION = 2;
const CACHE_FORMAT = 'tinyimagenet-c-cache';
const IMAGE_BYTES = TINY_IMAGENET_SIZE * TINY_IMAGENET_SIZE * 3;
const JPEG_RE = /\.jpe?g$/i;
const CHUNK_IMAGES = 512;
const READ_CONCURRENCY = 64;

export interface TinyImageNetCOptions {
  /** The clean Tiny ImageNet wnids in label order. */
  wnids?: readonly string[];
  /** A wnids.txt to read them from (e.g. the clean set's). */
  wnidsFile?: string;
  /** Human-readable class names, in wnid order. */
  classNames?: readonly string[];
  /** Where cache files go (default: cacheDirFor(dir), io/cache-dir.ts). */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
}

interface CacheManifest {
  format: typeof CACHE_FORMAT;
  version: number;
  corruption: string;
  severity: number;
  count: number;
  wnids: string[];
  fingerprint: { files: number; bytes: number; sha256: string };
  createdAt: string;
}

function tinFail(message: string): never {
  throw new Error(`Tiny-ImageNet-C: ${message}`);
}

function readWnidsFile(path: string): string[] {
  if (!existsSync(path)) tinFail(`missing ${path} (expected one wnid a line; class index = line order)`);
  const wnids = readFileSync(path, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (wnids.length === 0) tinFail(`${path} lists no wnids`);
  if (new Set(wnids).size !== wnids.length) tinFail(`${path} lists a wnid twice`);
  return wnids;
}

/** Where a tree's labels come from. */
export type LabelSource = 'wnids' | 'wnids.txt' | 'sorted directories';

/** Checks a cache against its manifest; returns the labels or why it cannot be used. */
async function checkCache(base: string, corruption: string, severity: number, wnids: string[], fp: CacheManifest['fingerprint']): Promise<Int32Array | string> {
  let m: CacheManifest;
  try {
    m = JSON.parse(await readFile(`${base}.json`, 'utf8')) as CacheManifest;
  } catch {
    return 'no cache';
  }
  if (m.format !== CACHE_FORMAT || m.version !== TINY_IMAGENET_C_CACHE_VERSION || m.corruption !== corruption || m.severity !== severity) return 'cache of another format or set';
  if (!Array.isArray(m.wnids) || m.wnids.join('\n') !== wnids.join('\n')) return 'wnids changed since the cache was built';
  if (m.fingerprint?.sha256 !== fp.sha256 || m.fingerprint?.files !== fp.files || m.fingerprint?.bytes !== fp.bytes) return 'source changed since the cache was built';
  try {
    if ((await stat(`${base}.u8`)).size !== m.count * IMAGE_BYTES) return `${base}.u8 has the wrong size`;
    const raw = await readFile(`${base}.labels.i32`);
    if (raw.length !== m.count * 4) return `${base}.labels.i32 has the wrong size`;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const labels = Int32Array.from({ length: m.count }, (_, i) => view.getInt32(i * 4, true));
    const bad = labels.findIndex((l) => l < 0 || l >= wnids.length);
    return bad < 0 ? labels : `${base}.labels.i32: label ${labels[bad]} at ${bad} is outside [0, ${wnids.length})`;
  } catch {
    return 'cache files missing';
  }
}

/**
 * Severity `severity` of `corruption` from a Tiny-ImageNet-C tree
 * (`<dir>/<corruption>/<severity>/<wnid>/*.JPEG`), decoded once into a cache. See the module comment
 * for the label order.
 */
export async function loadTinyImageNetC(dir: string, corruption: string, severity: number, options: TinyImageNetCOptions = {}): Promise<CachedImageDataset & { labelSource: LabelSource }> {
  const name = checkCorruptionName(corruption);
  checkSeverity(severity);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) tinFail(`directory ${dir} does not exist`);
  const corruptionDir = join(dir, name);
  if (!statSafe(corruptionDir)?.isDirectory()) tinFail(`missing ${corruptionDir} (corruptions in ${dir}: ${listNames(corruptionsInDir(dir))})`);
  const severityDir = join(corruptionDir, String(severity));
  if (!statSafe(severityDir)?.isDirectory()) {
    const present = readdirSync(corruptionDir).filter((f) => /^[1-5]$/.test(f) && statSafe(join(corruptionDir, f))?.isDirectory());
    tinFail(`missing ${severityDir} (severities present for ${name}: ${listNames(present)})`);
  }
  const classDirs = readdirSync(severityDir).filter((f) => statSafe(join(severityDir, f))?.isDirectory()).sort();
  let wnids: string[];
  let labelSource: LabelSource;
  if (options.wnids) {
    wnids = [...options.wnids];
    labelSource = 'wnids';
  } else if (options.wnidsFile) {
    wnids = readWnidsFile(options.wnidsFile);
    labelSource = 'wnids.txt';
  } else if (existsSync(join(dir, 'wnids.txt'))) {
    wnids = readWnidsFile(join(dir, 'wnids.txt'));
    labelSource = 'wnids.txt';
  } else {
    wnids = classDirs;
    labelSource = 'sorted directories';
  }
  const index = new Map(wnids.map((w, i) => [w, i]));
  for (const d of classDirs) if (!index.has(d)) tinFail(`${join(severityDir, d)}: wnid ${d} is not among the ${wnids.length} class wnids`);
  const entries: { path: string; label: number }[] = [];
  wnids.forEach((wnid, label) => {
    const classDir = join(severityDir, wnid);
    if (!existsSync(classDir)) return;
    for (const f of readdirSync(classDir).filter((f) => JPEG_RE.test(f)).sort()) entries.push({ path: join(classDir, f), label });
  });
  if (entries.length === 0) tinFail(`${severityDir} holds no <wnid>/*.JPEG images`);

  const sizes = await Promise.all(entries.map(async (e) => (await stat(e.path)).size));
  const h = createHash('sha256');
  h.update(`v${TINY_IMAGENET_C_CACHE_VERSION}\n${wnids.join('\n')}\n`);
  entries.forEach((e, i) => h.update(`${e.path.slice(dir.length)}\t${e.label}\t${sizes[i]}\n`));
  const fp = { files: entries.length, bytes: sizes.reduce((a, b) => a + b, 0), sha256: h.digest('hex') };
  const cacheDir = cacheDirFor(dir, options.cacheDir);
  const base = join(cacheDir, `${name}-${severity}`);
  const classNames = options.classNames ?? wnids;
  const make = (labels: Int32Array, status: 'built' | 'reused', reason: string) =>
    Object.assign(new CachedImageDataset(`${name}-${severity}`, `${base}.u8`, TINY_IMAGENET_SIZE, TINY_IMAGENET_SIZE, wnids.length, labels, classNames, status, reason), { labelSource });
  const cached = await checkCache(base, name, severity, wnids, fp);
  if (typeof cached !== 'string') return make(cached, 'reused', 'fingerprint matches the source');

  await prepareCacheDir(cacheDir, 'Tiny-ImageNet-C');
  for (const ext of ['u8', 'labels.i32', 'json']) await removeStaleTempsOf(`${base}.${ext}`);
  await unlink(`${base}.json`).catch(() => undefined);
  const total = entries.length;
  const labels = Int32Array.from(entries, (e) => e.label);
  const decoder = await nodeJpegDecoder();
  options.onProgress?.(0, total);
  await writeFileAtomicWith(`${base}.u8`, async (fh) => {
    const chunk = new Uint8Array(Math.min(CHUNK_IMAGES, total) * IMAGE_BYTES);
    for (let start = 0; start < total; start += CHUNK_IMAGES) {
      const count = Math.min(CHUNK_IMAGES, total - start);
      for (let g = 0; g < count; g += READ_CONCURRENCY) {
        const group = entries.slice(start + g, start + Math.min(g + READ_CONCURRENCY, count));
        const files = await Promise.all(group.map((e) => readFile(e.path)));
        group.forEach((e, k) => {
          try {
            chunk.set(decodeJpegOfSize(decoder, files[k], e.path, TINY_IMAGENET_SIZE, TINY_IMAGENET_SIZE), (g + k) * IMAGE_BYTES);
          } catch (err) {
            tinFail((err as Error).message);
          }
        });
        options.onProgress?.(start + g + group.length, total);
      }
      const length = count * IMAGE_BYTES;
      const { bytesWritten } = await fh.write(chunk, 0, length, start * IMAGE_BYTES);
      if (bytesWritten !== length) tinFail(`short write to ${base}.u8`);
    }
  });
  await writeFileAtomicWith(`${base}.labels.i32`, async (fh) => {
    const buf = new Uint8Array(total * 4);
    const view = new DataView(buf.buffer);
    labels.forEach((l, i) => view.setInt32(i * 4, l, true));
    await fh.write(buf, 0, buf.length, 0);
  });
  const manifest: CacheManifest = { format: CACHE_FORMAT, version: TINY_IMAGENET_C_CACHE_VERSION, corruption: name, severity, count: total, wnids, fingerprint: fp, createdAt: new Date().toISOString() };
  await writeFileAtomicWith(`${base}.json`, async (fh) => {
    await fh.writeFile(JSON.stringify(manifest, null, 2) + '\n');
  });
  return make(labels, 'built', cached);
}

// ---------------------------------------------------------------------------------------------
// Either layout

export type CorruptedLayout = 'cifar10-c' | 'tinyimagenet-c';

/** Which layout `dir` holds `corruption` in, or an error naming what was looked for. */
export function detectLayout(dir: string, corruption: string): CorruptedLayout {
  const name = checkCorruptionName(corruption);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`corrupted set: directory ${dir} does not exist`);
  if (existsSync(join(dir, `${name}.npy`))) return 'cifar10-c';
  if (statSafe(join(dir, name))?.isDirectory()) return 'tinyimagenet-c';
  throw new Error(`corrupted set: ${dir} holds neither ${name}.npy (CIFAR-10-C layout) nor ${name}/<severity>/<wnid>/ (Tiny-ImageNet-C layout); corruptions present: ${listNames(corruptionsInDir(dir))}`);
}

export interface CorruptedSetOptions extends Cifar10COptions, TinyImageNetCOptions {}

/** Opens one (corruption, severity) of a directory in either layout. */
export async function loadCorruptedSet(dir: string, corruption: string, severity: number, options: CorruptedSetOptions = {}): Promise<ImageDataset> {
  return detectLayout(dir, corruption) === 'cifar10-c' ? loadCifar10C(dir, corruption, severity, options) : loadTinyImageNetC(dir, corruption, severity, options);
}
