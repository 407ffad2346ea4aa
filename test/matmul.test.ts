import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linear, matmul, matmulRaw } from '../engine/ops/matmul.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { linearInputs, matmulCases } from './cases/matmul.js';
import { gradCheck, randn, setupGpu } from './helpers.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/matmul.ts, also run by the page's test mode).
for (const c of matmulCases) test(c.name, async () => void (await runCase(c)));

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
  const { x, w, bias } = linearInputs();
  await gradCheck('linear', (a, b, c) => linear(a, b, c), [
    { data: x, shape: [6, 5] },
    { data: w, shape: [3, 5] },
    { data: bias, shape: [3] },
  ]);
});

test.run();
