// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html): data_batch_1..5.bin and
// test_batch.bin, each a sequence of 3073-byte records: 1 label byte, then the 1024 red, 1024 green
// and 1024 blue values of a 32×32 image in row-major order. Held in memory as NHWC
// (60,000 × 3,072 bytes ≈ 184 MB).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryDataset, type ImageDataset } from './dataset.js';

const SIZE = 32;
const PIXELS = SIZE * SIZE;
const IMAGE_BYTES = PIXELS * 3;
export const CIFAR10_RECORD_BYTES = 1 + IMAGE_BYTES;
/** Records in each published batch file (data_batch_1..5.bin and test_batch.bin). */
export const CIFAR10_RECORDS_PER_FILE = 10_000;
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** The directory holding the batch files: `dir` itself or `dir/cifar-10-batches-bin`. */
function resolveDir(dir: string): string {
  if (!existsSync(dir)) throw new Error(`CIFAR-10: directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`CIFAR-10: ${dir} is not a directory`);
  const expected = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
  const nested = join(dir, 'cifar-10-batches-bin');
  const candidates = existsSync(nested) && statSync(nested).isDirectory() ? [dir, nested] : [dir];
  // Prefer the candidate that has any of the expected files; report against it.
  const root = candidates.find((c) => expected.some((f) => existsSync(join(c, f)))) ?? candidates[candidates.length - 1];
  const missing = expected.filter((f) => !existsSync(join(root, f)));
  if (missing.length) {
    const present = readdirSync(root).sort();
    throw new Error(
      `CIFAR-10: missing ${missing.join(', ')} in ${root}; expected the binary version: ${expected.join(', ')} (in the directory or in its cifar-10-batches-bin/); found: ${present.length ? present.join(', ') : '(empty directory)'}`,
    );
  }
  return root;
}

export interface Cifar10Options {
  /**
   * Records each file must hold: the published 10,000 (default), or 'any' positive whole number
   * (small test fixtures).
   */
  recordsPerFile?: number | 'any';
}

/** Parses whole batch files into NHWC images and labels. */
function readBatches(root: string, files: readonly string[], recordsPerFile: number | 'any'): { images: Uint8Array; labels: Int32Array } {
  const expected = recordsPerFile === 'any' ? '' : ` (the published file holds ${recordsPerFile.toLocaleString('en')} records of ${CIFAR10_RECORD_BYTES.toLocaleString('en')} bytes: ${(recordsPerFile * CIFAR10_RECORD_BYTES).toLocaleString('en')} bytes)`;
  const sizes = files.map((f) => {
    const path = join(root, f);
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error(`CIFAR-10: ${path} is not a file`);
    const bytes = stat.size;
    if (bytes === 0) throw new Error(`CIFAR-10: ${path} is empty${expected}`);
    if (bytes % CIFAR10_RECORD_BYTES !== 0) {
      throw new Error(`CIFAR-10: ${path} is truncated: ${bytes} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte records${expected}`);
    }
    const records = bytes / CIFAR10_RECORD_BYTES;
    if (recordsPerFile !== 'any' && records !== recordsPerFile) throw new Error(`CIFAR-10: ${path} holds ${records} records${expected}`);
    return records;
  });
  const n = sizes.reduce((a, b) => a + b, 0);
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Int32Array(n);
  let k = 0;
  files.forEach((f, fi) => {
    const path = join(root, f);
    const buf = readFileSync(path);
    if (buf.length !== sizes[fi] * CIFAR10_RECORD_BYTES) throw new Error(`CIFAR-10: ${path} changed size while being read`);
    for (let r = 0; r < sizes[fi]; r++, k++) {
      const rec = r * CIFAR10_RECORD_BYTES;
      const label = buf[rec];
      if (label >= 10) throw new Error(`CIFAR-10: ${path}: record ${r} has label ${label}, expected 0..9`);
      labels[k] = label;
      const src = rec + 1;
      let o = k * IMAGE_BYTES;
      for (let p = 0; p < PIXELS; p++, o += 3) {
        images[o] = buf[src + p];
        images[o + 1] = buf[src + PIXELS + p];
        images[o + 2] = buf[src + 2 * PIXELS + p];
      }
    }
  });
  return { images, labels };
}

/** Class names from batches.meta.txt (one a line) when present and complete, else the standard ones. */
function classNames(root: string): readonly string[] {
  const path = join(root, 'batches.meta.txt');
  if (existsSync(path)) {
    const names = readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (names.length === 10) return names;
  }
  return CIFAR10_CLASSES;
}

/**
 * Loads CIFAR-10 from `dir` (the directory holding the .bin files, or the one containing
 * `cifar-10-batches-bin/`): train = data_batch_1..5 in order (50,000), test = test_batch (10,000).
 * Errors name the path: a missing directory or file (listing what is there), an empty file, one
 * that is not a whole number of records or not the published 10,000, a label ≥ 10.
 */
export function loadCifar10(dir: string, options: Cifar10Options = {}): { train: ImageDataset; test: ImageDataset } {
  const recordsPerFile = options.recordsPerFile ?? CIFAR10_RECORDS_PER_FILE;
  const root = resolveDir(dir);
  const names = classNames(root);
  const train = readBatches(root, CIFAR10_TRAIN_FILES, recordsPerFile);
  const test = readBatches(root, [CIFAR10_TEST_FILE], recordsPerFile);
  return {
    train: new InMemoryDataset('cifar10-train', SIZE, SIZE, 10, train.images, train.labels, names),
    test: new InMemoryDataset('cifar10-test', SIZE, SIZE, 10, test.images, test.labels, names),
  };
}
