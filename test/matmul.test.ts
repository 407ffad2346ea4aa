import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linear, matmul, matmulRaw } from '../engine/ops/matmul.js';
import { chooseTiling } from '../engine/ops/gemm.js';
import { tensor } from '../engine/tensor.js';
import { assertClose, dotBound, gradCheck, randn, setupGpu } from './helpers.js';
import { matmulRef } from './reference/matmul.js';

test.before(setupGpu);

const cases: [number, number, number, number, boolean, boolean][] = [
  // batch, M, N, K, transA, transB
  [1, 1, 1, 1, false, false],
  [1, 3, 7, 17, false, false],
  [1, 17, 33, 7, false, true],
  [1, 33, 17, 3, true, false],
  [1, 8, 16, 64, true, true],
  [1, 64, 48, 32, false, false],
  [1, 5, 3, 1000, false, false], // K split across threads
  [1, 16, 16, 4096, true, false],
  [3, 7, 9, 5, false, false],
  [2, 12, 20, 36, false, true],
];

for (const [batch, M, N, K, transA, transB] of cases) {
  test(`matmul b${batch} ${M}x${K}·${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`, async () => {
    const aShape: [number, number, number] = [batch, transA ? K : M, transA ? M : K];
    const bShape: [number, number, number] = [batch, transB ? N : K, transB ? K : N];
    const a = randn(aShape[0] * aShape[1] * aShape[2], M * 7 + K);
    const b = randn(bShape[0] * bShape[1] * bShape[2], N * 13 + K);
    const ta = tensor(a, batch === 1 ? aShape.slice(1) : aShape);
    const tb = tensor(b, batch === 1 ? bShape.slice(1) : bShape);
    const c = matmulRaw(ta, tb, { transA, transB });
    assert.equal([...c.shape], batch === 1 ? [M, N] : [batch, M, N]);
    const ref = matmulRef(a, aShape, b, bShape, transA, transB);
    const { splits } = chooseTiling(M, N, K, batch);
    assertClose(await c.toArray(), ref.value, dotBound(K + splits, ref.absSum), 'matmul');
    [ta, tb, c].forEach((t) => t.dispose());
  });
}

test('matmul broadcasts a batch of one', async () => {
  const a = randn(2 * 3 * 4, 1);
  const b = randn(4 * 5, 2);
  const c = matmulRaw(tensor(a, [2, 3, 4]), tensor(b, [1, 4, 5]));
  const ref = matmulRef(a, [2, 3, 4], b, [1, 4, 5]);
  assertClose(await c.toArray(), ref.value, dotBound(5, ref.absSum), 'broadcast matmul');
});

test('matmul rejects mismatched inner dimensions with both shapes named', () => {
  assert.throws(() => matmulRaw(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [4, 2])), /inner dimensions differ.*\[2,3\].*\[4,2\]/);
});

test('matmul gradient matches finite differences', async () => {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    await gradCheck(`matmul transA=${transA} transB=${transB}`, (a, b) => matmul(a, b, { transA, transB }), [
      { data: randn(15, 3), shape: transA ? [5, 3] : [3, 5] },
      { data: randn(20, 4), shape: transB ? [4, 5] : [5, 4] },
    ]);
  }
});

test('batched matmul gradient sums over a broadcast batch', async () => {
  await gradCheck('batched matmul', (a, b) => matmul(a, b), [
    { data: randn(2 * 3 * 5, 5), shape: [2, 3, 5] },
    { data: randn(5 * 4, 6), shape: [1, 5, 4] },
  ]);
});

test('linear matches x·Wᵀ + b and its gradient', async () => {
  const x = randn(6 * 5, 8);
  const w = randn(3 * 5, 9);
  const bias = randn(3, 10);
  const y = linear(tensor(x, [6, 5]), tensor(w, [3, 5]), tensor(bias, [3]));
  const ref = matmulRef(x, [1, 6, 5], w, [1, 3, 5], false, true);
  const expected = ref.value.map((v, i) => v + bias[i % 3]);
  assertClose(await y.toArray(), expected, (i) => dotBound(6, ref.absSum)(i) + Math.abs(bias[i % 3]) * 1e-7, 'linear');
  await gradCheck('linear', (a, b, c) => linear(a, b, c), [
    { data: x, shape: [6, 5] },
    { data: w, shape: [3, 5] },
    { data: bias, shape: [3] },
  ]);
});

test.run();
