import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { expandRaw, max, mean, min, sum } from '../engine/ops/reduce.js';
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
  // A global average pool's shape: its gradient is broadcast 4 channels per thread.
  await gradCheck('mean over H, W', (x) => mean(x, [1, 2]), [{ data: randn(2 * 3 * 2 * 8, 6), shape: [2, 3, 2, 8] }]);
});

test('expand broadcasts (and scales) exactly, on the 4-wide and the scalar path', async () => {
  for (const [from, to] of [[[2, 1, 1, 8], [2, 3, 2, 8]], [[2, 1, 3], [2, 5, 3]], [[4], [3, 4]]]) {
    const x = randn(from.reduce((a, b) => a * b, 1), 9);
    const y = await expandRaw(tensor(x, from), to, 0.25).toArray();
    const padded = [...new Array(to.length - from.length).fill(1), ...from];
    const strides = padded.map((_, d) => padded.slice(d + 1).reduce((a, b) => a * b, 1));
    const expected = Float64Array.from(y, (_, i) => {
      let rest = i;
      let src = 0;
      for (let d = to.length - 1; d >= 0; d--) {
        const c = rest % to[d];
        rest = Math.floor(rest / to[d]);
        if (padded[d] !== 1) src += c * strides[d];
      }
      return x[src] * 0.25; // exact: a power of two
    });
    assert.equal([...y], [...expected], `expand [${from}] → [${to}]`);
  }
  assert.throws(() => expandRaw(tensor(randn(6, 1), [2, 3]), [2, 4]), /cannot broadcast .* to \[2,4\]/);
});

test.run();
