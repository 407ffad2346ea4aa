// Elementwise, broadcasting, reductions and strided windows in plain TypeScript (float64).
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, d) => {
    const x = a[a.length - rank + d] ?? 1;
    const y = b[b.length - rank + d] ?? 1;
    return x === 1 ? y : x;
  });
}

function coords(index: number, shape: readonly number[]): number[] {
  const c = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = index % shape[d];
    index = Math.floor(index / shape[d]);
  }
  return c;
}

function offsetOf(c: readonly number[], shape: readonly number[]): number {
  let off = 0;
  const lead = c.length - shape.length;
  for (let d = 0; d < shape.length; d++) off = off * shape[d] + (shape[d] === 1 ? 0 : c[lead + d]);
  return off;
}

export function mapRef(f: (...v: number[]) => number, inputs: { data: ArrayLike<number>; shape: number[] }[]): { value: Float64Array; shape: number[] } {
  const shape = inputs.map((i) => i.shape).reduce((s, t) => broadcastShape(s, t));
  const n = shape.reduce((a, b) => a * b, 1);
  const value = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = coords(i, shape);
    value[i] = f(...inputs.map((inp) => inp.data[offsetOf(c, inp.shape)]));
  }
  return { value, shape };
}

/** Reduces over `axes` (keepDims shape returned). */
export function reduceRef(kind: 'sum' | 'mean' | 'max' | 'min', data: ArrayLike<number>, shape: number[], axes: number[]): { value: Float64Array; absSum: Float64Array; shape: number[] } {
  const outShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const n = outShape.reduce((a, b) => a * b, 1);
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : 0;
  const value = new Float64Array(n).fill(init);
  const absSum = new Float64Array(n);
  const count = axes.reduce((a, ax) => a * shape[ax], 1);
  for (let i = 0; i < data.length; i++) {
    const o = offsetOf(coords(i, shape), outShape);
    const v = data[i];
    if (kind === 'max') value[o] = Math.max(value[o], v);
    else if (kind === 'min') value[o] = Math.min(value[o], v);
    else value[o] += v;
    absSum[o] += Math.abs(v);
  }
  if (kind === 'mean') for (let o = 0; o < n; o++) {
    value[o] /= count;
    absSum[o] /= count;
  }
  return { value, absSum, shape: outShape };
}

/** out[c] = x[offset + step·c], zero outside. */
/** The transpose of windowRef (its backward): each output value goes back to the input it came from. */
export function windowTransposeRef(grad: ArrayLike<number>, outShape: number[], shape: number[], offsets: number[], steps: number[]): Float64Array {
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < grad.length; i++) {
    const src = coords(i, outShape).map((v, d) => offsets[d] + steps[d] * v);
    if (src.every((s, d) => s >= 0 && s < shape[d])) out[offsetOf(src, shape)] += grad[i];
  }
  return out;
}

export function windowRef(data: ArrayLike<number>, shape: number[], outShape: number[], offsets: number[], steps: number[]): Float64Array {
  const n = outShape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = coords(i, outShape);
    const src = c.map((v, d) => offsets[d] + steps[d] * v);
    if (src.every((s, d) => s >= 0 && s < shape[d])) out[i] = data[offsetOf(src, shape)];
  }
  return out;
}
