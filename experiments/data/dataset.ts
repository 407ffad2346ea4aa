// Host-side image datasets: a small random-access interface, subsets and seeded minibatch
// iteration. Images are uint8 NHWC (N, H, W, 3) and labels Int32Array; nothing here touches the
// GPU (a later stage uploads and normalizes batches).

/** A random-access, labelled image collection. */
export interface ImageDataset {
  readonly name: string;
  /** Number of samples. */
  readonly size: number;
  readonly height: number;
  readonly width: number;
  /** Always 3: grayscale sources are replicated to RGB. */
  readonly channels: 3;
  readonly numClasses: number;
  readonly classNames?: readonly string[];
  /** The label of every sample in dataset order (4 bytes a sample, always held in memory). */
  readonly labels: Int32Array;
  /**
   * Copies the samples `indices[0..n)` into `images` (uint8 NHWC, sample i at byte offset
   * i·H·W·3) and their labels into `labels[0..n)`. Throws a RangeError for an index outside
   * [0, size) or output arrays that are too short.
   */
  read(indices: ArrayLike<number>, images: Uint8Array, labels: Int32Array): Promise<void> | void;
  /** Releases file handles, if the dataset holds any. Reading again reopens them. */
  close?(): Promise<void>;
}

/** Bytes of one sample. */
export function sampleBytes(ds: Pick<ImageDataset, 'height' | 'width' | 'channels'>): number {
  return ds.height * ds.width * ds.channels;
}

/** Argument checks shared by every `read` implementation. */
export function checkRead(ds: ImageDataset, indices: ArrayLike<number>, images: Uint8Array, labels: Int32Array): void {
  const n = indices.length;
  const need = n * sampleBytes(ds);
  if (images.length < need) throw new RangeError(`${ds.name}: image buffer holds ${images.length} bytes, ${n} samples need ${need}`);
  if (labels.length < n) throw new RangeError(`${ds.name}: label buffer holds ${labels.length} entries, ${n} samples need ${n}`);
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= ds.size) throw new RangeError(`${ds.name}: index ${j} (position ${i}) is outside [0, ${ds.size})`);
  }
}

/** An in-memory NHWC uint8 dataset. */
export class InMemoryDataset implements ImageDataset {
  readonly channels = 3 as const;
  readonly size: number;

  constructor(
    readonly name: string,
    readonly height: number,
    readonly width: number,
    readonly numClasses: number,
    /** size·H·W·3 bytes, NHWC. */
    readonly images: Uint8Array,
    readonly labels: Int32Array,
    readonly classNames?: readonly string[],
  ) {
    this.size = labels.length;
    if (images.length !== this.size * height * width * 3) throw new Error(`${name}: ${images.length} image bytes do not match ${this.size} samples of ${height}×${width}×3`);
  }

  read(indices: ArrayLike<number>, images: Uint8Array, labels: Int32Array): void {
    checkRead(this, indices, images, labels);
    const bytes = this.height * this.width * 3;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      images.set(this.images.subarray(j * bytes, (j + 1) * bytes), i * bytes);
      labels[i] = this.labels[j];
    }
  }
}

/** Reads samples [start, start + count) into freshly allocated arrays. */
export async function readRange(ds: ImageDataset, start = 0, count = ds.size - start): Promise<{ images: Uint8Array; labels: Int32Array }> {
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > ds.size) {
    throw new RangeError(`${ds.name}: range [${start}, ${start + count}) is outside [0, ${ds.size})`);
  }
  const indices = new Int32Array(count);
  for (let i = 0; i < count; i++) indices[i] = start + i;
  const images = new Uint8Array(count * sampleBytes(ds));
  const labels = new Int32Array(count);
  await ds.read(indices, images, labels);
  return { images, labels };
}

/**
 * A dataset restricted to `indices` (copied) of `dataset`, in that order; duplicates are allowed.
 * Sample i of the subset is sample indices[i] of the parent. Closing the subset does not close the
 * parent, which may be shared.
 */
export function subset(dataset: ImageDataset, indices: ArrayLike<number>, name = `${dataset.name}[subset]`): ImageDataset {
  const map = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!Number.isInteger(j) || j < 0 || j >= dataset.size) throw new RangeError(`subset of ${dataset.name}: index ${j} (position ${i}) is outside [0, ${dataset.size})`);
    map[i] = j;
  }
  const labels = new Int32Array(map.length);
  for (let i = 0; i < map.length; i++) labels[i] = dataset.labels[map[i]];
  const sub: ImageDataset = {
    name,
    size: map.length,
    height: dataset.height,
    width: dataset.width,
    channels: 3,
    numClasses: dataset.numClasses,
    classNames: dataset.classNames,
    labels,
    read(idx, images, out) {
      checkRead(sub, idx, images, out);
      const parentIdx = new Int32Array(idx.length);
      for (let i = 0; i < idx.length; i++) parentIdx[i] = map[idx[i]];
      return dataset.read(parentIdx, images, out);
    },
  };
  return sub;
}

/** mulberry32: a small, fast, seedable 32-bit PRNG; returns uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The PRNG seed of one epoch. The (seed, epoch) pair is hashed rather than added so that runs with
 * neighbouring seeds do not replay each other's orders shifted by one epoch (seed + epoch would
 * give run s, epoch 1 the same order as run s + 1, epoch 0).
 */
export function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ (epoch >>> 0), 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2f);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates driven by mulberry32(seed)). */
export function permutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const r = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface BatchOptions {
  /** Visit samples in a seeded random order (default false: dataset order). */
  shuffle?: boolean;
  /** Base seed of the shuffle (default 0). */
  seed?: number;
  /** Epoch number (default 0); each epoch's order comes from epochSeed(seed, epoch). */
  epoch?: number;
  /** Drop a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Start reading the next batch before the current one is handed out (default true). */
  prefetch?: boolean;
  /** Skip the epoch's first batches without reading them (resuming mid-epoch). */
  startBatch?: number;
}

export interface Batch {
  /** uint8 NHWC, count·H·W·3 bytes; freshly allocated, so it may be kept. */
  images: Uint8Array;
  labels: Int32Array;
  /** Samples in this batch (batchSize except possibly the last). */
  count: number;
  /** Dataset indices of the samples. */
  indices: Int32Array;
  /** Position of this batch within the epoch. */
  batchIndex: number;
}

/** Number of batches one epoch yields. */
export function batchCount(size: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
}

/**
 * One epoch of minibatches. Every sample appears exactly once per epoch (except the tail dropped
 * by `dropLast`); with `shuffle` the order is a deterministic function of (seed, epoch).
 */
export async function* batches(dataset: ImageDataset, batchSize: number, options: BatchOptions = {}): AsyncGenerator<Batch, void, undefined> {
  const { shuffle = false, seed = 0, epoch = 0, dropLast = false, prefetch = true, startBatch = 0 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batches: batchSize must be a positive integer, got ${batchSize}`);
  const n = dataset.size;
  let order: Int32Array;
  if (shuffle) order = permutation(n, epochSeed(seed, epoch));
  else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const total = batchCount(n, batchSize, dropLast);
  const bytes = sampleBytes(dataset);
  const load = async (b: number): Promise<Batch> => {
    const start = b * batchSize;
    const count = Math.min(batchSize, n - start);
    const indices = order.slice(start, start + count);
    const images = new Uint8Array(count * bytes);
    const labels = new Int32Array(count);
    await dataset.read(indices, images, labels);
    return { images, labels, count, indices, batchIndex: b };
  };
  let pending: Promise<Batch> | null = startBatch < total ? load(startBatch) : null;
  try {
    for (let b = startBatch; b < total; b++) {
      const current = await pending!;
      pending = null;
      const more = b + 1 < total;
      if (more && prefetch) pending = load(b + 1);
      yield current;
      if (more && !prefetch) pending = load(b + 1);
    }
  } finally {
    // The consumer stopped early: let an in-flight read settle so its errors are not unhandled.
    if (pending) await pending.catch(() => undefined);
  }
}
