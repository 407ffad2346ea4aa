// Dimensionality of layer representations (docs/method.md §8): PCA of the flattened (channel × spatial)
// block outputs over N samples. The N×N centred Gram matrix is computed on the GPU by the engine's
// matmul (its non-zero eigenvalues equal the covariance's, and N ≪ D), and its eigenvalues on the
// CPU. Reported: components explaining 95% of the variance, and the participation ratio.
import { noGrad } from '../../engine/autograd.js';
import { scaleRaw, subRaw } from '../../engine/ops/elementwise.js';
import { matmulRaw } from '../../engine/ops/matmul.js';
import { mean } from '../../engine/ops/reduce.js';
import { slice } from '../../engine/ops/shape.js';
import { runtime } from '../../engine/runtime.js';
import { empty, scope, type Tensor } from '../../engine/tensor.js';
import type { ResNet } from '../../models/resnet.js';
import { symmetricEigenvalues, summarizeSpectrum, type SpectrumSummary } from './eigen.js';

/** Centred Gram matrix G = Xc·Xcᵀ/(N−1) of the rows of x [N, …], on the GPU. */
export function centredGram(x: Tensor): Tensor {
  const N = x.shape[0];
  if (N < 2) throw new Error(`dimensionality: need at least 2 samples, got ${x.describe()}`);
  return noGrad(() => scope(() => {
    const rows = x.view([N, x.size / N]);
    const centred = subRaw(rows, mean(rows, 0, { keepDims: true }));
    return scaleRaw(matmulRaw(centred, centred, { transB: true }), 1 / (N - 1));
  }));
}

/** Covariance eigenvalues (descending) of the rows of x [N, …]. */
export async function covarianceSpectrum(x: Tensor): Promise<Float64Array> {
  const gram = centredGram(x);
  const values = (await gram.toArray()) as Float32Array;
  gram.dispose();
  return symmetricEigenvalues(values, x.shape[0]);
}

export async function dimensionalityOf(x: Tensor, threshold = 0.95): Promise<SpectrumSummary> {
  return summarizeSpectrum(await covarianceSpectrum(x), threshold);
}

/**
 * Block outputs of `images` ([N, H, W, 3] in [0, 1]) in eval mode, batch by batch, concatenated per
 * layer as [N, H_l, W_l, C_l] tensors. `layers` selects block indices (default all).
 */
export function blockActivations(model: ResNet, images: Tensor, batchSize: number, layers?: number[]): Tensor[] {
  const [N, H, W, C] = images.shape;
  checkBatchSize('block activations', batchSize);
  const wasTraining = model.training;
  model.eval();
  const chosen = layers ?? model.layers.flat().map((_, i) => i);
  const parts: Tensor[][] = chosen.map(() => []);
  noGrad(() => {
    for (let start = 0; start < N; start += batchSize) {
      const count = Math.min(batchSize, N - start);
      const outs = scope(() => {
        const batch = sliceRows(images, start, count, [H, W, C]);
        const { blocks } = model.forward(batch);
        return chosen.map((l) => blocks[l]);
      });
      outs.forEach((t, i) => parts[i].push(t));
    }
  });
  model.train(wasTraining);
  return parts.map((ps) => concatRows(ps));
}

/** Throws a RangeError unless `batchSize` is a positive integer (a batch loop would never end). */
export function checkBatchSize(what: string, batchSize: number): void {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`${what}: batch size must be a positive integer, got ${batchSize}`);
}

/** Rows [start, start + count) of a [N, ...] tensor. */
export function sliceRows(t: Tensor, start: number, count: number, rest: number[]): Tensor {
  if (start === 0 && count === t.shape[0]) return t.view(t.shape);
  return slice(t, [start, ...rest.map(() => 0)], [count, ...rest]);
}

/** Concatenates [n_i, ...] tensors along the first axis (GPU copies; disposes the parts). */
export function concatRows(parts: Tensor[]): Tensor {
  if (parts.length === 1) return parts[0];
  const rest = parts[0].shape.slice(1);
  const rows = parts.reduce((s, p) => s + p.shape[0], 0);
  const out = empty([rows, ...rest]);
  let offset = 0;
  for (const p of parts) {
    runtime().copy(p.range, { ...out.range, offset: out.range.offset + offset * 4 }, p.size * 4);
    offset += p.size;
    p.dispose();
  }
  return out;
}
