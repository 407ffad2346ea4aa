// Fills a buffer with one 32-bit pattern (f32, i32 or u32 values alike, or a pair of halves).
import { u32, type Program } from '../engine/program.js';

const WG = 64;
export const fillProgram: Program = {
  key: 'fill',
  bindings: [{ name: 'out', access: 'read_write', element: 'u32' }],
  uniforms: [u32('count'), u32('bits')],
  workgroupSize: WG,
  source: () => `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let i = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  if (i < params.count) { out[i] = params.bits; }
}`,
};
/** The same words into an f16 tensor (its binding says so, for run()'s dtype check). */
export const fillHalfProgram: Program = { ...fillProgram, key: 'fill_f16', bindings: [{ name: 'out', access: 'read_write', element: 'u32', half: true }] };
export const fillWorkgroups = (count: number) => Math.ceil(count / WG);
