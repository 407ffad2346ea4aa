// Class selectivity of a network's block outputs: the minibatch version used as the regularizer
// (differentiable) and, in experiments/cli, the dataset-wide measurement.
import { add, mulScalar } from '../engine/ops/elementwise.js';
import { globalAvgPool } from '../engine/ops/pool.js';
import { mean } from '../engine/ops/reduce.js';
import { classMeans, classWeights, selectivityIndex } from '../engine/ops/selectivity.js';
import type { Tensor } from '../engine/tensor.js';

/**
 * Mean selectivity over units and then over layers, computed inside the minibatch from the class
 * means of the samples present (SPEC §2). A scalar tensor, differentiable in the block outputs.
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
