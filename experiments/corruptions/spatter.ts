// spatter on the GPU: a blurred, thresholded Gaussian liquid layer, then either water (OpenCV's
// Canny → distance transform → equalised, embossed, blurred distance map as a pale-turquoise tint;
// shaders/corrupt/spatter.ts) or mud (the layer's mask, blurred and thresholded, blended to brown).
import { randn, type Generator } from '../../engine/ops/random.js';
import { run } from '../../engine/ops/run.js';
import { empty, scope, type Tensor } from '../../engine/tensor.js';
import { workgroups } from '../../shaders/corrupt/common.js';
import { CHAMFER, sobelProgram, spatterImageProgram, suppressProgram } from '../../shaders/corrupt/spatter.js';
import { checkImages, convolveTaps, gaussianFilter, shade, type Tap } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption } from './types.js';

export type SpatterParameters = readonly [number, number, number, number, number, number];

const square3 = (w: (dx: number, dy: number) => number): Tap[] => [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => ({ dx, dy, w: w(dx, dy) })));
// The published emboss kernel [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], row = dy.
const EMBOSS = [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]];

/** Spatter from given noise [N, H, W] ~ N(mean, std). */
export function spatterWithNoise(images: Tensor, noise: Tensor, p: SpatterParameters): Tensor {
  const [N, H, W] = checkImages('spatter', images);
  const [, , sigma, threshold, intensity, mode] = p;
  const layer = noise.view([N, H, W, 1]);
  return scope(() => {
    if (mode !== 0) {
      // m = gaussian(liquid > threshold, σ = intensity); m[m < 0.8] = 0 (liquid ≤ threshold was zeroed, so > holds the same).
      const wet = gaussianFilter(layer, sigma, { epilogue: 'step', e0: threshold });
      return shade('mud', images, { mask: gaussianFilter(wet, intensity, { epilogue: 'threshold', e0: 0.8 }) });
    }
    const liquid = gaussianFilter(layer, sigma, { epilogue: 'threshold', e0: threshold });
    const pixels = N * H * W;
    const grad = empty([pixels, 4]);
    run(sobelProgram, { liquid, grad }, { count: pixels, H, W }, workgroups(pixels), `corrupt spatter sobel [${N},${H},${W}]`);
    const state = empty([N, H, W], 'u32');
    run(suppressProgram, { grad, state }, { count: pixels, H, W, low: 50, high: 150 }, workgroups(pixels), 'corrupt spatter suppress');
    const tmp = empty([N, H, W], 'u32');
    const dist = empty([N, H, W, 1]);
    run(spatterImageProgram('edges'), { state, tmp, dist }, { count: N, H, W }, workgroups(N), 'corrupt spatter edges + distance');
    // cv2.blur 3×3 then astype(uint8): the floor of the mean, on fixed-point distances.
    const dist8 = convolveTaps(dist, square3(() => 1), { boundary: 'reflect101', epilogue: 'floorDivInt', e0: 9 * CHAMFER.hv });
    run(spatterImageProgram('equalize'), { image: dist8 }, { count: N, H, W }, workgroups(N), 'corrupt spatter equalize');
    const embossed = convolveTaps(dist8, square3((dx, dy) => EMBOSS[dy + 1][dx + 1]), { boundary: 'reflect101', epilogue: 'saturate8' });
    const filtered = convolveTaps(embossed, square3(() => 1 / 9), { boundary: 'reflect101', epilogue: 'round' });
    const mask = empty([N, H, W]);
    const mmax = empty([N]);
    run(spatterImageProgram('mask'), { liquid, filtered, mask, mmax }, { count: N, H, W }, workgroups(N), 'corrupt spatter mask');
    return shade('water', images, { mask, mmax }, { s0: intensity });
  });
}

export function spatter(images: Tensor, p: SpatterParameters, generator: Generator): Tensor {
  const [N, H, W] = checkImages('spatter', images);
  return scope(() => spatterWithNoise(images, randn([N, H, W], { mean: p[0], std: p[1], generator }), p));
}

export const spatterCorruption: Corruption = { name: 'spatter', gpu: true, apply: (x, s, ctx) => spatter(x, atSeverity(parameterTable(ctx.parameters).spatter, s), ctx.generator) };
