// uint8 NHWC image batches → f32 in [0, 1], optionally with a random crop from the zero-padded image
// and a horizontal flip per sample. Bytes arrive packed four per u32 (little-endian, as uploaded), and
// each invocation writes one output element.
//
// Per-sample randomness is one Philox block per sample (`draws`, [N] vec4u, made on the GPU by
// randomBits): crop offsets ox = base + ⌊d.x·span / 2^32⌋, oy likewise from d.y (span = 2p+1 and
// base = 0 when cropping; span = 1 and base = p, the identity crop, otherwise) and the flip from the
// top bit of d.z, masked by `flip`. The multiply-shift range reduction has bias ≤ span/2^32.
import { perElementLoopMain, perElementWorkgroups, u32, type Program } from '../engine/program.js';
import { MULHILO_WGSL } from './random.js';

const WG = 64;

// x·fl(1/255) is one correctly rounded multiply (exact on any conforming GPU, unlike division's
// 2.5-ulp allowance); its relative error from x/255 is below 2^-23 and 255 gives exactly 1.
const INV_255 = '0.00392156862745098';

/** random = false: plain conversion (no crop, no flip, no draws). */
export function augmentProgram(random: boolean): Program {
  const bindings = [
    { name: 'pixels', access: 'read' as const, element: 'u32' as const },
    ...(random ? [{ name: 'draws', access: 'read' as const, element: 'vec4<u32>' as const }] : []),
    { name: 'out', access: 'read_write' as const, element: 'f32' as const },
  ];
  const uniforms = [u32('count'), ...(random ? [u32('H'), u32('W'), u32('C'), u32('pad'), u32('base'), u32('span'), u32('flip')] : [])];
  // Source byte and whether it lies inside the image (outside is the zero padding).
  const source = random
    ? `
  let c = i % params.C;
  let x = (i / params.C) % params.W;
  let y = (i / (params.C * params.W)) % params.H;
  let n = i / (params.C * params.W * params.H);
  let d = draws[n];
  let ox = params.base + mulhilo(d.x, params.span).x;
  let oy = params.base + mulhilo(d.y, params.span).x;
  let xf = select(x, params.W - 1u - x, ((d.z >> 31u) & params.flip) != 0u);
  // Coordinates in the unpadded image; u32 wrap-around makes negatives large, so one compare each.
  let sx = xf + ox - params.pad;
  let sy = y + oy - params.pad;
  let inside = sx < params.W && sy < params.H;
  let src = select(0u, ((n * params.H + sy) * params.W + sx) * params.C + c, inside);`
    : `
  let src = i;
  let inside = true;`;
  return {
    key: `augment_${random ? 'random' : 'plain'}`,
    bindings,
    uniforms,
    workgroupSize: WG,
    source: () => `${random ? MULHILO_WGSL : ''}
${perElementLoopMain(`
  ${source}
  let byte = extractBits(pixels[src >> 2u], (src & 3u) * 8u, 8u);
  out[i] = select(0.0, f32(byte) * ${INV_255}, inside);`, WG)}`,
  };
}

export const augmentPrograms = { plain: augmentProgram(false), random: augmentProgram(true) };
export const augmentWorkgroups = (count: number) => perElementWorkgroups(count, WG);
