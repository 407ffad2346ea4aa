import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { Generator } from '../engine/ops/random.js';
import { tensor, type Tensor } from '../engine/tensor.js';
import { defocusBlur, gaussianBlur, glassBlur, motionBlurWithAngles, zoomBlur } from '../experiments/corruptions/blur.js';
import { brightness, contrast, saturate } from '../experiments/corruptions/color.js';
import { elasticWithRandom, jpegCompression, pixelate } from '../experiments/corruptions/digital.js';
import { frostWithDraws, proceduralFrostTextures, PROCEDURAL_FROST_NOTE, frostTexturesFor } from '../experiments/corruptions/frost.js';
import { loadFrostTextures } from '../experiments/corruptions/frost-node.js';
import { CORRUPTIONS, corrupt } from '../experiments/corruptions/index.js';
import { applyNoise } from '../experiments/corruptions/noise.js';
import { CIFAR10_C, TINY_IMAGENET_C, type CorruptionParameters } from '../experiments/corruptions/parameters.js';
import { decodePng } from '../experiments/corruptions/png.js';
import { fromUint8, packUint8, quantize, toUint8 } from '../experiments/corruptions/quantize.js';
import { spatterWithNoise } from '../experiments/corruptions/spatter.js';
import { CORRUPTION_NAMES, type CorruptionContext, type CorruptionName, type ParameterSet } from '../experiments/corruptions/types.js';
import { fogWithFractal, plasmaFractal, snowWithNoise } from '../experiments/corruptions/weather.js';
import { crc32 } from '../experiments/io/png.js';
import { jpegFixture } from './fixtures/jpeg-files.js';
import { rejects, rng, setupGpu } from './helpers.js';
import { contrastRef, defocusRef, elasticRef, jpegRef, fogRef, frostRef, glassBlurRef, hsvRef, motionRef, pixelateRef, snowRef, spatterRef, zoomBlurRef, gaussianFilterRef, type Shape4 } from './reference/corruptions.js';

test.before(setupGpu);

const TABLES: Record<ParameterSet, CorruptionParameters> = { cifar10: CIFAR10_C, tinyimagenet: TINY_IMAGENET_C };
const SEVERITIES = [1, 2, 3, 4, 5];
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Smooth, photo-like test images on the uint8 grid: a vertical gradient, a few flat-coloured
 * ellipses and a rectangle with hard edges, a faint texture, and a few pure black and white pixels
 * (so clipping paths run).
 */
function natural(shape: Shape4, seed: number): Float32Array {
  const [N, H, W] = shape;
  const r = rng(seed);
  const out = new Float32Array(numel(shape));
  for (let n = 0; n < N; n++) {
    const top = [r(), r(), r()];
    const bottom = [r(), r(), r()];
    const shapes = Array.from({ length: 3 }, () => ({ cx: r(), cy: r(), rx: 0.1 + 0.25 * r(), ry: 0.1 + 0.25 * r(), color: [r(), r(), r()] }));
    const rect = { x0: r() * 0.6, y0: r() * 0.6, w: 0.2 + 0.3 * r(), h: 0.2 + 0.3 * r(), color: [r(), r(), r()] };
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const u = (x + 0.5) / W;
        const v = (y + 0.5) / H;
        let c = top.map((t, k) => t * (1 - v) + bottom[k] * v);
        for (const s of shapes) if (((u - s.cx) / s.rx) ** 2 + ((v - s.cy) / s.ry) ** 2 < 1) c = s.color;
        if (u > rect.x0 && u < rect.x0 + rect.w && v > rect.y0 && v < rect.y0 + rect.h) c = rect.color;
        const texture = 0.03 * Math.sin(2.1 * x + 1.3 * y + n);
        const special = r();
        for (let k = 0; k < 3; k++) {
          let value = Math.min(1, Math.max(0, c[k] + texture));
          if (special < 0.01) value = 0;
          else if (special > 0.99) value = 1;
          out[((n * H + y) * W + x) * 3 + k] = Math.fround(Math.floor(value * 255) * Math.fround(1 / 255));
        }
      }
  }
  return out;
}

const ctxFor = (parameters: ParameterSet, generator = new Generator(2024)): CorruptionContext => ({ generator, parameters });

/**
 * |actual − expected| ≤ tol everywhere, except that an output quantised to 1/255 (after `raw`)
 * may be one level off (times `weight`, the factor the level enters the output with) where `raw`·255
 * lies within `margin` of the quantiser's threshold: f32 and float64 may round such a value to
 * either side (and a bilinear weight of exactly ½ lands on the threshold itself).
 */
function assertQuantized(actual: ArrayLike<number>, expected: ArrayLike<number>, raw: ArrayLike<number>, kind: 'round' | 'trunc', tol: number, margin: number, label: string, weight = 1): void {
  assert.is(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (err <= tol) continue;
    const f = raw[i] * 255 - Math.floor(raw[i] * 255);
    const distance = kind === 'round' ? Math.abs(f - 0.5) : Math.min(f, 1 - f);
    if (err <= weight / 255 + tol && distance < margin) continue;
    assert.unreachable(`${label}: element ${i}: got ${actual[i]}, expected ${expected[i]} (raw ${raw[i]})`);
  }
}

/**
 * For pipelines with 8-bit steps in the middle (glass blur, snow, spatter): elements agree within
 * tol, except at most `fraction` of them, which may differ by up to `level` (a few 1/255 steps: an
 * intermediate value on a quantisation threshold rounds differently in f32 and float64 and the
 * later blurs spread that one level). Returns the number of such elements.
 */
function assertMostlyClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, level: number, fraction: number, label: string): number {
  assert.is(actual.length, expected.length, `${label}: length`);
  let off = 0;
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (err <= tol) continue;
    off++;
    if (err > level) assert.unreachable(`${label}: element ${i}: got ${actual[i]}, expected ${expected[i]}`);
  }
  assert.ok(off <= fraction * actual.length, `${label}: ${off} of ${actual.length} elements differ by more than ${tol}`);
  return off;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, label: string): void {
  assertMostlyClose(actual, expected, tol, tol, 0, label);
}

const SMALL: Shape4 = [2, 9, 11, 3];
const CIFAR: Shape4 = [2, 32, 32, 3];

// ---- deterministic corruptions against their references ------------------------------------------

// Separable f32 filters: each output is a sum of ≤ 2·(2r+1) products of normalised weights and values
// in [0, 1], so |f32 − float64| ≤ ~2·(2r+3)·2^-24 ≤ 3e-6 for r ≤ 6; 1e-5 leaves room for the weights'
// own rounding.
test('gaussian_blur matches scipy gaussian_filter (nearest, truncate 4) for both tables', async () => {
  for (const shape of [SMALL, CIFAR]) {
    const x = natural(shape, 1);
    for (const set of ['cifar10', 'tinyimagenet'] as ParameterSet[])
      for (const s of [1, 3, 5]) {
        const sigma = TABLES[set].gaussian_blur[s - 1];
        const y = await gaussianBlur(tensor(x, shape), sigma).toArray();
        assertClose(y, gaussianFilterRef(x, shape, sigma).map((v) => Math.min(1, Math.max(0, v))), 1e-5, `gaussian_blur ${set} ${s} [${shape}]`);
      }
  }
});

// The disk kernel has ≤ 81 non-zero taps summing to 1: error ≤ 83·2^-24 ≈ 5e-6.
test('defocus_blur matches cv2.filter2D with the published disk kernel', async () => {
  for (const shape of [SMALL, CIFAR]) {
    const x = natural(shape, 2);
    for (const [radius, alias] of [...CIFAR10_C.defocus_blur, ...TINY_IMAGENET_C.defocus_blur.slice(3)]) {
      const y = await defocusBlur(tensor(x, shape), radius, alias).toArray();
      assertClose(y, defocusRef(x, shape, radius, alias), 1e-5, `defocus_blur (${radius}, ${alias}) [${shape}]`);
    }
  }
});

// A mean of ≤ 27 bilinear samples, each 3 roundings: error ≤ ~1e-6; coordinates in f32 (|x| ≤ 64,
// error ≤ 4e-6 px) move a sample by at most that times the largest pixel step (1): 1e-5 in all.
test('zoom_blur averages the image with all its clipped zooms (scipy zoom, order 1)', async () => {
  for (const shape of [CIFAR, [1, 64, 64, 3] as Shape4, [1, 7, 7, 3] as Shape4]) {
    const x = natural(shape, 3);
    for (const stop of CIFAR10_C.zoom_blur) {
      const y = await zoomBlur(tensor(x, shape), stop).toArray();
      assertClose(y, zoomBlurRef(x, shape, stop), 1e-5, `zoom_blur ${stop} [${shape}]`);
    }
  }
});

test('motion_blur matches ImageMagick MotionBlurImage for given angles, truncated to 8 bits', async () => {
  for (const shape of [SMALL, CIFAR]) {
    const x = natural(shape, 4);
    const angles = Float32Array.from({ length: shape[0] }, (_, n) => [-37.3, 44.1, 12.5][n % 3]);
    for (const [radius, sigma] of [CIFAR10_C.motion_blur[0], CIFAR10_C.motion_blur[4], TINY_IMAGENET_C.motion_blur[4]]) {
      const y = await motionBlurWithAngles(tensor(x, shape), tensor(angles), radius, sigma).toArray();
      const ref = motionRef(x, shape, angles, radius, sigma);
      // Before rounding: a normalised sum of ≤ 25 taps, f32 error ≤ 3e-6 (weights included).
      assertQuantized(y, ref.out, ref.raw, 'trunc', 1e-6, 2e-3, `motion_blur (${radius}, ${sigma}) [${shape}]`);
    }
  }
});

test('glass_blur reproduces the sequential copy-shuffle loop with the same draws', async () => {
  const cases: [Shape4, readonly [number, number, number]][] = [
    [SMALL, CIFAR10_C.glass_blur[1]],
    [CIFAR, CIFAR10_C.glass_blur[4]],
    [CIFAR, TINY_IMAGENET_C.glass_blur[3]],
    [[1, 64, 64, 3], TINY_IMAGENET_C.glass_blur[4]],
  ];
  for (const [shape, [sigma, delta, iterations]] of cases) {
    const x = natural(shape, 5);
    const gen = new Generator(77n, { offset: 0xfffffff0n, stream: 3 });
    const rngState = { seed: gen.seed, offset: gen.offset, stream: gen.stream };
    const y = await glassBlur(tensor(x, shape), sigma, delta, iterations, gen).toArray();
    // The middle uint8 step can round a value on a threshold either way (see assertMostlyClose);
    // the copies and the second blur carry such a one-level change to at most a few pixels.
    assertMostlyClose(y, glassBlurRef(x, shape, sigma, delta, iterations, rngState), 1e-5, 1 / 255 + 1e-5, 0.002, `glass_blur (${sigma}, ${delta}, ${iterations}) [${shape}]`);
  }
});

// ---- weather --------------------------------------------------------------------------------------

// The raw fractal reaches ±10^4 in f32 (relative error ~1e-6 after a few levels of means); normalised
// to [0, 1] that is ≤ 1e-5, and the blend scales it by at most 1.
test('fog: diamond-square plasma fractal and blend match the published algorithm', async () => {
  for (const [shape, set, s] of [[CIFAR, 'cifar10', 1], [CIFAR, 'cifar10', 5], [SMALL, 'tinyimagenet', 3], [[1, 64, 64, 3], 'tinyimagenet', 5]] as [Shape4, ParameterSet, number][]) {
    const x = natural(shape, 6);
    const [strength, decay] = TABLES[set].fog[s - 1];
    const gen = new Generator(99n, { offset: 5n, stream: 1 });
    const rngState = { seed: gen.seed, offset: gen.offset, stream: gen.stream };
    const M = shape[1] <= 16 && shape[2] <= 16 ? 16 : shape[1] <= 32 ? 32 : 64;
    const fractal = plasmaFractal(shape[0], M, decay, gen);
    const y = await fogWithFractal(tensor(x, shape), fractal, strength).toArray();
    assertClose(y, fogRef(x, shape, strength, decay, rngState), 2e-5, `fog ${set} ${s} [${shape}]`);
  }
});

test('frost: cv2.resize of the first five textures, random crop and blend', async () => {
  const r = rng(8);
  const textures = [[40, 60], [36, 50], [45, 45], [38, 70], [50, 41], [60, 60]].map(([h, w]) => ({ h, w, data: Float32Array.from({ length: h * w * 3 }, () => Math.fround(Math.floor(r() * 256) / 255)) }));
  const gpuTextures = textures.map((t) => tensor(t.data, [t.h, t.w, 3]));
  const shape: Shape4 = [6, 9, 11, 3];
  const x = natural(shape, 9);
  const draws = Uint32Array.from({ length: 4 * shape[0] }, () => Math.floor(r() * 2 ** 32));
  for (const [c0, c1] of [CIFAR10_C.frost[0], CIFAR10_C.frost[4]]) {
    // 0.3 keeps every resized texture above 9×11, so no texture is enlarged to fit.
    const y = await frostWithDraws(tensor(x, shape), gpuTextures, tensor(draws, [shape[0], 4], 'u32'), c0, c1, 0.3).toArray();
    // Bilinear resize then one 8-bit rounding (margin-checked), then a 2-term blend: error ≤ 1e-6.
    const ref = frostRef(x, shape, textures, draws, c0, c1, 0.3);
    assertQuantized(y, ref.out, ref.texture, 'round', 1e-6, 1e-4, `frost (${c0}, ${c1})`, c1);
  }
  // Six images, each drawing one of the first five textures: the sixth is never used.
  const picks = Array.from({ length: shape[0] }, (_, n) => Number((BigInt(draws[4 * n]) * 5n) >> 32n));
  assert.ok(picks.every((k) => k < 5));
});

test('snow: zoomed, thresholded 8-bit layer, motion blur and grey-lifted blend', async () => {
  for (const [set, s] of [['cifar10', 1], ['cifar10', 3], ['tinyimagenet', 5]] as [ParameterSet, number][]) {
    const shape: Shape4 = [3, 32, 32, 3];
    const p = TABLES[set].snow[s - 1];
    const r = rng(10 + s);
    const noise = Float32Array.from({ length: 3 * 32 * 32 }, () => Math.fround(p[0] + p[1] * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
    const angles = Float32Array.of(-130, -90.5, -47);
    const x = natural(shape, 12);
    const y = await snowWithNoise(tensor(x, shape), tensor(noise, [3, 32, 32]), tensor(angles), p).toArray();
    assertMostlyClose(y, snowRef(x, shape, noise, angles, p), 1e-5, 2 / 255 + 1e-5, 0.01, `snow ${set} ${s}`);
  }
});

test('spatter: water (Canny, chamfer distance, equalised emboss) and mud match OpenCV-style references', async () => {
  for (const [set, s] of [['cifar10', 1], ['cifar10', 3], ['cifar10', 4], ['tinyimagenet', 2], ['tinyimagenet', 5]] as [ParameterSet, number][]) {
    const shape: Shape4 = [3, 32, 32, 3];
    const p = TABLES[set].spatter[s - 1];
    const r = rng(20 + s);
    const noise = Float32Array.from({ length: 3 * 32 * 32 }, () => Math.fround(p[0] + p[1] * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r())));
    const x = natural(shape, 13);
    const y = await spatterWithNoise(tensor(x, shape), tensor(noise, [3, 32, 32]), p).toArray();
    assertMostlyClose(y, spatterRef(x, shape, noise, p), 1e-5, 1e-5, 0, `spatter ${set} ${s}`);
  }
});

// ---- colour ---------------------------------------------------------------------------------------

// HSV round trips: a few f32 operations on values ≤ 1 (divisions by delta can amplify the hue's error
// by 1/delta, but the result's error stays ≤ a few ulps of v): 2e-6.
test('brightness, saturate (skimage HSV) and contrast (per-channel mean) match the references', async () => {
  for (const shape of [SMALL, CIFAR]) {
    const x = natural(shape, 14);
    for (const set of ['cifar10', 'tinyimagenet'] as ParameterSet[])
      for (const s of SEVERITIES) {
        const t = TABLES[set];
        assertClose(await brightness(tensor(x, shape), t.brightness[s - 1]).toArray(), hsvRef(x, 2, 1, t.brightness[s - 1]), 2e-6, `brightness ${set} ${s}`);
        const [factor, shift] = t.saturate[s - 1];
        assertClose(await saturate(tensor(x, shape), factor, shift).toArray(), hsvRef(x, 1, factor, shift), 2e-6, `saturate ${set} ${s}`);
        // The mean is a reduction of up to 1024 terms: relative error ≤ ~1024·2^-24 ≈ 6e-5 worst case.
        assertClose(await contrast(tensor(x, shape), t.contrast[s - 1]).toArray(), contrastRef(x, shape, t.contrast[s - 1]), 2e-5, `contrast ${set} ${s}`);
      }
  }
});

// ---- digital --------------------------------------------------------------------------------------

// Coordinates pass through an f32 affine solve and a Gaussian-smoothed field (≤ 1e-5 px error each);
// bilinear samples move by at most that times the largest step between neighbours (1): 5e-5. The
// warp's coordinates are then rounded to 1/32 pixel as OpenCV does; an f32 matrix (float64 in the
// reference) can round the other way at a few pixels, moving that sample by 1/32 pixel: at most
// 1/32 of a full-range step, allowed for 1% of the elements.
test('elastic_transform: warpAffine (reflect-101) then map_coordinates (reflect) for given randomness', async () => {
  for (const [shape, set] of [[CIFAR, 'cifar10'], [[1, 64, 64, 3], 'tinyimagenet'], [[2, 12, 12, 3], 'cifar10']] as [Shape4, ParameterSet][])
    for (const s of SEVERITIES) {
      const [N, H, W] = shape;
      const size = Math.min(H, W);
      const [alpha, sigma, jitter] = TABLES[set].elastic_transform[s - 1].map((f) => f * size);
      const r = rng(30 + s);
      const deltas = Float32Array.from({ length: 6 * N }, () => Math.fround((2 * r() - 1) * jitter));
      const fields = Float32Array.from({ length: 2 * N * H * W }, () => Math.fround(2 * r() - 1));
      const x = natural(shape, 15);
      const y = await elasticWithRandom(tensor(x, shape), tensor(deltas, [N, 6]), tensor(fields, [N, H, W, 2]), alpha, sigma).toArray();
      assertMostlyClose(y, elasticRef(x, shape, deltas, fields, alpha, sigma), 5e-5, 1 / 32, 0.01, `elastic ${set} ${s} [${shape}]`);
    }
});

test("pixelate equals PIL's 8-bit BOX resize down and up exactly", async () => {
  for (const shape of [SMALL, CIFAR, [1, 64, 64, 3] as Shape4])
    for (const set of ['cifar10', 'tinyimagenet'] as ParameterSet[])
      for (const s of SEVERITIES) {
        const x = natural(shape, 16);
        const factor = TABLES[set].pixelate[s - 1];
        assertClose(await pixelate(tensor(x, shape), factor).toArray(), pixelateRef(x, shape, factor), 0, `pixelate ${factor} [${shape}]`);
      }
});

test('jpeg_compression reproduces libjpeg: 4:2:0, islow DCTs, IJG quality tables, fancy upsampling', async () => {
  // Integer arithmetic throughout: exact. Sizes cover padding to 8/16, odd and even edges, 1 pixel.
  for (const shape of [SMALL, CIFAR, [1, 40, 72, 3], [1, 1, 1, 3], [1, 24, 17, 3]] as Shape4[]) {
    const x = natural(shape, 17);
    for (const quality of [...new Set([...CIFAR10_C.jpeg_compression, ...TINY_IMAGENET_C.jpeg_compression])]) {
      const y = await jpegCompression(tensor(x, shape), quality).toArray();
      assertClose(y, jpegRef(x, shape, quality), 1e-7, `jpeg q${quality} [${shape}]`);
    }
  }
});

// ---- noise ----------------------------------------------------------------------------------------

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  const mean = s / values.length;
  let q = 0;
  for (let i = 0; i < values.length; i++) q += (values[i] - mean) ** 2;
  return { mean, variance: q / (values.length - 1) };
}

/** E[g(Z)] for Z ~ N(0, 1) by Simpson's rule on [−9, 9]. */
function normalExpect(g: (z: number) => number): number {
  const n = 4000;
  const h = 18 / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const z = -9 + i * h;
    s += (i === 0 || i === n ? 1 : i % 2 ? 4 : 2) * g(z) * Math.exp(-z * z / 2);
  }
  return (s * h) / 3 / Math.sqrt(2 * Math.PI);
}

/**
 * The sample mean and variance of d = corrupted − clean over n elements lie within 6 standard
 * errors of the exact clipped distribution's: sd(mean) = σ/√n, sd(s²) ≈ √((μ4 − σ⁴)/n). A correct
 * sampler fails this about once in 5·10^8 (fixed seeds make it reproducible anyway).
 */
function assertDistribution(d: ArrayLike<number>, expect: (g: (v: number) => number) => number, label: string): void {
  const mean = expect((v) => v);
  const variance = expect((v) => (v - mean) ** 2);
  const mu4 = expect((v) => (v - mean) ** 4);
  const m = moments(d);
  const n = d.length;
  const meanTol = 6 * Math.sqrt(variance / n);
  const varTol = 6 * Math.sqrt(Math.max(mu4 - variance ** 2, 1e-30) / n);
  assert.ok(Math.abs(m.mean - mean) <= meanTol, `${label}: mean ${m.mean} vs ${mean} ± ${meanTol.toExponential(2)}`);
  assert.ok(Math.abs(m.variance - variance) <= varTol, `${label}: variance ${m.variance} vs ${variance} ± ${varTol.toExponential(2)}`);
}

const clip = (v: number) => Math.min(1, Math.max(0, v));

test('gaussian and speckle noise: moments of (corrupted − clean) match the clipped normal', async () => {
  const n = 60000;
  for (const level of [0.5, 0.1, 0.9]) {
    const x = new Float32Array(n).fill(Math.fround(level));
    for (const sigma of [CIFAR10_C.gaussian_noise[0], TINY_IMAGENET_C.gaussian_noise[4]]) {
      const y = await applyNoise('gaussian', tensor(x, [n / 3 / 10, 10, 1, 3]), sigma, new Generator(41)).toArray();
      assertDistribution(y.map((v) => v - x[0]), (g) => normalExpect((z) => g(clip(x[0] + sigma * z) - x[0])), `gaussian σ=${sigma} x=${level}`);
    }
    for (const sigma of [CIFAR10_C.speckle_noise[0], TINY_IMAGENET_C.speckle_noise[4]]) {
      const y = await applyNoise('speckle', tensor(x, [n / 3 / 10, 10, 1, 3]), sigma, new Generator(42)).toArray();
      assertDistribution(y.map((v) => v - x[0]), (g) => normalExpect((z) => g(clip(x[0] + x[0] * sigma * z) - x[0])), `speckle σ=${sigma} x=${level}`);
    }
  }
});

/** Poisson(μ) pmf by the log-space recurrence, summed until negligible. */
function poissonExpect(mu: number, g: (k: number) => number): number {
  let s = 0;
  const top = Math.ceil(mu + 12 * Math.sqrt(mu) + 30);
  let logp = -mu;
  for (let k = 0; k <= top; k++) {
    if (k > 0) logp += Math.log(mu) - Math.log(k);
    s += Math.exp(logp) * g(k);
  }
  return s;
}

test('shot noise: Poisson(λx)/λ moments, on both sides of the λx = 10 sampler switch', async () => {
  const n = 60000;
  for (const [lambda, level] of [[500, 0.5], [250, 0.02], [15, 0.6], [50, 0.1], [15, 0.1], [100, 0.9]]) {
    const x = Math.fround(level);
    const y = await applyNoise('shot', tensor(new Float32Array(n).fill(x), [n / 3, 1, 1, 3]), lambda, new Generator(43)).toArray();
    assertDistribution(y.map((v) => v - x), (g) => poissonExpect(Math.fround(x * lambda), (k) => g(clip(k / lambda) - x)), `shot λ=${lambda} x=${level}`);
  }
});

test('impulse noise: each element independently 0 or 1 with probability amount/2 each', async () => {
  const n = 90000;
  const x = Float32Array.from({ length: n }, (_, i) => Math.fround(((i * 37) % 253 + 1) / 255));
  for (const amount of [CIFAR10_C.impulse_noise[0], TINY_IMAGENET_C.impulse_noise[4]]) {
    const y = await applyNoise('impulse', tensor(x, [n / 3 / 30, 30, 1, 3]), amount, new Generator(44)).toArray();
    let salt = 0;
    let pepper = 0;
    let other = 0;
    for (let i = 0; i < n; i++) {
      if (y[i] === x[i]) continue;
      if (y[i] === 1) salt++;
      else if (y[i] === 0) pepper++;
      else other++;
    }
    assert.is(other, 0, 'changed elements are 0 or 1');
    for (const [count, what] of [[salt, 'salt'], [pepper, 'pepper']] as [number, string][]) {
      const p = amount / 2;
      const tol = 6 * Math.sqrt(n * p * (1 - p));
      assert.ok(Math.abs(count - n * p) <= tol, `${what} at amount ${amount}: ${count} vs ${n * p} ± ${tol.toFixed(0)}`);
    }
  }
});

// ---- every corruption ------------------------------------------------------------------------------

/**
 * Published parameters that do not increase the change monotonically:
 *   saturate           factors .3, .1, 1.5, 2, 2.5 (CIFAR) / .3, .1, 2, 5, 30: desaturation (1, 2) and
 *                      saturation (3–5) are different directions; which changes an image more depends
 *                      on how colourful it is
 *   frost              the image weight falls while the frost weight rises: (.9, .4) → (.85, .4) only
 *                      removes image; whether that moves it away from clean depends on its brightness
 *   elastic_transform  the affine jitter shrinks (.08 → .03 of the size) while the displacement grows
 *   spatter            severities 1–3 are water, 4–5 mud: different effects, not one scale
 *   glass_blur         CIFAR severity 4 (σ .25, 2 rounds) vs 3 (σ .4, 1 round): no fixed order
 * For these every severity must still change the images. And one pair is the same corruption:
 *   motion_blur CIFAR severities 3 and 4, (radius 6, σ 2) and (8, 2): the taps beyond 6 pixels weigh
 *                      exp(−7²/8) ≈ 2e-3 of the first, so the two differ by at most a few 8-bit levels
 *                      either way (allowed: 2% of the distance).
 * Each severity is run with the same generator seed (common random numbers), so the comparison
 * sees the parameters, not different noise draws.
 */
const NON_MONOTONE = new Set<CorruptionName>(['saturate', 'frost', 'elastic_transform', 'spatter', 'glass_blur']);
const SAME_PAIRS: Partial<Record<ParameterSet, Partial<Record<CorruptionName, number[]>>>> = { cifar10: { motion_blur: [3] } };

async function meanDistance(y: Tensor, x: Float32Array): Promise<number> {
  const v = await quantize(y).toArray();
  let d = 0;
  for (let i = 0; i < v.length; i++) d += Math.abs(v[i] - x[i]);
  return d / v.length;
}

for (const [set, shape] of [['cifar10', [6, 32, 32, 3]], ['tinyimagenet', [3, 64, 64, 3]]] as [ParameterSet, Shape4][]) {
  test(`every corruption (${set}): right shape, in [0, 1], distance from clean grows with severity`, async () => {
    const x = natural(shape, 50);
    const clean = tensor(x, shape);
    const frostTextures = proceduralFrostTextures(5, 1);
    const report: string[] = [];
    for (const name of CORRUPTION_NAMES) {
      const distances: number[] = [];
      for (const s of SEVERITIES) {
        const y = await corrupt(clean, name, s, { ...ctxFor(set, new Generator(set === 'cifar10' ? 7 : 8)), frostTextures });
        assert.equal([...y.shape], [...shape], `${name} ${s}: shape`);
        const values = await y.toArray();
        assert.ok(values.every((v) => v >= 0 && v <= 1), `${name} ${s}: values outside [0, 1]`);
        distances.push(await meanDistance(y, x));
        y.dispose();
      }
      report.push(`${name}: ${distances.map((d) => d.toFixed(4)).join(' ')}`);
      assert.ok(distances.every((d) => d > 0), `${name}: some severity leaves the images unchanged: ${distances}`);
      if (!NON_MONOTONE.has(name)) {
        const same = SAME_PAIRS[set]?.[name] ?? [];
        for (let s = 1; s < 5; s++) {
          const slack = same.includes(s) ? 0.02 * distances[s - 1] : 0;
          assert.ok(distances[s] >= distances[s - 1] - slack, `${name}: distance falls from severity ${s} to ${s + 1}: ${distances.join(', ')}`);
        }
        assert.ok(distances[4] > distances[0], `${name}: severity 5 is no stronger than 1: ${distances.join(', ')}`);
      }
    }
    if (process.env.CORRUPTION_REPORT) console.log(report.join('\n'));
  });
}

test('corrupt() leaves its input alone and is reproducible from the generator state', async () => {
  const shape: Shape4 = [2, 16, 16, 3];
  const x = natural(shape, 60);
  const clean = tensor(x, shape);
  for (const name of ['gaussian_noise', 'glass_blur', 'fog', 'elastic_transform'] as CorruptionName[]) {
    const a = await (await corrupt(clean, name, 3, ctxFor('cifar10', new Generator(5)))).toArray();
    const b = await (await corrupt(clean, name, 3, ctxFor('cifar10', new Generator(5)))).toArray();
    assert.equal(Array.from(a), Array.from(b), `${name}: same seed, same result`);
  }
  assert.equal(Array.from(await clean.toArray()), Array.from(x));
});

// ---- quantisation, files, errors ------------------------------------------------------------------

test('quantize truncates to the uint8 grid; packUint8/toUint8/fromUint8 round-trip bytes', async () => {
  const values = Float32Array.from([-0.5, 0, 1e-9, 0.5, 0.999, 1, 1.5, 0.25, ...Array.from({ length: 256 }, (_, k) => Math.fround(k * Math.fround(1 / 255)))]);
  const q = await quantize(tensor(values)).toArray();
  const expected = Array.from(values, (v) => Math.fround(Math.floor(Math.min(1, Math.max(0, v)) * 255) * Math.fround(1 / 255)));
  assert.equal(Array.from(q), expected);
  const bytes = await toUint8(tensor(values));
  assert.equal(Array.from(bytes), Array.from(values, (v) => Math.floor(Math.min(1, Math.max(0, v)) * 255)));
  assert.is(packUint8(tensor(values)).size, Math.ceil(values.length / 4));
  const back = await fromUint8(bytes, [bytes.length]).toArray();
  assert.equal(Array.from(await toUint8(tensor(back))), Array.from(bytes));
});

/** A PNG with the given colour type, bit depth and per-row filter types, made here (with a CRC and real zlib). */
function makePng(width: number, height: number, colorType: number, depth: number, samples: number[][], filters: number[]): Uint8Array {
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6];
  const bpp = Math.max(1, (channels * depth) >> 3);
  const stride = (width * channels * depth) / 8;
  const rows: Uint8Array[] = [];
  for (let y = 0; y < height; y++) {
    const row = new Uint8Array(stride);
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const v = samples[y * width + x][c];
        if (depth === 16) {
          row[2 * (x * channels + c)] = v;
          row[2 * (x * channels + c) + 1] = 0x5a;
        } else row[x * channels + c] = v;
      }
    rows.push(row);
  }
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    raw[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[y][i - bpp] : 0;
      const b = y > 0 ? rows[y - 1][i] : 0;
      const c = i >= bpp && y > 0 ? rows[y - 1][i - bpp] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f];
      raw[y * (stride + 1) + 1 + i] = (rows[y][i] - pred) & 0xff;
    }
  }
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  const z = new Uint8Array(deflateSync(raw));
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', z.subarray(0, 7)), chunk('IDAT', z.subarray(7)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('PNG decoder: every filter type, RGB/RGBA/grey/grey+alpha, 8 and 16 bits; loadFrostTextures reads PNG and JPEG', async () => {
  const r = rng(70);
  const inflate = (d: Uint8Array) => new Uint8Array(inflateSync(d));
  for (const [colorType, depth] of [[2, 8], [6, 8], [0, 8], [4, 8], [2, 16], [6, 16]]) {
    const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType as 0 | 2 | 4 | 6];
    const samples = Array.from({ length: 7 * 5 }, () => Array.from({ length: channels }, () => Math.floor(r() * 256)));
    const img = decodePng(makePng(7, 5, colorType, depth, samples, [0, 1, 2, 3, 4]), inflate);
    const rgb = samples.flatMap((s) => (channels >= 3 ? s.slice(0, 3) : [s[0], s[0], s[0]]));
    assert.equal([img.width, img.height], [7, 5]);
    assert.equal(Array.from(img.rgb), rgb, `colour type ${colorType}, depth ${depth}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'frost-'));
  try {
    const samples = Array.from({ length: 20 * 12 }, () => [Math.floor(r() * 256), Math.floor(r() * 256), Math.floor(r() * 256), 255]);
    writeFileSync(join(dir, 'frost1.png'), makePng(20, 12, 6, 8, samples, [1, 4]));
    const jpeg = jpegFixture('busy-444');
    writeFileSync(join(dir, 'frost4.jpg'), jpeg.file);
    const textures = await loadFrostTextures(dir);
    assert.equal(textures.map((t) => [t.name, ...t.shape]), [['frost1.png', 12, 20, 3], ['frost4.jpg', jpeg.height, jpeg.width, 3]]);
    const first = await textures[0].toArray();
    assert.is(first[3], Math.fround(samples[1][0] * Math.fround(1 / 255)));
    const second = await textures[1].toArray();
    assert.equal(Array.from(second), Array.from(jpeg.rgb, (b) => Math.fround(b * Math.fround(1 / 255))), 'the JPEG texture holds the pixels PIL decodes');
    await rejects(() => loadFrostTextures(join(dir, 'missing')), /cannot read directory/, 'missing directory');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('procedural frost textures: deterministic, in [0, 1], frost-like brightness; used (with a warning) when none are given', async () => {
  const [a] = proceduralFrostTextures(1, 5);
  const [b] = proceduralFrostTextures(1, 5);
  const va = (await a.toArray()) as Float32Array;
  assert.equal(Array.from(va.subarray(0, 999)), Array.from((await b.toArray()).subarray(0, 999)));
  assert.ok(va.every((v) => v >= 0 && v <= 1));
  let m = 0;
  for (const v of va) m += v / va.length;
  assert.ok(m > 0.3 && m < 0.9, `mean ${m}`);
  assert.match(a.name, /procedural/);
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => warnings.push(msg);
  try {
    const ctx = ctxFor('cifar10');
    assert.is(frostTexturesFor(ctx).length, 5);
    frostTexturesFor(ctx);
  } finally {
    console.warn = warn;
  }
  assert.ok(warnings.length <= 1 && (warnings.length === 0 || warnings[0] === PROCEDURAL_FROST_NOTE));
});

test('bad input: unknown names list the valid ones; severity outside 1–5; non-[N, H, W, 3] batches', async () => {
  const x = tensor(natural([1, 8, 8, 3], 80), [1, 8, 8, 3]);
  const ctx = ctxFor('cifar10');
  const rejects = async (fn: () => Promise<unknown>, re: RegExp, label: string) => {
    try {
      await fn();
    } catch (error) {
      assert.match((error as Error).message, re, label);
      return;
    }
    assert.unreachable(`${label}: did not throw`);
  };
  await rejects(() => corrupt(x, 'fogg', 1, ctx), /unknown corruption 'fogg'; valid names: gaussian_noise, .*jpeg_compression/, 'name');
  for (const s of [0, 6, 2.5, NaN]) await rejects(() => corrupt(x, 'fog', s, ctx), /severity must be an integer from 1 to 5/, `severity ${s}`);
  for (const [shape, dtype] of [[[8, 8, 3], 'f32'], [[1, 8, 8, 1], 'f32'], [[1, 8, 8, 4], 'f32'], [[1, 8, 8, 3], 'i32'], [[0, 8, 8, 3], 'f32']] as [number[], 'f32' | 'i32'][]) {
    const bad = tensor(dtype === 'i32' ? new Int32Array(numel(shape)) : new Float32Array(numel(shape)), shape, dtype);
    for (const name of ['gaussian_noise', 'jpeg_compression', 'spatter']) await rejects(() => corrupt(bad, name, 1, ctx), /must be a non-empty f32 \[N, H, W, 3\] tensor/, `${name} [${shape}] ${dtype}`);
    assert.throws(() => CORRUPTIONS.contrast.apply(bad, 1, ctx), /\[N, H, W, 3\]/);
  }
  await rejects(() => corrupt(x, 'fog', 1, { generator: new Generator(1), parameters: 'imagenet' as ParameterSet }), /ctx.parameters must be 'cifar10' or 'tinyimagenet'/, 'parameter set');
  assert.throws(() => pixelate(x, 1.5), /resize factor must be in \(0, 1\]/);
  assert.throws(() => CORRUPTIONS.elastic_transform.apply(tensor(new Float32Array(12), [1, 2, 2, 3]), 1, ctx), /at least 3×3/);
});

test('parameter tables: every corruption has five severities in both tables; Tiny-ImageNet-C values differ where published', () => {
  for (const t of [CIFAR10_C, TINY_IMAGENET_C]) for (const name of CORRUPTION_NAMES) assert.is((t[name] as readonly unknown[]).length, 5, name);
  assert.equal([...TINY_IMAGENET_C.contrast], [0.4, 0.3, 0.2, 0.1, 0.05]);
  assert.equal([...CIFAR10_C.jpeg_compression], [80, 65, 58, 50, 40]);
  assert.equal(TINY_IMAGENET_C.snow.map((p) => p[6]), [0.8, 0.8, 0.7, 0.65, 0.6]);
  assert.is(CIFAR10_C.frostScale, 0.2);
  assert.is(TINY_IMAGENET_C.frostScale, 0.3);
});

test.run();
