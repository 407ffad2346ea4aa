import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { backward } from '../engine/autograd.js';
import { batchNorm } from '../engine/ops/batchnorm.js';
import { tensor } from '../engine/tensor.js';
import { U, assertClose, gradCheck, randn, setupGpu, uniform } from './helpers.js';
import { batchNormBackwardRef, batchNormRef } from './reference/batchnorm.js';

test.before(setupGpu);

// Statistics are sums over R rows, so their f32 error grows like R·u relative to the data's scale;
// every output inherits it through x̂. Bound: 8·R·u·|γ|·(1 + |x̂|) + 4u·|β| (8 covers mean, variance,
// inverse square root and the affine step).
const bnBound = (R: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, xhat: ArrayLike<number>, C: number) => (i: number) =>
  8 * R * U * Math.abs(gamma[i % C]) * (1 + Math.abs(xhat[i])) + 4 * U * Math.abs(beta[i % C]) + 1e-7;

for (const [N, H, W, C] of [[2, 3, 3, 1], [4, 5, 5, 3], [8, 4, 4, 16], [3, 7, 9, 17], [64, 1, 1, 10], [16, 8, 8, 32]]) {
  test(`batchnorm training forward, running stats and backward [${N},${H},${W},${C}]`, async () => {
    const n = N * H * W * C;
    const x = randn(n, n + C, 2).map((v, i) => v + (i % C) * 0.5 + 3); // channel-dependent offsets
    const gamma = uniform(C, 1, 0.5, 1.5);
    const beta = randn(C, 2);
    const rm0 = randn(C, 3, 0.1);
    const rv0 = uniform(C, 4, 0.5, 1.5);
    const dy = randn(n, 5);
    const tx = tensor(x, [N, H, W, C]);
    tx.requiresGrad = true;
    const tg = tensor(gamma);
    tg.requiresGrad = true;
    const tb = tensor(beta);
    tb.requiresGrad = true;
    const trm = tensor(rm0);
    const trv = tensor(rv0);
    const y = batchNorm(tx, tg, tb, trm, trv, { training: true });
    const ref = batchNormRef(x, C, gamma, beta, rm0, rv0, true);
    const R = n / C;
    assertClose(await y.toArray(), ref.y, bnBound(R, gamma, beta, ref.xhat, C), 'y');
    assertClose(await trm.toArray(), ref.runningMean, (i) => 8 * R * U * (Math.abs(ref.mean[i]) + 1 / ref.invstd[i]) + 1e-7, 'running_mean');
    assertClose(await trv.toArray(), ref.runningVar, (i) => 16 * R * U * Math.abs(ref.runningVar[i]) + 1e-7, 'running_var');
    backward(y, { grad: tensor(dy, [N, H, W, C]) });
    const g = batchNormBackwardRef(dy, ref, gamma, C);
    const dyScale = Math.max(...Array.from(dy, Math.abs));
    assertClose(await tx.grad!.toArray(), g.dx, (i) => 16 * R * U * Math.abs(gamma[i % C]) * ref.invstd[i % C] * dyScale * (1 + Math.abs(ref.xhat[i])) + 1e-6, 'dx');
    assertClose(await tg.grad!.toArray(), g.dgamma, 16 * R * U * dyScale * 4 + 1e-6, 'dgamma');
    assertClose(await tb.grad!.toArray(), g.dbeta, 4 * R * U * dyScale + 1e-6, 'dbeta');
  });
}

test('batchnorm eval mode uses running statistics and leaves them unchanged', async () => {
  const C = 6;
  const x = randn(4 * C, 11);
  const gamma = uniform(C, 12, 0.5, 1.5);
  const beta = randn(C, 13);
  const rm = randn(C, 14);
  const rv = uniform(C, 15, 0.5, 2);
  const trm = tensor(rm);
  const trv = tensor(rv);
  const y = batchNorm(tensor(x, [4, C]), tensor(gamma), tensor(beta), trm, trv, { training: false });
  const ref = batchNormRef(x, C, gamma, beta, rm, rv, false);
  assertClose(await y.toArray(), ref.y, (i) => 8 * U * (Math.abs(ref.y[i]) + Math.abs(beta[i % C])) + 1e-7, 'eval y');
  assert.equal(Array.from(await trm.toArray()), Array.from(rm));
  assert.equal(Array.from(await trv.toArray()), Array.from(rv));
});

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
