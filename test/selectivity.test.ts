import { test } from 'uvu';
import { selectivityIndex } from '../engine/ops/selectivity.js';
import { tensor } from '../engine/tensor.js';
import { batchSelectivity } from '../experiments/selectivity.js';
import { runCase } from './cases/check.js';
import { selectivityCases } from './cases/selectivity.js';
import { gradCheck, setupGpu, uniform } from './helpers.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/selectivity.ts, also run by the page's test mode).
for (const c of selectivityCases) test(c.name, async () => void (await runCase(c)));

test('the selectivity index and the minibatch regularizer pass finite-difference checks', async () => {
  const counts = tensor(Float32Array.from([2, 0, 3, 1]));
  await gradCheck('selectivity_index', (mu) => selectivityIndex(mu, counts), [{ data: uniform(4 * 5, 7, 0.2, 2), shape: [4, 5] }], { h: 1e-3 });
  const labels = tensor(Int32Array.from([0, 2, 1, 2, 0, 1]));
  await gradCheck('batch selectivity over two blocks', (b1, b2) => batchSelectivity([b1, b2], labels, 4), [
    { data: uniform(6 * 2 * 2 * 3, 8, 0.1, 1), shape: [6, 2, 2, 3] },
    { data: uniform(6 * 1 * 1 * 4, 9, 0.1, 1), shape: [6, 1, 1, 4] },
  ], { h: 1e-3 });
});

test.run();
