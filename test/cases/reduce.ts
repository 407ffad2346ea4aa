// Reductions against float64 references.
import { max, mean, min, sum, sumTo } from '../../engine/ops/reduce.js';
import { tensor } from '../../engine/tensor.js';
import { reduceRef } from '../reference/elementwise.js';
import type { KernelCase } from './check.js';
import { U, randn } from './util.js';

// A sum of n terms (possibly split in partial sums) has error ≤ γ_n·Σ|x| (Higham); mean adds one rounding.
export const sumBound = (n: number, absSum: ArrayLike<number>) => (i: number) => ((n + 1) * U) / (1 - (n + 1) * U) * absSum[i] + 1e-30;

export const reduceShapes: [number[], number[]][] = [
  [[7], [0]],
  [[3, 5], [1]],
  [[3, 5], [0]],
  [[2, 3, 4], [0, 2]],
  [[2, 3, 4, 5], [1, 2]],
  [[4, 33, 17], [1]],
  [[100000], [0]], // split into partial sums
  [[3, 4096, 2], [1]],
  [[2, 3, 4], [0, 1, 2]],
];

export const reduceCases: KernelCase[] = [
  ...reduceShapes.map(([shape, axes]): KernelCase => ({
    suite: 'reduce',
    name: `sum/mean/max/min over [${axes}] of [${shape}]`,
    async run(check) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randn(n, n + axes.length);
      const t = tensor(x, shape);
      const count = axes.reduce((a, ax) => a * shape[ax], 1);
      for (const kind of ['sum', 'mean', 'max', 'min'] as const) {
        const fn = { sum, mean, max, min }[kind];
        const y = fn(t, axes, { keepDims: true });
        const ref = reduceRef(kind, x, shape, axes);
        check.equal([...y.shape], ref.shape, `${kind} shape`);
        const bound = kind === 'sum' || kind === 'mean' ? sumBound(count, ref.absSum) : 0;
        check.close(await y.toArray(), ref.value, bound, `${kind}`);
      }
      const dropped = sum(t, axes);
      check.equal([...dropped.shape], shape.filter((_, i) => !axes.includes(i)), 'shape without kept axes');
    },
  })),
  {
    suite: 'reduce',
    name: 'sumTo folds broadcast gradients back',
    async run(check) {
      const x = randn(2 * 3 * 4, 6);
      const out = sumTo(tensor(x, [2, 3, 4]), [3, 1]);
      const ref = reduceRef('sum', x, [2, 3, 4], [0, 2]);
      check.close(await out.toArray(), ref.value, sumBound(8, ref.absSum), 'sumTo');
    },
  },
];
