// All 19 corruptions of Hendrycks & Dietterich (2019) at severities 1–5 with the published
// CIFAR-10-C or Tiny-ImageNet-C parameters (ctx.parameters), on f32 NHWC batches in [0, 1] of any
// size, all as GPU kernels (shaders/corrupt/). Outputs are clipped to [0, 1]; apply quantize()
// (./quantize.ts) to get what the published uint8 files hold.
//
// Where the published code calls a library, the kernels follow that library's arithmetic: scipy's
// gaussian_filter / zoom / map_coordinates, skimage's HSV, OpenCV's filter2D, warpAffine (its 1/32
// pixel coordinates), resize, Canny, distanceTransform and equalizeHist, ImageMagick's motion blur
// (truncating 8-bit output), PIL's BOX resize and libjpeg's JPEG. test/corruption-goldens.test.ts
// checks them against outputs of the published code (test/fixtures/corruption-goldens, 32×32 and
// 64×64): uint8 outputs agree exactly for contrast, pixelate, jpeg_compression and spatter given the
// same draws, and within ±1 level everywhere else; the share of values one level apart is ≤ 0.7%
// except brightness, saturate and defocus_blur (≤ 6%, 19% and 3.2%: results that are whole levels
// in exact arithmetic, which float64 puts a hair below) and Tiny-ImageNet-C frost (≤ 7.1%: OpenCV
// resizes the uint8 texture in 11-bit fixed point, ours in float). The noises, glass-blur shuffles, fractals and
// random choices use the context's Philox generator instead of NumPy's, so they match in
// distribution, not draw for draw.
import type { Tensor } from '../../engine/tensor.js';
import { BLUR_CORRUPTIONS } from './blur.js';
import { COLOR_CORRUPTIONS } from './color.js';
import { DIGITAL_CORRUPTIONS } from './digital.js';
import { frostCorruption } from './frost.js';
import { gaussianNoise, impulseNoise, shotNoise, speckleNoise } from './noise.js';
import { checkImages } from './ops.js';
import { spatterCorruption } from './spatter.js';
import { CORRUPTION_NAMES, checkCorruptionName, checkSeverity, type Corruption, type CorruptionContext, type CorruptionName } from './types.js';
import { WEATHER_CORRUPTIONS } from './weather.js';

const all: Corruption[] = [gaussianNoise, shotNoise, impulseNoise, speckleNoise, ...BLUR_CORRUPTIONS, ...WEATHER_CORRUPTIONS, frostCorruption, spatterCorruption, ...COLOR_CORRUPTIONS, ...DIGITAL_CORRUPTIONS];

export const CORRUPTIONS: Record<CorruptionName, Corruption> = Object.fromEntries(CORRUPTION_NAMES.map((name) => {
  const c = all.find((x) => x.name === name);
  if (!c) throw new Error(`corruptions: '${name}' has no implementation`);
  return [name, c];
})) as Record<CorruptionName, Corruption>;

/**
 * Corrupts a batch: `images` f32 [N, H, W, 3] in [0, 1]; returns a new tensor of that shape in
 * [0, 1] (the input is left alone). Throws for an unknown name (listing the valid ones), a severity
 * outside 1–5 or a batch of another shape.
 */
export async function corrupt(images: Tensor, name: string, severity: number, ctx: CorruptionContext): Promise<Tensor> {
  const corruption = CORRUPTIONS[checkCorruptionName(name)];
  checkSeverity(severity);
  checkImages(name, images);
  if (ctx.parameters !== 'cifar10' && ctx.parameters !== 'tinyimagenet') throw new Error(`${name}: ctx.parameters must be 'cifar10' or 'tinyimagenet', got '${String(ctx.parameters)}'`);
  return await corruption.apply(images, severity, ctx);
}

/**
 * corrupt() for callers that record a whole step synchronously (training augmentation): the same
 * kernels, refusing a corruption whose implementation would need to wait (none does today).
 */
export function corruptNow(images: Tensor, name: CorruptionName, severity: number, ctx: CorruptionContext): Tensor {
  checkSeverity(severity);
  checkImages(name, images);
  const out = CORRUPTIONS[checkCorruptionName(name)].apply(images, severity, ctx);
  if (out instanceof Promise) throw new Error(`${name}: this corruption is asynchronous and cannot run inside a training step`);
  return out;
}

export * from './types.js';
export { parameterTable, defaultParameterSet, CIFAR10_C, TINY_IMAGENET_C, type CorruptionParameters } from './parameters.js';
export { quantize, packUint8, toUint8, fromUint8 } from './quantize.js';
export { proceduralFrostTextures, PROCEDURAL_FROST_NOTE, FROST_TEXTURES_USED } from './frost.js';
