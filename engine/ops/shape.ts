// Shape ops: reshape (free), and pad / slice / flip / strided subsampling, all one strided-window
// kernel (shaders/window.ts) whose transpose is the backward.
import { MAX_RANK } from '../../shaders/elementwise.js';
import { padToVec4Program, stridedGatherProgram, windowProgram, windowWorkgroups, type WindowGeometry } from '../../shaders/window.js';
import { record } from '../autograd.js';
import { assertDType, empty, numel, type Shape, type Tensor } from '../tensor.js';
import { normAxis, run, shapes } from './run.js';

export function reshape(x: Tensor, shape: Shape): Tensor {
  const inferred = [...shape];
  const unknown = inferred.indexOf(-1);
  if (unknown >= 0) {
    const known = numel(inferred.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot infer -1 reshaping ${x.describe()} to [${shape}]`);
    inferred[unknown] = x.size / known;
  }
  const y = x.view(inferred);
  return record('reshape', [x], y, [], (g) => [g.view(x.shape)]);
}

export const flatten = (x: Tensor) => reshape(x, [x.shape[0], -1]);

interface Window {
  outShape: number[];
  offsets: number[];
  steps: number[];
}

/** The sizes and steps, compiled into the shader, padded to MAX_RANK with unit axes in front. */
function windowGeometry(x: Shape, w: Window): WindowGeometry {
  const pad = MAX_RANK - x.length;
  const padded = (values: readonly number[]) => Array.from({ length: MAX_RANK }, (_, d) => (d < pad ? 1 : values[d - pad]));
  return { d: padded(w.outShape), e: padded(x), t: padded(w.steps) };
}

/** The offsets, which stay uniforms (a random crop's vary from call to call). */
function offsetUniforms(x: Shape, w: Window): Record<string, number> {
  const pad = MAX_RANK - x.length;
  const u: Record<string, number> = {};
  for (let d = 0; d < MAX_RANK; d++) u[`o${d}`] = d < pad ? 0 : w.offsets[d - pad];
  return u;
}

function windowRaw(direction: 'forward' | 'transpose', x: Tensor, inShape: Shape, w: Window, label: string): Tensor {
  const out = empty(direction === 'forward' ? w.outShape : inShape);
  if (out.size === 0) return out;
  // A unit-step last axis whose sizes and offset are multiples of 4 moves in vec4s: a quarter of the
  // threads, and of the index arithmetic (divisions, which CPU adapters run lane by lane).
  const last = inShape.length - 1;
  const vec4 = last >= 0 && w.steps[last] === 1 && [inShape[last], w.outShape[last], w.offsets[last]].every((v) => v % 4 === 0);
  const quarter = (values: readonly number[]) => values.map((v, d) => (d === last ? v / 4 : v));
  const [shape, win] = vec4 ? [quarter(inShape), { outShape: quarter(w.outShape), offsets: quarter(w.offsets), steps: w.steps }] : [inShape, w];
  const count = vec4 ? out.size / 4 : out.size;
  run(windowProgram(direction, inShape.length, vec4, windowGeometry(shape, win)), { x, y: out }, { ...offsetUniforms(shape, win), count }, windowWorkgroups(count), label);
  return out;
}

/**
 * x cut or zero-padded at the end of each axis to `shape`, without autograd (a copy). Padding only
 * the last axis from 1–3 entries to 4 (an image's channels) takes one vec4 per thread; the generic
 * window would take one thread per float.
 */
export function resizeRaw(x: Tensor, shape: Shape, label: string): Tensor {
  if (shape.length !== x.rank) throw new Error(`${label}: expected ${x.rank} sizes for ${x.describe()}, got [${shape}]`);
  const fullLabel = `${label} ${shapes(x)} → [${shape}]`;
  const last = x.rank - 1;
  if (last >= 0 && x.shape[last] < 4 && shape[last] === 4 && x.shape.every((d, i) => i === last || d === shape[i])) {
    const out = empty(shape);
    const rows = out.size / 4;
    if (rows > 0) run(padToVec4Program(x.shape[last]), { x, y: out }, { count: rows }, windowWorkgroups(rows), fullLabel);
    return out;
  }
  const w: Window = { outShape: [...shape], offsets: x.shape.map(() => 0), steps: x.shape.map(() => 1) };
  return windowRaw('forward', x, x.shape, w, fullLabel);
}

/** out[c] = x[offset + step·c] per axis, zero outside x. The primitive behind pad/slice/flip. */
export function window(x: Tensor, outShape: Shape, offsets: readonly number[], steps: readonly number[], name = 'window'): Tensor {
  assertDType(name, x, 'f32');
  if (x.rank > MAX_RANK) throw new Error(`${name}: rank ${x.rank} exceeds ${MAX_RANK}`);
  if (outShape.length !== x.rank || offsets.length !== x.rank || steps.length !== x.rank) throw new Error(`${name}: expected ${x.rank} entries per axis for ${x.describe()}`);
  if (steps.some((s) => !Number.isInteger(s) || s === 0)) throw new Error(`${name}: steps must be non-zero integers, got [${steps}]`);
  const w: Window = { outShape: [...outShape], offsets: [...offsets], steps: [...steps] };
  const label = `${name} ${shapes(x)} → [${outShape}]`;
  const y = windowRaw('forward', x, x.shape, w, label);
  return record(name, [x], y, [], (g) => [windowRaw('transpose', g, x.shape, w, `${label} backward`)]);
}

/** Zero padding: `pads[d] = [before, after]` per axis (missing trailing axes are not padded). */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[]): Tensor {
  const full = x.shape.map((_, d) => pads[d] ?? [0, 0]);
  if (full.some(([a, b]) => !Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0)) throw new Error(`pad: padding must be non-negative integers, got ${JSON.stringify(pads)} for ${x.describe()}`);
  return window(x, x.shape.map((d, i) => d + full[i][0] + full[i][1]), full.map(([a]) => -a), x.shape.map(() => 1), 'pad');
}

/** x[start : start + size : step] per axis (step may be negative for reversed slices). */
export function slice(x: Tensor, starts: readonly number[], sizes: readonly number[], steps?: readonly number[]): Tensor {
  const st = steps ?? x.shape.map(() => 1);
  x.shape.forEach((dim, d) => {
    const first = starts[d];
    const last = starts[d] + (sizes[d] - 1) * st[d];
    if (sizes[d] < 0 || (sizes[d] > 0 && (first < 0 || first >= dim || last < 0 || last >= dim))) {
      throw new Error(`slice: axis ${d}: start ${starts[d]}, size ${sizes[d]}, step ${st[d]} leaves ${x.describe()}`);
    }
  });
  return window(x, sizes, starts, st, 'slice');
}

/** Reverses the given axes. */
export function flip(x: Tensor, axes: readonly number[]): Tensor {
  const norm = axes.map((a) => normAxis('flip', a, x.rank));
  return window(x, x.shape, x.shape.map((d, i) => (norm.includes(i) ? d - 1 : 0)), x.shape.map((_, i) => (norm.includes(i) ? -1 : 1)), 'flip');
}

/**
 * A copy of x with its axes reordered (`axes[i]` is the input axis that becomes output axis i) and
 * the listed output axes reversed. No autograd.
 */
export function permuteRaw(x: Tensor, axes: readonly number[], flipAxes: readonly number[] = []): Tensor {
  if (axes.length !== x.rank || [...axes].sort().some((a, i) => a !== i)) throw new Error(`permute: [${axes}] is not a permutation of the ${x.rank} axes of ${x.describe()}`);
  const inStrides = x.shape.map((_, d) => numel(x.shape.slice(d + 1)));
  const outShape = axes.map((a) => x.shape[a]);
  const strides = axes.map((a, i) => (flipAxes.includes(i) ? -inStrides[a] : inStrides[a]));
  const base = axes.reduce((sum, a, i) => sum + (flipAxes.includes(i) ? (outShape[i] - 1) * inStrides[a] : 0), 0);
  const out = empty(outShape);
  if (out.size > 0) run(stridedGatherProgram(outShape, strides, base), { x, y: out }, { count: x.size }, windowWorkgroups(out.size), `permute ${shapes(x)} → [${outShape}]`);
  return out;
}

/** Reorders axes: output axis i is input axis axes[i] (autograd: the inverse permutation). */
export function permute(x: Tensor, axes: readonly number[]): Tensor {
  const y = permuteRaw(x, axes);
  const inverse = new Array<number>(axes.length);
  axes.forEach((a, i) => (inverse[a] = i));
  return record('permute', [x], y, [], (g) => [permuteRaw(g, inverse)]);
}
