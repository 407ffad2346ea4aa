// Fog's plasma fractal (diamond-square on a periodic M×M map, M a power of two), one phase of one
// level per dispatch, every image of the batch at once. With s the step and G = M/s:
//   squares   (s/2 + i·s, s/2 + j·s) ← mean of the 4 corners around it
//   diamonds  (i·s, s/2 + j·s)       ← mean of the centres above/below and the corners left/right
//             (s/2 + i·s, j·s)       ← mean of the centres left/right and the corners above/below
// plus wibble·U(−wibble, wibble), as the published code writes it (so the noise scale is wibble²).
// Indices wrap (np.roll). Each point is written once over the whole fractal, so its uniform comes
// from its own position: word (p mod 4) of Philox block ⌊p/4⌋, p = (n·M + r)·M + c; the host reserves
// N·M²/4 blocks per fractal. Point (0, 0) is 0 and must be zeroed beforehand.
import { f32, u32, type Program } from '../../engine/program.js';
import { PHILOX_UNIFORMS } from '../random.js';
import { MAIN_HEADER, RANDOM_WGSL, WG } from './common.js';

export const plasmaProgram: Program = {
  key: 'corrupt_plasma_step',
  bindings: [{ name: 'map', access: 'read_write', element: 'f32' }],
  uniforms: [u32('count'), u32('M'), u32('step'), u32('phase'), f32('wibble'), ...PHILOX_UNIFORMS],
  workgroupSize: WG,
  source: () => `${RANDOM_WGSL}
fn at(n: u32, r: u32, c: u32) -> f32 {
  let M = params.M;
  return map[(n * M + r % M) * M + c % M];
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let M = params.M;
  let s = params.step;
  let half = s / 2u;
  let G = M / s;
  let perImage = select(G * G, 2u * G * G, params.phase == 1u);
  let n = i / perImage;
  var q = i % perImage;
  let second = q >= G * G;
  if (second) { q -= G * G; }
  let gi = q / G;
  let gj = q % G;
  var r: u32;
  var c: u32;
  var sum: f32;
  if (params.phase == 0u) {
    r = half + gi * s;
    c = half + gj * s;
    sum = at(n, gi * s, gj * s) + at(n, gi * s + s, gj * s) + at(n, gi * s, gj * s + s) + at(n, gi * s + s, gj * s + s);
  } else if (!second) {
    r = gi * s;
    c = half + gj * s;
    sum = at(n, half + gi * s, c) + at(n, half + gi * s + M - s, c) + at(n, r, gj * s) + at(n, r, gj * s + s);
  } else {
    r = half + gi * s;
    c = gj * s;
    sum = at(n, r, half + gj * s) + at(n, r, half + gj * s + M - s) + at(n, gi * s, c) + at(n, gi * s + s, c);
  }
  let p = (n * M + r) * M + c;
  let u = unit(draw(p / 4u, 0u)[p % 4u]);
  map[p] = sum * 0.25 + params.wibble * params.wibble * (2.0 * u - 1.0);
}`,
};
