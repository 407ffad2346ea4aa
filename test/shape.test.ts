import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flip, pad, reshape, slice, window } from '../engine/ops/shape.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { shapeCases } from './cases/shape.js';
import { gradCheck, randn, setupGpu } from './helpers.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/shape.ts, also run by the page's test mode).
for (const c of shapeCases) test(c.name, async () => void (await runCase(c)));

test('window gradients (the transpose kernel) match finite differences', async () => {
  const data = randn(2 * 5 * 4, 2);
  await gradCheck('pad', (x) => pad(x, [[1, 0], [2, 1], [0, 3]]), [{ data, shape: [2, 5, 4] }]);
  await gradCheck('slice', (x) => slice(x, [1, 0, 1], [1, 3, 2], [1, 2, 2]), [{ data, shape: [2, 5, 4] }]);
  await gradCheck('flip', (x) => flip(x, [1]), [{ data, shape: [2, 5, 4] }]);
  await gradCheck('subsample+pad', (x) => window(x, [2, 3, 6], [0, 0, -1], [1, 2, 1]), [{ data, shape: [2, 5, 4] }]);
  await gradCheck('reshape', (x) => reshape(x, [5, -1]), [{ data, shape: [2, 5, 4] }]);
});

test('shape ops reject bad arguments', () => {
  const t = tensor(new Float32Array(12), [3, 4]);
  assert.throws(() => reshape(t, [5, -1]), /cannot infer -1/);
  assert.throws(() => reshape(t, [5, 2]), /cannot view.*\[3,4\].*as \[5,2\]/);
  assert.throws(() => slice(t, [2, 0], [2, 4]), /slice: axis 0/);
  assert.throws(() => pad(t, [[-1, 0]]), /non-negative/);
  assert.throws(() => window(t, [3, 4], [0, 0], [1, 0]), /non-zero/);
});

test.run();
