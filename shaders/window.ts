// One strided-window gather serves pad, slice, crop, flip and strided subsampling:
//   forward   out[c] = in[offset + step·c]   (0 where that falls outside the input)
//   transpose in[i]  = out[(i − offset)/step] where that is a whole index inside the output, else 0
// The transpose is the backward of the forward (the map is injective), so both are gathers.
import { i32, u32, type Program, type UniformField } from '../engine/program.js';
import { MAX_RANK } from './elementwise.js';

const WG = 64;
// One thread per output element g; `rest` is peeled into coordinates axis by axis.
const ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  if (g >= params.count) { return; }
  var rest = g;`;
const dimsOf = (p: string) => Array.from({ length: MAX_RANK }, (_, d) => u32(`${p}${d}`));
const signed = (p: string) => Array.from({ length: MAX_RANK }, (_, d) => i32(`${p}${d}`));

/**
 * Uniforms: count, out dims d*, in dims e*, offsets o*, steps t* (all padded to MAX_RANK). With vec4,
 * elements are runs of 4 along the last axis (the caller divides that axis's dims and offset by 4).
 */
export function windowProgram(direction: 'forward' | 'transpose', rank = MAX_RANK, vec4 = false): Program {
  const uniforms: UniformField[] = [u32('count'), ...dimsOf('d'), ...dimsOf('e'), ...signed('o'), ...signed('t')];
  // Only the trailing `rank` axes carry index arithmetic; the padding axes have size 1.
  const dims = Array.from({ length: rank }, (_, d) => MAX_RANK - rank + d).reverse();
  // forward iterates output coordinates and reads the input; transpose iterates input coordinates.
  const walk = direction === 'forward' ? 'd' : 'e';
  const other = direction === 'forward' ? 'e' : 'd';
  const body = dims
    .map((d) => {
      const coord = direction === 'forward'
        ? `let q = params.o${d} + params.t${d} * c;\n    inside = inside && q >= 0 && q < i32(params.${other}${d});`
        : `let r = c - params.o${d};\n    let q = r / params.t${d};\n    inside = inside && r % params.t${d} == 0 && q >= 0 && q < i32(params.${other}${d});`;
      return `{
    let c = i32(rest % params.${walk}${d});
    rest = rest / params.${walk}${d};
    ${coord}
    src += u32(max(q, 0)) * stride;
    stride *= params.${other}${d};
  }`;
    })
    .join('\n  ');
  return {
    key: `window_${direction}${rank}${vec4 ? '_4' : ''}`,
    bindings: [{ name: 'x', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }, { name: 'y', access: 'read_write', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms,
    workgroupSize: WG,
    source: () => `
${ENTRY}
  var src = 0u;
  var stride = 1u;
  var inside = true;
  ${body}
  y[g] = select(${vec4 ? 'vec4<f32>()' : '0.0'}, x[src], inside);
}`,
  };
}

export const windowWorkgroups = (count: number) => Math.ceil(count / WG);

/**
 * out[c] = x[base + Σ_d c_d·stride_d] for signed per-axis strides: transposes, flips and their
 * combinations in one gather (every source index is in range by construction).
 */
export function stridedGatherProgram(rank: number): Program {
  const dims = Array.from({ length: rank }, (_, d) => rank - 1 - d);
  return {
    key: `strided_gather${rank}`,
    bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'y', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count'), u32('base'), ...Array.from({ length: rank }, (_, d) => u32(`d${d}`)), ...Array.from({ length: rank }, (_, d) => i32(`s${d}`))],
    workgroupSize: WG,
    source: () => `
${ENTRY}
  var src = i32(params.base);
  ${dims.map((d) => `src += i32(rest % params.d${d}) * params.s${d};\n  rest = rest / params.d${d};`).join('\n  ')}
  y[g] = x[u32(src)];
}`,
  };
}
