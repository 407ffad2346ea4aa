// brightness, contrast, saturate: per-pixel kernels (shaders/corrupt/pixel.ts); HSV as skimage.
import { mean } from '../../engine/ops/reduce.js';
import { scope, type Tensor } from '../../engine/tensor.js';
import { checkImages, shade } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption } from './types.js';

/** HSV value + c, clipped, back to RGB. */
export function brightness(images: Tensor, c: number): Tensor {
  checkImages('brightness', images);
  return shade('brightness', images, {}, { s0: c });
}

/** HSV saturation·factor + shift, clipped, back to RGB. */
export function saturate(images: Tensor, factor: number, shift: number): Tensor {
  checkImages('saturate', images);
  return shade('saturate', images, {}, { s0: factor, s1: shift });
}

/** (x − m)·c + m with m each image's per-channel mean (np.mean over axes 0, 1). */
export function contrast(images: Tensor, c: number): Tensor {
  checkImages('contrast', images);
  return scope(() => shade('contrast', images, { means: mean(images, [1, 2]) }, { s0: c }));
}

export const COLOR_CORRUPTIONS: Corruption[] = [
  { name: 'brightness', gpu: true, apply: (x, s, ctx) => brightness(x, atSeverity(parameterTable(ctx.parameters).brightness, s)) },
  { name: 'contrast', gpu: true, apply: (x, s, ctx) => contrast(x, atSeverity(parameterTable(ctx.parameters).contrast, s)) },
  { name: 'saturate', gpu: true, apply: (x, s, ctx) => saturate(x, ...atSeverity(parameterTable(ctx.parameters).saturate, s)) },
];
