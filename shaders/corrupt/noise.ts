// The four noise corruptions from one template: out = clip(noisy(x), 0, 1), one Philox block
// (counter + element index) per element; shot noise takes further blocks (word 3 = 1, 2, ...) for
// its rejection loop.
//
//   gaussian  x + σ·N(0, 1)
//   speckle   x + x·σ·N(0, 1)
//   impulse   with probability p: 1 or 0 with equal odds (skimage 's&p', salt_vs_pepper 0.5), per channel
//   shot      Poisson(λ·x)/λ, sampled as NumPy's legacy generator does: multiplication method for
//             λx < 10, Hörmann's PTRS transformed rejection (1993) above.
import { f32, u32, type Program } from '../../engine/program.js';
import { PHILOX_UNIFORMS } from '../random.js';
import { MAIN_HEADER, RANDOM_WGSL, WG } from './common.js';

export type NoiseKind = 'gaussian' | 'shot' | 'impulse' | 'speckle';

const EXPRESSIONS: Record<NoiseKind, string> = {
  gaussian: 'x + params.s0 * normal(r.x, r.y)',
  speckle: 'x + x * params.s0 * normal(r.x, r.y)',
  impulse: 'select(x, select(0.0, 1.0, unit(r.y) < 0.5), unit(r.x) < params.s0)',
  shot: 'poisson(x * params.s0, i, r) / params.s0',
};

// log of the Poisson pmf at k for mean lam ≥ 10. For k + 1 ≥ 10 Stirling's series is expanded
// around lam, so the large terms k·log(lam) and lgamma(k + 1) cancel analytically instead of in f32.
const POISSON_WGSL = `
fn log1pSafe(d: f32) -> f32 {
  let u = 1.0 + d;
  if (u == 1.0) { return d; }
  return log(u) * d / (u - 1.0);
}
fn logPoissonPmf(k: f32, lam: f32) -> f32 {
  let x = k + 1.0;
  if (x < 10.0) {
    var lg = 0.0;
    for (var j = 2.0; j < x; j += 1.0) { lg += log(j); }
    return k * log(lam) - lam - lg;
  }
  let x2 = 1.0 / (x * x);
  let corr = (1.0 / 12.0 - x2 * (1.0 / 360.0 - x2 / 1260.0)) / x;
  return k * log1pSafe((lam - x) / x) - 0.5 * log(x) + (x - lam) - 0.9189385332046727 - corr;
}
fn poisson(lam: f32, i: u32, first: vec4u) -> f32 {
  if (lam <= 0.0) { return 0.0; }
  if (lam < 10.0) {
    let limit = exp(-lam);
    var prod = 1.0;
    var k = 0.0;
    var r = first;
    for (var j = 1u; j <= 64u; j++) {
      for (var w = 0u; w < 4u; w++) {
        prod *= unit(r[w]);
        if (prod <= limit) { return k; }
        k += 1.0;
      }
      r = draw(i, j);
    }
    return k;
  }
  let slam = sqrt(lam);
  let b = 0.931 + 2.53 * slam;
  let a = -0.059 + 0.02483 * b;
  let logInvAlpha = log(1.1239 + 1.1328 / (b - 3.4));
  let vr = 0.9277 - 3.6224 / (b - 2.0);
  var r = first;
  for (var j = 1u; j <= 32u; j++) {
    for (var h = 0u; h < 2u; h++) {
      let U = unit(r[2u * h]) - 0.5;
      let V = unit(r[2u * h + 1u]);
      let us = 0.5 - abs(U);
      // Rejected whatever k is; tested first so us never divides as 0.
      if (us < 0.013 && V > us) { continue; }
      let k = floor((2.0 * a / us + b) * U + lam + 0.43);
      if (us >= 0.07 && V <= vr) { return k; }
      if (k < 0.0) { continue; }
      if (log(V) + logInvAlpha - log(a / (us * us) + b) <= logPoissonPmf(k, lam)) { return k; }
    }
    r = draw(i, j);
  }
  // 64 rejections in a row (acceptance is above 0.9): practically unreachable.
  return floor(lam + 0.5);
}`;

export function noiseProgram(kind: NoiseKind): Program {
  return {
    key: `corrupt_noise_${kind}`,
    bindings: [{ name: 'src', access: 'read', element: 'f32' }, { name: 'out', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count'), ...PHILOX_UNIFORMS, f32('s0')],
    workgroupSize: WG,
    source: () => `${RANDOM_WGSL}
${kind === 'shot' ? POISSON_WGSL : ''}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let x = src[i];
  let r = draw(i, 0u);
  out[i] = clamp(${EXPRESSIONS[kind]}, 0.0, 1.0);
}`,
  };
}
