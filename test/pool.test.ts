import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../engine/autograd.js';
import { avgPool2d, globalAvgPool, maxPool2d } from '../engine/ops/pool.js';
import { tensor } from '../engine/tensor.js';
import { U, assertClose, gradCheck, randn, setupGpu } from './helpers.js';
import { poolBackwardRef, poolRef } from './reference/pool.js';

test.before(setupGpu);

const cases: [number[], number, number, number][] = [
  [[1, 1, 1, 1], 1, 1, 0],
  [[2, 4, 4, 3], 2, 2, 0],
  [[1, 7, 5, 5], 3, 2, 1],
  [[3, 9, 9, 16], 3, 1, 1],
  [[2, 8, 8, 4], 3, 3, 0],
];

for (const [shape, k, s, p] of cases) {
  test(`avg/max pool [${shape}] k${k} s${s} p${p}: forward and backward`, async () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = randn(n, n + k);
    for (const kind of ['avg', 'max'] as const) {
      const t = tensor(x, shape);
      t.requiresGrad = true;
      const y = (kind === 'avg' ? avgPool2d : maxPool2d)(t, k, { stride: s, padding: p });
      const ref = poolRef(kind, x, shape, k, s, p);
      assert.equal([...y.shape], ref.shape);
      // avg: a sum of k² terms then one division; max: exact.
      const bound = kind === 'avg' ? (k * k + 2) * U * 4 : 0;
      assertClose(await y.toArray(), ref.y, bound, `${kind} forward`);
      const dy = randn(y.size, 3);
      backward(y, { grad: tensor(dy, ref.shape) });
      const dx = poolBackwardRef(kind, dy, shape, k, s, p, ref.argmax);
      assertClose(await t.grad!.toArray(), dx, (k * k + 2) * U * 8, `${kind} backward`);
    }
  });
}

test('pool gradients match finite differences; global average pool', async () => {
  await gradCheck('avg_pool2d', (x) => avgPool2d(x, 3, { stride: 2, padding: 1 }), [{ data: randn(2 * 5 * 5 * 2, 4), shape: [2, 5, 5, 2] }]);
  await gradCheck('max_pool2d', (x) => maxPool2d(x, 2), [{ data: randn(1 * 4 * 4 * 3, 5), shape: [1, 4, 4, 3] }]);
  await gradCheck('global_avg_pool', (x) => globalAvgPool(x), [{ data: randn(2 * 3 * 3 * 4, 6), shape: [2, 3, 3, 4] }]);
  const g = globalAvgPool(tensor(Float32Array.from({ length: 2 * 2 * 2 * 3 }, (_, i) => i), [2, 2, 2, 3]));
  assert.equal([...g.shape], [2, 3]);
  assert.equal(Array.from(await g.toArray()), [4.5, 5.5, 6.5, 16.5, 17.5, 18.5]);
});

test('pooling rejects bad geometry', () => {
  const t = tensor(new Float32Array(16), [1, 4, 4, 1]);
  assert.throws(() => maxPool2d(t, 5), /does not fit/);
  assert.throws(() => avgPool2d(t, 2, { padding: 2 }), /padding must be/);
  assert.throws(() => avgPool2d(tensor(new Float32Array(16), [4, 4]), 2), /NHWC/);
});

test.run();
