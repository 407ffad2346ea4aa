// The water branch of spatter follows OpenCV on an 8-bit liquid layer L = uint8(255·liquid):
//   Canny(L, 50, 150) → 255 − edges → distanceTransform(L2, 5×5) → min(·, 20) → blur 3×3 → uint8
//   → equalizeHist → filter2D(ker) → blur 3×3 → mask = L · that.
// Local steps (Sobel, non-maximum suppression) run per pixel here, the 3×3 filters in the shared
// convolution template; the steps that need the whole image (hysteresis, the two-pass chamfer
// distance, the histogram, the mask maximum) run one invocation per image, which is how OpenCV
// computes them too and is cheap at 32×32 or 64×64.
import { u32, type Program } from '../../engine/program.js';
import { MAIN_HEADER, WG } from './common.js';

// The 8-bit liquid layer ((liquid·255).astype(uint8); liquid ≥ 0 after its threshold).
const BYTE_WGSL = `fn byteAt(v: f32) -> f32 { return floor(clamp(v * 255.0, 0.0, 255.0)); }`;

/**
 * Sobel 3×3 on L with replicated borders (what cv2.Canny uses), as (gx, gy, |gx| + |gy|, 0):
 * the L1 magnitude of Canny's default L2gradient = false.
 */
export const sobelProgram: Program = {
  key: 'corrupt_spatter_sobel',
  bindings: [{ name: 'liquid', access: 'read', element: 'f32' }, { name: 'grad', access: 'read_write', element: 'vec4<f32>' }],
  uniforms: [u32('count'), u32('H'), u32('W')],
  workgroupSize: WG,
  source: () => `${BYTE_WGSL}
fn px(n: u32, y: i32, x: i32) -> f32 {
  let yy = u32(clamp(y, 0, i32(params.H) - 1));
  let xx = u32(clamp(x, 0, i32(params.W) - 1));
  return byteAt(liquid[(n * params.H + yy) * params.W + xx]);
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let x = i32(i % params.W);
  let y = i32((i / params.W) % params.H);
  let n = i / (params.W * params.H);
  let gx = px(n, y - 1, x + 1) + 2.0 * px(n, y, x + 1) + px(n, y + 1, x + 1) - px(n, y - 1, x - 1) - 2.0 * px(n, y, x - 1) - px(n, y + 1, x - 1);
  let gy = px(n, y + 1, x - 1) + 2.0 * px(n, y + 1, x) + px(n, y + 1, x + 1) - px(n, y - 1, x - 1) - 2.0 * px(n, y - 1, x) - px(n, y - 1, x + 1);
  grad[i] = vec4f(gx, gy, abs(gx) + abs(gy), 0.0);
}`,
};

/**
 * Canny's non-maximum suppression and double threshold, in OpenCV's integer form: the direction is
 * horizontal when |gy|·2^15 < |gx|·TG22, vertical above |gx|·(TG22 + 2^16), diagonal between (which
 * diagonal from the signs); magnitudes outside the image are 0; a maximum must be strictly above one
 * neighbour and at least the other (strictly both on diagonals). state: 2 strong (m > high),
 * 0 weak (m > low), 1 neither.
 */
export const suppressProgram: Program = {
  key: 'corrupt_spatter_suppress',
  bindings: [{ name: 'grad', access: 'read', element: 'vec4<f32>' }, { name: 'state', access: 'read_write', element: 'u32' }],
  uniforms: [u32('count'), u32('H'), u32('W'), u32('low'), u32('high')],
  workgroupSize: WG,
  source: () => `
fn mag(n: u32, y: i32, x: i32) -> i32 {
  if (y < 0 || x < 0 || y >= i32(params.H) || x >= i32(params.W)) { return 0; }
  return i32(grad[(n * params.H + u32(y)) * params.W + u32(x)].z);
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let x = i32(i % params.W);
  let y = i32((i / params.W) % params.H);
  let n = i / (params.W * params.H);
  let g = grad[i];
  let m = i32(g.z);
  var result = 1u;
  if (m > i32(params.low)) {
    let xs = i32(g.x);
    let ys = i32(g.y);
    let ax = abs(xs);
    let ay = abs(ys) << 15u;
    let tg22x = ax * 13573;
    var peak: bool;
    if (ay < tg22x) {
      peak = m > mag(n, y, x - 1) && m >= mag(n, y, x + 1);
    } else if (ay > tg22x + (ax << 16u)) {
      peak = m > mag(n, y - 1, x) && m >= mag(n, y + 1, x);
    } else {
      let s = select(1, -1, (xs ^ ys) < 0);
      peak = m > mag(n, y - 1, x - s) && m > mag(n, y + 1, x + s);
    }
    if (peak) { result = select(0u, 2u, m > i32(params.high)); }
  }
  state[i] = result;
}`,
};

export type SpatterImageStage = 'edges' | 'equalize' | 'mask';

// Chamfer weights of OpenCV's 5×5 L2 mask (1, 1.4, 2.1969) in its 16-bit fixed point.
export const CHAMFER = {
  hv: Math.round(1 * 65536),
  diagonal: Math.round(Math.fround(1.4) * 65536),
  knight: Math.round(Math.fround(2.1969) * 65536),
};

const STAGES: Record<SpatterImageStage, { bindings: Program['bindings']; body: string; helpers?: string }> = {
  // Hysteresis (weak pixels 8-connected to strong ones become edges), then the distance to the
  // nearest edge by OpenCV's two-pass 5×5 chamfer (outside the image counts as infinitely far),
  // truncated at 20 (cv2.threshold TRUNC). dist is in OpenCV's fixed-point units (1/65536 pixel),
  // integers exact in f32, so the box blur after it can floor its mean exactly.
  edges: {
    bindings: [{ name: 'state', access: 'read_write', element: 'u32' }, { name: 'tmp', access: 'read_write', element: 'u32' }, { name: 'dist', access: 'read_write', element: 'f32' }],
    helpers: `
fn isStrong(base: u32, y: i32, x: i32) -> bool {
  if (y < 0 || x < 0 || y >= i32(params.H) || x >= i32(params.W)) { return false; }
  return state[base + u32(y) * params.W + u32(x)] == 2u;
}
fn grow(base: u32, y: i32, x: i32) -> bool {
  let at = base + u32(y) * params.W + u32(x);
  if (state[at] != 0u) { return false; }
  for (var dy = -1; dy <= 1; dy++) {
    for (var dx = -1; dx <= 1; dx++) {
      if (isStrong(base, y + dy, x + dx)) { state[at] = 2u; return true; }
    }
  }
  return false;
}
const FAR = 0x7fffffffu;
fn chamfer(base: u32, y: i32, x: i32) -> u32 {
  if (y < 0 || x < 0 || y >= i32(params.H) || x >= i32(params.W)) { return FAR; }
  return tmp[base + u32(y) * params.W + u32(x)];
}`,
    body: `
  let H = i32(params.H);
  let W = i32(params.W);
  let HV = ${CHAMFER.hv}u;
  let DIAG = ${CHAMFER.diagonal}u;
  let KNIGHT = ${CHAMFER.knight}u;
  for (var sweep = 0; sweep < H * W; sweep++) {
    var changed = false;
    for (var y = 0; y < H; y++) { for (var x = 0; x < W; x++) { changed = grow(base, y, x) || changed; } }
    for (var y = H - 1; y >= 0; y--) { for (var x = W - 1; x >= 0; x--) { changed = grow(base, y, x) || changed; } }
    if (!changed) { break; }
  }
  for (var y = 0; y < H; y++) {
    for (var x = 0; x < W; x++) {
      var t = 0u;
      if (state[base + u32(y * W + x)] != 2u) {
        t = min(chamfer(base, y - 2, x - 1), chamfer(base, y - 2, x + 1)) + KNIGHT;
        t = min(t, chamfer(base, y - 1, x - 2) + KNIGHT);
        t = min(t, chamfer(base, y - 1, x - 1) + DIAG);
        t = min(t, chamfer(base, y - 1, x) + HV);
        t = min(t, chamfer(base, y - 1, x + 1) + DIAG);
        t = min(t, chamfer(base, y - 1, x + 2) + KNIGHT);
        t = min(t, chamfer(base, y, x - 1) + HV);
      }
      tmp[base + u32(y * W + x)] = t;
    }
  }
  for (var y = H - 1; y >= 0; y--) {
    for (var x = W - 1; x >= 0; x--) {
      var t = tmp[base + u32(y * W + x)];
      if (t > HV) {
        t = min(t, min(chamfer(base, y + 2, x + 1), chamfer(base, y + 2, x - 1)) + KNIGHT);
        t = min(t, chamfer(base, y + 1, x + 2) + KNIGHT);
        t = min(t, chamfer(base, y + 1, x + 1) + DIAG);
        t = min(t, chamfer(base, y + 1, x) + HV);
        t = min(t, chamfer(base, y + 1, x - 1) + DIAG);
        t = min(t, chamfer(base, y + 1, x - 2) + KNIGHT);
        t = min(t, chamfer(base, y, x + 1) + HV);
        tmp[base + u32(y * W + x)] = t;
      }
      dist[base + u32(y * W + x)] = f32(min(t, 20u * HV));
    }
  }`,
  },
  // cv2.equalizeHist in place on byte values: lut[v] = round(cumulative count above the lowest
  // occupied bin · 255/(total − that bin's count)); a constant image stays constant.
  equalize: {
    bindings: [{ name: 'image', access: 'read_write', element: 'f32' }],
    body: `
  let total = params.H * params.W;
  var hist: array<u32, 256>;
  for (var p = 0u; p < total; p++) { hist[u32(image[base + p])] += 1u; }
  var lo = 0u;
  while (hist[lo] == 0u) { lo++; }
  var lut: array<f32, 256>;
  if (hist[lo] == total) {
    for (var v = 0u; v < 256u; v++) { lut[v] = f32(lo); }
  } else {
    let scale = 255.0 / f32(total - hist[lo]);
    var sum = 0u;
    lut[lo] = 0.0;
    for (var v = lo + 1u; v < 256u; v++) {
      sum += hist[v];
      lut[v] = clamp(round(f32(sum) * scale), 0.0, 255.0);
    }
  }
  for (var p = 0u; p < total; p++) { image[base + p] = lut[u32(image[base + p])]; }`,
  },
  // mask = L · (the filtered distance map), and its per-image maximum.
  mask: {
    bindings: [{ name: 'liquid', access: 'read', element: 'f32' }, { name: 'filtered', access: 'read', element: 'f32' }, { name: 'mask', access: 'read_write', element: 'f32' }, { name: 'mmax', access: 'read_write', element: 'f32' }],
    helpers: BYTE_WGSL,
    body: `
  var top = 0.0;
  for (var p = 0u; p < params.H * params.W; p++) {
    let m = byteAt(liquid[base + p]) * filtered[base + p];
    mask[base + p] = m;
    top = max(top, m);
  }
  mmax[n] = top;`,
  },
};

/** One invocation per image (count = N). */
export function spatterImageProgram(stage: SpatterImageStage): Program {
  const s = STAGES[stage];
  return {
    key: `corrupt_spatter_${stage}`,
    bindings: s.bindings,
    uniforms: [u32('count'), u32('H'), u32('W')],
    workgroupSize: WG,
    source: () => `${s.helpers ?? ''}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let n = i;
  let base = n * params.H * params.W;
  ${s.body}
}`,
  };
}
