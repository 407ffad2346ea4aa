// Projected steps of white-box attacks on a batch viewed as [N, D] (D = H·W·C per sample):
//
//   delta[n, i] = origin[i] + step · dir(b)[i] − clean[i]
//   out[i]      = clamp(clean[i] + P(delta)[i], 0, 1)
//
// with dir(b) = sign(b) (L∞ PGD and FGSM), b·scale[n] (L2: scale = 1/‖b_n‖, or radius/‖b_n‖ for a
// random start) or b itself (L∞ random start: b is already uniform in [−ε, ε]), and P the projection
// onto the ε-ball: clamp(delta, −ε, ε) for L∞, delta·min(1, ε/‖delta_n‖) for L2. The box clamp comes
// after the ball projection (torchattacks' order); since clean ∈ [0, 1] it only shrinks |delta|, so
// the result lies in both sets.
//
// One template makes both kernels: the elementwise step, and a per-sample sum of squares (one
// workgroup per sample, tree-reduced in shared memory) of either b or the unprojected delta, finished
// into the factor the step needs (1/‖·‖, the L2 projection factor, or the plain norm).
import { f32, perElementLoopMain, perElementWorkgroups, u32, type Program, type StorageBinding } from '../engine/program.js';

export type AttackNorm = 'linf' | 'l2';
/** How the direction buffer b enters the step. */
export type StepDirection = 'sign' | 'scaled' | 'raw';
/** What a per-sample reduction writes from s = Σ v²: 1/√s (0 when s = 0), min(1, ε/√s), or √s. */
export type SampleFinish = 'inverse' | 'project' | 'norm';

const STEP_WG = 64;
const REDUCE_WG = 256;

const directionExpr: Record<StepDirection, string> = {
  sign: 'sign(b[i])',
  scaled: 'b[i] * bscale[n]',
  raw: 'b[i]',
};

const finishExpr: Record<SampleFinish, string> = {
  inverse: 'select(0.0, 1.0 / sqrt(s), s > 0.0)',
  // norm ≤ ε (including 0) keeps delta as it is, so a zero delta never meets 0/0.
  project: 'select(1.0, params.eps / sqrt(s), sqrt(s) > params.eps)',
  norm: 'sqrt(s)',
};

function deltaBindings(direction: StepDirection): StorageBinding[] {
  return [
    { name: 'origin', access: 'read', element: 'f32' },
    { name: 'b', access: 'read', element: 'f32' },
    { name: 'clean', access: 'read', element: 'f32' },
    ...(direction === 'scaled' ? [{ name: 'bscale', access: 'read' as const, element: 'f32' as const }] : []),
  ];
}

const deltaFn = (direction: StepDirection) => `
fn delta(n: u32, i: u32) -> f32 {
  return origin[i] + params.step * ${directionExpr[direction]} - clean[i];
}`;

export type AttackProgramSpec =
  | { kind: 'step'; norm: AttackNorm; direction: StepDirection }
  /** Σ over a sample of b² (value 'input') or of the unprojected delta² (value 'delta'). */
  | { kind: 'reduce'; value: 'input' | 'delta'; direction: StepDirection; finish: SampleFinish };

/**
 * Step: bindings origin, b, clean, [bscale], [pscale for L2], out; uniforms count, D, step, eps.
 * Reduce: bindings b (+ origin, clean, [bscale] for 'delta'), out [N]; uniforms N, D, step, eps.
 */
export function attackProgram(spec: AttackProgramSpec): Program {
  if (spec.kind === 'step') {
    const { norm, direction } = spec;
    const bindings: StorageBinding[] = [
      ...deltaBindings(direction),
      ...(norm === 'l2' ? [{ name: 'pscale', access: 'read' as const, element: 'f32' as const }] : []),
      { name: 'out', access: 'read_write', element: 'f32' },
    ];
    const project = norm === 'linf' ? 'clamp(d, -params.eps, params.eps)' : 'd * pscale[n]';
    return {
      key: `attack_step_${norm}_${direction}`,
      bindings,
      uniforms: [u32('count'), u32('D'), f32('step'), f32('eps')],
      workgroupSize: STEP_WG,
      source: () => `${deltaFn(direction)}
${perElementLoopMain(`
  let n = i / params.D;
  let d = delta(n, i);
  out[i] = clamp(clean[i] + ${project}, 0.0, 1.0);`, STEP_WG)}`,
    };
  }
  const { value, direction, finish } = spec;
  const bindings: StorageBinding[] = value === 'delta' ? deltaBindings(direction) : [{ name: 'b', access: 'read', element: 'f32' }];
  return {
    key: `attack_reduce_${value}${value === 'delta' ? `_${direction}` : ''}_${finish}`,
    bindings: [...bindings, { name: 'out', access: 'read_write', element: 'f32' }],
    uniforms: [u32('N'), u32('D'), f32('step'), f32('eps')],
    workgroupSize: REDUCE_WG,
    source: () => `${value === 'delta' ? deltaFn(direction) : ''}
var<workgroup> partial: array<f32, ${REDUCE_WG}>;
@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let n = workgroupIndex(wid, nwg);
  if (n >= params.N) { return; }
  var acc = 0.0;
  for (var i = n * params.D + lidx; i < (n + 1u) * params.D; i += ${REDUCE_WG}u) {
    let v = ${value === 'delta' ? 'delta(n, i)' : 'b[i]'};
    acc += v * v;
  }
  partial[lidx] = acc;
  workgroupBarrier();
  for (var width = ${REDUCE_WG / 2}u; width > 0u; width = width / 2u) {
    if (lidx < width) { partial[lidx] += partial[lidx + width]; }
    workgroupBarrier();
  }
  if (lidx == 0u) {
    let s = partial[0];
    out[n] = ${finishExpr[finish]};
  }
}`,
  };
}

export const attackStepWorkgroups = (count: number) => perElementWorkgroups(count, STEP_WG);
