import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { max, mean, min, sum } from '../engine/ops/reduce.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { reduceCases, sumBound } from './cases/reduce.js';
import { assertClose, gradCheck, randn, setupGpu } from './helpers.js';
import { reduceRef } from './reference/elementwise.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/reduce.ts, also run by the page's test mode).
for (const c of reduceCases) test(c.name, async () => void (await runCase(c)));

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

test.run();
