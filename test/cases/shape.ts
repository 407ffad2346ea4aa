// Pad, slice, flip and strided windows: exact copies, checked against the reference.
import { flip, pad, slice, window } from '../../engine/ops/shape.js';
import { tensor } from '../../engine/tensor.js';
import { backward } from '../../engine/autograd.js';
import { windowRef, windowTransposeRef } from '../reference/elementwise.js';
import type { KernelCase } from './check.js';
import { leaf, randn } from './util.js';

/** The backward of a window (its transpose kernel) applied to `grad`. */
async function windowTranspose(grad: Float32Array, outShape: number[], shape: number[], offsets: number[], steps: number[]): Promise<Float32Array> {
  const x = leaf(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  backward(window(x, outShape, offsets, steps), { grad: tensor(grad, outShape) });
  return (await x.grad!.toArray()) as Float32Array;
}

export const shapeCases: KernelCase[] = [
  {
    suite: 'shape',
    name: 'pad, slice, flip and strided windows match the reference exactly',
    async run(check) {
      const shape = [2, 5, 7, 3];
      const x = randn(2 * 5 * 7 * 3, 1);
      const t = tensor(x, shape);
      check.equal(await pad(t, [[0, 0], [1, 2], [3, 0]]).toArray(), windowRef(x, shape, [2, 8, 10, 3], [0, -1, -3, 0], [1, 1, 1, 1]), 'pad');
      check.equal(await slice(t, [1, 1, 2, 0], [1, 3, 4, 2]).toArray(), windowRef(x, shape, [1, 3, 4, 2], [1, 1, 2, 0], [1, 1, 1, 1]), 'slice');
      check.equal(await slice(t, [0, 4, 0, 0], [2, 3, 4, 3], [1, -2, 2, 1]).toArray(), windowRef(x, shape, [2, 3, 4, 3], [0, 4, 0, 0], [1, -2, 2, 1]), 'strided slice');
      check.equal(await flip(t, [2]).toArray(), windowRef(x, shape, shape, [0, 0, 6, 0], [1, 1, -1, 1]), 'flip');
      check.equal(await flip(t, [-1, 1]).toArray(), windowRef(x, shape, shape, [0, 4, 0, 2], [1, -1, 1, -1]), 'flip two axes');
      const gs = randn(2 * 3 * 4 * 3, 4);
      check.equal(await windowTranspose(gs, [2, 3, 4, 3], shape, [0, 4, 0, 0], [1, -2, 2, 1]), windowTransposeRef(gs, [2, 3, 4, 3], shape, [0, 4, 0, 0], [1, -2, 2, 1]), 'strided slice transpose, negative step');
      // ResNet option-A shortcut: stride-2 subsample and zero-pad channels 3 → 7 in one window
      check.equal(await window(t, [2, 3, 4, 7], [0, 0, 0, -2], [1, 2, 2, 1]).toArray(), windowRef(x, shape, [2, 3, 4, 7], [0, 0, 0, -2], [1, 2, 2, 1]), 'option-A window');
      // Channels in multiples of 4 move as vec4s: the same windows on that path, and their transposes.
      const wide = [2, 5, 7, 8];
      const xw = randn(2 * 5 * 7 * 8, 2);
      const tw = tensor(xw, wide);
      check.equal(await window(tw, [2, 3, 4, 16], [0, 0, 0, -4], [1, 2, 2, 1]).toArray(), windowRef(xw, wide, [2, 3, 4, 16], [0, 0, 0, -4], [1, 2, 2, 1]), 'option-A window, vec4');
      check.equal(await slice(tw, [0, 1, 0, 4], [2, 2, 7, 4]).toArray(), windowRef(xw, wide, [2, 2, 7, 4], [0, 1, 0, 4], [1, 1, 1, 1]), 'channel slice, vec4');
      const g = randn(2 * 3 * 4 * 16, 3);
      check.equal(await windowTranspose(g, [2, 3, 4, 16], wide, [0, 0, 0, -4], [1, 2, 2, 1]), windowTransposeRef(g, [2, 3, 4, 16], wide, [0, 0, 0, -4], [1, 2, 2, 1]), 'option-A window transpose, vec4');
    },
  },
];
