import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { crossEntropy, crossEntropyPerSample, logSoftmax } from '../engine/ops/loss.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { lossCases } from './cases/loss.js';
import { gradCheck, randn, setupGpu } from './helpers.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/loss.ts, also run by the page's test mode).
for (const c of lossCases) test(c.name, async () => void (await runCase(c)));

test('cross-entropy and log-softmax gradients match finite differences', async () => {
  const labels = tensor(Int32Array.from([2, 0, 1]));
  await gradCheck('cross_entropy', (x) => crossEntropy(x, labels), [{ data: randn(12, 8), shape: [3, 4] }]);
  await gradCheck('log_softmax', (x) => logSoftmax(x), [{ data: randn(12, 9), shape: [3, 4] }]);
});

test('out-of-range labels give NaN, bad shapes a named error', async () => {
  const loss = crossEntropyPerSample(tensor(new Float32Array(6), [2, 3]), tensor(Int32Array.from([1, 3])));
  const v = await loss.toArray();
  assert.ok(Number.isFinite(v[0]) && Number.isNaN(v[1]), `losses ${v}`);
  assert.throws(() => crossEntropy(tensor(new Float32Array(6), [2, 3]), tensor(Int32Array.from([1, 2, 0]))), /labels must be \[2\]/);
  assert.throws(() => crossEntropy(tensor(new Float32Array(6), [2, 3]), tensor(Float32Array.from([1, 2]))), /expected a i32 tensor/);
});

test.run();
