// Batch normalisation (training statistics, running averages, backward; eval mode) against float64.
import { backward } from '../../engine/autograd.js';
import { batchNorm } from '../../engine/ops/batchnorm.js';
import { tensor } from '../../engine/tensor.js';
import { batchNormBackwardRef, batchNormRef } from '../reference/batchnorm.js';
import type { KernelCase } from './check.js';
import { U, leaf, randn, uniform } from './util.js';

// Statistics are sums over R rows, so their f32 error grows like R·u relative to the data's scale;
// every output inherits it through x̂. Bound: 8·R·u·|γ|·(1 + |x̂|) + 4u·|β| (8 covers mean, variance,
// inverse square root and the affine step).
export const bnBound = (R: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, xhat: ArrayLike<number>, C: number) => (i: number) =>
  8 * R * U * Math.abs(gamma[i % C]) * (1 + Math.abs(xhat[i])) + 4 * U * Math.abs(beta[i % C]) + 1e-7;

export const batchNormShapes = [[2, 3, 3, 1], [4, 5, 5, 3], [8, 4, 4, 16], [3, 7, 9, 17], [64, 1, 1, 10], [16, 8, 8, 32]];

export const batchNormCases: KernelCase[] = [
  ...batchNormShapes.map(([N, H, W, C]): KernelCase => ({
    suite: 'batchnorm',
    name: `batchnorm training forward, running stats and backward [${N},${H},${W},${C}]`,
    async run(check) {
      const n = N * H * W * C;
      const x = randn(n, n + C, 2).map((v, i) => v + (i % C) * 0.5 + 3); // channel-dependent offsets
      const gamma = uniform(C, 1, 0.5, 1.5);
      const beta = randn(C, 2);
      const rm0 = randn(C, 3, 0.1);
      const rv0 = uniform(C, 4, 0.5, 1.5);
      const dy = randn(n, 5);
      const tx = leaf(x, [N, H, W, C]);
      const tg = leaf(gamma);
      const tb = leaf(beta);
      const trm = tensor(rm0);
      const trv = tensor(rv0);
      const y = batchNorm(tx, tg, tb, trm, trv, { training: true });
      const ref = batchNormRef(x, C, gamma, beta, rm0, rv0, true);
      const R = n / C;
      check.close(await y.toArray(), ref.y, bnBound(R, gamma, beta, ref.xhat, C), 'y');
      check.close(await trm.toArray(), ref.runningMean, (i) => 8 * R * U * (Math.abs(ref.mean[i]) + 1 / ref.invstd[i]) + 1e-7, 'running_mean');
      check.close(await trv.toArray(), ref.runningVar, (i) => 16 * R * U * Math.abs(ref.runningVar[i]) + 1e-7, 'running_var');
      backward(y, { grad: tensor(dy, [N, H, W, C]) });
      const g = batchNormBackwardRef(dy, ref, gamma, C);
      const dyScale = Math.max(...Array.from(dy, Math.abs));
      check.close(await tx.grad!.toArray(), g.dx, (i) => 16 * R * U * Math.abs(gamma[i % C]) * ref.invstd[i % C] * dyScale * (1 + Math.abs(ref.xhat[i])) + 1e-6, 'dx');
      check.close(await tg.grad!.toArray(), g.dgamma, 16 * R * U * dyScale * 4 + 1e-6, 'dgamma');
      check.close(await tb.grad!.toArray(), g.dbeta, 4 * R * U * dyScale + 1e-6, 'dbeta');
    },
  })),
  ...[[4, 5, 5, 8], [3, 7, 9, 17]].map(([N, H, W, C]): KernelCase => ({
    suite: 'batchnorm',
    name: `batchnorm training with residual and ReLU fused (a ResNet block's end), forward and backward [${N},${H},${W},${C}]`,
    async run(check) {
      const n = N * H * W * C;
      const x = randn(n, 40 + C, 2).map((v, i) => v + (i % C) * 0.5 + 3);
      const res = randn(n, 41 + C);
      const gamma = uniform(C, 42, 0.5, 1.5);
      const beta = randn(C, 43);
      const dy = randn(n, 44);
      const tx = leaf(x, [N, H, W, C]);
      const tres = leaf(res, [N, H, W, C]);
      const tg = leaf(gamma);
      const tb = leaf(beta);
      const y = batchNorm(tx, tg, tb, tensor(new Float32Array(C)), tensor(new Float32Array(C).fill(1)), { training: true, relu: true, residual: tres });
      const ref = batchNormRef(x, C, gamma, beta, new Float32Array(C), new Float32Array(C).fill(1), true);
      const R = n / C;
      const bound = bnBound(R, gamma, beta, ref.xhat, C);
      const got = await y.toArray();
      // relu(v + r): v's bound, plus one rounding of the sum
      check.close(got, ref.y.map((v, i) => Math.max(v + res[i], 0)), (i) => bound(i) + 2 * U * (Math.abs(ref.y[i]) + Math.abs(res[i])), 'y');
      backward(y, { grad: tensor(dy, [N, H, W, C]) });
      // The ReLU's mask is a decision, taken from the output itself (values within the bound of 0
      // could go either way); the gradients are then exact functions of the masked dy.
      const masked = Float64Array.from(dy, (d, i) => (got[i] > 0 ? d : 0));
      const g = batchNormBackwardRef(masked, ref, gamma, C);
      const dyScale = Math.max(...Array.from(dy, Math.abs));
      check.equal(await tres.grad!.toArray(), masked, 'residual gradient = masked dy');
      check.close(await tx.grad!.toArray(), g.dx, (i) => 16 * R * U * Math.abs(gamma[i % C]) * ref.invstd[i % C] * dyScale * (1 + Math.abs(ref.xhat[i])) + 1e-6, 'dx');
      check.close(await tg.grad!.toArray(), g.dgamma, 16 * R * U * dyScale * 4 + 1e-6, 'dgamma');
      check.close(await tb.grad!.toArray(), g.dbeta, 4 * R * U * dyScale + 1e-6, 'dbeta');
    },
  })),
  {
    suite: 'batchnorm',
    name: 'batchnorm eval mode uses running statistics and leaves them unchanged',
    async run(check) {
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
      check.close(await y.toArray(), ref.y, (i) => 8 * U * (Math.abs(ref.y[i]) + Math.abs(beta[i % C])) + 1e-7, 'eval y');
      check.equal(await trm.toArray(), rm, 'running_mean unchanged');
      check.equal(await trv.toArray(), rv, 'running_var unchanged');
    },
  },
];
