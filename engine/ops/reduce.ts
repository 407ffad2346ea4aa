// sum / mean / max / min over any set of axes. Each contiguous run of reduced axes is one
// [outer, R, inner] reduction on the GPU (plus a second pass when R is split across threads).
import { MAX_RANK } from '../../shaders/elementwise.js';
import { reduceProgram, reduceWorkgroups, type ReduceKind } from '../../shaders/reduce.js';
import { record } from '../autograd.js';
import { assertDType, empty, numel, type Shape, type Tensor } from '../tensor.js';
import { broadcastMap, mapRaw } from './elementwise.js';
import { normAxis, run, shapes } from './run.js';

// Enough threads to keep a GPU (or lavapipe's SIMD lanes on every core) busy.
const TARGET_THREADS = 16384;
const MAX_SPLITS = 1024;

/** Reduces x viewed as [outer, R, inner] over R into a new [outer·inner] tensor. No autograd. */
export function reduceRaw(kind: ReduceKind, x: Tensor, outer: number, R: number, inner: number, scale = 1): Tensor {
  assertDType(`reduce_${kind}`, x, 'f32');
  const outputs = outer * inner;
  const out = empty([outputs]);
  if (outputs === 0) return out;
  const label = `reduce_${kind} ${shapes(x)} as [${outer},${R},${inner}]`;
  let splits = outputs >= TARGET_THREADS || R <= 64 ? 1 : Math.min(MAX_SPLITS, Math.ceil(TARGET_THREADS / outputs), Math.ceil(R / 32));
  const rChunk = Math.max(1, Math.ceil(R / splits));
  splits = Math.max(1, Math.ceil(R / rChunk));
  if (splits === 1) {
    run(reduceProgram(kind), { x, out }, { outer, R, inner, rChunk: Math.max(R, 1), splits: 1, scale }, reduceWorkgroups(outputs), label);
    return out;
  }
  const partial = empty([splits * outputs]);
  run(reduceProgram(kind), { x, out: partial }, { outer, R, inner, rChunk, splits, scale: 1 }, reduceWorkgroups(splits * outputs), label);
  const second: ReduceKind = kind === 'sumsq' ? 'sum' : kind;
  run(reduceProgram(second), { x: partial, out }, { outer: 1, R: splits, inner: outputs, rChunk: splits, splits: 1, scale }, reduceWorkgroups(outputs), `${label} (pass 2)`);
  partial.dispose();
  return out;
}

function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  const list = axes === undefined ? [...Array(rank).keys()] : typeof axes === 'number' ? [axes] : axes;
  const norm = [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((a, b) => a - b);
  return norm;
}

function reducedShape(shape: Shape, axes: number[], keepDims: boolean): number[] {
  return keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

/** Reduction over arbitrary axes without autograd; returns the keepDims-shaped result. */
function reduceAxes(kind: ReduceKind, x: Tensor, axes: number[], scale: number): Tensor {
  let current = x;
  let shape = [...x.shape];
  // Group sorted axes into runs of adjacent axes, reduce the last run first so earlier indices hold.
  const runs: [number, number][] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last[1] === a - 1) last[1] = a;
    else runs.push([a, a]);
  }
  if (runs.length === 0) return x.view(x.shape);
  for (let r = runs.length - 1; r >= 0; r--) {
    const [a0, a1] = runs[r];
    const outer = numel(shape.slice(0, a0));
    const R = numel(shape.slice(a0, a1 + 1));
    const inner = numel(shape.slice(a1 + 1));
    const next = reduceRaw(r === runs.length - 1 ? kind : kind === 'sumsq' ? 'sum' : kind, current, outer, R, inner, r === 0 ? scale : 1);
    if (current !== x) current.dispose();
    shape = shape.map((d, i) => (i >= a0 && i <= a1 ? 1 : d));
    current = next;
  }
  const result = current.view(shape);
  current.dispose();
  return result;
}

const EXPAND = { name: 'expand', arity: 1 as const, expr: 'a' };
const EXPAND_SCALED = { name: 'expand_scaled', arity: 1 as const, expr: 'a * params.s0' };

/** Broadcasts x to `shape` (materialised), times `scale` if given. No autograd. */
export function expandRaw(x: Tensor, shape: Shape, scale = 1): Tensor {
  if (shape.length > MAX_RANK) throw new Error(`expand: rank ${shape.length} exceeds ${MAX_RANK}`);
  const xPadded = [...new Array(Math.max(0, shape.length - x.rank)).fill(1), ...x.shape];
  if (x.rank > shape.length || xPadded.some((d, i) => d !== 1 && d !== shape[i])) throw new Error(`expand: cannot broadcast ${x.describe()} to [${shape}]`);
  return broadcastMap(scale === 1 ? EXPAND : EXPAND_SCALED, [x], shape, `expand ${shapes(x)} → [${shape}]`, scale);
}

export interface ReduceOptions {
  keepDims?: boolean;
}

function reduceOp(op: 'sum' | 'mean', x: Tensor, axes: number | readonly number[] | undefined, options: ReduceOptions): Tensor {
  const norm = normAxes(op, axes, x.rank);
  const count = numel(norm.map((a) => x.shape[a]));
  const scale = op === 'mean' ? 1 / Math.max(count, 1) : 1;
  const kept = reduceAxes('sum', x, norm, scale);
  const y = options.keepDims ? kept : viewAndDrop(kept, reducedShape(x.shape, norm, false));
  return record(op, [x], y, [], (g) => {
    const gk = g.view(reducedShape(x.shape, norm, true));
    // One pass: the gradient broadcast back over the reduced axes, times 1/count for a mean.
    const expanded = expandRaw(gk, x.shape, scale);
    gk.dispose();
    return [expanded];
  });
}

function viewAndDrop(t: Tensor, shape: Shape): Tensor {
  const v = t.view(shape);
  t.dispose();
  return v;
}

export const sum = (x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}) => reduceOp('sum', x, axes, options);
export const mean = (x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}) => reduceOp('mean', x, axes, options);

const EQUAL_MASK = { name: 'extreme_grad', arity: 3 as const, expr: 'select(T(0.0), a, b == c)' };

/** max/min over axes; the gradient flows to every element equal to the extreme (ties share it fully). */
function extremeOp(kind: 'max' | 'min', x: Tensor, axes: number | readonly number[] | undefined, options: ReduceOptions): Tensor {
  const norm = normAxes(kind, axes, x.rank);
  const keptShape = reducedShape(x.shape, norm, true);
  const kept = reduceAxes(kind, x, norm, 1);
  const y = options.keepDims ? kept : viewAndDrop(kept, reducedShape(x.shape, norm, false));
  return record(kind, [x], y, [x, y], (g, [sx, sy]) => {
    const gk = g.view(keptShape);
    const yk = sy.view(keptShape);
    const grad = mapRaw(EQUAL_MASK, [gk, sx, yk]);
    gk.dispose();
    yk.dispose();
    return [grad];
  });
}

export const max = (x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}) => extremeOp('max', x, axes, options);
export const min = (x: Tensor, axes?: number | readonly number[], options: ReduceOptions = {}) => extremeOp('min', x, axes, options);

/** Sums a broadcast gradient back to `shape` (the inverse of broadcasting). No autograd. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g.view(shape);
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < g.rank; d++) if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  const reduced = reduceAxes('sum', g, axes, 1);
  const out = reduced.view(shape);
  reduced.dispose();
  return out;
}
