// gaussian_noise, shot_noise, impulse_noise, speckle_noise: one GPU kernel each (shaders/corrupt/noise.ts),
// drawing one Philox block per element from the context's generator.
import type { Generator } from '../../engine/ops/random.js';
import { run } from '../../engine/ops/run.js';
import { empty, type Tensor } from '../../engine/tensor.js';
import { workgroups } from '../../shaders/corrupt/common.js';
import { noiseProgram, type NoiseKind } from '../../shaders/corrupt/noise.js';
import { checkImages, philoxUniforms } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption, CorruptionContext, CorruptionName } from './types.js';

/** clip(noise(x), 0, 1) with the kernel's parameter s0 (σ, λ or the impulse amount). */
export function applyNoise(kind: NoiseKind, images: Tensor, s0: number, generator: Generator): Tensor {
  checkImages(`${kind}_noise`, images);
  const out = empty(images.shape);
  const philox = generator.reserve(images.size);
  run(noiseProgram(kind), { src: images, out }, { count: images.size, ...philoxUniforms(philox), s0 }, workgroups(images.size), `corrupt ${kind} noise [${images.shape}]`);
  return out;
}

function noiseCorruption(name: CorruptionName & `${NoiseKind}_noise`, kind: NoiseKind): Corruption {
  return {
    name,
    gpu: true,
    apply: (images: Tensor, severity: number, ctx: CorruptionContext) => applyNoise(kind, images, atSeverity(parameterTable(ctx.parameters)[name], severity), ctx.generator),
  };
}

export const gaussianNoise = noiseCorruption('gaussian_noise', 'gaussian');
export const shotNoise = noiseCorruption('shot_noise', 'shot');
export const impulseNoise = noiseCorruption('impulse_noise', 'impulse');
export const speckleNoise = noiseCorruption('speckle_noise', 'speckle');
