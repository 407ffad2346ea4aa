import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { max, mean, min, sum, sumTo } from '../engine/ops/reduce.js';
import { tensor } from '../engine/tensor.js';
import { U, assertClose, gradCheck, randn, setupGpu } from './helpers.js';
import { reduceRef } from './reference/elementwise.js';

test.before(setupGpu);

// A sum of n terms (possibly split in partial sums) has error ≤ γ_n·Σ|x| (Higham); mean adds one rounding.
const sumBound = (n: number, absSum: ArrayLike<number>) => (i: number) => ((n + 1) * U) / (1 - (n + 1) * U) * absSum[i] + 1e-30;

const cases: [number[], number[]][] = [
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

for (const [shape, axes] of cases) {
  test(`sum/mean/max/min over [${axes}] of [${shape}]`, async () => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = randn(n, n + axes.length);
    const t = tensor(x, shape);
    const count = axes.reduce((a, ax) => a * shape[ax], 1);
    for (const kind of ['sum', 'mean', 'max', 'min'] as const) {
      const fn = { sum, mean, max, min }[kind];
      const y = fn(t, axes, { keepDims: true });
      const ref = reduceRef(kind, x, shape, axes);
      assert.equal([...y.shape], ref.shape);
      const bound = kind === 'sum' || kind === 'mean' ? sumBound(count, ref.absSum) : 0;
      assertClose(await y.toArray(), ref.value, bound, `${kind}`);
    }
    const dropped = sum(t, axes);
    assert.equal([...dropped.shape], shape.filter((_, i) => !axes.includes(i)));
  });
}

test('reductions default to all axes and accept negative axes', async () => {
  const x = randn(24, 3);
  const t = tensor(x, [2, 3, 4]);
  assert.equal([...sum(t).shape], []);
  const ref = reduceRef('sum', x, [2, 3, 4], [2]);
  assertClose(await sum(t, -1).toArray(), ref.value, sumBound(4, ref.absSum), 'sum(-1)');
  assert.throws(() => sum(t, 3), /axis 3 is out of range for rank 3/);
});

test('reduction gradients match finite differences', async () => {
  const data = randn(24, 5);
  await gradCheck('sum', (x) => sum(x, [0, 2]), [{ data, shape: [2, 3, 4] }]);
  await gradCheck('mean', (x) => mean(x, 1, { keepDims: true }), [{ data, shape: [2, 3, 4] }]);
  await gradCheck('max', (x) => max(x, 2), [{ data, shape: [2, 3, 4] }]);
  await gradCheck('min', (x) => min(x, [0, 1]), [{ data, shape: [2, 3, 4] }]);
});

test('sumTo folds broadcast gradients back', async () => {
  const x = randn(2 * 3 * 4, 6);
  const out = sumTo(tensor(x, [2, 3, 4]), [3, 1]);
  const ref = reduceRef('sum', x, [2, 3, 4], [0, 2]);
  assertClose(await out.toArray(), ref.value, sumBound(8, ref.absSum), 'sumTo');
});

test.run();
