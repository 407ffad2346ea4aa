// Row-wise softmax family over [B, C] logits: one thread per row (C is the class count, ≤ a few
// hundred), with the max-shifted log-sum-exp for stability.
import { u32, type Program } from '../engine/program.js';

const WG = 64;
const entry = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let b = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  if (b >= params.B) { return; }
  let row = b * params.C;`;

const logSumExp = `
  var m = -3.4028234663852886e38;
  for (var c = 0u; c < params.C; c++) { m = max(m, x[row + c]); }
  var s = 0.0;
  for (var c = 0u; c < params.C; c++) { s += exp(x[row + c] - m); }
  let lse = m + log(s);`;

/**
 * loss[b] = lse(x[b]) − x[b, label[b]] and lse[b] saved for the backward. An out-of-range label
 * yields NaN so a bad batch can never train silently.
 */
export const crossEntropyForward: Program = {
  key: 'cross_entropy_forward',
  bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'labels', access: 'read', element: 'i32' }, { name: 'loss', access: 'read_write', element: 'f32' }, { name: 'lseBuf', access: 'read_write', element: 'f32' }],
  // NaN is not a WGSL constant, so its bit pattern arrives as a uniform.
  uniforms: [u32('B'), u32('C'), u32('nanBits')],
  workgroupSize: WG,
  source: () => `${entry}${logSumExp}
  let label = labels[b];
  lseBuf[b] = lse;
  if (label < 0 || u32(label) >= params.C) { loss[b] = bitcast<f32>(params.nanBits); return; }
  loss[b] = lse - x[row + u32(label)];
}`,
};

/** dx[b, c] = g[b]·(softmax(x[b])[c] − [c == label[b]]). */
export const crossEntropyBackward: Program = {
  key: 'cross_entropy_backward',
  bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'labels', access: 'read', element: 'i32' }, { name: 'lseBuf', access: 'read', element: 'f32' }, { name: 'g', access: 'read', element: 'f32' }, { name: 'dx', access: 'read_write', element: 'f32' }],
  uniforms: [u32('B'), u32('C')],
  workgroupSize: WG,
  source: () => `${entry}
  let label = labels[b];
  for (var c = 0u; c < params.C; c++) {
    let p = exp(x[row + c] - lseBuf[b]);
    dx[row + c] = g[b] * (p - select(0.0, 1.0, i32(c) == label));
  }
}`,
};

/** y = x − lse(x) per row. */
export const logSoftmaxForward: Program = {
  key: 'log_softmax_forward',
  bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'y', access: 'read_write', element: 'f32' }],
  uniforms: [u32('B'), u32('C')],
  workgroupSize: WG,
  source: () => `${entry}${logSumExp}
  for (var c = 0u; c < params.C; c++) { y[row + c] = x[row + c] - lse; }
}`,
};

/** dx = g − softmax·Σg, with softmax = exp(y). */
export const logSoftmaxBackward: Program = {
  key: 'log_softmax_backward',
  bindings: [{ name: 'y', access: 'read', element: 'f32' }, { name: 'g', access: 'read', element: 'f32' }, { name: 'dx', access: 'read_write', element: 'f32' }],
  uniforms: [u32('B'), u32('C')],
  workgroupSize: WG,
  source: () => `${entry}
  var total = 0.0;
  for (var c = 0u; c < params.C; c++) { total += g[row + c]; }
  for (var c = 0u; c < params.C; c++) { dx[row + c] = g[row + c] - exp(y[row + c]) * total; }
}`,
};

/** pred[b] = argmax_c x[b, c] (first maximum), correct[b] = pred[b] == label[b] as 0/1. */
export const argmaxCorrect: Program = {
  key: 'argmax_correct',
  bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'labels', access: 'read', element: 'i32' }, { name: 'pred', access: 'read_write', element: 'i32' }, { name: 'correct', access: 'read_write', element: 'f32' }],
  uniforms: [u32('B'), u32('C')],
  workgroupSize: WG,
  source: () => `${entry}
  var best = 0u;
  for (var c = 1u; c < params.C; c++) { if (x[row + c] > x[row + best]) { best = c; } }
  pred[b] = i32(best);
  correct[b] = select(0.0, 1.0, i32(best) == labels[b]);
}`,
};

export const rowWorkgroups = (rows: number) => Math.ceil(rows / WG);
