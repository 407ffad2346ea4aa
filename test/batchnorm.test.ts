import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { batchNorm, foldBatchNorm } from '../engine/ops/batchnorm.js';
import { tensor } from '../engine/tensor.js';
import { batchNormCases, bnBound } from './cases/batchnorm.js';
import { runCase } from './cases/check.js';
import { assertClose, gradCheck, randn, setupGpu, uniform } from './helpers.js';
import { batchNormRef } from './reference/batchnorm.js';

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

test('batchnorm with fused ReLU: forward equals relu(BN(x)); gradients (training and eval) match finite differences', async () => {
  const C = 5;
  const x = randn(6 * C, 31);
  const gamma = uniform(C, 32, 0.5, 1.5);
  const beta = randn(C, 33, 0.5);
  const rm = tensor(new Float32Array(C));
  const rv = tensor(new Float32Array(C).fill(1));
  const y = batchNorm(tensor(x, [6, C]), tensor(gamma), tensor(beta), rm, rv, { training: true, momentum: 0, relu: true });
  const ref = batchNormRef(x, C, gamma, beta, new Float32Array(C), new Float32Array(C).fill(1), true, 0);
  assertClose(await y.toArray(), ref.y.map((v) => Math.max(v, 0)), bnBound(6, gamma, beta, ref.xhat, C), 'relu(BN(x))');
  const rm3 = tensor(new Float32Array(3));
  const rv3 = tensor(new Float32Array(3).fill(1));
  for (const training of [true, false]) {
    await gradCheck(`batchnorm+relu training=${training}`, (v, g, b) => batchNorm(v, g, b, rm3, rv3, { training, momentum: 0, relu: true }), [
      { data: randn(4 * 2 * 3, 34), shape: [4, 2, 3] },
      { data: uniform(3, 35, 0.5, 1.5), shape: [3] },
      { data: uniform(3, 36, 0.3, 0.6), shape: [3] },
    ], { h: 1e-3 });
  }
});

test('batchnorm with a fused residual and ReLU: gradients of x, γ, β and the residual (training and eval) match finite differences', async () => {
  const rm = tensor(new Float32Array(3));
  const rv = tensor(new Float32Array(3).fill(1));
  for (const training of [true, false]) {
    await gradCheck(`relu(batchnorm + residual) training=${training}`, (v, g, b, r) => batchNorm(v, g, b, rm, rv, { training, momentum: 0, relu: true, residual: r }), [
      { data: randn(4 * 2 * 3, 37), shape: [4, 2, 3] },
      { data: uniform(3, 38, 0.5, 1.5), shape: [3] },
      { data: uniform(3, 39, 0.3, 0.6), shape: [3] },
      { data: randn(4 * 2 * 3, 40, 0.5), shape: [4, 2, 3] },
    ], { h: 1e-3 });
  }
  assert.throws(() => batchNorm(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(3)), tensor(new Float32Array(3)), rm, rv, { training: true, residual: tensor(new Float32Array(3), [1, 3]) }), /residual must have the input's shape \[2,3\], got/);
});

test('folding eval-mode batch norm into conv weights and bias matches the definition', async () => {
  const [R, C] = [3 * 3 * 5, 6];
  const w = randn(R * C, 71);
  const b = randn(C, 72);
  const gamma = uniform(C, 73, 0.5, 1.5);
  const beta = randn(C, 74);
  const rm = randn(C, 75);
  const rv = uniform(C, 76, 0.2, 2);
  for (const withBias of [false, true]) {
    const { weight, bias } = foldBatchNorm(tensor(w, [3, 3, 5, C]), withBias ? tensor(b) : null, tensor(gamma), tensor(beta), tensor(rm), tensor(rv), 1e-5);
    const s = Float64Array.from(gamma, (g, c) => g / Math.sqrt(rv[c] + 1e-5));
    // inverseSqrt has 2 ULP of error; then one product (weights) or a product and a sum (bias).
    assertClose(await weight.toArray(), Float64Array.from(w, (v, i) => v * s[i % C]), (i) => 8 * 2 ** -24 * Math.abs(w[i] * s[i % C]) + 1e-30, 'folded weight');
    const expected = Float64Array.from(s, (sc, c) => ((withBias ? b[c] : 0) - rm[c]) * sc + beta[c]);
    assertClose(await bias.toArray(), expected, (c) => 8 * 2 ** -24 * (Math.abs(((withBias ? b[c] : 0) - rm[c]) * s[c]) + Math.abs(beta[c])) + 1e-7, 'folded bias');
  }
});

test('batchnorm rejects mismatched parameter shapes and single-value batches', () => {
  const x = tensor(new Float32Array(8), [2, 4]);
  const p = tensor(new Float32Array(4));
  assert.throws(() => batchNorm(x, tensor(new Float32Array(3)), p, p, p, { training: true }), /weight must have shape \[4\]/);
  assert.throws(() => batchNorm(tensor(new Float32Array(4), [1, 4]), p, p, p, p, { training: true }), /more than one value per channel/);
});

test.run();
