// Class selectivity as differentiable ops (shaders/selectivity.ts): class-conditional means by a
// label-weighted matmul, and the selectivity index per unit with its own backward kernel.
import { classWeightsProgram, selectivityBackward, selectivityForward, selectivityWorkgroups } from '../../shaders/selectivity.js';
import { record } from '../autograd.js';
import { assertDType, empty, type Tensor } from '../tensor.js';
import { matmul } from './matmul.js';
import { run, shapes } from './run.js';

export const SELECTIVITY_EPS = 1e-7;

/**
 * Per-class weights from labels [N] (i32): w [N, K] with w[n, k] = [y_n = k]/count_k (or the plain
 * one-hot when normalize is false), and counts [K]. No autograd.
 */
export function classWeights(labels: Tensor, numClasses: number, normalize = true): { weights: Tensor; counts: Tensor } {
  assertDType('class_weights', labels, 'i32');
  if (labels.rank !== 1) throw new Error(`class_weights: labels must be 1-D, got ${labels.describe()}`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`class_weights: numClasses must be a positive integer, got ${numClasses}`);
  const N = labels.shape[0];
  const weights = empty([N, numClasses]);
  const counts = empty([numClasses]);
  run(classWeightsProgram(normalize), { labels, w: weights, counts }, { N, K: numClasses }, selectivityWorkgroups(N * numClasses), `class_weights [${N}] K=${numClasses}`);
  return { weights, counts };
}

/** Class-conditional means [K, C] of unit activations [N, C] (differentiable in the activations). */
export function classMeans(activations: Tensor, weights: Tensor): Tensor {
  if (activations.rank !== 2 || weights.rank !== 2 || weights.shape[0] !== activations.shape[0]) {
    throw new Error(`class_means: activations [N, C] and weights [N, K] must share N, got ${shapes(activations, weights)}`);
  }
  return matmul(weights, activations, { transA: true });
}

/**
 * Selectivity index per unit [C] from class means mu [K, C] and class counts [K] (classes with
 * count 0 are left out; SI is 0 when fewer than two classes are present). Differentiable in mu.
 */
export function selectivityIndex(mu: Tensor, counts: Tensor, eps = SELECTIVITY_EPS): Tensor {
  const op = 'selectivity_index';
  assertDType(op, mu, 'f32');
  if (mu.rank !== 2 || counts.rank !== 1 || counts.shape[0] !== mu.shape[0]) throw new Error(`${op}: expected mu [K, C] and counts [K], got ${shapes(mu, counts)}`);
  const [K, C] = mu.shape;
  const si = empty([C]);
  run(selectivityForward, { mu, counts, si }, { K, C, eps }, selectivityWorkgroups(C), `${op} ${shapes(mu)}`);
  return record(op, [mu], si, [mu, counts], (g, [smu, scounts]) => {
    const dmu = empty([K, C]);
    run(selectivityBackward, { mu: smu, counts: scounts, gsi: g, dmu }, { K, C, eps }, selectivityWorkgroups(K * C), `${op} ${shapes(mu)} backward`);
    return [dmu];
  });
}
