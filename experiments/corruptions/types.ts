// The contract every corruption implements. Images are f32 NHWC [N, H, W, 3] tensors with values in
// [0, 1] (any H, W; 32×32 and 64×64 at least). A corruption returns a new tensor of the same shape,
// clipped to [0, 1]; quantisation to uint8 (truncation, as the published CIFAR-10-C code does) is a
// separate, shared step (`quantize` in ./quantize.ts), so evaluation sees exactly what a .npy holds.
import type { Generator } from '../../engine/ops/random.js';
import type { Tensor } from '../../engine/tensor.js';

export const CORRUPTION_NAMES = [
  'gaussian_noise', 'shot_noise', 'impulse_noise', 'speckle_noise',
  'defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur', 'gaussian_blur',
  'snow', 'frost', 'fog', 'spatter',
  'brightness', 'contrast', 'saturate',
  'elastic_transform', 'pixelate', 'jpeg_compression',
] as const;
export type CorruptionName = (typeof CORRUPTION_NAMES)[number];

/** The 15 benchmark corruptions (docs/method.md §6.2): all but the 4 extras. */
export const BENCHMARK_CORRUPTIONS: readonly CorruptionName[] = CORRUPTION_NAMES.filter((n) => !['speckle_noise', 'gaussian_blur', 'spatter', 'saturate'].includes(n));

/** Which published parameter table applies: CIFAR-10-C (32×32) or Tiny-ImageNet-C (64×64). */
export type ParameterSet = 'cifar10' | 'tinyimagenet';

export interface CorruptionContext {
  /** Randomness (noise, glass-blur shuffles, snow, spatter, frost crops, elastic fields), drawn on the GPU. */
  generator: Generator;
  parameters: ParameterSet;
  /** Frost textures as f32 [h, w, 3] tensors in [0, 1] (loaded by the caller; see frost.ts). */
  frostTextures?: Tensor[];
}

export interface Corruption {
  name: CorruptionName;
  /** True when the work runs on the GPU (all 19 here: JPEG compression reproduces libjpeg's lossy steps in kernels). */
  gpu: boolean;
  apply(images: Tensor, severity: number, ctx: CorruptionContext): Tensor | Promise<Tensor>;
}

export function checkSeverity(severity: number): void {
  if (!Number.isInteger(severity) || severity < 1 || severity > 5) throw new Error(`severity must be an integer from 1 to 5, got ${severity}`);
}

export function checkCorruptionName(name: string): CorruptionName {
  if (!(CORRUPTION_NAMES as readonly string[]).includes(name)) throw new Error(`unknown corruption '${name}'; valid names: ${CORRUPTION_NAMES.join(', ')}`);
  return name as CorruptionName;
}
