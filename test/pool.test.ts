import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { avgPool2d, globalAvgPool, maxPool2d } from '../engine/ops/pool.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { poolCases } from './cases/pool.js';
import { gradCheck, randn, setupGpu } from './helpers.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/pool.ts, also run by the page's test mode).
for (const c of poolCases) test(c.name, async () => void (await runCase(c)));

test('pool gradients match finite differences', async () => {
  await gradCheck('avg_pool2d', (x) => avgPool2d(x, 3, { stride: 2, padding: 1 }), [{ data: randn(2 * 5 * 5 * 2, 4), shape: [2, 5, 5, 2] }]);
  await gradCheck('max_pool2d', (x) => maxPool2d(x, 2), [{ data: randn(1 * 4 * 4 * 3, 5), shape: [1, 4, 4, 3] }]);
  await gradCheck('global_avg_pool', (x) => globalAvgPool(x), [{ data: randn(2 * 3 * 3 * 4, 6), shape: [2, 3, 3, 4] }]);
});

test('pooling rejects bad geometry', () => {
  const t = tensor(new Float32Array(16), [1, 4, 4, 1]);
  assert.throws(() => maxPool2d(t, 5), /does not fit/);
  assert.throws(() => avgPool2d(t, 2, { padding: 2 }), /padding must be/);
  assert.throws(() => avgPool2d(tensor(new Float32Array(16), [4, 4]), 2), /NHWC/);
});

test.run();
