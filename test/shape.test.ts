import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flip, pad, permute, permuteRaw, reshape, resizeRaw, slice, window } from '../engine/ops/shape.js';
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

test('permute reorders (and flips) axes exactly; its gradient is the inverse permutation', async () => {
  const shape = [2, 3, 4, 5];
  const x = randn(120, 9);
  const t = tensor(x, shape);
  const at = (c: number[]) => x[((c[0] * 3 + c[1]) * 4 + c[2]) * 5 + c[3]];
  const expected: number[] = [];
  // out[a, b, c, d] = x[c', b, d, a'] with axes [3, 1, 0, 2], output axes 0 and 2 flipped
  for (let a = 0; a < 5; a++) for (let b = 0; b < 3; b++) for (let c = 0; c < 2; c++) for (let d = 0; d < 4; d++) expected.push(at([1 - c, b, d, 4 - a]));
  assert.equal(Array.from(await permuteRaw(t, [3, 1, 0, 2], [0, 2]).toArray()), expected.map(Math.fround));
  assert.equal([...permute(t, [1, 0, 3, 2]).shape], [3, 2, 5, 4]);
  await gradCheck('permute', (v) => permute(v, [2, 0, 1]), [{ data: randn(24, 3), shape: [2, 3, 4] }]);
  assert.throws(() => permute(t, [0, 1, 1, 2]), /not a permutation/);
});

test('resizeRaw copies what lies inside and zero-fills the rest (the vec4 padding of 1 to 3 channels, and the generic window)', async () => {
  for (const C of [1, 2, 3]) {
    const x = randn(2 * 3 * C, 20 + C);
    const expected: number[] = [];
    for (let p = 0; p < 6; p++) for (let c = 0; c < 4; c++) expected.push(c < C ? Math.fround(x[p * C + c]) : 0);
    assert.equal(Array.from(await resizeRaw(tensor(x, [2, 3, C]), [2, 3, 4], 'test').toArray()), expected, `${C} channels`);
  }
  // [2, 3, 4] cut to [2, 2, 4] along the middle axis and padded to 6 along the last: one copy.
  const x = randn(24, 30);
  const expected: number[] = [];
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) for (let c = 0; c < 6; c++) expected.push(c < 4 ? Math.fround(x[(a * 3 + b) * 4 + c]) : 0);
  assert.equal(Array.from(await resizeRaw(tensor(x, [2, 3, 4]), [2, 2, 6], 'test').toArray()), expected);
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
