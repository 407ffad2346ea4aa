import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchNorm } from '../engine/ops/batchnorm.js';
import { tensor } from '../engine/tensor.js';
import { batchNormCases } from './cases/batchnorm.js';
import { runCase } from './cases/check.js';
import { gradCheck, randn, setupGpu, uniform } from './helpers.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/batchnorm.ts, also run by the page's test mode).
for (const c of batchNormCases) test(c.name, async () => void (await runCase(c)));

test('batchnorm gradients match finite differences (training and eval)', async () => {
  const C = 3;
  const rm = tensor(new Float32Array(C));
  const rv = tensor(new Float32Array(C).fill(1));
  for (const training of [true, false]) {
    await gradCheck(`batchnorm training=${training}`, (x, g, b) => batchNorm(x, g, b, rm, rv, { training, momentum: 0 }), [
      { data: randn(4 * 2 * C, 21), shape: [4, 2, C] },
      { data: uniform(C, 22, 0.5, 1.5), shape: [C] },
      { data: randn(C, 23), shape: [C] },
    ]);
  }
});

test('batchnorm rejects mismatched parameter shapes and single-value batches', () => {
  const x = tensor(new Float32Array(8), [2, 4]);
  const p = tensor(new Float32Array(4));
  assert.throws(() => batchNorm(x, tensor(new Float32Array(3)), p, p, p, { training: true }), /weight must have shape \[4\]/);
  assert.throws(() => batchNorm(tensor(new Float32Array(4), [1, 4]), p, p, p, p, { training: true }), /more than one value per channel/);
});

test.run();
