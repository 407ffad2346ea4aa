import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { classMeans, classWeights, selectivityIndex } from '../engine/ops/selectivity.js';
import { tensor } from '../engine/tensor.js';
import { batchSelectivity } from '../experiments/selectivity.js';
import { U, assertClose, gradCheck, rng, setupGpu, uniform } from './helpers.js';
import { classMeansRef, selectivityRef } from './reference/selectivity.js';

test.before(setupGpu);

function siOnGpu(a: Float32Array, N: number, C: number, labels: Int32Array, K: number) {
  const { weights, counts } = classWeights(tensor(labels), K);
  const mu = classMeans(tensor(a, [N, C]), weights);
  return { mu, counts, si: selectivityIndex(mu, counts) };
}

test('class means and SI match the reference, including absent classes, zero units and one-class units', async () => {
  const N = 37;
  const C = 9;
  const K = 7;
  const r = rng(5);
  // Class 3 and class 6 get no samples.
  const labels = Int32Array.from({ length: N }, () => [0, 1, 2, 4, 5][Math.floor(r() * 5)]);
  const a = uniform(N * C, 6, 0, 2);
  for (let n = 0; n < N; n++) {
    a[n * C + 0] = 0; // an all-zero unit: SI = 0
    a[n * C + 1] = labels[n] === 2 ? 1.5 : 0; // active for one class only: SI = 1
  }
  const { mu, counts, si } = siOnGpu(a, N, C, labels, K);
  const ref = classMeansRef(a, N, C, labels, K);
  assertClose(await counts.toArray(), ref.counts, 0, 'counts');
  // Each class mean is a weighted sum of ≤ N terms with weights 1/count.
  assertClose(await mu.toArray(), ref.mu, 4 * N * U + 1e-7, 'class means');
  const expected = selectivityRef(ref.mu, ref.counts, K, C);
  const got = await si.toArray();
  assertClose(got, expected, (i) => 64 * N * U * (1 + expected[i]) + 1e-6, 'SI');
  assert.is(got[0], 0, 'all-zero unit');
  assert.ok(Math.abs(got[1] - 1) < 1e-6, `one-class unit: SI ${got[1]}`);
});

test('SI is 0 when fewer than two classes are present', async () => {
  const { si } = siOnGpu(uniform(4 * 3, 2, 0, 1), 4, 3, Int32Array.from([1, 1, 1, 1]), 3);
  assert.equal(Array.from(await si.toArray()), [0, 0, 0]);
});

test('the selectivity index and the minibatch regularizer pass finite-difference checks', async () => {
  const counts = tensor(Float32Array.from([2, 0, 3, 1]));
  await gradCheck('selectivity_index', (mu) => selectivityIndex(mu, counts), [{ data: uniform(4 * 5, 7, 0.2, 2), shape: [4, 5] }], { h: 1e-3 });
  const labels = tensor(Int32Array.from([0, 2, 1, 2, 0, 1]));
  await gradCheck('batch selectivity over two blocks', (b1, b2) => batchSelectivity([b1, b2], labels, 4), [
    { data: uniform(6 * 2 * 2 * 3, 8, 0.1, 1), shape: [6, 2, 2, 3] },
    { data: uniform(6 * 1 * 1 * 4, 9, 0.1, 1), shape: [6, 1, 1, 4] },
  ], { h: 1e-3 });
});

test.run();
