// defocus_blur, glass_blur, motion_blur, zoom_blur, gaussian_blur, all on the GPU through the
// convolution, resampling and shuffle templates.
import { rand, type Generator } from '../../engine/ops/random.js';
import { run } from '../../engine/ops/run.js';
import { empty, scope, type Tensor } from '../../engine/tensor.js';
import { workgroups } from '../../shaders/corrupt/common.js';
import { glassShuffleProgram } from '../../shaders/corrupt/shuffle.js';
import { checkImages, convolve, convolveTaps, gaussianFilter, mapsTensor, motionTaps, philoxUniforms, resampleMaps, roundHalfEven, type AffineMap, type Tap } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption } from './types.js';

/**
 * The published disk(): an aliased disk (x² + y² ≤ r²) on the grid −8..8 (−r..r beyond r = 8),
 * normalised in float32, then cv2.GaussianBlur with a 3×3 (5×5 beyond r = 8) kernel of σ = alias
 * blur and reflect-101 borders. Returned as the non-zero taps of the correlation cv2.filter2D runs.
 */
export function defocusKernel(radius: number, aliasBlur: number): Tap[] {
  if (radius > 8 && !Number.isInteger(radius)) throw new Error(`defocus_blur: a radius above 8 must be an integer, got ${radius}`);
  const reach = radius <= 8 ? 8 : radius;
  const ksize = radius <= 8 ? 3 : 5;
  const n = 2 * reach + 1;
  const disk = new Float64Array(n * n);
  let inside = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if ((i - reach) ** 2 + (j - reach) ** 2 <= radius * radius) inside++;
  const value = Math.fround(1 / inside);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if ((i - reach) ** 2 + (j - reach) ** 2 <= radius * radius) disk[i * n + j] = value;
  // OpenCV's getGaussianKernel: exp(−x²/2σ²) normalised, x centred on the kernel.
  const half = (ksize - 1) / 2;
  // σ ≤ 0 means "from the size", as in OpenCV.
  const sigma = aliasBlur > 0 ? aliasBlur : (half - 1) * 0.3 + 0.8;
  const g = Array.from({ length: ksize }, (_, k) => Math.fround(Math.exp((-0.5 / (sigma * sigma)) * (k - half) ** 2)));
  const gs = g.reduce((a, b) => a + b, 0);
  const g1 = g.map((v) => Math.fround(v / gs));
  const reflect101 = (i: number) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i);
  const pass = (src: Float64Array, horizontal: boolean) => {
    const dst = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let k = 0; k < ksize; k++) {
          const o = k - half;
          acc += g1[k] * (horizontal ? src[i * n + reflect101(j + o)] : src[reflect101(i + o) * n + j]);
        }
        dst[i * n + j] = Math.fround(acc);
      }
    return dst;
  };
  const kernel = pass(pass(disk, true), false);
  const taps: Tap[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (kernel[i * n + j] !== 0) taps.push({ dx: j - reach, dy: i - reach, w: kernel[i * n + j] });
  return taps;
}

export function defocusBlur(images: Tensor, radius: number, aliasBlur: number): Tensor {
  checkImages('defocus_blur', images);
  return convolveTaps(images, defocusKernel(radius, aliasBlur), { boundary: 'reflect101', epilogue: 'clip' });
}

/** skimage gaussian (σ, 'nearest' borders, truncate 4) per channel, clipped. */
export function gaussianBlur(images: Tensor, sigma: number): Tensor {
  checkImages('gaussian_blur', images);
  return gaussianFilter(images, sigma, { epilogue: 'clip' });
}

/**
 * Gaussian blur, truncation to uint8, `iterations` rounds of the local shuffle (the published
 * copy-not-swap semantics, see shaders/corrupt/shuffle.ts), Gaussian blur again, clip.
 */
export function glassBlur(images: Tensor, sigma: number, delta: number, iterations: number, generator: Generator): Tensor {
  const [N, H, W, C] = checkImages('glass_blur', images);
  return scope(() => {
    let x = gaussianFilter(images, sigma, { epilogue: 'trunc8' });
    const philox = generator.reserve(N * H * W);
    for (let it = 0; it < iterations; it++) {
      const next = empty(x.shape);
      run(glassShuffleProgram, { src: x, out: next }, { count: x.size, H, W, C, delta, iteration: it, ...philoxUniforms(philox) }, workgroups(x.size), `corrupt glass shuffle δ${delta} [${x.shape}]`);
      x = next;
    }
    return gaussianFilter(x, sigma, { epilogue: 'clip' });
  });
}

/**
 * ImageMagick motion blur along each image's angle (degrees), then the 8-bit PNG it writes, whose
 * levels ImageMagick 6 (Q16) truncates (checked against `convert -motion-blur`).
 */
export function motionBlurWithAngles(images: Tensor, angles: Tensor, radius: number, sigma: number): Tensor {
  checkImages('motion_blur', images);
  return scope(() => {
    const { taps, width } = motionTaps(angles, radius, sigma);
    return convolve(images, taps, width, { boundary: 'clamp', epilogue: 'trunc8', perImage: true });
  });
}

export function motionBlur(images: Tensor, radius: number, sigma: number, generator: Generator): Tensor {
  const [N] = checkImages('motion_blur', images);
  return scope(() => motionBlurWithAngles(images, rand([N], { lo: -45, hi: 45, generator }), radius, sigma));
}

/**
 * np.arange(1, stop, 0.01) as NumPy computes it: ⌈(stop − 1)/0.01⌉ values (so 1.06 itself is among
 * severity 1's seven), filled as 1 + i·δ with δ = (1 + 0.01) − 1 = 0.010000000000000009, which makes
 * the last factor of severity 5 1.2500000000000002 and its scipy zoom output 33 pixels, not 32.
 */
export function zoomFactors(stop: number): number[] {
  const delta = 1 + 0.01 - 1;
  return Array.from({ length: Math.ceil((stop - 1) / 0.01) }, (_, i) => 1 + i * delta);
}

/**
 * clipped_zoom as a source map, per axis of size S: crop the centred ⌈S/z⌉ pixels, scipy zoom
 * (order 1; output size round(ch·z), input coordinate = output index·(ch−1)/(out−1)), trim the
 * centred S. The published code uses the height for both axes; square images agree.
 */
export function clippedZoomMap(H: number, W: number, z: number): AffineMap {
  const axis = (S: number): [number, number] => {
    const ch = Math.ceil(S / z);
    const top = Math.floor((S - ch) / 2);
    const out = roundHalfEven(ch * z);
    const trim = Math.floor((out - S) / 2);
    const scale = out > 1 ? (ch - 1) / (out - 1) : 0;
    return [scale, top + trim * scale];
  };
  const [sx, ox] = axis(W);
  const [sy, oy] = axis(H);
  return [sx, 0, ox, 0, sy, oy];
}

/** (x + Σ_z clipped_zoom(x, z)) / (K + 1): the image averaged with all its zoomed copies. */
export function zoomBlur(images: Tensor, stop: number): Tensor {
  const [, H, W] = checkImages('zoom_blur', images);
  const maps: AffineMap[] = [[1, 0, 0, 0, 1, 0], ...zoomFactors(stop).map((z) => clippedZoomMap(H, W, z))];
  return scope(() => resampleMaps(images, mapsTensor(maps), maps.length, { boundary: 'clamp', epilogue: 'clip' }));
}

export const BLUR_CORRUPTIONS: Corruption[] = [
  { name: 'defocus_blur', gpu: true, apply: (x, s, ctx) => defocusBlur(x, ...atSeverity(parameterTable(ctx.parameters).defocus_blur, s)) },
  { name: 'glass_blur', gpu: true, apply: (x, s, ctx) => glassBlur(x, ...atSeverity(parameterTable(ctx.parameters).glass_blur, s), ctx.generator) },
  { name: 'motion_blur', gpu: true, apply: (x, s, ctx) => motionBlur(x, ...atSeverity(parameterTable(ctx.parameters).motion_blur, s), ctx.generator) },
  { name: 'zoom_blur', gpu: true, apply: (x, s, ctx) => zoomBlur(x, atSeverity(parameterTable(ctx.parameters).zoom_blur, s)) },
  { name: 'gaussian_blur', gpu: true, apply: (x, s, ctx) => gaussianBlur(x, atSeverity(parameterTable(ctx.parameters).gaussian_blur, s)) },
];
