// The published corruption parameters (docs/method.md §6), severity 1..5 in order: CIFAR-10-C for 32×32
// images (make_cifar_c.py) and Tiny-ImageNet-C for 64×64 (make_tinyimagenet_c.py). Tuples keep the
// published argument order; where a value's usual label disagrees with how the code uses it,
// the field names below say how it is used.
import type { ParameterSet } from './types.js';

type Five<T> = readonly [T, T, T, T, T];

export interface CorruptionParameters {
  /** σ of x + N(0, σ). */
  gaussian_noise: Five<number>;
  /** λ of Poisson(λx)/λ. */
  shot_noise: Five<number>;
  /** Salt-and-pepper amount. */
  impulse_noise: Five<number>;
  /** σ of x + x·N(0, σ). */
  speckle_noise: Five<number>;
  /** (disk radius, alias blur σ). */
  defocus_blur: Five<readonly [number, number]>;
  /** (Gaussian σ, max δ, iterations). */
  glass_blur: Five<readonly [number, number, number]>;
  /** (radius, σ) of ImageMagick's motion blur. */
  motion_blur: Five<readonly [number, number]>;
  /** Stop of arange(1, stop, 0.01): the zoom factors averaged. */
  zoom_blur: Five<number>;
  /** Gaussian σ. */
  gaussian_blur: Five<number>;
  /** (mean, std, zoom, threshold, blur radius, blur σ, image weight of the grey-lifted blend). */
  snow: Five<readonly [number, number, number, number, number, number, number]>;
  /** (image weight, frost weight). */
  frost: Five<readonly [number, number]>;
  /** Texture resize factor before the crop. */
  frostScale: number;
  /** (strength, wibble decay). */
  fog: Five<readonly [number, number]>;
  /** (mean, std, σ, threshold, intensity, mode 0 water / 1 mud). */
  spatter: Five<readonly [number, number, number, number, number, number]>;
  /** Added to the HSV value. */
  brightness: Five<number>;
  /** Factor around the per-channel mean. */
  contrast: Five<number>;
  /** (factor, shift) on the HSV saturation. */
  saturate: Five<readonly [number, number]>;
  /**
   * Fractions of the image size, in the published tuple order (often labelled "(affine σ,
   * displacement α, smoothing σ)", but the code uses them as): (α, the displacement field's scale;
   * σ, its Gaussian smoothing; the affine corner jitter).
   */
  elastic_transform: Five<readonly [number, number, number]>;
  /** Resize factor of the BOX down-and-up resize. */
  pixelate: Five<number>;
  /** JPEG quality. */
  jpeg_compression: Five<number>;
}

export const CIFAR10_C: CorruptionParameters = {
  gaussian_noise: [0.04, 0.06, 0.08, 0.09, 0.1],
  shot_noise: [500, 250, 100, 75, 50],
  impulse_noise: [0.01, 0.02, 0.03, 0.05, 0.07],
  speckle_noise: [0.06, 0.1, 0.12, 0.16, 0.2],
  defocus_blur: [[0.3, 0.4], [0.4, 0.5], [0.5, 0.6], [1, 0.2], [1.5, 0.1]],
  glass_blur: [[0.05, 1, 1], [0.25, 1, 1], [0.4, 1, 1], [0.25, 1, 2], [0.4, 1, 2]],
  motion_blur: [[6, 1], [6, 1.5], [6, 2], [8, 2], [9, 2.5]],
  zoom_blur: [1.06, 1.11, 1.16, 1.21, 1.26],
  gaussian_blur: [0.4, 0.6, 0.7, 0.8, 1],
  snow: [
    [0.1, 0.2, 1, 0.6, 8, 3, 0.95],
    [0.1, 0.2, 1, 0.5, 10, 4, 0.9],
    [0.15, 0.3, 1.75, 0.55, 10, 4, 0.9],
    [0.25, 0.3, 2.25, 0.6, 12, 6, 0.85],
    [0.3, 0.3, 1.25, 0.65, 14, 12, 0.8],
  ],
  frost: [[1, 0.2], [1, 0.3], [0.9, 0.4], [0.85, 0.4], [0.75, 0.45]],
  frostScale: 0.2,
  fog: [[0.2, 3], [0.5, 3], [0.75, 2.5], [1, 2], [1.5, 1.75]],
  spatter: [
    [0.62, 0.1, 0.7, 0.7, 0.5, 0],
    [0.65, 0.1, 0.8, 0.7, 0.5, 0],
    [0.65, 0.3, 1, 0.69, 0.5, 0],
    [0.65, 0.1, 0.7, 0.69, 0.6, 1],
    [0.65, 0.1, 0.5, 0.68, 0.6, 1],
  ],
  brightness: [0.05, 0.1, 0.15, 0.2, 0.3],
  contrast: [0.75, 0.5, 0.4, 0.3, 0.15],
  saturate: [[0.3, 0], [0.1, 0], [1.5, 0], [2, 0.1], [2.5, 0.2]],
  elastic_transform: [[0, 0, 0.08], [0.05, 0.2, 0.07], [0.08, 0.06, 0.06], [0.1, 0.04, 0.05], [0.1, 0.03, 0.03]],
  pixelate: [0.95, 0.9, 0.85, 0.75, 0.65],
  jpeg_compression: [80, 65, 58, 50, 40],
};

export const TINY_IMAGENET_C: CorruptionParameters = {
  gaussian_noise: [0.04, 0.08, 0.12, 0.15, 0.18],
  shot_noise: [250, 100, 50, 30, 15],
  impulse_noise: [0.01, 0.02, 0.05, 0.08, 0.14],
  speckle_noise: [0.15, 0.2, 0.25, 0.3, 0.35],
  defocus_blur: [[0.5, 0.6], [1, 0.1], [1.5, 0.1], [2.5, 0.01], [3, 0.1]],
  glass_blur: [[0.1, 1, 1], [0.5, 1, 1], [0.6, 1, 2], [0.7, 2, 1], [0.9, 2, 2]],
  motion_blur: [[10, 1], [10, 1.5], [10, 2], [10, 2.5], [12, 3]],
  zoom_blur: [1.06, 1.11, 1.16, 1.21, 1.26],
  gaussian_blur: [0.5, 0.75, 1, 1.25, 1.5],
  snow: [
    [0.1, 0.2, 1, 0.6, 8, 3, 0.8],
    [0.1, 0.2, 1, 0.5, 10, 4, 0.8],
    [0.15, 0.3, 1.75, 0.55, 10, 4, 0.7],
    [0.25, 0.3, 2.25, 0.6, 12, 6, 0.65],
    [0.3, 0.3, 1.25, 0.65, 14, 12, 0.6],
  ],
  frost: [[1, 0.3], [0.9, 0.4], [0.8, 0.45], [0.75, 0.5], [0.7, 0.55]],
  frostScale: 0.3,
  fog: [[0.4, 3], [0.7, 3], [1, 2.5], [1.5, 2], [2, 1.75]],
  spatter: [
    [0.62, 0.1, 0.7, 0.7, 0.6, 0],
    [0.65, 0.1, 0.8, 0.7, 0.6, 0],
    [0.65, 0.3, 1, 0.69, 0.6, 0],
    [0.65, 0.1, 0.7, 0.68, 0.6, 1],
    [0.65, 0.1, 0.5, 0.67, 0.6, 1],
  ],
  brightness: [0.1, 0.2, 0.3, 0.4, 0.5],
  contrast: [0.4, 0.3, 0.2, 0.1, 0.05],
  saturate: [[0.3, 0], [0.1, 0], [2, 0], [5, 0.1], [30, 0.2]],
  elastic_transform: [[0, 0, 0.08], [0.05, 0.3, 0.06], [0.1, 0.08, 0.06], [0.1, 0.03, 0.03], [0.16, 0.03, 0.02]],
  pixelate: [0.9, 0.8, 0.7, 0.6, 0.5],
  jpeg_compression: [65, 58, 50, 40, 25],
};

export const PARAMETER_TABLES: Record<ParameterSet, CorruptionParameters> = { cifar10: CIFAR10_C, tinyimagenet: TINY_IMAGENET_C };

/** The table for a parameter set, with a clear error for anything else. */
export function parameterTable(set: ParameterSet): CorruptionParameters {
  const table = PARAMETER_TABLES[set];
  if (!table) throw new Error(`unknown corruption parameter set '${String(set)}'; valid sets: ${Object.keys(PARAMETER_TABLES).join(', ')}`);
  return table;
}

/** The parameter set the published datasets used for an image size: 64×64 → Tiny-ImageNet-C, else CIFAR-10-C. */
export function defaultParameterSet(height: number, width: number): ParameterSet {
  return height === 64 && width === 64 ? 'tinyimagenet' : 'cifar10';
}

/** Severity s's entry (1-based). */
export function atSeverity<T>(values: Five<T>, severity: number): T {
  return values[severity - 1];
}
