// Deliberately plain kernels — one thread per output, no blocking, no vectors — that the benchmark
// runs beside the real ones so every speed-up is a ratio measured on the same adapter.
import { u32, type Program } from '../engine/program.js';

const WG = 64;
const entry = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;`;
const f32buf = (name: string, access: 'read' | 'read_write' = 'read') => ({ name, access, element: 'f32' as const });

/** C[M,N] = A[M,K]·B[K,N]. */
export const naiveMatmul: Program = {
  key: 'naive_matmul',
  bindings: [f32buf('a'), f32buf('b'), f32buf('c', 'read_write')],
  uniforms: [u32('M'), u32('N'), u32('K')],
  workgroupSize: WG,
  source: () => `${entry}
  if (g >= params.M * params.N) { return; }
  let m = g / params.N;
  let n = g % params.N;
  var acc = 0.0;
  for (var k = 0u; k < params.K; k++) { acc += a[m * params.K + k] * b[k * params.N + n]; }
  c[g] = acc;
}`,
};

const convUniforms = ['N', 'H', 'W', 'Ci', 'Ho', 'Wo', 'Co', 'K', 's', 'p'].map(u32);
const tap = `let h = i32(ho * params.s + kh) - i32(params.p);
      let w = i32(wo * params.s + kw) - i32(params.p);
      if (h < 0 || w < 0 || h >= i32(params.H) || w >= i32(params.W)) { continue; }`;

/** Direct NHWC/HWIO convolution, one thread per output element. */
export const naiveConvForward: Program = {
  key: 'naive_conv_forward',
  bindings: [f32buf('x'), f32buf('wt'), f32buf('y', 'read_write')],
  uniforms: convUniforms,
  workgroupSize: WG,
  source: () => `${entry}
  if (g >= params.N * params.Ho * params.Wo * params.Co) { return; }
  let co = g % params.Co;
  let wo = (g / params.Co) % params.Wo;
  let ho = (g / (params.Co * params.Wo)) % params.Ho;
  let n = g / (params.Co * params.Wo * params.Ho);
  var acc = 0.0;
  for (var kh = 0u; kh < params.K; kh++) {
    for (var kw = 0u; kw < params.K; kw++) {
      ${tap}
      for (var ci = 0u; ci < params.Ci; ci++) {
        acc += x[((n * params.H + u32(h)) * params.W + u32(w)) * params.Ci + ci] * wt[((kh * params.K + kw) * params.Ci + ci) * params.Co + co];
      }
    }
  }
  y[g] = acc;
}`,
};

/** dW[kh,kw,ci,co] = Σ_{n,ho,wo} x·dy, one thread per weight. */
export const naiveConvWeightGrad: Program = {
  key: 'naive_conv_weight_grad',
  bindings: [f32buf('x'), f32buf('dy'), f32buf('dw', 'read_write')],
  uniforms: convUniforms,
  workgroupSize: WG,
  source: () => `${entry}
  if (g >= params.K * params.K * params.Ci * params.Co) { return; }
  let co = g % params.Co;
  let ci = (g / params.Co) % params.Ci;
  let kw = (g / (params.Co * params.Ci)) % params.K;
  let kh = g / (params.Co * params.Ci * params.K);
  var acc = 0.0;
  for (var n = 0u; n < params.N; n++) {
    for (var ho = 0u; ho < params.Ho; ho++) {
      for (var wo = 0u; wo < params.Wo; wo++) {
        ${tap}
        acc += x[((n * params.H + u32(h)) * params.W + u32(w)) * params.Ci + ci] * dy[((n * params.Ho + ho) * params.Wo + wo) * params.Co + co];
      }
    }
  }
  dw[g] = acc;
}`,
};

/** dx by gathering over every output that the input pixel feeds, one thread per input element. */
export const naiveConvDataGrad: Program = {
  key: 'naive_conv_data_grad',
  bindings: [f32buf('dy'), f32buf('wt'), f32buf('dx', 'read_write')],
  uniforms: convUniforms,
  workgroupSize: WG,
  source: () => `${entry}
  if (g >= params.N * params.H * params.W * params.Ci) { return; }
  let ci = g % params.Ci;
  let w = (g / params.Ci) % params.W;
  let h = (g / (params.Ci * params.W)) % params.H;
  let n = g / (params.Ci * params.W * params.H);
  var acc = 0.0;
  for (var kh = 0u; kh < params.K; kh++) {
    for (var kw = 0u; kw < params.K; kw++) {
      let th = i32(h + params.p) - i32(kh);
      let tw = i32(w + params.p) - i32(kw);
      if (th < 0 || tw < 0 || th % i32(params.s) != 0 || tw % i32(params.s) != 0) { continue; }
      let ho = u32(th) / params.s;
      let wo = u32(tw) / params.s;
      if (ho >= params.Ho || wo >= params.Wo) { continue; }
      for (var co = 0u; co < params.Co; co++) {
        acc += dy[((n * params.Ho + ho) * params.Wo + wo) * params.Co + co] * wt[((kh * params.K + kw) * params.Ci + ci) * params.Co + co];
      }
    }
  }
  dx[g] = acc;
}`,
};

/** Training-mode batch norm forward, one thread per channel walking every row three times. */
export const naiveBatchNorm: Program = {
  key: 'naive_batchnorm',
  bindings: [f32buf('x'), f32buf('y', 'read_write')],
  uniforms: [u32('R'), u32('C')],
  workgroupSize: WG,
  source: () => `${entry}
  if (g >= params.C) { return; }
  var mean = 0.0;
  for (var r = 0u; r < params.R; r++) { mean += x[r * params.C + g]; }
  mean /= f32(params.R);
  var v = 0.0;
  for (var r = 0u; r < params.R; r++) { let d = x[r * params.C + g] - mean; v += d * d; }
  let inv = inverseSqrt(v / f32(params.R) + 1e-5);
  for (var r = 0u; r < params.R; r++) { y[r * params.C + g] = (x[r * params.C + g] - mean) * inv; }
}`,
};

export const naiveWorkgroups = (threads: number) => Math.ceil(threads / WG);
