// Glass blur's local pixel shuffle, one iteration, as a parallel gather.
//
// The published loop visits rows h = H−δ … δ+1 and, within a row, columns w = W−δ … δ+1 (both
// descending), draws dx, dy uniform in [−δ, δ) and runs `x[h, w], x[h', w'] = x[h', w'], x[h, w]`
// on a NumPy array. Both right-hand sides are views, so this copies x[h', w'] into x[h, w] and leaves
// x[h', w'] as it was: every visited pixel is written exactly once, at its turn, with the value its
// source holds then. That value is the source's own output if the source was visited earlier (a
// visited pixel further down, or further right in the same row), else the input pixel. So each output
// pixel follows its chain of sources back to the first one not visited before it, which reproduces the
// sequential loop exactly for any δ. Pixel p draws its (dx, dy) from Philox block (ctr + p, stream,
// iteration); the host reserves N·H·W blocks per call.
import { u32, type Program } from '../../engine/program.js';
import { PHILOX_UNIFORMS } from '../random.js';
import { MAIN_HEADER, RANDOM_WGSL, WG } from './common.js';

export const glassShuffleProgram: Program = {
  key: 'corrupt_glass_shuffle',
  bindings: [{ name: 'src', access: 'read', element: 'f32' }, { name: 'out', access: 'read_write', element: 'f32' }],
  uniforms: [u32('count'), u32('H'), u32('W'), u32('C'), u32('delta'), u32('iteration'), ...PHILOX_UNIFORMS],
  workgroupSize: WG,
  source: () => `${RANDOM_WGSL}
fn visited(h: i32, w: i32) -> bool {
  let d = i32(params.delta);
  return h > d && h <= i32(params.H) - d && w > d && w <= i32(params.W) - d;
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let C = params.C;
  let c = i % C;
  let n = i / (C * params.W * params.H);
  var h = i32((i / (C * params.W)) % params.H);
  var w = i32((i / C) % params.W);
  let span = 2u * params.delta;
  let d = i32(params.delta);
  let plane = n * params.H * params.W;
  if (visited(h, w)) {
    loop {
      let r = draw(plane + u32(h) * params.W + u32(w), params.iteration);
      let sw = w + i32(mulhilo(r.x, span).x) - d;
      let sh = h + i32(mulhilo(r.y, span).x) - d;
      let earlier = visited(sh, sw) && (sh > h || (sh == h && sw > w));
      h = sh;
      w = sw;
      if (!earlier) { break; }
    }
  }
  out[i] = src[((plane + u32(h) * params.W + u32(w)) * C) + c];
}`,
};
