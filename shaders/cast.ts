// Conversions between f32 and f16 storage. One thread per 32-bit word of the f16 side (two values),
// so no two threads share a word; WGSL's pack2x16float/unpack2x16float need no shader-f16 feature.
import { read, u32, write, type Program } from '../engine/program.js';

const WG = 64;
const entry = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let i = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  if (2u * i >= params.count) { return; }`;

export const toHalfProgram: Program = {
  key: 'cast_f32_f16',
  bindings: [read('x'), { ...write('out', 'u32'), half: true }],
  uniforms: [u32('count')],
  workgroupSize: WG,
  source: () => `
${entry}
  let hi = select(0.0, x[min(2u * i + 1u, params.count - 1u)], 2u * i + 1u < params.count);
  // WGSL leaves packing a value beyond the f16 range undefined: saturate instead.
  out[i] = pack2x16float(clamp(vec2<f32>(x[2u * i], hi), vec2<f32>(-65504.0), vec2<f32>(65504.0)));
}`,
};

export const fromHalfProgram: Program = {
  key: 'cast_f16_f32',
  bindings: [{ ...read('x', 'u32'), half: true }, write('out')],
  uniforms: [u32('count')],
  workgroupSize: WG,
  source: () => `
${entry}
  let v = unpack2x16float(x[i]);
  out[2u * i] = v.x;
  if (2u * i + 1u < params.count) { out[2u * i + 1u] = v.y; }
}`,
};

/** Workgroups for `count` values: one thread per pair. */
export const castWorkgroups = (count: number) => Math.ceil(Math.ceil(count / 2) / WG);
