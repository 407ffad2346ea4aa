// Class selectivity of a network's block outputs: the minibatch version used as the regularizer
// (differentiable) and, in experiments/cli, the dataset-wide measurement.
import { noGrad } from '../engine/autograd.js';
import { imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { add, addRaw, div, maximum, mulScalar } from '../engine/ops/elementwise.js';
import { full } from '../engine/ops/fill.js';
import { matmulRaw } from '../engine/ops/matmul.js';
import { globalAvgPool } from '../engine/ops/pool.js';
import { mean } from '../engine/ops/reduce.js';
import { classMeans, classWeights, selectivityIndex } from '../engine/ops/selectivity.js';
import { scope, tensor, type Tensor } from '../engine/tensor.js';
import type { ResNet } from '../models/resnet.js';
import { batchCount, batches, type ImageDataset } from './data/dataset.js';

/**
 * Mean selectivity over units and then over layers, computed inside the minibatch from the class
 * means of the samples present (docs/method.md §4). A scalar tensor, differentiable in the block outputs.
 */
export function batchSelectivity(blocks: readonly Tensor[], labels: Tensor, numClasses: number): Tensor {
  if (blocks.length === 0) throw new Error('batch_selectivity: no block outputs');
  const { weights, counts } = classWeights(labels, numClasses);
  let total: Tensor | null = null;
  for (const block of blocks) {
    const layerSi = mean(selectivityIndex(classMeans(globalAvgPool(block), weights), counts));
    total = total ? add(total, layerSi) : layerSi;
  }
  return mulScalar(total!, 1 / blocks.length);
}

/** Dataset-wide class selectivity of every block output (docs/method.md §3), measured in eval mode. */
export interface SelectivityReport {
  /** SI of every unit, per layer (block outputs in order). */
  units: number[][];
  /** Mean SI per layer. */
  layers: number[];
  /** Mean over layers of the per-layer means. */
  overall: number;
  layerNames: string[];
  samples: number;
}

/**
 * Accumulates class-conditional sums of every unit's spatially averaged activation over the dataset
 * on the GPU (a one-hot matmul per batch: a segmented reduction by label), then computes SI per unit.
 */
export class SelectivityAccumulator {
  private sums: Tensor[] = [];
  private counts: Tensor | null = null;
  samples = 0;

  constructor(readonly numClasses: number) {}

  /** Adds one batch of block outputs; records GPU work only. */
  add(blocks: readonly Tensor[], labels: Tensor): void {
    noGrad(() => {
      const next = scope(() => {
        const { weights, counts } = classWeights(labels, this.numClasses, false);
        const sums = blocks.map((b, i) => {
          const s = matmulRaw(weights, globalAvgPool(b), { transA: true });
          return this.sums[i] ? addRaw(this.sums[i], s) : s;
        });
        return { sums, counts: this.counts ? addRaw(this.counts, counts) : counts };
      });
      this.sums.forEach((t) => t.dispose());
      this.counts?.dispose();
      this.sums = next.sums.map((t) => t.keep());
      this.counts = next.counts.keep();
    });
    this.samples += labels.size;
  }

  /** Class means and SI per unit; one read-back per layer. */
  async report(layerNames: string[]): Promise<SelectivityReport> {
    if (!this.counts) throw new Error('selectivity: no samples were accumulated');
    const units: number[][] = [];
    for (const sums of this.sums) {
      const si = noGrad(() => scope(() => {
        const counts = this.counts!;
        const mu = div(sums, maximum(counts.view([this.numClasses, 1]), full([1], 1)));
        return selectivityIndex(mu, counts);
      }));
      units.push(Array.from((await si.toArray()) as Float32Array));
      si.dispose();
    }
    const layers = units.map((u) => u.reduce((a, b) => a + b, 0) / u.length);
    return { units, layers, overall: layers.reduce((a, b) => a + b, 0) / layers.length, layerNames, samples: this.samples };
  }

  dispose(): void {
    this.sums.forEach((t) => t.dispose());
    this.counts?.dispose();
  }
}

/** Names of a ResNet's block outputs, as PyTorch would name the modules (layer1.0 … layer3.2). */
export function blockNames(model: ResNet): string[] {
  return model.layers.flatMap((stage, s) => stage.map((_, b) => `layer${s + 1}.${b}`));
}

/** Measures selectivity of a model over a dataset (eval mode). */
export async function measureSelectivity(model: ResNet, data: ImageDataset, numClasses: number, batchSize: number, onBatch?: (done: number, total: number) => void): Promise<SelectivityReport> {
  if (data.size === 0) throw new Error(`${data.name}: no samples to measure selectivity on`);
  const wasTraining = model.training;
  model.eval();
  const acc = new SelectivityAccumulator(numClasses);
  const total = batchCount(data.size, batchSize);
  let done = 0;
  for await (const batch of batches(data, batchSize)) {
    noGrad(() => scope(() => {
      const shape = [batch.count, data.height, data.width, 3];
      const { blocks } = model.forward(imagesToFloat(uploadImagesU8(batch.images, shape), shape));
      acc.add(blocks, tensor(batch.labels));
    }));
    onBatch?.(++done, total);
  }
  const report = await acc.report(blockNames(model));
  acc.dispose();
  model.train(wasTraining);
  return report;
}
