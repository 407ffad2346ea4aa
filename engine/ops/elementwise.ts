// Elementwise ops with NumPy broadcasting. Each op's forward (a WGSL expression) and backward sit
// together in one table entry.
import { MAX_NORMALIZED_CHANNELS, MAX_RANK, normalizeChannelsProgram, mapProgram, mapWorkgroups, type MapSpec } from '../../shaders/elementwise.js';
import { record } from '../autograd.js';
import { assertDType, empty, numel, type Shape, type Tensor } from '../tensor.js';
import { sumTo } from './reduce.js';
import { run, shapes } from './run.js';

export function broadcastShapes(op: string, ...inputs: Shape[]): number[] {
  const rank = Math.max(...inputs.map((s) => s.length));
  const out: number[] = [];
  for (let d = 0; d < rank; d++) {
    let size = 1;
    for (const s of inputs) {
      const dim = s[s.length - rank + d] ?? 1;
      if (dim !== 1 && size !== 1 && dim !== size) throw new Error(`${op}: shapes ${inputs.map((x) => `[${x}]`).join(' and ')} do not broadcast (dimension ${d})`);
      if (dim !== 1) size = dim;
    }
    out.push(size);
  }
  return out;
}

/** Strides (in elements) to read `shape` at the coordinates of `out`, 0 along broadcast axes. */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = out.length - shape.length + d;
    strides[od] = shape[d] === 1 ? 0 : stride;
    stride *= shape[d];
  }
  return strides;
}

/**
 * Merges neighbouring axes that every input steps over as one longer run (contiguously, or
 * broadcast along both) and drops axes of size 1, so the kernel decomposes fewer coordinates:
 * expanding [N,1,1,C] to [N,H,W,C] runs as [N, H·W, C]. Returns the merged output dims and each
 * input's strides over them.
 */
function coalesceAxes(dims: readonly number[], strides: number[][]): { dims: number[]; strides: number[][] } {
  const axes = dims.map((_, d) => d).filter((d) => dims[d] !== 1);
  if (axes.length === 0) return { dims: [1], strides: strides.map(() => [0]) };
  const last = axes[axes.length - 1];
  const merged = { dims: [dims[last]], strides: strides.map((s) => [s[last]]) };
  for (let j = axes.length - 2; j >= 0; j--) {
    const d = axes[j];
    // Axis d continues the merged axis inside it when its stride is that axis's whole extent.
    if (strides.every((s, k) => s[d] === merged.strides[k][0] * merged.dims[0])) {
      merged.dims[0] *= dims[d];
      continue;
    }
    merged.dims.unshift(dims[d]);
    merged.strides.forEach((m, k) => m.unshift(strides[k][d]));
  }
  return merged;
}

/**
 * Runs `spec` over inputs broadcast to `outShape` (each input's shape must broadcast to it); no
 * autograd. Threads take 4 elements at once when every input spans the output's last axis and it
 * is a multiple of 4.
 */
export function broadcastMap(spec: MapSpec, inputs: Tensor[], outShape: Shape, label: string, s0 = 0, s1 = 0): Tensor {
  if (outShape.length > MAX_RANK) throw new Error(`${spec.name}: rank ${outShape.length} exceeds the supported ${MAX_RANK}`);
  const out = empty(outShape);
  if (out.size === 0) return out;
  const names = ['a', 'b', 'c'];
  const tensors: Record<string, Tensor> = { out };
  inputs.forEach((t, i) => (tensors[`${names[i]}buf`] = t));
  const merged = coalesceAxes([...outShape], inputs.map((t) => broadcastStrides(t.shape, outShape)));
  const last = outShape[outShape.length - 1] ?? 1;
  const vec4 = last % 4 === 0 && inputs.every((t) => t.rank > 0 && t.shape[t.rank - 1] === last);
  const count = vec4 ? out.size / 4 : out.size;
  const uniforms: Record<string, number> = { count, s0, s1 };
  const rank = merged.dims.length;
  const pad = MAX_RANK - rank;
  for (let d = 0; d < MAX_RANK; d++) uniforms[`d${d}`] = d < pad ? 1 : merged.dims[d - pad];
  merged.strides.forEach((strides, k) => {
    for (let d = 0; d < MAX_RANK; d++) uniforms[`${names[k]}s${d}`] = d < pad ? 0 : strides[d - pad];
  });
  run(mapProgram(spec, 'broadcast', vec4, rank), tensors, uniforms, mapWorkgroups(count), label);
  return out;
}

/** Runs a map over same-shaped or broadcastable inputs; no autograd. */
export function mapRaw(spec: MapSpec, inputs: Tensor[], s0 = 0, s1 = 0): Tensor {
  // f16 inputs (inference storage) give an f16 result; see mapProgram for what f16 supports.
  const half = inputs.some((t) => t.dtype === 'f16');
  for (const t of inputs) if (t.dtype !== 'f32' && !(half && t.dtype === 'f16')) assertDType(spec.name, t, 'f32');
  const outShape = broadcastShapes(spec.name, ...inputs.map((t) => t.shape));
  if (outShape.length > MAX_RANK) throw new Error(`${spec.name}: rank ${outShape.length} exceeds the supported ${MAX_RANK}`);
  const same = inputs.every((t) => t.size === numel(outShape));
  if (half && (!same || numel(outShape) % 4 !== 0)) throw new Error(`${spec.name}: f16 operands need equal shapes with a multiple of 4 elements, got ${shapes(...inputs)}`);
  const label = `${spec.name} ${shapes(...inputs)}`;
  if (!same) return broadcastMap(spec, inputs, outShape, label, s0, s1);
  const out = empty(outShape, half ? 'f16' : 'f32');
  if (out.size === 0) return out;
  const tensors: Record<string, Tensor> = { out };
  inputs.forEach((t, i) => (tensors[`${['a', 'b', 'c'][i]}buf`] = t));
  const vec4 = out.size % 4 === 0;
  const count = vec4 ? out.size / 4 : out.size;
  const halves = half ? [...inputs.map((t) => t.dtype === 'f16'), true] : [];
  run(mapProgram(spec, 'same', vec4, MAX_RANK, halves), tensors, { count, s0, s1 }, mapWorkgroups(count), label);
  return out;
}

const spec = (name: string, arity: 1 | 2 | 3, expr: string): MapSpec => ({ name, arity, expr });

// ---- binary ops -----------------------------------------------------------------------------------

const ADD = spec('add', 2, 'a + b');
const SUB = spec('sub', 2, 'a - b');
const MUL = spec('mul', 2, 'a * b');
const DIV = spec('div', 2, 'a / b');
const NEG = spec('neg', 1, '-a');
const SCALE = spec('scale', 1, 'a * params.s0');

export function add(a: Tensor, b: Tensor): Tensor {
  return record('add', [a, b], mapRaw(ADD, [a, b]), [], (g) => [sumTo(g, a.shape), sumTo(g, b.shape)]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  return record('sub', [a, b], mapRaw(SUB, [a, b]), [], (g) => [sumTo(g, a.shape), sumTo(mapRaw(NEG, [g]), b.shape)]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  return record('mul', [a, b], mapRaw(MUL, [a, b]), [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(mapRaw(MUL, [g, sb]), a.shape) : null,
    b.requiresGrad ? sumTo(mapRaw(MUL, [g, sa]), b.shape) : null,
  ]);
}

const DIV_GRAD_B = spec('div_grad_b', 3, '-a * b / (c * c)'); // -g·a/b²  with (g, a, b)

export function div(a: Tensor, b: Tensor): Tensor {
  return record('div', [a, b], mapRaw(DIV, [a, b]), [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(mapRaw(DIV, [g, sb]), a.shape) : null,
    b.requiresGrad ? sumTo(mapRaw(DIV_GRAD_B, [g, sa, sb]), b.shape) : null,
  ]);
}

const MAXIMUM = spec('maximum', 2, 'max(a, b)');
const MINIMUM = spec('minimum', 2, 'min(a, b)');
// Ties send the gradient to the first argument, as PyTorch's maximum/minimum do for each side in turn.
const PICK_A_GE = spec('pick_ge', 3, 'select(T(0.0), a, b >= c)');
const PICK_A_GT = spec('pick_gt', 3, 'select(T(0.0), a, b > c)');

export function maximum(a: Tensor, b: Tensor): Tensor {
  return record('maximum', [a, b], mapRaw(MAXIMUM, [a, b]), [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(mapRaw(PICK_A_GE, [g, sa, sb]), a.shape) : null,
    b.requiresGrad ? sumTo(mapRaw(PICK_A_GT, [g, sb, sa]), b.shape) : null,
  ]);
}

export function minimum(a: Tensor, b: Tensor): Tensor {
  return record('minimum', [a, b], mapRaw(MINIMUM, [a, b]), [a, b], (g, [sa, sb]) => [
    a.requiresGrad ? sumTo(mapRaw(PICK_A_GE, [g, sb, sa]), a.shape) : null,
    b.requiresGrad ? sumTo(mapRaw(PICK_A_GT, [g, sa, sb]), b.shape) : null,
  ]);
}

const ADD_RELU = spec('add_relu', 2, 'max(a + b, T(0.0))');
const RELU_GRAD = spec('relu_grad', 2, 'select(T(0.0), a, b > T(0.0))');
const RELU_GRAD_OF_SUM = spec('relu_grad_sum', 3, 'select(T(0.0), a + b, c > T(0.0))');

/**
 * The gradient through a ReLU with output y of the sum of `gradients` (in order): relu'(y) ⊙ Σ g.
 * The last addition and the mask share one pass. The autograd core's mask for ReLU-ended ops.
 */
export function reluGradOfSumRaw(gradients: readonly Tensor[], y: Tensor): Tensor {
  if (gradients.length === 1) return mapRaw(RELU_GRAD, [gradients[0], y]);
  let sum = gradients[0];
  for (const g of gradients.slice(1, -1)) {
    const next = addRaw(sum, g);
    if (sum !== gradients[0]) sum.dispose();
    sum = next;
  }
  const masked = mapRaw(RELU_GRAD_OF_SUM, [sum, gradients[gradients.length - 1], y]);
  if (sum !== gradients[0]) sum.dispose();
  return masked;
}

/** relu(a + b) in one pass (a residual block's output); the gradient is masked once for both inputs. */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  const y = mapRaw(ADD_RELU, [a, b]);
  return record('add_relu', [a, b], y, [y], (masked) => [a.requiresGrad ? sumTo(masked, a.shape) : null, b.requiresGrad ? sumTo(masked, b.shape) : null], { saved: 0 });
}

/** (x − shift[c])·scale[c] along the last axis, no autograd. */
function normalizeChannelsRaw(x: Tensor, shift: readonly number[], scale: readonly number[]): Tensor {
  const out = empty(x.shape);
  if (out.size === 0) return out;
  const uniforms: Record<string, number> = { count: x.size };
  for (let c = 0; c < MAX_NORMALIZED_CHANNELS; c++) {
    uniforms[`shift${c}`] = shift[c] ?? 0;
    uniforms[`scale${c}`] = scale[c] ?? 0;
  }
  run(normalizeChannelsProgram(shift.length), { x, out }, uniforms, mapWorkgroups(x.size), `normalize_channels ${shapes(x)}`);
  return out;
}

/**
 * (x − shift[c])·scale[c], c indexing the last axis (at most 4 channels): per-channel input
 * normalisation, (x − mean)/std as one pass with scale = 1/std. The gradient is g·scale[c].
 */
export function normalizeChannels(x: Tensor, shift: readonly number[], scale: readonly number[]): Tensor {
  assertDType('normalizeChannels', x, 'f32');
  const channels = x.shape[x.rank - 1];
  if (x.rank === 0 || shift.length !== channels || scale.length !== channels || channels > MAX_NORMALIZED_CHANNELS) {
    throw new Error(`normalizeChannels: ${x.describe()} needs one shift and one scale per channel of its last axis (at most ${MAX_NORMALIZED_CHANNELS}), got ${shift.length} and ${scale.length}`);
  }
  if (![...shift, ...scale].every(Number.isFinite)) throw new Error(`normalizeChannels: shift [${shift}] and scale [${scale}] must be finite numbers`);
  const y = normalizeChannelsRaw(x, shift, scale);
  const zeros = shift.map(() => 0);
  return record('normalize_channels', [x], y, [], (g) => [normalizeChannelsRaw(g, zeros, scale)]);
}

// ---- unary ops ------------------------------------------------------------------------------------

interface UnaryDef {
  forward: MapSpec;
  /** Gradient as a map over (a = g, b = the saved tensor): the input x or the output y. */
  backward: MapSpec;
  saves: 'x' | 'y' | 'none';
}

const unary = (name: string, forward: string, saves: 'x' | 'y' | 'none', backward: string): UnaryDef => ({
  forward: spec(name, 1, forward),
  backward: spec(`${name}_grad`, saves === 'none' ? 1 : 2, backward),
  saves,
});

const UNARY = {
  neg: unary('neg', '-a', 'none', '-a'),
  relu: unary('relu', 'max(a, T(0.0))', 'y', 'select(T(0.0), a, b > T(0.0))'),
  exp: unary('exp', 'exp(a)', 'y', 'a * b'),
  log: unary('log', 'log(a)', 'x', 'a / b'),
  sqrt: unary('sqrt', 'sqrt(a)', 'y', 'a * T(0.5) / b'),
  abs: unary('abs', 'abs(a)', 'x', 'a * sign(b)'),
  square: unary('square', 'a * a', 'x', 'T(2.0) * a * b'),
  sigmoid: unary('sigmoid', 'T(1.0) / (T(1.0) + exp(-a))', 'y', 'a * b * (T(1.0) - b)'),
  tanh: unary('tanh', 'tanh(a)', 'y', 'a * (T(1.0) - b * b)'),
};

function applyUnary(name: keyof typeof UNARY, x: Tensor): Tensor {
  const def = UNARY[name];
  const y = mapRaw(def.forward, [x]);
  const saved = def.saves === 'x' ? [x] : def.saves === 'y' ? [y] : [];
  return record(name, [x], y, saved, (g, kept) => [mapRaw(def.backward, [g, ...kept])]);
}

export const neg = (x: Tensor) => applyUnary('neg', x);
export const relu = (x: Tensor) => applyUnary('relu', x);
export const exp = (x: Tensor) => applyUnary('exp', x);
export const log = (x: Tensor) => applyUnary('log', x);
export const sqrt = (x: Tensor) => applyUnary('sqrt', x);
export const abs = (x: Tensor) => applyUnary('abs', x);
export const square = (x: Tensor) => applyUnary('square', x);
export const sigmoid = (x: Tensor) => applyUnary('sigmoid', x);
export const tanh = (x: Tensor) => applyUnary('tanh', x);

// ---- scalar ops -----------------------------------------------------------------------------------

const ADD_SCALAR = spec('add_scalar', 1, 'a + T(params.s0)');
const CLAMP = spec('clamp', 1, 'clamp(a, T(params.s0), T(params.s1))');
const CLAMP_GRAD = spec('clamp_grad', 2, 'select(T(0.0), a, b >= T(params.s0) && b <= T(params.s1))');
const POW = spec('pow_scalar', 1, 'pow(a, T(params.s0))');
const POW_GRAD = spec('pow_scalar_grad', 2, 'a * T(params.s0) * pow(b, T(params.s0 - 1.0))');

export function mulScalar(x: Tensor, s: number): Tensor {
  return record('mul_scalar', [x], mapRaw(SCALE, [x], s), [], (g) => [mapRaw(SCALE, [g], s)]);
}

export function addScalar(x: Tensor, s: number): Tensor {
  return record('add_scalar', [x], mapRaw(ADD_SCALAR, [x], s), [], (g) => [g.view(g.shape)]);
}

export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  if (!(lo <= hi)) throw new Error(`clamp: lower bound ${lo} exceeds upper bound ${hi}`);
  return record('clamp', [x], mapRaw(CLAMP, [x], lo, hi), [x], (g, [sx]) => [mapRaw(CLAMP_GRAD, [g, sx], lo, hi)]);
}

/** x^p for a constant p (x > 0 unless p is an integer). */
export function powScalar(x: Tensor, p: number): Tensor {
  return record('pow_scalar', [x], mapRaw(POW, [x], p), [x], (g, [sx]) => [mapRaw(POW_GRAD, [g, sx], p)]);
}

/** Sum of two tensors without autograd (gradient accumulation). */
export const addRaw = (a: Tensor, b: Tensor) => mapRaw(ADD, [a, b]);
export const scaleRaw = (a: Tensor, s: number) => mapRaw(SCALE, [a], s);
export const mulRaw = (a: Tensor, b: Tensor) => mapRaw(MUL, [a, b]);
export const subRaw = (a: Tensor, b: Tensor) => mapRaw(SUB, [a, b]);
export const reluRaw = (a: Tensor) => mapRaw(UNARY.relu.forward, [a]);
/** g where y > 0, else 0 (the gradient through a ReLU whose output was y). */
export const reluGradRaw = (g: Tensor, y: Tensor) => mapRaw(RELU_GRAD, [g, y]);
