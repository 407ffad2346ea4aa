// Average, max and global pooling, forward and backward, against float64 references.
import { backward } from '../../engine/autograd.js';
import { avgPool2d, globalAvgPool, maxPool2d } from '../../engine/ops/pool.js';
import { tensor } from '../../engine/tensor.js';
import { poolBackwardRef, poolRef } from '../reference/pool.js';
import type { KernelCase } from './check.js';
import { U, leaf, randn } from './util.js';

export const poolShapes: [number[], number, number, number][] = [
  [[1, 1, 1, 1], 1, 1, 0],
  [[2, 4, 4, 3], 2, 2, 0],
  [[1, 7, 5, 5], 3, 2, 1],
  [[3, 9, 9, 16], 3, 1, 1],
  [[2, 8, 8, 4], 3, 3, 0],
];

export const poolCases: KernelCase[] = [
  ...poolShapes.map(([shape, k, s, p]): KernelCase => ({
    suite: 'pool',
    name: `avg/max pool [${shape}] k${k} s${s} p${p}: forward and backward`,
    async run(check) {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = randn(n, n + k);
      for (const kind of ['avg', 'max'] as const) {
        const t = leaf(x, shape);
        const y = (kind === 'avg' ? avgPool2d : maxPool2d)(t, k, { stride: s, padding: p });
        const ref = poolRef(kind, x, shape, k, s, p);
        check.equal([...y.shape], ref.shape, `${kind} shape`);
        // avg: a sum of k² terms then one division; max: exact.
        const bound = kind === 'avg' ? (k * k + 2) * U * 4 : 0;
        check.close(await y.toArray(), ref.y, bound, `${kind} forward`);
        const dy = randn(y.size, 3);
        backward(y, { grad: tensor(dy, ref.shape) });
        const dx = poolBackwardRef(kind, dy, shape, k, s, p, ref.argmax);
        check.close(await t.grad!.toArray(), dx, (k * k + 2) * U * 8, `${kind} backward`);
      }
    },
  })),
  {
    suite: 'pool',
    name: 'global average pool',
    async run(check) {
      const g = globalAvgPool(tensor(Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i), [2, 2, 2, 3]));
      check.equal([...g.shape], [2, 3], 'shape');
      check.equal(await g.toArray(), [4.5, 5.5, 6.5, 16.5, 17.5, 18.5], 'values');
    },
  },
];
