// One correlation template for every blur: out[n,y,x,c] = epilogue(Σ_t w_t · in[n, fold(y+dy_t), fold(x+dx_t), c])
// over a list of taps (dx, dy, w) in a vec4 buffer. Taps are shared by the batch (tapStride 0:
// separable Gaussian passes, the defocus disk, 3×3 box and Sobel-like filters) or given per image
// (tapStride = ntaps: motion blur, whose direction is random per image). The channel count is a
// uniform (1 to 4), so single-channel layers (snow, spatter) and 2-channel displacement fields use
// it too. One invocation computes every channel of a pixel, sharing the tap and border arithmetic.
import { f32, u32, type Program } from '../../engine/program.js';
import { EPILOGUE_UNIFORMS, MAIN_HEADER, WG, epilogueWgsl, foldWgsl, type Boundary, type Epilogue } from './common.js';

export function convolveProgram(boundary: Boundary, epilogue: Epilogue): Program {
  return {
    key: `corrupt_convolve_${boundary}_${epilogue}`,
    bindings: [
      { name: 'src', access: 'read', element: 'f32' },
      { name: 'taps', access: 'read', element: 'vec4<f32>' },
      { name: 'out', access: 'read_write', element: 'f32' },
    ],
    uniforms: [u32('count'), u32('H'), u32('W'), u32('C'), u32('ntaps'), u32('tapStride'), ...EPILOGUE_UNIFORMS],
    workgroupSize: WG,
    source: () => `${foldWgsl(boundary)}
${epilogueWgsl(epilogue)}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let C = params.C;
  let x = i32(i % params.W);
  let y = i32((i / params.W) % params.H);
  let n = i / (params.W * params.H);
  let H = i32(params.H);
  let W = i32(params.W);
  let base = n * params.tapStride;
  let plane = n * params.H;
  var acc = vec4f(0.0);
  for (var t = 0u; t < params.ntaps; t++) {
    let tap = taps[base + t];
    let sy = u32(fold(y + i32(tap.y), H));
    let sx = u32(fold(x + i32(tap.x), W));
    let at = ((plane + sy) * params.W + sx) * C;
    for (var c = 0u; c < C; c++) { acc[c] += tap.z * src[at + c]; }
  }
  for (var c = 0u; c < C; c++) { out[i * C + c] = epilogue(acc[c]); }
}`,
  };
}

/**
 * ImageMagick's MotionBlurImage kernel per image: width = 2·ceil(radius) + 1 taps, weights
 * exp(−t²/2σ²) normalised over t = 0..width−1 (one-sided: the blur trails in one direction), tap t
 * at the pixel offset (⌈t·cos θ − ½⌉, ⌈t·sin θ − ½⌉), θ the image's angle in degrees.
 */
export const motionTapsProgram: Program = {
  key: 'corrupt_motion_taps',
  bindings: [{ name: 'angles', access: 'read', element: 'f32' }, { name: 'taps', access: 'read_write', element: 'vec4<f32>' }],
  uniforms: [u32('count'), u32('width'), f32('sigma')],
  workgroupSize: WG,
  source: () => `
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let t = f32(i % params.width);
  let theta = angles[i / params.width] * 0.017453292519943295;
  let s2 = 2.0 * params.sigma * params.sigma;
  var norm = 0.0;
  for (var j = 0u; j < params.width; j++) { norm += exp(-f32(j * j) / s2); }
  taps[i] = vec4f(ceil(t * cos(theta) - 0.5), ceil(t * sin(theta) - 0.5), exp(-t * t / s2) / norm, 0.0);
}`,
};
