// Host-side wrappers that dispatch the corruption kernels (shaders/corrupt/*) on tensors: tap
// lists for the convolution template, Gaussian filters as two separable passes, resampling by
// affine maps or displacement fields, per-pixel shading. No autograd: corruptions make data.
import { run } from '../../engine/ops/run.js';
import type { PhiloxParams } from '../../engine/ops/random.js';
import { empty, tensor, type Tensor } from '../../engine/tensor.js';
import { workgroups, type Boundary, type Epilogue } from '../../shaders/corrupt/common.js';
import { convolveProgram, motionTapsProgram } from '../../shaders/corrupt/convolve.js';
import { pixelProgram, type PixelVariant } from '../../shaders/corrupt/pixel.js';
import { resampleProgram } from '../../shaders/corrupt/resample.js';

/** A tap of a correlation kernel: out(y, x) += w · in(y + dy, x + dx). */
export interface Tap {
  dx: number;
  dy: number;
  w: number;
}

/** Validates an f32 [N, H, W, 3] image batch and returns its shape. */
export function checkImages(op: string, images: Tensor): [number, number, number, number] {
  const s = images.shape;
  if (images.dtype !== 'f32' || s.length !== 4 || s[3] !== 3 || s[0] < 1 || s[1] < 1 || s[2] < 1) {
    throw new Error(`${op}: images must be a non-empty f32 [N, H, W, 3] tensor (NHWC, RGB in [0, 1]), got ${images.describe()}`);
  }
  return [s[0], s[1], s[2], s[3]];
}

/** Taps as the vec4 (dx, dy, w, 0) buffer the convolution template reads. */
export function tapsTensor(taps: readonly Tap[]): Tensor {
  const data = new Float32Array(4 * taps.length);
  taps.forEach((t, i) => data.set([t.dx, t.dy, t.w, 0], 4 * i));
  return tensor(data, [taps.length, 4]);
}

export interface ConvolveOptions {
  boundary: Boundary;
  epilogue?: Epilogue;
  e0?: number;
  e1?: number;
  /** Taps per image (the tap tensor holds N·ntaps entries) instead of one list for the batch. */
  perImage?: boolean;
}

/** out[n,y,x,c] = epilogue(Σ_t w_t·x[n, y+dy_t, x+dx_t, c]) for x of shape [N, H, W, C]. */
export function convolve(x: Tensor, taps: Tensor, ntaps: number, options: ConvolveOptions): Tensor {
  const [N, H, W, C] = x.shape;
  const out = empty(x.shape);
  const { boundary, epilogue = 'none', e0 = 0, e1 = 0, perImage = false } = options;
  if (!(C >= 1 && C <= 4)) throw new Error(`convolve: 1 to 4 channels, got [${x.shape}]`);
  if (taps.size !== 4 * ntaps * (perImage ? N : 1)) throw new Error(`convolve: ${taps.describe()} does not hold ${ntaps} taps${perImage ? ` for each of ${N} images` : ''}`);
  const pixels = N * H * W;
  run(convolveProgram(boundary, epilogue), { src: x, taps, out }, { count: pixels, H, W, C, ntaps, tapStride: perImage ? ntaps : 0, e0, e1 }, workgroups(pixels), `corrupt convolve ${ntaps} taps [${x.shape}]`);
  return out;
}

/** A convolution with host taps (uploaded per call; they are a few dozen floats). */
export function convolveTaps(x: Tensor, taps: readonly Tap[], options: ConvolveOptions): Tensor {
  const t = tapsTensor(taps);
  const out = convolve(x, t, taps.length, options);
  t.dispose();
  return out;
}

/**
 * scipy.ndimage's 1-D Gaussian: radius ⌊truncate·σ + ½⌋, weights exp(−x²/2σ²) normalised in
 * float64. σ ≈ 0 is the identity, as scipy skips such axes.
 */
export function gaussianWeights(sigma: number, truncate: number): number[] {
  if (!(sigma > 1e-15)) return [1];
  const radius = Math.floor(truncate * sigma + 0.5);
  const w = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp((-0.5 / (sigma * sigma)) * (i - radius) ** 2));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

export interface GaussianOptions {
  truncate?: number;
  boundary?: Boundary;
  /** Applied after the second (vertical) pass. */
  epilogue?: Epilogue;
  e0?: number;
}

/**
 * skimage.filters.gaussian / scipy gaussian_filter over the two spatial axes of [N, H, W, C]
 * (channels unblurred, as multichannel=True does): a horizontal then a vertical pass, each folding
 * borders by the boundary mode (skimage's default 'nearest' = clamp, truncate 4).
 */
export function gaussianFilter(x: Tensor, sigma: number, options: GaussianOptions = {}): Tensor {
  const { truncate = 4, boundary = 'clamp', epilogue = 'none', e0 = 0 } = options;
  const w = gaussianWeights(sigma, truncate);
  const r = (w.length - 1) / 2;
  const horizontal = convolveTaps(x, w.map((v, i) => ({ dx: i - r, dy: 0, w: v })), { boundary });
  const out = convolveTaps(horizontal, w.map((v, i) => ({ dx: 0, dy: i - r, w: v })), { boundary, epilogue, e0 });
  horizontal.dispose();
  return out;
}

/** ImageMagick motion-blur taps for each image's angle (degrees): [N·width] vec4 and the width. */
export function motionTaps(angles: Tensor, radius: number, sigma: number): { taps: Tensor; width: number } {
  const width = 2 * Math.ceil(radius) + 1;
  const taps = empty([angles.size * width, 4]);
  run(motionTapsProgram, { angles, taps }, { count: angles.size * width, width, sigma }, workgroups(angles.size * width), `corrupt motion taps r${radius} σ${sigma}`);
  return { taps, width };
}

/** An affine source map (sx, sy) = (a·x + b·y + c, d·x + e·y + f). */
export type AffineMap = readonly [number, number, number, number, number, number];

export function mapsTensor(maps: readonly AffineMap[]): Tensor {
  const data = new Float32Array(8 * maps.length);
  maps.forEach(([a, b, c, d, e, f], i) => data.set([a, b, c, 0, d, e, f, 0], 8 * i));
  return tensor(data, [maps.length, 8]);
}

export interface ResampleOptions {
  boundary: Boundary;
  epilogue?: Epilogue;
  e0?: number;
  /** Output spatial size (default: the input's). */
  outH?: number;
  outW?: number;
  /** Maps per image: the map tensor holds N·nmaps maps. */
  perImage?: boolean;
  /** Write into this tensor from element outBase on (instead of a new [N, outH, outW, C] tensor). */
  into?: { out: Tensor; outBase: number };
  /** cv2.warpAffine's 1/32-pixel coordinate rounding (see shaders/corrupt/resample.ts). */
  fixedPoint?: boolean;
}

/** Mean of bilinear samples of x [N, H, W, C] at `nmaps` affine maps of the output coordinates. */
export function resampleMaps(x: Tensor, maps: Tensor, nmaps: number, options: ResampleOptions): Tensor {
  const [N, Hin, Win, C] = x.shape;
  const { boundary, epilogue = 'none', e0 = 0, outH = Hin, outW = Win, perImage = false, into } = options;
  if (maps.size !== 8 * nmaps * (perImage ? N : 1)) throw new Error(`resampleMaps: ${maps.describe()} does not hold ${nmaps} maps${perImage ? ` for each of ${N} images` : ''}`);
  if (!(C >= 1 && C <= 4)) throw new Error(`resampleMaps: 1 to 4 channels, got [${x.shape}]`);
  const out = into?.out ?? empty([N, outH, outW, C]);
  const count = N * outH * outW;
  const uniforms = { count, Hin, Win, Hout: outH, Wout: outW, C, nmaps, mapStride: perImage ? nmaps : 0, srcStride: 1, outBase: into?.outBase ?? 0, e0, e1: 0 };
  run(resampleProgram('maps', boundary, epilogue, options.fixedPoint), { src: x, maps, out }, uniforms, workgroups(count), `corrupt resample ${nmaps} maps [${x.shape}] → [${outH},${outW}]`);
  return out;
}

/** Bilinear samples of x [N, H, W, C] at (x + dx, y + dy), field [N, H, W, 2] holding (dx, dy). */
export function resampleField(x: Tensor, field: Tensor, options: { boundary: Boundary; epilogue?: Epilogue }): Tensor {
  const [N, H, W, C] = x.shape;
  if (field.size !== N * H * W * 2) throw new Error(`resampleField: ${field.describe()} is not a [${N},${H},${W},2] displacement field`);
  if (!(C >= 1 && C <= 4)) throw new Error(`resampleField: 1 to 4 channels, got [${x.shape}]`);
  const out = empty(x.shape);
  const uniforms = { count: N * H * W, Hin: H, Win: W, Hout: H, Wout: W, C, nmaps: 1, mapStride: 0, srcStride: 1, outBase: 0, e0: 0, e1: 0 };
  run(resampleProgram('field', options.boundary, options.epilogue ?? 'none'), { src: x, field, out }, uniforms, workgroups(N * H * W), `corrupt resample field [${x.shape}]`);
  return out;
}

/** Per-pixel shading of an [N, H, W, 3] batch (see shaders/corrupt/pixel.ts for the variants). */
export function shade(variant: PixelVariant, images: Tensor, extra: Readonly<Record<string, Tensor>> = {}, scalars: { s0?: number; s1?: number; aux?: number } = {}): Tensor {
  const [N, H, W] = images.shape;
  const out = empty(images.shape);
  const count = N * H * W;
  run(pixelProgram(variant), { src: images, ...extra, out }, { count, H, W, aux: scalars.aux ?? 0, s0: scalars.s0 ?? 0, s1: scalars.s1 ?? 0 }, workgroups(count), `corrupt ${variant} [${images.shape}]`);
  return out;
}

/** Philox uniforms for a kernel that draws in place. */
export const philoxUniforms = (p: PhiloxParams) => ({ key0: p.key0, key1: p.key1, ctrLo: p.ctrLo, ctrHi: p.ctrHi, stream: p.stream });

/** Python's round(): half to even (also cvRound / saturate_cast<int>). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
