// One strided-window gather serves pad, slice, crop, flip and strided subsampling:
//   forward   out[c] = in[offset + step·c]   (0 where that falls outside the input)
//   transpose in[i]  = out[(i − offset)/step] where that is a whole index inside the output, else 0
// The transpose is the backward of the forward (the map is injective), so both are gathers.
import { i32, perElementLoopMain, perElementWorkgroups, u32, type Program, type UniformField } from '../engine/program.js';
import { MAX_RANK } from './elementwise.js';

const WG = 64;
const signed = (p: string) => Array.from({ length: MAX_RANK }, (_, d) => i32(`${p}${d}`));

/** A window's sizes and steps, padded to MAX_RANK: out dims d, in dims e, steps t. */
export interface WindowGeometry {
  d: readonly number[];
  e: readonly number[];
  t: readonly number[];
}

/**
 * The sizes and steps are compiled in; the uniforms are count and the offsets o* (padded to MAX_RANK).
 * A division by a constant compiles to a multiply, while a runtime divisor has no SIMD form on CPU
 * adapters and runs lane by lane. So there is one shader per shape, and offsets vary freely, as
 * random crops need. With vec4, elements are runs of 4 along the last axis (the caller divides that
 * axis's dims and offset by 4).
 */
export function windowProgram(direction: 'forward' | 'transpose', rank: number, vec4: boolean, geometry: WindowGeometry): Program {
  const uniforms: UniformField[] = [u32('count'), ...signed('o')];
  const size = (p: 'd' | 'e', d: number) => `${geometry[p][d]}u`;
  const step = (d: number) => `${geometry.t[d]}i`;
  // Only the trailing `rank` axes carry index arithmetic; the padding axes have size 1.
  const dims = Array.from({ length: rank }, (_, d) => MAX_RANK - rank + d).reverse();
  // forward iterates output coordinates and reads the input; transpose iterates input coordinates.
  const walk = direction === 'forward' ? 'd' : 'e';
  const other = direction === 'forward' ? 'e' : 'd';
  const shape = (['d', 'e', 't'] as const).map((p) => dims.map((d) => geometry[p][d]).join('x')).join('_');
  const body = dims
    .map((d) => {
      const coord = direction === 'forward'
        ? `let q = params.o${d} + ${step(d)} * c;\n    inside = inside && q >= 0 && q < i32(${size(other, d)});`
        : `let r = c - params.o${d};\n    let q = r / ${step(d)};\n    inside = inside && r % ${step(d)} == 0 && q >= 0 && q < i32(${size(other, d)});`;
      return `{
    let c = i32(rest % ${size(walk, d)});
    rest = rest / ${size(walk, d)};
    ${coord}
    src += u32(max(q, 0)) * stride;
    stride *= ${size(other, d)};
  }`;
    })
    .join('\n  ');
  return {
    key: `window_${direction}${rank}${vec4 ? '_4' : ''}_${shape}`,
    bindings: [{ name: 'x', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }, { name: 'y', access: 'read_write', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms,
    workgroupSize: WG,
    // Output element i's coordinates are peeled from `rest` axis by axis.
    source: () => perElementLoopMain(`var rest = i;
  var src = 0u;
  var stride = 1u;
  var inside = true;
  ${body}
  y[i] = select(${vec4 ? 'vec4<f32>()' : '0.0'}, x[src], inside);`, WG),
  };
}

/** Workgroups of the programs here over `count` output elements (or vec4s). */
export const windowWorkgroups = (count: number) => perElementWorkgroups(count, WG);

/**
 * out[c] = x[base + Σ_d c_d·stride_d] for signed per-axis strides: transposes, flips and their
 * combinations in one gather (every source index is in range by construction). The sizes, strides
 * and base are compiled in, as the window's are.
 */
export function stridedGatherProgram(dims: readonly number[], strides: readonly number[], base: number): Program {
  const axes = dims.map((_, d) => dims.length - 1 - d);
  return {
    key: `strided_gather_${dims.join('x')}_${strides.join('_')}_${base}`,
    bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'y', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count')],
    workgroupSize: WG,
    source: () => perElementLoopMain(`var rest = i;
  var src = ${base}i;
  ${axes.map((d) => `src += i32(rest % ${dims[d]}u) * ${strides[d]}i;\n  rest = rest / ${dims[d]}u;`).join('\n  ')}
  y[i] = x[u32(src)];`, WG),
  };
}

/**
 * y[p] = (x[p·C], …, x[p·C + C − 1], 0, …): the last axis's C < 4 entries padded with zeros to a
 * vec4, one per thread (an image's channels for the convolutions' vec4 reads). The generic window
 * would take one thread per output float, with C not a multiple of 4.
 */
export function padToVec4Program(channels: number): Program {
  if (!Number.isInteger(channels) || channels < 1 || channels > 3) throw new Error(`pad to vec4: 1 to 3 entries, got ${channels}`);
  const parts = [0, 1, 2, 3].map((c) => (c < channels ? `x[b + ${c}u]` : '0.0'));
  return {
    key: `pad_to_vec4_${channels}`,
    bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'y', access: 'read_write', element: 'vec4<f32>' }],
    uniforms: [u32('count')],
    workgroupSize: WG,
    source: () => perElementLoopMain(`let b = i * ${channels}u;
  y[i] = vec4<f32>(${parts.join(', ')});`, WG),
  };
}
