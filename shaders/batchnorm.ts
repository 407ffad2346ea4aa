// Batch normalisation over the rows of an [R, C] view (NHWC activations: R = N·H·W, C channels
// innermost). Dedicated kernels rather than compositions of primitives:
//   partial statistics   per (interleaved rows, channel): shifted Σ(x−k), Σ(x−k)² with k = x[0, c]
//                        (shifting by a sample of the channel avoids the cancellation of Σx² − (Σx)²/R)
//   finalize statistics  per channel: mean, 1/σ, running-stat update, scale = γ/σ, shift = β − μγ/σ
//   channel affine       y = x·scale[c] + shift[c] (optionally ReLU): forward, eval and dx of eval
//   partial gradients    per (interleaved rows, channel): Σdy, Σdy·x̂
//   finalize gradients   dγ, dβ and the coefficients of dx = A·dy + B·x + C
//   apply gradient       dx = A[c]·dy + B[c]·x + C[c]
// Coefficient tensors are packed [k, C] so each kernel binds few buffers.
//
// Every per-element kernel is a grid-stride loop whose stride (the thread count) is a multiple of
// the channel count, so a thread's channel is fixed: it divides once, loads its coefficients once,
// and consecutive threads touch consecutive memory. (A division per element has no SIMD form on CPU
// adapters and cost more than the memory traffic.)
import { f32, u32, type Program, type StorageBinding, type StorageElement } from '../engine/program.js';

const WG = 64;
const header = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;`;

/**
 * The two per-channel sums both statistics passes need, over every chunks-th row from row s per
 * thread (s < chunks): partial[s, 0, c] = Σ first, partial[s, 1, c] = Σ second, where `first` and
 * `second` are WGSL expressions of type T of the element index `i` (after `setup`, which runs once
 * per channel). With vec4 every binding holds vec4s and a thread sums 4 channels (params.C counts
 * vec4s): a quarter of the loop and index work per element.
 */
function chunkSums(key: string, vec4: boolean, inputs: string[], setup: string, perElement: string, first: string, second: string): Program {
  const T: StorageElement = vec4 ? 'vec4<f32>' : 'f32';
  return {
    key: `${key}_${vec4 ? 4 : 1}`,
    bindings: [...inputs.map((name) => ({ name, access: 'read' as const, element: T })), { name: 'partial', access: 'read_write', element: T }],
    uniforms: [u32('R'), u32('C'), u32('chunks')],
    workgroupSize: WG,
    source: () => `alias T = ${T};
${header}
  let stride = params.chunks * params.C;
  if (g >= stride) { return; }
  let c = g % params.C;
  let s = g / params.C;
  ${setup}
  var sum0 = T();
  var sum1 = T();
  let count = params.R * params.C;
  for (var i = g; i < count; i += stride) {
    ${perElement}
    sum0 += ${first};
    sum1 += ${second};
  }
  partial[(s * 2u) * params.C + c] = sum0;
  partial[(s * 2u + 1u) * params.C + c] = sum1;
}`,
  };
}

/** WGSL summing channel g's two chunkSums rows over all chunks into `a` and `b`. */
const sumChunks = (a: string, b: string) => `var ${a} = 0.0;
  var ${b} = 0.0;
  for (var s = 0u; s < params.chunks; s++) {
    ${a} += partial[(s * 2u) * C + g];
    ${b} += partial[(s * 2u + 1u) * C + g];
  }`;

const f32In = (name: string): StorageBinding => ({ name, access: 'read', element: 'f32' });

/** x [R, C] → partial [chunks, 2, C] of shifted Σ(x − k) and Σ(x − k)². */
export const bnPartialStats = (vec4: boolean) => chunkSums('bn_partial_stats', vec4, ['x'], 'let shift = x[c];', 'let d = x[i] - shift;', 'd', 'd * d');

/** Writes channel g's stats rows (mean, invstd, scale = γ·invstd, shift = β − mean·scale, 0). */
const WRITE_STATS = `let scale = gamma[g] * invstd;
  stats[g] = mean;
  stats[C + g] = invstd;
  stats[2u * C + g] = scale;
  stats[3u * C + g] = beta[g] - mean * scale;
  stats[4u * C + g] = 0.0;`;

/**
 * partial [chunks, 2, C], x (for the shifts), gamma, beta → stats [5, C] = (mean, invstd, scale,
 * shift, 0); runningMean/runningVar updated in place with `momentum` (unbiased variance, as PyTorch).
 */
export const bnFinalizeStats: Program = {
  key: 'bn_finalize_stats',
  bindings: [
    { name: 'partial', access: 'read', element: 'f32' },
    { name: 'x', access: 'read', element: 'f32' },
    { name: 'gamma', access: 'read', element: 'f32' },
    { name: 'beta', access: 'read', element: 'f32' },
    { name: 'stats', access: 'read_write', element: 'f32' },
    { name: 'runningMean', access: 'read_write', element: 'f32' },
    { name: 'runningVar', access: 'read_write', element: 'f32' },
  ],
  uniforms: [u32('R'), u32('C'), u32('chunks'), f32('eps'), f32('momentum'), u32('updateRunning')],
  workgroupSize: WG,
  source: () => `${header}
  let C = params.C;
  if (g >= C) { return; }
  ${sumChunks('sum', 'sumsq')}
  let n = f32(params.R);
  let dmean = sum / n;
  let variance = max(sumsq / n - dmean * dmean, 0.0);
  let mean = x[g] + dmean;
  let invstd = inverseSqrt(variance + params.eps);
  ${WRITE_STATS}
  if (params.updateRunning == 1u) {
    let m = params.momentum;
    let unbiased = variance * n / max(n - 1.0, 1.0);
    runningMean[g] = (1.0 - m) * runningMean[g] + m * mean;
    runningVar[g] = (1.0 - m) * runningVar[g] + m * unbiased;
  }
}`,
};

/** gamma, beta, running mean/var → stats [5, C] = (mean, invstd, scale, shift, 0) from running statistics. */
export const bnEvalStats: Program = {
  key: 'bn_eval_stats',
  bindings: [
    { name: 'gamma', access: 'read', element: 'f32' },
    { name: 'beta', access: 'read', element: 'f32' },
    { name: 'runningMean', access: 'read', element: 'f32' },
    { name: 'runningVar', access: 'read', element: 'f32' },
    { name: 'stats', access: 'read_write', element: 'f32' },
  ],
  uniforms: [u32('C'), f32('eps')],
  workgroupSize: WG,
  source: () => `${header}
  let C = params.C;
  if (g >= C) { return; }
  let mean = runningMean[g];
  let invstd = inverseSqrt(runningVar[g] + params.eps);
  ${WRITE_STATS}
}`,
};

/**
 * y[r, c] = x[r, c]·coef[a·C + c] + coef[b·C + c] (+ res[r, c]), optionally ReLU; vectorised over
 * channels when C % 4 == 0. `a`/`b` pick rows of the packed coefficient tensor (uniforms), so one
 * kernel serves every use; `residual` adds a same-shaped tensor before the ReLU (a ResNet block's
 * skip connection), saving the separate add pass.
 */
export function channelAffine(vec4: boolean, relu: boolean, residual = false): Program {
  const T: StorageElement = vec4 ? 'vec4<f32>' : 'f32';
  return {
    key: `channel_affine_${vec4 ? 4 : 1}${relu ? '_relu' : ''}${residual ? '_res' : ''}`,
    bindings: [{ name: 'x', access: 'read', element: T }, ...(residual ? [{ name: 'res', access: 'read' as const, element: T }] : []), { name: 'coef', access: 'read', element: T }, { name: 'y', access: 'read_write', element: T }],
    uniforms: [u32('count'), u32('C'), u32('stride'), u32('a'), u32('b')],
    workgroupSize: WG,
    source: () => `${header}
  if (g >= params.stride) { return; }
  let c = g % params.C;
  let scale = coef[params.a * params.C + c];
  let shift = coef[params.b * params.C + c];
  for (var i = g; i < params.count; i += params.stride) {
    let v = x[i] * scale + shift${residual ? ' + res[i]' : ''};
    y[i] = ${relu ? `max(v, ${T}())` : 'v'};
  }
}`,
  };
}

/**
 * dy, x [R, C], stats (mean, invstd) → partial [chunks, 2, C] of Σdy and Σdy·x̂. With `masked`, dy is
 * first zeroed where the output y (a fused ReLU's) is 0.
 */
export function bnPartialGrad(masked: boolean, vec4: boolean): Program {
  return chunkSums(
    `bn_partial_grad${masked ? '_relu' : ''}`,
    vec4,
    ['dy', 'x', ...(masked ? ['y'] : []), 'stats'],
    'let mean = stats[c];\n  let invstd = stats[params.C + c];',
    `let d = ${masked ? 'select(T(), dy[i], y[i] > T())' : 'dy[i]'};`,
    'd',
    'd * (x[i] - mean) * invstd',
  );
}

/**
 * partial, gamma, stats → grads [2, C] = (dγ, dβ) and coef [3, C] = (A, B, C) with
 * dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)) = A·dy + B·x + C.
 */
export const bnFinalizeGrad: Program = {
  key: 'bn_finalize_grad',
  bindings: [
    { name: 'partial', access: 'read', element: 'f32' },
    { name: 'gamma', access: 'read', element: 'f32' },
    { name: 'stats', access: 'read', element: 'f32' },
    { name: 'grads', access: 'read_write', element: 'f32' },
    { name: 'coef', access: 'read_write', element: 'f32' },
  ],
  uniforms: [u32('R'), u32('C'), u32('chunks')],
  workgroupSize: WG,
  source: () => `${header}
  let C = params.C;
  if (g >= C) { return; }
  ${sumChunks('sdy', 'sdyx')}
  let n = f32(params.R);
  let mean = stats[g];
  let invstd = stats[C + g];
  let a = gamma[g] * invstd;
  let mdy = sdy / n;
  let mdyx = sdyx / n;
  grads[g] = sdyx;
  grads[C + g] = sdy;
  coef[g] = a;
  coef[C + g] = -a * invstd * mdyx;
  coef[2u * C + g] = -a * mdy + a * invstd * mean * mdyx;
}`,
};

/** dx = A[c]·dy + B[c]·x + C[c] over [R, C]; with `masked`, dy is zeroed where y is 0 (fused ReLU). */
export function bnApplyGrad(vec4: boolean, masked: boolean): Program {
  const T: StorageElement = vec4 ? 'vec4<f32>' : 'f32';
  return {
    key: `bn_apply_grad_${vec4 ? 4 : 1}${masked ? '_relu' : ''}`,
    bindings: [
      { name: 'dy', access: 'read', element: T },
      { name: 'x', access: 'read', element: T },
      ...(masked ? [{ name: 'y', access: 'read' as const, element: T }] : []),
      { name: 'coef', access: 'read', element: T },
      { name: 'dx', access: 'read_write', element: T },
    ],
    uniforms: [u32('count'), u32('C'), u32('stride')],
    workgroupSize: WG,
    source: () => `${header}
  if (g >= params.stride) { return; }
  let c = g % params.C;
  let a = coef[c];
  let b = coef[params.C + c];
  let k = coef[2u * params.C + c];
  for (var i = g; i < params.count; i += params.stride) {
    let d = ${masked ? `select(${T}(), dy[i], y[i] > ${T}())` : 'dy[i]'};
    dx[i] = a * d + b * x[i] + k;
  }
}`,
  };
}

/**
 * Folds eval-mode batch norm into the preceding convolution: with s = γ/√(var + ε),
 * W'[…, c] = W[…, c]·s[c] over HWIO weights, and b'[c] = (b[c] − mean[c])·s[c] + β[c].
 * One thread per weight; the first Co threads also write the bias.
 */
export function bnFold(withBias: boolean): Program {
  return {
    key: `bn_fold${withBias ? '_bias' : ''}`,
    bindings: [
      f32In('w'), f32In('gamma'), f32In('beta'), f32In('runningMean'), f32In('runningVar'),
      ...(withBias ? [f32In('convBias')] : []),
      { name: 'wOut', access: 'read_write', element: 'f32' }, { name: 'bOut', access: 'read_write', element: 'f32' },
    ],
    uniforms: [u32('count'), u32('C'), f32('eps')],
    workgroupSize: WG,
    source: () => `${header}
  if (g >= params.count) { return; }
  let c = g % params.C;
  let s = gamma[c] * inverseSqrt(runningVar[c] + params.eps);
  wOut[g] = w[g] * s;
  if (g < params.C) { bOut[g] = (${withBias ? 'convBias[g]' : '0.0'} - runningMean[g]) * s + beta[g]; }
}`,
  };
}

export const bnWorkgroups = (threads: number) => Math.ceil(threads / WG);
