// Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011; the Random123 constants). Each invocation turns one 128-bit counter into one
// block of four u32 words and writes up to four outputs, so any element can be regenerated from
// (key, counter) alone, with no state carried between invocations or dispatches.
//
// Counter layout of block b in a call: (offset + b as a 64-bit value in two words, stream, 0); the
// key is the 64-bit seed. The host hands each call a fresh range of offsets (engine/ops/random.ts).
import { f32, u32, type Program, type UniformField } from '../engine/program.js';

const WG = 64;

/** mulhilo(a, b) = (high word, low word) of the 64-bit product a·b. */
export const MULHILO_WGSL = `
fn mulhilo(a: u32, b: u32) -> vec2u {
  // No 64-bit integers in WGSL: the high word comes from 16-bit limbs, whose partial products fit in
  // u32; the low word is the wrapping product.
  let al = a & 0xffffu;
  let ah = a >> 16u;
  let bl = b & 0xffffu;
  let bh = b >> 16u;
  let lh = al * bh;
  let hl = ah * bl;
  let mid = ((al * bl) >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return vec2u(ah * bh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u), a * b);
}`;

export const PHILOX_WGSL = `${MULHILO_WGSL}
fn philox(counter: vec4u, key: vec2u) -> vec4u {
  var c = counter;
  var k = key;
  for (var i = 0u; i < 10u; i++) {
    let p0 = mulhilo(0xD2511F53u, c.x);
    let p1 = mulhilo(0xCD9E8D57u, c.z);
    c = vec4u(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k += vec2u(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}`;

/** Uniforms that address a call's blocks; engine/ops/random.ts fills them from a Generator. */
export const PHILOX_UNIFORMS: UniformField[] = [u32('key0'), u32('key1'), u32('ctrLo'), u32('ctrHi'), u32('stream')];

export type Distribution = 'bits' | 'uniform' | 'normal' | 'bernoulli';

/**
 * How a block r (vec4u) becomes four outputs. Scalars s0..s2:
 *   uniform    lo, hi − lo, the largest f32 below hi (rounding of lo + (hi−lo)·u may reach hi)
 *   normal     mean, std
 *   bernoulli  p
 */
const TRANSFORMS: Record<Distribution, { element: 'u32' | 'f32'; expr: string }> = {
  bits: { element: 'u32', expr: 'r' },
  uniform: { element: 'f32', expr: 'min(params.s0 + params.s1 * unit(r), vec4f(params.s2))' },
  normal: { element: 'f32', expr: 'params.s0 + params.s1 * boxMuller(r)' },
  bernoulli: { element: 'f32', expr: 'select(vec4f(0.0), vec4f(1.0), unit(r) < vec4f(params.s0))' },
};

const DISTRIBUTIONS_WGSL = `
// Top 24 bits: exact multiples of 2^-24 in [0, 1), never 1.
fn unit(r: vec4u) -> vec4f {
  return vec4f(r >> vec4u(8u)) * 0x1p-24f;
}

// Two pairs (r.x, r.y), (r.z, r.w) → four normals. u1 is in (0, 1] so log never sees 0; the angle
// stays in [-π, π) where WGSL bounds the error of cos and sin.
fn boxMuller(r: vec4u) -> vec4f {
  let u1 = (vec2f(r.xz >> vec2u(8u)) + 1.0) * 0x1p-24f;
  let theta = (vec2f(r.yw >> vec2u(8u)) * 0x1p-23f - 1.0) * 3.14159265358979;
  let radius = sqrt(-2.0 * log(u1));
  return vec4f(radius * cos(theta), radius * sin(theta)).xzyw;
}

// Block i of this call: the 64-bit counter offset + i (carry into the high word), then the stream.
fn philoxBlock(i: u32) -> vec4u {
  let lo = params.ctrLo + i;
  let hi = params.ctrHi + select(0u, 1u, lo < i);
  return philox(vec4u(lo, hi, params.stream, 0u), vec2u(params.key0, params.key1));
}`;

function randomProgram(dist: Distribution): Program {
  const { element, expr } = TRANSFORMS[dist];
  return {
    key: `random_${dist}`,
    bindings: [{ name: 'out', access: 'read_write', element }],
    uniforms: [u32('count'), ...PHILOX_UNIFORMS, f32('s0'), f32('s1'), f32('s2')],
    workgroupSize: WG,
    source: () => `${PHILOX_WGSL}
${DISTRIBUTIONS_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let b = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  let base = b * 4u;
  if (base >= params.count) { return; }
  let r = philoxBlock(b);
  let v = ${expr};
  let n = min(4u, params.count - base);
  for (var j = 0u; j < n; j++) { out[base + j] = v[j]; }
}`,
  };
}

export const randomPrograms: Record<Distribution, Program> = {
  bits: randomProgram('bits'),
  uniform: randomProgram('uniform'),
  normal: randomProgram('normal'),
  bernoulli: randomProgram('bernoulli'),
};

/** Workgroups for `blocks` Philox blocks (one per invocation). */
export const randomWorkgroups = (blocks: number) => Math.ceil(blocks / WG);
