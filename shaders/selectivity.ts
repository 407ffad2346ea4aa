// Class selectivity index (Leavitt & Morcos): for each unit c, with μ[k, c] the mean activation of
// class k and only the classes present counted,
//   SI[c] = (μ_max − μ_−max) / (μ_max + μ_−max + ε),   μ_−max = mean of the other classes' means.
// Kernels: per-class weights from labels (so class means are one matmul), SI forward per unit, and
// its backward dμ per (class, unit).
import { f32, u32, type Program } from '../engine/program.js';

const WG = 64;
const entry = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;`;

/**
 * w[n, k] = [label n == k] / count_k (normalize) or [label n == k]; counts[k] = count_k.
 * Labels outside [0, K) match no class.
 */
export function classWeightsProgram(normalize: boolean): Program {
  return {
    key: `class_weights${normalize ? '_mean' : '_sum'}`,
    bindings: [{ name: 'labels', access: 'read', element: 'i32' }, { name: 'w', access: 'read_write', element: 'f32' }, { name: 'counts', access: 'read_write', element: 'f32' }],
    uniforms: [u32('N'), u32('K')],
    workgroupSize: WG,
    source: () => `${entry}
  if (g >= params.N * params.K) { return; }
  let n = g / params.K;
  let k = i32(g % params.K);
  var count = 0.0;
  for (var i = 0u; i < params.N; i++) { count += select(0.0, 1.0, labels[i] == k); }
  let hit = labels[n] == k;
  w[g] = select(0.0, ${normalize ? '1.0 / max(count, 1.0)' : '1.0'}, hit);
  if (n == 0u) { counts[k] = count; }
}`,
  };
}

/** The statistics every SI kernel needs for unit c: max over present classes, its index, sum, count. */
const unitStats = `
fn unitStats(c: u32) -> vec4<f32> {
  var mx = -3.4028234663852886e38;
  var arg = 0u;
  var total = 0.0;
  var present = 0.0;
  for (var k = 0u; k < params.K; k++) {
    if (counts[k] > 0.0) {
      let v = mu[k * params.C + c];
      if (v > mx) { mx = v; arg = k; }
      total += v;
      present += 1.0;
    }
  }
  return vec4<f32>(mx, f32(arg), total, present);
}`;

/** si[c] for class means mu [K, C]; 0 when fewer than two classes are present. */
export const selectivityForward: Program = {
  key: 'selectivity_forward',
  bindings: [{ name: 'mu', access: 'read', element: 'f32' }, { name: 'counts', access: 'read', element: 'f32' }, { name: 'si', access: 'read_write', element: 'f32' }],
  uniforms: [u32('K'), u32('C'), f32('eps')],
  workgroupSize: WG,
  source: () => `${unitStats}${entry}
  if (g >= params.C) { return; }
  let s = unitStats(g);
  if (s.w < 2.0) { si[g] = 0.0; return; }
  let rest = (s.z - s.x) / (s.w - 1.0);
  si[g] = (s.x - rest) / (s.x + rest + params.eps);
}`,
};

/**
 * dmu[k, c] = g[c]·∂SI/∂μ[k, c]: with D = μmax + μ− + ε, ∂SI/∂μmax = (2μ− + ε)/D², ∂SI/∂μ− = −(2μmax + ε)/D²,
 * and μ− = (Σ_present μ − μmax)/(P − 1).
 */
export const selectivityBackward: Program = {
  key: 'selectivity_backward',
  bindings: [{ name: 'mu', access: 'read', element: 'f32' }, { name: 'counts', access: 'read', element: 'f32' }, { name: 'gsi', access: 'read', element: 'f32' }, { name: 'dmu', access: 'read_write', element: 'f32' }],
  uniforms: [u32('K'), u32('C'), f32('eps')],
  workgroupSize: WG,
  source: () => `${unitStats}${entry}
  if (g >= params.K * params.C) { return; }
  let k = g / params.C;
  let c = g % params.C;
  let s = unitStats(c);
  if (s.w < 2.0 || counts[k] == 0.0) { dmu[g] = 0.0; return; }
  let rest = (s.z - s.x) / (s.w - 1.0);
  let d = s.x + rest + params.eps;
  let dMax = (2.0 * rest + params.eps) / (d * d);
  let dRest = -(2.0 * s.x + params.eps) / (d * d) / (s.w - 1.0);
  let isMax = select(0.0, 1.0, k == u32(s.y));
  dmu[g] = gsi[c] * (isMax * (dMax - dRest) + dRest);
}`,
};

export const selectivityWorkgroups = (threads: number) => Math.ceil(threads / WG);
