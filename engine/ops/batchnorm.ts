// Batch normalisation over the channel (last) axis of NHWC activations, with dedicated forward,
// eval and backward kernels (shaders/batchnorm.ts).
import { bnApplyGrad, bnEvalStats, bnFold, bnFinalizeGrad, bnFinalizeStats, bnPartialGrad, bnPartialStats, bnWorkgroups, channelAffine } from '../../shaders/batchnorm.js';
import { record } from '../autograd.js';
import { runtime } from '../runtime.js';
import { assertDType, empty, type Tensor } from '../tensor.js';
import { mapRaw } from './elementwise.js';
import { run, shapes } from './run.js';

const RELU_MASK = { name: 'relu_mask', arity: 2 as const, expr: 'select(T(0.0), a, b > T(0.0))' };

export interface BatchNormOptions {
  /** Batch statistics (and running-stat update) when true; running statistics when false. */
  training: boolean;
  momentum?: number;
  eps?: number;
  /** Apply ReLU to the output in the same pass (and mask the gradient inside the backward kernels). */
  relu?: boolean;
  /**
   * Added to the normalised value before the ReLU, in the same pass: relu(BN(x) + residual), a ResNet
   * block's end. Same shape as x; it receives the (masked) output gradient.
   */
  residual?: Tensor;
}

// Threads of the statistics passes: enough for the device, with enough rows per thread to amortise
// the pass that sums their partials.
const TARGET_THREADS = 4096;
// Threads of the element-wise passes (grid-stride loops): each handles count / threads elements.
const ELEMENTWISE_THREADS = 16384;

/** Partial sums per channel: thread s of a channel sums rows s, s + chunks, s + 2·chunks, … */
function chunking(R: number, C: number): { chunks: number } {
  return { chunks: Math.max(1, Math.min(Math.ceil(TARGET_THREADS / C), Math.ceil(R / 16))) };
}

/** Grid-stride thread count for `count` elements of C channels: a multiple of C, so each thread keeps one channel. */
const strideFor = (count: number, C: number): number => C * Math.max(1, Math.min(Math.ceil(count / C), Math.ceil(ELEMENTWISE_THREADS / C)));

/** Channels one thread takes at once: a vec4 of them when C allows. */
const channelLanes = (C: number): number => (C % 4 === 0 ? 4 : 1);

/** y[r, c] = x[r, c]·coef[a, c] + coef[b, c] (then ReLU) for x viewed as [R, C]. */
function affine(x: Tensor, coef: Tensor, C: number, a: number, b: number, label: string, relu = false, residual?: Tensor): Tensor {
  const y = empty(x.shape);
  const w = channelLanes(C);
  const stride = strideFor(x.size / w, C / w);
  run(channelAffine(w === 4, relu, !!residual), { x, coef, y, ...(residual ? { res: residual } : {}) }, { count: x.size / w, C: C / w, stride, a, b }, bnWorkgroups(stride), label);
  return y;
}

/** Gradients of batch norm given dy, x and the statistics used in the forward pass. */
function backwardKernels(dy: Tensor, x: Tensor, y: Tensor | null, gamma: Tensor, stats: Tensor, R: number, C: number, label: string): { dx: Tensor; grads: Tensor } {
  const w = channelLanes(C);
  const { chunks } = chunking(R, C / w);
  const partial = empty([chunks, 2, C]);
  const mask: Record<string, Tensor> = y ? { y } : {};
  run(bnPartialGrad(!!y, w === 4), { dy, x, ...mask, stats, partial }, { R, C: C / w, chunks }, bnWorkgroups((chunks * C) / w), `${label} backward (partial)`);
  const grads = empty([2, C]);
  const coef = empty([3, C]);
  run(bnFinalizeGrad, { partial, gamma, stats, grads, coef }, { R, C, chunks }, bnWorkgroups(C), `${label} backward (finalize)`);
  partial.dispose();
  const dx = empty(x.shape);
  const stride = strideFor(x.size / w, C / w);
  run(bnApplyGrad(w === 4, !!y), { dy, x, ...mask, coef, dx }, { count: x.size / w, C: C / w, stride }, bnWorkgroups(stride), `${label} backward (dx)`);
  coef.dispose();
  return { dx, grads };
}

/** Splits the packed [2, C] (dγ, dβ) tensor into the gradients autograd wants. */
function paramGrads(grads: Tensor, C: number, gamma: Tensor, beta: Tensor): [Tensor | null, Tensor | null] {
  // Rows of a packed tensor cannot be bound at arbitrary offsets, so copy them out.
  const dg = gamma.requiresGrad ? sliceRow(grads, 0, C) : null;
  const db = beta.requiresGrad ? sliceRow(grads, 1, C) : null;
  return [dg, db];
}

function sliceRow(packed: Tensor, row: number, C: number): Tensor {
  const out = empty([C]);
  runtime().copy({ ...packed.range, offset: packed.range.offset + row * C * 4 }, out.range, C * 4);
  return out;
}

/**
 * Batch norm over the last axis. In training mode uses batch statistics and updates the running
 * statistics in place (PyTorch semantics: momentum 0.1, unbiased running variance); in eval mode
 * normalises with the running statistics. Differentiable in both modes.
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, options: BatchNormOptions): Tensor {
  const op = 'batch_norm';
  assertDType(op, x, 'f32');
  if (x.rank < 2) throw new Error(`${op}: input must have a channel axis last, got ${x.describe()}`);
  const C = x.shape[x.rank - 1];
  for (const [name, t] of [['weight', gamma], ['bias', beta], ['running_mean', runningMean], ['running_var', runningVar]] as const) {
    if (t.rank !== 1 || t.shape[0] !== C) throw new Error(`${op}: ${name} must have shape [${C}] for input ${x.describe()}, got ${t.describe()}`);
  }
  const R = x.size / C;
  const { momentum = 0.1, eps = 1e-5, training, relu = false, residual } = options;
  if (residual) {
    assertDType(op, residual, 'f32');
    if (residual.shape.length !== x.shape.length || residual.shape.some((d, i) => d !== x.shape[i])) throw new Error(`${op}: residual must have the input's shape ${shapes(x)}, got ${residual.describe()}`);
  }
  const label = `${op}${residual ? '+residual' : ''}${relu ? '+relu' : ''} ${shapes(x)}${training ? '' : ' eval'}`;
  if (training && R < 2) throw new Error(`${op}: training mode needs more than one value per channel, got ${x.describe()}`);
  const stats = empty([5, C]);
  if (training) {
    const w = channelLanes(C);
    const { chunks } = chunking(R, C / w);
    const partial = empty([chunks, 2, C]);
    run(bnPartialStats(w === 4), { x, partial }, { R, C: C / w, chunks }, bnWorkgroups((chunks * C) / w), `${label} (partial stats)`);
    run(bnFinalizeStats, { partial, x, gamma, beta, stats, runningMean, runningVar }, { R, C, chunks, eps, momentum, updateRunning: 1 }, bnWorkgroups(C), `${label} (finalize stats)`);
    partial.dispose();
  } else {
    run(bnEvalStats, { gamma, beta, runningMean, runningVar, stats }, { C, eps }, bnWorkgroups(C), `${label} (stats)`);
  }
  const y = affine(x, stats, C, 2, 3, label, relu, residual);
  const inputs = residual ? [x, gamma, beta, residual] : [x, gamma, beta];
  // With ReLU, the autograd core sums the incoming gradients and masks them (saved[2] is y), in one
  // pass or in the write-out of the kernel making the last of them: with a residual, the residual
  // and the normalised branch both take the masked gradient. Without one, a lone gradient that
  // arrives unmasked is masked by the backward kernels as they read it.
  const result = record(op, inputs, y, relu ? [x, stats, y] : [x, stats], (dy, [sx, sstats, syOut], _folds, masked) => {
    const sy = relu && !masked ? syOut : undefined;
    const dres = residual?.requiresGrad ? dy.view(dy.shape) : null;
    const grads = ((): (Tensor | null)[] => {
      const evalDx = () => {
        // Eval mode is a per-channel affine map: dx = dy·γ/σ (row 4 of stats is zeros).
        const dyMasked = sy ? mapRaw(RELU_MASK, [dy, sy]) : dy;
        const dx = affine(dyMasked, sstats, C, 2, 4, `${label} backward (dx)`);
        if (dyMasked !== dy) dyMasked.dispose();
        return dx;
      };
      if (!training && !gamma.requiresGrad && !beta.requiresGrad) return [evalDx(), null, null];
      const { dx, grads } = backwardKernels(dy, sx, sy ?? null, gamma, sstats, R, C, label);
      const [dg, db] = paramGrads(grads, C, gamma, beta);
      grads.dispose();
      if (!training) {
        // In eval mode statistics are constants: dx is the affine map, not the batch-coupled gradient.
        dx.dispose();
        return [x.requiresGrad ? evalDx() : null, dg, db];
      }
      if (!x.requiresGrad) {
        dx.dispose();
        return [null, dg, db];
      }
      return [dx, dg, db];
    })();
    return residual ? [...grads, dres] : grads;
  }, relu ? { saved: 2, inBackward: !residual } : undefined);
  stats.dispose();
  return result;
}

/**
 * Weights and bias of a convolution with eval-mode batch norm folded in (HWIO weights, channel
 * last), so conv → BN runs as one convolution with a bias epilogue. No autograd: the folded tensors
 * are constants (use it only when the parameters need no gradients).
 */
export function foldBatchNorm(w: Tensor, convBias: Tensor | null, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor, eps = 1e-5): { weight: Tensor; bias: Tensor } {
  const C = w.shape[w.rank - 1];
  for (const t of [gamma, beta, runningMean, runningVar, ...(convBias ? [convBias] : [])]) {
    if (t.rank !== 1 || t.shape[0] !== C) throw new Error(`fold_batch_norm: expected [${C}] per-channel tensors for weight ${w.describe()}, got ${t.describe()}`);
  }
  const weight = empty(w.shape);
  const bias = empty([C]);
  const inputs: Record<string, Tensor> = { w, gamma, beta, runningMean, runningVar, wOut: weight, bOut: bias };
  if (convBias) inputs.convBias = convBias;
  run(bnFold(!!convBias), inputs, { count: w.size, C, eps }, bnWorkgroups(w.size), `fold_batch_norm ${shapes(w)}`);
  return { weight, bias };
}
