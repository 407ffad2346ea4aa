// Corrupted test images on the GPU and accuracy under them. A batch goes up as uint8, is converted,
// corrupted (experiments/corruptions) and quantised to uint8 exactly as a written .npy set, so an
// on-the-fly evaluation sees the very bytes `corrupt` writes for the same seed and batch size: each
// (corruption, severity) draws its randomness from its own generator stream of the seed, batches
// in test-set order.
import { noGrad } from '../engine/autograd.js';
import { imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { addRaw } from '../engine/ops/elementwise.js';
import { full } from '../engine/ops/fill.js';
import { predictions } from '../engine/ops/loss.js';
import { Generator } from '../engine/ops/random.js';
import { sum } from '../engine/ops/reduce.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import type { ResNet } from '../models/resnet.js';
import { corrupt, packUint8 } from './corruptions/index.js';
import { defaultParameterSet } from './corruptions/parameters.js';
import { CORRUPTION_NAMES, type CorruptionContext, type CorruptionName, type ParameterSet } from './corruptions/types.js';
import { batchCount, batches, permutation, subset, type ImageDataset } from './data/dataset.js';
import { evaluate } from './train.js';

/** Generator stream of (corruption, severity): disjoint from the training streams (0, 1). */
export function corruptionStream(name: CorruptionName, severity: number): number {
  return 0x100 + CORRUPTION_NAMES.indexOf(name) * 8 + severity;
}

/** The generator a (corruption, severity) of a generated set draws from. */
export function corruptionGenerator(seed: number, name: CorruptionName, severity: number): Generator {
  return new Generator(seed, { stream: corruptionStream(name, severity) });
}

export interface GenerateOptions {
  seed: number;
  /** Parameter table (default: by image size, 64×64 → Tiny-ImageNet-C, else CIFAR-10-C). */
  parameters?: ParameterSet;
  frostTextures?: Tensor[];
}

export function contextFor(generator: Generator, height: number, width: number, options: GenerateOptions): CorruptionContext {
  return { generator, parameters: options.parameters ?? defaultParameterSet(height, width), frostTextures: options.frostTextures };
}

/**
 * Corrupts uint8 NHWC images and quantises them: returns the packed-uint8 tensor (u32 words) of the
 * corrupted bytes, ready for imagesToFloat or read-back. The caller disposes it.
 */
export async function corruptPacked(images: Uint8Array, shape: readonly [number, number, number, number], name: CorruptionName, severity: number, ctx: CorruptionContext): Promise<Tensor> {
  const x = scope(() => imagesToFloat(uploadImagesU8(images, shape), shape));
  let y: Tensor | undefined;
  try {
    y = await corrupt(x, name, severity, ctx);
    // Truncation to uint8 (np.uint8(x·255), as the published sets), packed four bytes a word.
    return packUint8(y);
  } finally {
    x.dispose();
    if (y && y !== x) y.dispose();
  }
}

/** The corrupted, quantised images as uint8 NHWC bytes on the host. */
export async function corruptToBytes(images: Uint8Array, shape: readonly [number, number, number, number], name: CorruptionName, severity: number, ctx: CorruptionContext): Promise<Uint8Array> {
  const packed = await corruptPacked(images, shape, name, severity, ctx);
  try {
    const words = await packed.toArray();
    return new Uint8Array(words.buffer, words.byteOffset, shape[0] * shape[1] * shape[2] * shape[3]);
  } finally {
    packed.dispose();
  }
}

export interface CorruptedAccuracyOptions {
  batchSize: number;
  generate: GenerateOptions;
  onBatch?: () => void;
}

/** Accuracy under (corruption, severity) generated on the fly, in eval mode; one read-back at the end. */
export async function generatedAccuracy(model: ResNet, data: ImageDataset, name: CorruptionName, severity: number, options: CorruptedAccuracyOptions): Promise<number> {
  const wasTraining = model.training;
  model.eval();
  const ctx = contextFor(corruptionGenerator(options.generate.seed, name, severity), data.height, data.width, options.generate);
  let correct = full([1], 0).keep();
  try {
    for await (const batch of batches(data, options.batchSize)) {
      const shape = [batch.count, data.height, data.width, 3] as const;
      const packed = await corruptPacked(batch.images, shape, name, severity, ctx);
      const next = noGrad(() => scope(() => {
        const { logits } = model.forward(imagesToFloat(packed, shape));
        return addRaw(correct, sum(predictions(logits, tensor(batch.labels)).correct));
      }));
      packed.dispose();
      correct.dispose();
      correct = next.keep();
      options.onBatch?.();
    }
    return (await correct.item()) / data.size;
  } finally {
    correct.dispose();
    model.train(wasTraining);
  }
}

/** The fixed random test subset `openDataset` uses for --limit-test, applied to another set. */
export function limitLike(ds: ImageDataset, limit: number | undefined): ImageDataset {
  return limit && limit < ds.size ? subset(ds, permutation(ds.size, 20201015).slice(0, limit).sort(), ds.name) : ds;
}

export interface EvaluateCorruptionsOptions {
  corruptions: readonly CorruptionName[];
  severities: readonly number[];
  batchSize: number;
  /** Generate on the fly (with these options) … */
  generate?: GenerateOptions;
  /** … or open each (corruption, severity) from a directory. */
  open?: (name: CorruptionName, severity: number) => Promise<ImageDataset>;
  /** Called after each batch with the batches done so far and the total over all cells. */
  onProgress?: (done: number, total: number, name: CorruptionName, severity: number) => void;
}

/** Accuracy per corruption per severity (null where a severity is not evaluated). */
export async function evaluateCorruptions(model: ResNet, test: ImageDataset, options: EvaluateCorruptionsOptions): Promise<Record<string, (number | null)[]>> {
  const { corruptions, severities, batchSize } = options;
  // Sets read from a directory normally have the test set's size; the total is counted from it.
  const perCell = batchCount(test.size, batchSize);
  const total = corruptions.length * severities.length * perCell;
  const results: Record<string, (number | null)[]> = {};
  let cell = 0;
  for (const name of corruptions) {
    const row: (number | null)[] = [null, null, null, null, null];
    for (const severity of severities) {
      let data = test;
      if (options.open) data = await options.open(name, severity);
      let b = 0;
      const onBatch = () => options.onProgress?.(Math.min(cell * perCell + ++b, (cell + 1) * perCell), total, name, severity);
      try {
        row[severity - 1] = options.open
          ? (await evaluate(model, data, batchSize, onBatch)).accuracy
          : await generatedAccuracy(model, data, name, severity, { batchSize, generate: options.generate ?? { seed: 0 }, onBatch });
      } finally {
        if (options.open) await data.close?.();
      }
      cell++;
    }
    results[name] = row;
  }
  return results;
}
