// elastic_transform, pixelate and jpeg_compression on the GPU.
import { rand, type Generator } from '../../engine/ops/random.js';
import { zeros } from '../../engine/ops/fill.js';
import { run } from '../../engine/ops/run.js';
import { empty, scope, tensor, type Tensor } from '../../engine/tensor.js';
import { workgroups } from '../../shaders/corrupt/common.js';
import { jpegBlockProgram, jpegPixelProgram, quantTables } from '../../shaders/corrupt/jpeg.js';
import { affineFromPointsProgram, boxResampleProgram } from '../../shaders/corrupt/resample.js';
import { checkImages, gaussianFilter, resampleField, resampleMaps } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption } from './types.js';

// ---- elastic_transform ----------------------------------------------------------------------------

/** The published affine anchor points, as (x, y) pairs the way cv2.getAffineTransform reads them. */
export function elasticAnchors(H: number, W: number): [number, number][] {
  const c0 = Math.floor(H / 2);
  const c1 = Math.floor(W / 2);
  const s = Math.floor(Math.min(H, W) / 3);
  return [[c0 + s, c1 + s], [c0 + s, c1 - s], [c0 - s, c1 - s]];
}

/**
 * Elastic transform from given randomness: deltas [N, 6] jitter the three anchors (x, y per point);
 * field [N, H, W, 2] ~ U(−1, 1) becomes the displacement (dx, dy) after a Gaussian of σ (reflect,
 * truncate 3) scaled by α. Steps: cv2.warpAffine (bilinear at its 1/32-pixel coordinates,
 * reflect-101), then scipy map_coordinates at (y + dy, x + dx) (order 1, reflect, exact), clip.
 */
export function elasticWithRandom(images: Tensor, deltas: Tensor, field: Tensor, alpha: number, sigma: number): Tensor {
  const [N, H, W] = checkImages('elastic_transform', images);
  // Below 3 pixels the three anchors coincide and the affine solve is singular (in the published code too).
  if (Math.min(H, W) < 3) throw new Error(`elastic_transform: images must be at least 3×3, got ${H}×${W}`);
  if (deltas.size !== 6 * N || field.size !== 2 * N * H * W) throw new Error(`elastic_transform: need deltas [${N},6] and a field [${N},${H},${W},2], got ${deltas.describe()} and ${field.describe()}`);
  const [[p0x, p0y], [p1x, p1y], [p2x, p2y]] = elasticAnchors(H, W);
  return scope(() => {
    const maps = empty([N, 8]);
    run(affineFromPointsProgram, { deltas, maps }, { count: N, p0x, p0y, p1x, p1y, p2x, p2y }, workgroups(N), 'corrupt elastic affine');
    const warped = resampleMaps(images, maps, 1, { boundary: 'reflect101', perImage: true, fixedPoint: true });
    const displacement = gaussianFilter(field.view([N, H, W, 2]), sigma, { truncate: 3, boundary: 'reflect', epilogue: 'scale', e0: alpha });
    return resampleField(warped, displacement, { boundary: 'reflect', epilogue: 'clip' });
  });
}

/**
 * (α, σ, jitter) as fractions of the image size (the published IMSIZE; min(H, W) for other
 * sizes): α scales the displacement, σ smooths it, jitter moves the affine anchors.
 */
export function elasticTransform(images: Tensor, fractions: readonly [number, number, number], generator: Generator): Tensor {
  const [N, H, W] = checkImages('elastic_transform', images);
  const size = Math.min(H, W);
  const [alpha, sigma, jitter] = fractions.map((f) => f * size);
  return scope(() => {
    const deltas = jitter > 0 ? rand([N, 6], { lo: -jitter, hi: jitter, generator }) : zeros([N, 6]);
    return elasticWithRandom(images, deltas, rand([N, H, W, 2], { lo: -1, hi: 1, generator }), alpha, sigma);
  });
}

// ---- pixelate -------------------------------------------------------------------------------------

/**
 * Per output index along an axis of size S: the source box (first index, count, fixed-point
 * coefficient) of PIL's BOX resize to m = int(S·c) and back. PIL's precompute_coeffs: scale = S/m,
 * support = scale/2, centre (i + ½)·scale, box weight 1 on (j + ½ − centre)/scale ∈ (−½, ½];
 * coefficients 1/count in 22-bit fixed point. The way back is a nearest copy of index ⌊(y + ½)·m/S⌋.
 */
export function pixelateSpans(S: number, m: number): [number, number, number][] {
  const scale = S / m;
  const support = 0.5 * scale;
  const down: [number, number, number][] = [];
  for (let i = 0; i < m; i++) {
    const center = (i + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), S);
    let first = -1;
    let count = 0;
    for (let j = xmin; j < xmax; j++) {
      const arg = (j - center + 0.5) / scale;
      if (arg > -0.5 && arg <= 0.5) {
        if (first < 0) first = j;
        count++;
      }
    }
    down.push([first, count, Math.trunc(0.5 + (1 / count) * (1 << 22))]);
  }
  return Array.from({ length: S }, (_, y) => down[Math.min(m - 1, Math.trunc((y + 0.5) * (m / S)))]);
}

export function pixelate(images: Tensor, factor: number): Tensor {
  const [, H, W, C] = checkImages('pixelate', images);
  if (!(factor > 0 && factor <= 1)) throw new Error(`pixelate: the resize factor must be in (0, 1], got ${factor}`);
  const mh = Math.max(1, Math.trunc(H * factor));
  const mw = Math.max(1, Math.trunc(W * factor));
  const spans = [...pixelateSpans(H, mh), ...pixelateSpans(W, mw)];
  return scope(() => {
    const table = tensor(Uint32Array.from(spans.flatMap(([a, b, k]) => [a, b, k, 0])), [spans.length, 4]);
    const out = empty(images.shape);
    run(boxResampleProgram, { src: images, spans: table, out }, { count: out.size, H, W, C }, workgroups(out.size), `corrupt pixelate ${factor} [${images.shape}]`);
    return out;
  });
}

// ---- jpeg_compression -----------------------------------------------------------------------------

/**
 * PIL's img.save(JPEG, quality) then decode, reproduced on the GPU with libjpeg's integer steps
 * (4:2:0 chroma, islow DCTs, fancy upsampling; see shaders/corrupt/jpeg.ts). The entropy coding is
 * lossless and skipped. Reads the images' uint8 bytes (truncated, as the published PIL image holds).
 */
export function jpegCompression(images: Tensor, quality: number): Tensor {
  const [N, H, W] = checkImages('jpeg_compression', images);
  const Hy = 8 * Math.ceil(H / 8);
  const Wy = 8 * Math.ceil(W / 8);
  const Hc = 8 * Math.ceil(H / 16);
  const Wc = 8 * Math.ceil(W / 16);
  const dims = { H, W, Hy, Wy, Hc, Wc };
  return scope(() => {
    const planes = empty([N * (Hy * Wy + 2 * Hc * Wc)]);
    const blocks = N * ((Hy * Wy) / 64 + (2 * Hc * Wc) / 64);
    run(jpegBlockProgram, { src: images, qt: tensor(quantTables(quality), [128], 'u32'), planes }, { count: blocks, ...dims }, workgroups(blocks), `corrupt jpeg blocks q${quality} [${images.shape}]`);
    const out = empty(images.shape);
    run(jpegPixelProgram, { planes, out }, { count: N * H * W, ...dims }, workgroups(N * H * W), `corrupt jpeg pixels [${images.shape}]`);
    return out;
  });
}

export const DIGITAL_CORRUPTIONS: Corruption[] = [
  { name: 'elastic_transform', gpu: true, apply: (x, s, ctx) => elasticTransform(x, atSeverity(parameterTable(ctx.parameters).elastic_transform, s), ctx.generator) },
  { name: 'pixelate', gpu: true, apply: (x, s, ctx) => pixelate(x, atSeverity(parameterTable(ctx.parameters).pixelate, s)) },
  { name: 'jpeg_compression', gpu: true, apply: (x, s, ctx) => jpegCompression(x, atSeverity(parameterTable(ctx.parameters).jpeg_compression, s)) },
];
