import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { flip, pad, reshape, slice, window } from '../engine/ops/shape.js';
import { tensor } from '../engine/tensor.js';
import { gradCheck, randn, setupGpu } from './helpers.js';
import { windowRef } from './reference/elementwise.js';

test.before(setupGpu);

const exact = async (t: { toArray(): Promise<Float32Array | Int32Array | Uint32Array> }, expected: ArrayLike<number>) => assert.equal(Array.from(await t.toArray()), Array.from(expected));

test('pad, slice, flip and strided windows match the reference exactly', async () => {
  const shape = [2, 5, 7, 3];
  const x = randn(2 * 5 * 7 * 3, 1);
  const t = tensor(x, shape);
  await exact(pad(t, [[0, 0], [1, 2], [3, 0]]), windowRef(x, shape, [2, 8, 10, 3], [0, -1, -3, 0], [1, 1, 1, 1]));
  await exact(slice(t, [1, 1, 2, 0], [1, 3, 4, 2]), windowRef(x, shape, [1, 3, 4, 2], [1, 1, 2, 0], [1, 1, 1, 1]));
  await exact(slice(t, [0, 4, 0, 0], [2, 3, 4, 3], [1, -2, 2, 1]), windowRef(x, shape, [2, 3, 4, 3], [0, 4, 0, 0], [1, -2, 2, 1]));
  await exact(flip(t, [2]), windowRef(x, shape, shape, [0, 0, 6, 0], [1, 1, -1, 1]));
  await exact(flip(t, [-1, 1]), windowRef(x, shape, shape, [0, 4, 0, 2], [1, -1, 1, -1]));
  // ResNet option-A shortcut: stride-2 subsample and zero-pad channels 3 → 7 in one window
  await exact(window(t, [2, 3, 4, 7], [0, 0, 0, -2], [1, 2, 2, 1]), windowRef(x, shape, [2, 3, 4, 7], [0, 0, 0, -2], [1, 2, 2, 1]));
});

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
