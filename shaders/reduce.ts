// Reductions over the middle axis of an [outer, R, inner] view (any contiguous run of axes can be
// brought to that form without moving data). Threads own (split, outer, inner) triples and walk a
// chunk of R; with splits > 1 the partial results form a new [splits·outer·inner] tensor that a
// second pass reduces, so a large reduction into few outputs still keeps every core busy.
import { f32, u32, type Program } from '../engine/program.js';

export type ReduceKind = 'sum' | 'max' | 'min' | 'sumsq';
const WG = 64;

const init: Record<ReduceKind, string> = { sum: '0.0', sumsq: '0.0', max: '-3.4028234663852886e38', min: '3.4028234663852886e38' };
const step: Record<ReduceKind, string> = { sum: 'acc + v', sumsq: 'acc + v * v', max: 'max(acc, v)', min: 'min(acc, v)' };

/** out[s, o, i] = scale · reduce_{r in chunk s} x[o, r, i]. With splits > 1, scale should be 1. */
export function reduceProgram(kind: ReduceKind): Program {
  return {
    key: `reduce_${kind}`,
    bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'out', access: 'read_write', element: 'f32' }],
    uniforms: [u32('outer'), u32('R'), u32('inner'), u32('rChunk'), u32('splits'), f32('scale')],
    workgroupSize: WG,
    source: () => `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  let outputs = params.outer * params.inner;
  if (g >= outputs * params.splits) { return; }
  let s = g / outputs;
  let o = (g % outputs) / params.inner;
  let i = g % params.inner;
  let rBegin = s * params.rChunk;
  let rEnd = min(params.R, rBegin + params.rChunk);
  var acc = ${init[kind]};
  var idx = (o * params.R + rBegin) * params.inner + i;
  for (var r = rBegin; r < rEnd; r++) {
    let v = x[idx];
    acc = ${step[kind]};
    idx += params.inner;
  }
  out[g] = acc * params.scale;
}`,
  };
}

export const reduceWorkgroups = (threads: number) => Math.ceil(threads / WG);
