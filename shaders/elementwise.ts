// Elementwise maps y = f(a[, b[, c]]) from one template. An op is a WGSL expression over `a`, `b`,
// `c` of type T (f32, or vec4<f32> on the vectorised path) and the scalar uniforms s0, s1; write
// constants as T(1.0) so one expression serves both widths. Inputs of another shape broadcast
// NumPy-style through per-input strides (0 on broadcast dimensions).
import { f32, perElementLoopMain, perElementWorkgroups, u32, type Program, type StorageElement, type UniformField } from '../engine/program.js';

export const MAX_RANK = 6;
const WG = 64;

export interface MapSpec {
  name: string;
  arity: 1 | 2 | 3;
  expr: string;
}

const inputNames = ['a', 'b', 'c'] as const;

/**
 * mode 'same': every input has the output's shape (flat index; vec4 when the size allows).
 * mode 'broadcast': inputs are read through strides over the output's (≤ 6-D) coordinates. With
 * vec4, each thread takes 4 consecutive elements along the last axis, which every input must share
 * whole (a multiple of 4, stride 1): one coordinate decomposition serves 4 elements.
 */
export function mapProgram(spec: MapSpec, mode: 'same' | 'broadcast', vec4: boolean, rank = MAX_RANK, half: readonly boolean[] = []): Program {
  const names = inputNames.slice(0, spec.arity);
  const element: StorageElement = vec4 ? 'vec4<f32>' : 'f32';
  // f16 storage (inputs, then the output): 'same' mode on vec4s only, so no two threads share a word.
  const isHalf = (slot: number) => !!half[slot];
  if (half.some(Boolean) && (mode !== 'same' || !vec4)) throw new Error(`${spec.name}: f16 storage needs same-shape operands with a multiple of 4 elements`);
  const binding = (name: string, slot: number, access: 'read' | 'read_write') => (isHalf(slot) ? { name, access, element: 'vec2<u32>' as const, half: true } : { name, access, element });
  const uniforms: UniformField[] = [u32('count'), f32('s0'), f32('s1')];
  if (mode === 'broadcast') {
    for (let d = 0; d < MAX_RANK; d++) uniforms.push(u32(`d${d}`));
    for (const n of names) for (let d = 0; d < MAX_RANK; d++) uniforms.push(u32(`${n}s${d}`));
  }
  const bindings = [...names.map((n, i) => binding(`${n}buf`, i, 'read')), binding('out', spec.arity, 'read_write')];
  const halfKey = half.some(Boolean) ? `_h${half.map((h) => (h ? 1 : 0)).join('')}` : '';
  const key = `map_${spec.name}_${spec.arity}_${mode}${mode === 'broadcast' ? rank : ''}_${vec4 ? 4 : 1}${halfKey}`;
  const source = () => {
    const offsets: string[] = [];
    if (mode === 'broadcast') {
      offsets.push(vec4 ? 'var rest = i * 4u;' : 'var rest = i;');
      for (const n of names) offsets.push(`var ${n}off = 0u;`);
      // Only the trailing `rank` axes can be larger than 1: no index arithmetic for the padding.
      for (let d = MAX_RANK - 1; d >= MAX_RANK - rank; d--) {
        offsets.push(`{ let c = rest % params.d${d}; rest = rest / params.d${d};`);
        for (const n of names) offsets.push(`  ${n}off += c * params.${n}s${d};`);
        offsets.push('}');
      }
    }
    const loads = names.map((n, slot) => {
      const word = `${n}buf[${mode === 'broadcast' ? (vec4 ? `${n}off / 4u` : `${n}off`) : 'i'}]`;
      return `let ${n} = ${isHalf(slot) ? `unpackHalf4(${word})` : word};`;
    });
    const store = `out[i] = ${isHalf(spec.arity) ? `packHalf4(${spec.expr})` : spec.expr};`;
    return `
alias T = ${element};
${perElementLoopMain([...offsets, ...loads, store].join('\n    '), WG)}`;
  };
  return { key, bindings, uniforms, workgroupSize: WG, source };
}

/** Workgroups of a map (or of normalizeChannelsProgram) over `count` elements or vec4s. */
export const mapWorkgroups = (count: number) => perElementWorkgroups(count, WG);

/** Most channels normalizeChannelsProgram takes (its per-channel constants are uniforms). */
export const MAX_NORMALIZED_CHANNELS = 4;

/**
 * y = (x − shift[c])·scale[c] over channels-last data, c = i mod C: a model's input normalisation in
 * one pass. C is a compile-time constant, so the modulo compiles to a multiply (a runtime divisor
 * has no SIMD form on CPUs), and the constants are uniforms rather than per-lane loads.
 */
export function normalizeChannelsProgram(channels: number): Program {
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_NORMALIZED_CHANNELS) throw new Error(`normalize channels: 1 to ${MAX_NORMALIZED_CHANNELS} channels, got ${channels}`);
  const slots = Array.from({ length: MAX_NORMALIZED_CHANNELS }, (_, c) => c);
  const pick = (name: string) => slots.slice(1, channels).reduce((e, c) => `select(${e}, params.${name}${c}, c == ${c}u)`, `params.${name}0`);
  return {
    key: `normalize_channels_${channels}`,
    bindings: [{ name: 'x', access: 'read', element: 'f32' }, { name: 'out', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count'), ...slots.map((c) => f32(`shift${c}`)), ...slots.map((c) => f32(`scale${c}`))],
    workgroupSize: WG,
    source: () => perElementLoopMain(`let c = i % ${channels}u;
    out[i] = (x[i] - ${pick('shift')}) * ${pick('scale')};`, WG),
  };
}
