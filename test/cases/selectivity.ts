// Class means and the class-selectivity index against float64 references.
import { classMeans, classWeights, selectivityIndex } from '../../engine/ops/selectivity.js';
import { tensor } from '../../engine/tensor.js';
import { classMeansRef, selectivityRef } from '../reference/selectivity.js';
import type { KernelCase } from './check.js';
import { U, rng, uniform } from './util.js';

export function siOnGpu(a: Float32Array, N: number, C: number, labels: Int32Array, K: number) {
  const { weights, counts } = classWeights(tensor(labels), K);
  const mu = classMeans(tensor(a, [N, C]), weights);
  return { mu, counts, si: selectivityIndex(mu, counts) };
}

export const selectivityCases: KernelCase[] = [
  {
    suite: 'selectivity',
    name: 'class means and SI match the reference, including absent classes, zero units and one-class units',
    async run(check) {
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
      check.close(await counts.toArray(), ref.counts, 0, 'counts');
      // Each class mean is a weighted sum of ≤ N terms with weights 1/count.
      check.close(await mu.toArray(), ref.mu, 4 * N * U + 1e-7, 'class means');
      const expected = selectivityRef(ref.mu, ref.counts, K, C);
      const got = await si.toArray();
      check.close(got, expected, (i) => 64 * N * U * (1 + expected[i]) + 1e-6, 'SI');
      check.equal([got[0]], [0], 'all-zero unit');
      check.ok(Math.abs(got[1] - 1) < 1e-6, `one-class unit: SI ${got[1]}`);
    },
  },
  {
    suite: 'selectivity',
    name: 'SI is 0 when fewer than two classes are present',
    async run(check) {
      const { si } = siOnGpu(uniform(4 * 3, 2, 0, 1), 4, 3, Int32Array.from([1, 1, 1, 1]), 3);
      check.equal(await si.toArray(), [0, 0, 0], 'SI');
    },
  },
];
