// snow and fog on the GPU: the snow layer is Gaussian noise zoomed, thresholded, quantised to the
// 8-bit greyscale image the published code hands ImageMagick, motion-blurred along a random angle
// and added twice (once rotated by 180°); fog adds a plasma fractal made by diamond-square.
import { rand, randn, type Generator } from '../../engine/ops/random.js';
import { max, min } from '../../engine/ops/reduce.js';
import { zeros } from '../../engine/ops/fill.js';
import { run } from '../../engine/ops/run.js';
import { scope, type Tensor } from '../../engine/tensor.js';
import { workgroups } from '../../shaders/corrupt/common.js';
import { plasmaProgram } from '../../shaders/corrupt/plasma.js';
import { clippedZoomMap } from './blur.js';
import { checkImages, convolve, mapsTensor, motionTaps, philoxUniforms, resampleMaps, shade } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption } from './types.js';

export type SnowParameters = readonly [number, number, number, number, number, number, number];

/** Snow from given randomness: noise [N, H, W] ~ N(mean, std), angles [N] in degrees. */
export function snowWithNoise(images: Tensor, noise: Tensor, angles: Tensor, p: SnowParameters): Tensor {
  const [N, H, W] = checkImages('snow', images);
  const [, , zoom, threshold, radius, sigma, blend] = p;
  return scope(() => {
    const layer = resampleMaps(noise.view([N, H, W, 1]), mapsTensor([clippedZoomMap(H, W, zoom)]), 1, { boundary: 'clamp', epilogue: 'thresholdTrunc8', e0: threshold });
    const { taps, width } = motionTaps(angles, radius, sigma);
    const blurred = convolve(layer, taps, width, { boundary: 'clamp', epilogue: 'trunc8', perImage: true });
    return shade('snow', images, { layer: blurred }, { s0: blend });
  });
}

export function snow(images: Tensor, p: SnowParameters, generator: Generator): Tensor {
  const [N, H, W] = checkImages('snow', images);
  return scope(() => snowWithNoise(images, randn([N, H, W], { mean: p[0], std: p[1], generator }), rand([N], { lo: -135, hi: -45, generator }), p));
}

/** The map size: the smallest power of two ≥ 2 covering the image (32 for CIFAR, 64 for Tiny ImageNet). */
export const plasmaSize = (H: number, W: number) => Math.max(2, 2 ** Math.ceil(Math.log2(Math.max(H, W))));

/** N raw (unnormalised) plasma fractals [N, M, M]; the wibble starts at 100 and is divided by `decay` per level. */
export function plasmaFractal(N: number, M: number, decay: number, generator: Generator): Tensor {
  if (M < 2 || (M & (M - 1)) !== 0) throw new Error(`plasmaFractal: the map size must be a power of two ≥ 2, got ${M}`);
  const map = zeros([N, M, M]);
  const philox = philoxUniforms(generator.reserve((N * M * M) / 4));
  let wibble = 100;
  for (let step = M; step >= 2; step /= 2) {
    const G = M / step;
    for (const phase of [0, 1]) {
      const count = N * G * G * (phase + 1);
      run(plasmaProgram, { map }, { count, M, step, phase, wibble, ...philox }, workgroups(count), `corrupt plasma step ${step} phase ${phase}`);
    }
    wibble /= decay;
  }
  return map;
}

/** clip((x + s·f)·max(x)/(max(x) + s)) with f the fractal normalised to [0, 1] per image, cropped to H×W. */
export function fogWithFractal(images: Tensor, fractal: Tensor, strength: number): Tensor {
  checkImages('fog', images);
  return scope(() => {
    const M = fractal.shape[1];
    return shade('fog', images, { plasma: fractal, pmin: min(fractal, [1, 2]), pmax: max(fractal, [1, 2]), imax: max(images, [1, 2, 3]) }, { s0: strength, aux: M });
  });
}

export function fog(images: Tensor, strength: number, decay: number, generator: Generator): Tensor {
  const [N, H, W] = checkImages('fog', images);
  return scope(() => fogWithFractal(images, plasmaFractal(N, plasmaSize(H, W), decay, generator), strength));
}

export const WEATHER_CORRUPTIONS: Corruption[] = [
  { name: 'snow', gpu: true, apply: (x, s, ctx) => snow(x, atSeverity(parameterTable(ctx.parameters).snow, s), ctx.generator) },
  { name: 'fog', gpu: true, apply: (x, s, ctx) => fog(x, ...atSeverity(parameterTable(ctx.parameters).fog, s), ctx.generator) },
];
