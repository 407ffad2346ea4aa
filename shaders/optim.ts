// Fused SGD step (PyTorch semantics), one dispatch per parameter tensor:
//   d = g + wd·p;  v = first ? d : μ·v + (1 − dampening)·d;  d = nesterov ? d + μ·v : v;  p −= lr·d
import { f32, perElementLoopMain, perElementWorkgroups, u32, type Program } from '../engine/program.js';

const WG = 64;
export function sgdProgram(vec4: boolean, momentum: boolean): Program {
  const T = vec4 ? 'vec4<f32>' : 'f32';
  const bindings = [{ name: 'p', access: 'read_write' as const, element: T }, { name: 'g', access: 'read' as const, element: T }];
  if (momentum) bindings.push({ name: 'v', access: 'read_write', element: T });
  return {
    key: `sgd_${vec4 ? 4 : 1}${momentum ? '_momentum' : ''}`,
    bindings: bindings as Program['bindings'],
    uniforms: [u32('count'), f32('lr'), f32('momentum'), f32('dampening'), f32('weightDecay'), u32('nesterov'), u32('first')],
    workgroupSize: WG,
    source: () => perElementLoopMain(`
  var d = g[i] + params.weightDecay * p[i];
  ${momentum ? `let buf = select(params.momentum * v[i] + (1.0 - params.dampening) * d, d, params.first == 1u);
  v[i] = buf;
  d = select(buf, d + params.momentum * buf, params.nesterov == 1u);` : ''}
  p[i] = p[i] - params.lr * d;`, WG),
  };
}

export const sgdWorkgroups = (count: number) => perElementWorkgroups(count, WG);
