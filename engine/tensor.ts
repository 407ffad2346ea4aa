// Tensors: a shape, a dtype and a reference-counted range of a pooled GPU buffer. Layout is always
// contiguous row-major, so reshape is free. Lifetime is explicit: `dispose()` or a `scope()`.
import { runtime, type BufferRange } from './runtime.js';
import type { GradNode } from './autograd.js';
import { decodeHalves, encodeHalves } from './half.js';

/** f16 is a storage type: two values packed per 32-bit word, read and written by kernels as f32. */
export type DType = 'f32' | 'f16' | 'i32' | 'u32';
export type TypedArrayFor<D extends DType> = D extends 'f32' | 'f16' ? Float32Array : D extends 'i32' ? Int32Array : Uint32Array;

export const bytesPerElement = (dtype: DType): number => (dtype === 'f16' ? 2 : 4);

/** 32-bit words `size` values take (f16 packs two per word). */
export const storageWords = (size: number, dtype: DType): number => Math.ceil((size * bytesPerElement(dtype)) / 4);

/** Bytes a tensor's buffer range takes: whole 32-bit words, at least one. */
export const storageBytes = (size: number, dtype: DType): number => 4 * Math.max(1, storageWords(size, dtype));
export type Shape = readonly number[];

/** Shared GPU memory behind one or more tensor handles (a tensor and its reshapes, saved copies). */
class Storage {
  private refs = 1;
  constructor(readonly range: BufferRange, private readonly pooled: boolean) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0 && this.pooled) runtime().pool.release(this.range.buffer);
  }
}

let nextTensorId = 1;

export class Tensor {
  readonly id = nextTensorId++;
  readonly size: number;
  /** Set on outputs of recorded ops; the autograd graph is reached through it. */
  node: GradNode | null = null;
  /** Accumulated gradient of a leaf tensor, written by backward(). */
  grad: Tensor | null = null;
  requiresGrad = false;
  /** A name for error messages and checkpoints (parameters get theirs from their module). */
  name = '';
  private storage: Storage | null;
  private kept = false;

  constructor(readonly shape: Shape, readonly dtype: DType, storage: Storage) {
    this.size = numel(shape);
    this.storage = storage;
    trackInScope(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /** The buffer range to bind; throws a clear error if the tensor was disposed. */
  get range(): BufferRange {
    if (!this.storage) throw new Error(`${this.describe()} was used after dispose()`);
    return this.storage.range;
  }

  /** A new handle on the same memory with another shape (same number of elements). */
  view(shape: Shape): Tensor {
    if (numel(shape) !== this.size) throw new Error(`reshape: cannot view ${this.describe()} (${this.size} elements) as [${shape}] (${numel(shape)} elements)`);
    if (!this.storage) throw new Error(`reshape: ${this.describe()} was used after dispose()`);
    return new Tensor(shape, this.dtype, this.storage.retain());
  }

  /** Drops this handle; memory returns to the pool once no handle or autograd node needs it. */
  dispose(): void {
    if (!this.storage) return;
    this.storage.release();
    this.storage = null;
    this.node?.release();
    this.node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** Exempts this tensor from the enclosing scope's cleanup (parameters, optimizer state, results). */
  keep(): this {
    this.kept = true;
    untrack(this);
    return this;
  }

  get isKept(): boolean {
    return this.kept;
  }

  /** Copies the values to the host. Flushes pending GPU work; never call inside a hot loop. */
  async toArray(): Promise<TypedArrayFor<this['dtype']>> {
    const bytes = await runtime().read(this.range, storageBytes(this.size, this.dtype), this.describe());
    const values = this.dtype === 'f32' ? new Float32Array(bytes, 0, this.size) : this.dtype === 'f16' ? decodeHalves(new Uint16Array(bytes, 0, this.size)) : this.dtype === 'i32' ? new Int32Array(bytes, 0, this.size) : new Uint32Array(bytes, 0, this.size);
    return values as TypedArrayFor<this['dtype']>;
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item(): ${this.describe()} has ${this.size} elements, expected 1`);
    return (await this.toArray())[0];
  }

  describe(): string {
    return `${this.name ? `'${this.name}' ` : ''}tensor ${this.dtype}[${this.shape.join(',')}]`;
  }

  toString(): string {
    return this.describe();
  }

  /** @internal a second handle sharing storage, not tracked by scopes (autograd's saved tensors). */
  retainHandle(): Tensor {
    if (!this.storage) throw new Error(`autograd: cannot save ${this.describe()}: already disposed`);
    const t = withoutScope(() => new Tensor(this.shape, this.dtype, this.storage!.retain()));
    t.kept = true;
    return t;
  }
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`invalid shape [${shape}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

/** An uninitialised tensor backed by a pooled buffer. Ops fill it; users want zeros/tensor instead. */
export function empty(shape: Shape, dtype: DType = 'f32'): Tensor {
  const bytes = storageBytes(numel(shape), dtype);
  const buffer = runtime().pool.acquire(bytes, `tensor [${shape}]`);
  return new Tensor([...shape], dtype, new Storage({ buffer, offset: 0, size: bytes }, true));
}

/** Wraps a byte range of a buffer owned elsewhere (e.g. a slice of a flat parameter buffer). */
export function tensorOnRange(shape: Shape, dtype: DType, range: BufferRange): Tensor {
  return new Tensor([...shape], dtype, new Storage(range, false));
}

/** A tensor holding host data. `shape` defaults to 1-D. */
export function tensor(data: ArrayLike<number> | Float32Array | Int32Array | Uint32Array, shape?: Shape, dtype?: DType): Tensor {
  const inferred: DType = dtype ?? (data instanceof Int32Array ? 'i32' : data instanceof Uint32Array ? 'u32' : 'f32');
  const dims = shape ?? [data.length];
  if (numel(dims) !== data.length) throw new Error(`tensor(): ${data.length} values do not fill shape [${dims}] (${numel(dims)} elements)`);
  const t = empty(dims, inferred);
  const host = inferred === 'f32' ? Float32Array.from(data) : inferred === 'f16' ? encodeHalves(data) : inferred === 'i32' ? Int32Array.from(data) : Uint32Array.from(data);
  if (host.length > 0) runtime().upload(t.range, host);
  return t;
}

// ---- scopes -------------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

function trackInScope(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

function untrack(t: Tensor): void {
  for (const s of scopes) s.delete(t);
}

function withoutScope<T>(fn: () => T): T {
  scopes.push(new Set());
  try {
    return fn();
  } finally {
    scopes.pop();
  }
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in a value, array or
 * plain object) and those marked with keep(). Returned tensors move to the enclosing scope.
 */
export function scope<T>(fn: () => T): T {
  const tracked = new Set<Tensor>();
  scopes.push(tracked);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of tracked) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) throw new Error('scope(): fn must be synchronous; record GPU work synchronously and await read-backs outside the scope');
  const survivors = new Set<Tensor>();
  collectTensors(result, survivors);
  for (const t of tracked) {
    if (survivors.has(t)) trackInScope(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 4 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const item of items) collectTensors(item, into, depth + 1);
}

export function assertSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shape mismatch: ${a.describe()} vs ${b.describe()}`);
  }
}

export function assertDType(op: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new Error(`${op}: expected a ${dtype} tensor, got ${t.describe()}`);
}

export function assertRank(op: string, t: Tensor, rank: number, what = 'input'): void {
  if (t.rank !== rank) throw new Error(`${op}: ${what} must have rank ${rank}, got ${t.describe()}`);
}
