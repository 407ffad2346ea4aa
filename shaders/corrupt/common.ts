// WGSL shared by the corruption kernels: border folding, per-element Philox draws, the 1/255
// grid, and the small "epilogues" a kernel applies to its result before storing it (clip,
// quantise, threshold, ...), so one template serves the intermediate steps of several corruptions.
import { f32, type UniformField } from '../../engine/program.js';
import { PHILOX_WGSL } from '../random.js';

export const WG = 64;
export const workgroups = (count: number) => Math.ceil(count / WG);

/** x·fl(1/255): a correctly rounded multiply, so k/255 round-trips through ·255 and floor exactly. */
export const INV_255 = '0.00392156862745098';

/**
 * How an index outside [0, n) is brought back inside:
 *   clamp       edge pixel repeated (scipy 'nearest', ImageMagick edge, OpenCV BORDER_REPLICATE)
 *   reflect     half-sample mirror d c b a | a b c d (scipy 'reflect')
 *   reflect101  whole-sample mirror d c b | a b c d (OpenCV BORDER_REFLECT_101, its default)
 * Both mirrors repeat periodically, so any offset folds (kernels wider than the image included).
 */
export type Boundary = 'clamp' | 'reflect' | 'reflect101';

export function foldWgsl(mode: Boundary): string {
  const body = {
    clamp: 'return clamp(i, 0, n - 1);',
    reflect: `let p = 2 * n;
  var m = i % p;
  if (m < 0) { m += p; }
  return select(m, p - 1 - m, m >= n);`,
    reflect101: `if (n == 1) { return 0; }
  let p = 2 * n - 2;
  var m = i % p;
  if (m < 0) { m += p; }
  return select(m, p - m, m >= n);`,
  }[mode];
  return `fn fold(i: i32, n: i32) -> i32 {
  ${body}
}`;
}

/**
 * Draws for element i of a call: Philox block (ctr + i, stream, j). The host reserves one block per
 * element (Generator.reserve); j > 0 gives an element further independent blocks that no other call
 * can reach, since every call's counters start past the previous call's reservation.
 */
export const RANDOM_WGSL = `${PHILOX_WGSL}
fn draw(i: u32, j: u32) -> vec4u {
  let lo = params.ctrLo + i;
  let hi = params.ctrHi + select(0u, 1u, lo < i);
  return philox(vec4u(lo, hi, params.stream, j), vec2u(params.key0, params.key1));
}
// Top 24 bits: a multiple of 2^-24 in [0, 1).
fn unit(r: u32) -> f32 { return f32(r >> 8u) * 0x1p-24f; }
// Box–Muller on two words: a standard normal (u1 in (0, 1] so log never sees 0).
fn normal(a: u32, b: u32) -> f32 {
  let u1 = (f32(a >> 8u) + 1.0) * 0x1p-24f;
  let theta = (f32(b >> 8u) * 0x1p-23f - 1.0) * 3.14159265358979;
  return sqrt(-2.0 * log(u1)) * cos(theta);
}`;

/** A kernel's last step on its result v (uniforms e0, e1 parameterise it). */
export const EPILOGUES = {
  none: 'v',
  clip: 'clamp(v, 0.0, 1.0)',
  // Truncation / rounding to the uint8 grid (the published code's astype(uint8) and ImageMagick's
  // 8-bit output truncate; OpenCV's 8-bit resize rounds).
  trunc8: `floor(clamp(v, 0.0, 1.0) * 255.0) * ${INV_255}`,
  round8: `floor(clamp(v, 0.0, 1.0) * 255.0 + 0.5) * ${INV_255}`,
  // layer[layer < e0] = 0
  threshold: 'select(v, 0.0, v < params.e0)',
  // snow: threshold, then the 8-bit greyscale image ImageMagick blurs
  thresholdTrunc8: `floor(clamp(select(v, 0.0, v < params.e0), 0.0, 1.0) * 255.0) * ${INV_255}`,
  scale: 'v * params.e0',
  // mask = layer > e0
  step: 'select(0.0, 1.0, v > params.e0)',
  // On the 0..255 scale: astype(uint8) of non-negative values, OpenCV's rounding 8-bit outputs.
  floor: 'floor(v)',
  round: 'floor(v + 0.5)',
  saturate8: 'clamp(floor(v + 0.5), 0.0, 255.0)',
  // ⌊v / e0⌋ in integer arithmetic, for v an exact integer below 2^24 (no f32 division rounding).
  floorDivInt: 'f32(u32(v) / u32(params.e0))',
} as const;
export type Epilogue = keyof typeof EPILOGUES;

export const EPILOGUE_UNIFORMS: UniformField[] = [f32('e0'), f32('e1')];

export function epilogueWgsl(name: Epilogue): string {
  return `fn epilogue(v: f32) -> f32 { return ${EPILOGUES[name]}; }`;
}

/** Standard entry point header: `i` is the flat invocation index. */
export const MAIN_HEADER = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let i = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;`;
