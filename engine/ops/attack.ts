// Attack steps as ops (shaders/attack.ts): per-sample L2 norms and the fused projected step of
// FGSM / PGD. Samples are the first axis; everything else is flattened. Outputs are constants (no
// autograd): an attack differentiates the model, never its own updates.
import { attackProgram, attackStepWorkgroups, type AttackNorm, type SampleFinish, type StepDirection } from '../../shaders/attack.js';
import { assertDType, assertSameShape, empty, type Tensor } from '../tensor.js';
import { mapRaw, mulRaw } from './elementwise.js';
import { run, shapes } from './run.js';

export type { AttackNorm } from '../../shaders/attack.js';

function samples(op: string, x: Tensor): [number, number] {
  assertDType(op, x, 'f32');
  if (x.rank < 1) throw new Error(`${op}: need a batch axis first, got ${x.describe()}`);
  const N = x.shape[0];
  return [N, N === 0 ? 0 : x.size / N];
}

function reduceSamples(b: Tensor, finish: SampleFinish, label: string, delta?: { origin: Tensor; clean: Tensor; direction: StepDirection; bscale?: Tensor; step: number; eps: number }): Tensor {
  const [N, D] = samples(label, b);
  const out = empty([N]);
  if (N === 0) return out;
  const program = attackProgram({ kind: 'reduce', value: delta ? 'delta' : 'input', direction: delta?.direction ?? 'raw', finish });
  const tensors: Record<string, Tensor> = { b, out };
  if (delta) {
    tensors.origin = delta.origin;
    tensors.clean = delta.clean;
    if (delta.bscale) tensors.bscale = delta.bscale;
  }
  run(program, tensors, { N, D, step: delta?.step ?? 0, eps: delta?.eps ?? 0 }, N, `${label} ${shapes(b)}`);
  return out;
}

/** L2 norm of every sample: x [N, ...] → [N]. */
export function sampleNorms(x: Tensor): Tensor {
  return reduceSamples(x, 'norm', 'sample_norms');
}

export interface ProjectedStepOptions {
  norm: AttackNorm;
  /** Radius of the ball around `clean` (≥ 0), in the chosen norm. */
  eps: number;
  stepSize: number;
  /**
   * How `direction` enters: its sign (L∞ PGD, FGSM), scaled per sample to unit L2 norm (L2 PGD; a
   * zero direction stays zero), or as it is (an L∞ random start drawn in [−ε, ε]).
   */
  mode: 'sign' | 'unit' | 'raw';
  /** Per-sample factors [N] applied on top of the unit direction (radii of an L2 random start). */
  scale?: Tensor;
}

/**
 * One fused attack step: clamp(clean + P(origin + stepSize·dir(direction) − clean), 0, 1), where P
 * projects onto the ε-ball (L∞: clamp to [−ε, ε] per element; L2: shrink each sample's delta to norm
 * ε). All three tensors share one shape [N, ...]; clean must lie in [0, 1].
 */
export function projectedStep(origin: Tensor, direction: Tensor, clean: Tensor, options: ProjectedStepOptions): Tensor {
  const op = 'projected_step';
  const { norm, eps, stepSize, mode, scale } = options;
  assertSameShape(op, origin, clean);
  assertSameShape(op, direction, clean);
  const [N, D] = samples(op, clean);
  if (norm !== 'linf' && norm !== 'l2') throw new Error(`${op}: unknown norm '${norm}' (expected linf or l2)`);
  if (mode !== 'sign' && mode !== 'unit' && mode !== 'raw') throw new Error(`${op}: unknown mode '${mode}' (expected sign, unit or raw)`);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a finite number ≥ 0, got ${eps}`);
  if (!Number.isFinite(stepSize)) throw new Error(`${op}: stepSize must be finite, got ${stepSize}`);
  if (scale && (mode !== 'unit' || scale.rank !== 1 || scale.shape[0] !== N)) throw new Error(`${op}: scale must be [${N}] and goes with mode 'unit', got ${scale.describe()} with mode '${mode}'`);
  const out = empty(clean.shape);
  if (out.size === 0) return out;
  const label = `${op} ${norm} ${mode} ${shapes(clean)}`;
  const temporaries: Tensor[] = [];
  let bscale: Tensor | undefined;
  if (mode === 'unit') {
    bscale = reduceSamples(direction, 'inverse', `${label} (1/‖direction‖)`);
    temporaries.push(bscale);
    if (scale) {
      bscale = mulRaw(bscale, scale);
      temporaries.push(bscale);
    }
  }
  const shaderDirection: StepDirection = mode === 'unit' ? 'scaled' : mode;
  const tensors: Record<string, Tensor> = { origin, b: direction, clean, out };
  if (bscale) tensors.bscale = bscale;
  if (norm === 'l2') {
    const pscale = reduceSamples(direction, 'project', `${label} (ball projection)`, { origin, clean, direction: shaderDirection, bscale, step: stepSize, eps });
    temporaries.push(pscale);
    tensors.pscale = pscale;
  }
  run(attackProgram({ kind: 'step', norm, direction: shaderDirection }), tensors, { count: out.size, D, step: stepSize, eps }, attackStepWorkgroups(out.size), label);
  temporaries.forEach((t) => t.dispose());
  return out;
}

const SELECT_SAMPLES = { name: 'select_samples', arity: 3 as const, expr: 'select(b, a, c > T(0.5))' };

/** Per sample n: ifTrue[n] where mask[n] > 0.5, else ifFalse[n] (mask [N], values [N, ...]). */
export function selectSamples(mask: Tensor, ifTrue: Tensor, ifFalse: Tensor): Tensor {
  assertSameShape('select_samples', ifTrue, ifFalse);
  const [N] = samples('select_samples', ifTrue);
  if (mask.rank !== 1 || mask.shape[0] !== N) throw new Error(`select_samples: mask must be [${N}], got ${mask.describe()}`);
  const m = mask.view([N, ...ifTrue.shape.slice(1).map(() => 1)]);
  const out = mapRaw(SELECT_SAMPLES, [ifTrue, ifFalse, m]);
  m.dispose();
  return out;
}
