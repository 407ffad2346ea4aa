// Modules with named parameters and buffers whose names and exported layouts mirror PyTorch's, so
// a state dict written here loads into the same architecture in PyTorch and back.
import { isGradEnabled } from './autograd.js';
import { batchNorm, foldBatchNorm } from './ops/batchnorm.js';
import { cast } from './ops/cast.js';
import { add, addRelu } from './ops/elementwise.js';
import { conv2d } from './ops/conv.js';
import { ones, zeros } from './ops/fill.js';
import { linear } from './ops/matmul.js';
import { rand, randn, type Generator } from './ops/random.js';
import { runtime } from './runtime.js';
import { empty, storageBytes, type Tensor } from './tensor.js';

/** A tensor as stored in a checkpoint: PyTorch layout, host memory. */
export interface HostTensor {
  dtype: 'F32' | 'I64';
  shape: number[];
  data: Float32Array | BigInt64Array;
}

interface StateEntry {
  tensor: Tensor;
  kind: 'parameter' | 'buffer';
  /** Axis order that turns our layout into PyTorch's (conv weights: HWIO → OIHW). */
  torchPermutation?: number[];
}

export abstract class Module {
  training = true;
  private state = new Map<string, StateEntry>();
  private children = new Map<string, Module>();
  /** Host-side integer buffers (BatchNorm's num_batches_tracked). */
  protected counters = new Map<string, number>();

  protected addParameter(name: string, t: Tensor, torchPermutation?: number[]): Tensor {
    t.requiresGrad = true;
    t.keep();
    this.state.set(name, { tensor: t, kind: 'parameter', torchPermutation });
    return t;
  }

  protected addBuffer(name: string, t: Tensor): Tensor {
    t.keep();
    this.state.set(name, { tensor: t, kind: 'buffer' });
    return t;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every (name, entry) in PyTorch's state_dict order: own entries first, then children's. */
  private *entries(prefix = ''): Generator_<[string, StateEntry]> {
    for (const [name, entry] of this.state) yield [prefix + name, entry];
    for (const [name, child] of this.children) yield* child.entries(`${prefix}${name}.`);
  }

  private *counterEntries(prefix = ''): Generator_<[string, Module, string]> {
    for (const name of this.counters.keys()) yield [prefix + name, this, name];
    for (const [name, child] of this.children) yield* child.counterEntries(`${prefix}${name}.`);
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, e] of this.entries()) if (e.kind === 'parameter') out.push([name, e.tensor]);
    return out;
  }

  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, e] of this.entries()) if (e.kind === 'buffer') out.push([name, e.tensor]);
    return out;
  }

  /** Axis order that turns a parameter's layout into PyTorch's, when they differ (conv weights). */
  torchPermutationOf(t: Tensor): number[] | undefined {
    for (const [, e] of this.entries()) if (e.tensor === t) return e.torchPermutation;
    return undefined;
  }

  modules(): Module[] {
    return [this, ...[...this.children.values()].flatMap((c) => c.modules())];
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Reads every parameter and buffer back in PyTorch layout (conv weights OIHW), names as PyTorch's. */
  async exportState(): Promise<Record<string, HostTensor>> {
    const out: Record<string, HostTensor> = {};
    for (const [name, e] of this.entries()) {
      const data = (await e.tensor.toArray()) as Float32Array;
      out[name] = e.torchPermutation ? permute(data, [...e.tensor.shape], e.torchPermutation) : { dtype: 'F32', shape: [...e.tensor.shape], data };
    }
    for (const [name, module, key] of this.counterEntries()) {
      out[name] = { dtype: 'I64', shape: [], data: BigInt64Array.of(BigInt(module.counters.get(key)!)) };
    }
    return out;
  }

  /**
   * Loads tensors in PyTorch layout. With strict (default) every entry must be present with the
   * right shape and nothing extra may be given; errors name the entry and both shapes.
   */
  importState(state: Record<string, HostTensor>, { strict = true, source = 'state dict' } = {}): void {
    const expected = new Set<string>();
    for (const [name, e] of this.entries()) {
      expected.add(name);
      const host = state[name];
      if (!host) {
        if (strict) throw new Error(`${source}: missing '${name}' (expected ${e.kind} of shape [${torchShape(e)}])`);
        continue;
      }
      if (host.dtype !== 'F32') throw new Error(`${source}: '${name}' has dtype ${host.dtype}, expected F32`);
      const want = torchShape(e);
      if (host.shape.join() !== want.join()) throw new Error(`${source}: '${name}' has shape [${host.shape}], expected [${want}]`);
      const ours = e.torchPermutation ? permute(host.data as Float32Array, want, inversePermutation(e.torchPermutation)).data : host.data;
      runtime().upload(e.tensor.range, ours as Float32Array);
    }
    for (const [name, module, key] of this.counterEntries()) {
      expected.add(name);
      const host = state[name];
      if (host) {
        const value = host.data.length === 1 ? Number(host.data[0]) : NaN;
        if (host.dtype !== 'I64' || !Number.isSafeInteger(value) || value < 0) throw new Error(`${source}: '${name}' must hold one non-negative I64 count, found ${host.dtype} [${host.shape}]${host.data.length === 1 ? ` = ${value}` : ''}`);
        module.counters.set(key, value);
      } else if (strict) throw new Error(`${source}: missing '${name}'`);
    }
    if (strict) {
      const extra = Object.keys(state).filter((k) => !expected.has(k));
      if (extra.length > 0) throw new Error(`${source}: unexpected entries ${extra.slice(0, 5).map((k) => `'${k}'`).join(', ')}${extra.length > 5 ? ` and ${extra.length - 5} more` : ''}`);
    }
  }

  /**
   * Runs fn, then puts every buffer (batch norm's running statistics) and counter back as they were:
   * for forward passes in training mode that must not count as training (the adversarial example
   * search of adversarial training). The restore is recorded after fn's GPU work, so fn must be
   * synchronous.
   */
  preservingBuffers<T>(fn: () => T): T {
    const buffers = this.namedBuffers().map(([, t]) => t);
    const saved = buffers.map((t) => {
      const copy = empty(t.shape, t.dtype).keep();
      runtime().copy(t.range, copy.range, storageBytes(t.size, t.dtype));
      return copy;
    });
    const counts = this.modules().map((m) => new Map(m.counters));
    try {
      return fn();
    } finally {
      buffers.forEach((t, i) => runtime().copy(saved[i].range, t.range, storageBytes(t.size, t.dtype)));
      saved.forEach((t) => t.dispose());
      this.modules().forEach((m, i) => (m.counters = counts[i]));
    }
  }

  /** Frees every parameter and buffer, and whatever the modules keep derived from them. */
  dispose(): void {
    for (const [, e] of this.entries()) e.tensor.dispose();
    for (const m of this.modules()) m.releaseDerived();
  }

  /** Frees tensors a module keeps derived from its state (caches); called by dispose(). */
  protected releaseDerived(): void {}
}

type Generator_<T> = globalThis.Generator<T, void, undefined>;

function torchShape(e: StateEntry): number[] {
  return e.torchPermutation ? e.torchPermutation.map((a) => e.tensor.shape[a]) : [...e.tensor.shape];
}

export function inversePermutation(p: number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((a, i) => (inv[a] = i));
  return inv;
}

/** Transposes a row-major array: output axis i is input axis perm[i]. */
export function permute(data: Float32Array, shape: number[], perm: number[]): HostTensor {
  const outShape = perm.map((a) => shape[a]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const idx = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < perm.length; i++) src += idx[i] * inStrides[perm[i]];
    out[o] = data[src];
    for (let i = perm.length - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return { dtype: 'F32', shape: outShape, data: out };
}

// ---- layers -------------------------------------------------------------------------------------

export interface InitOptions {
  generator?: Generator;
}

/** Kaiming-normal std for ReLU networks: √(2 / fan). */
const kaimingStd = (fan: number) => Math.sqrt(2 / fan);

export interface Conv2dLayerOptions extends InitOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
}

/**
 * 2-D convolution on NHWC input. Weight held HWIO ([kh, kw, in, out]) and exported as PyTorch's
 * OIHW `weight`. Init: Kaiming normal, fan_out, ReLU gain (torchvision's ResNet init).
 */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** Weights and bias with an eval-mode batch norm folded in (foldedWith), and the write stamps they were made from. */
  private folded: { stamp: string; weight: Tensor; bias: Tensor } | null = null;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernel: number, readonly options: Conv2dLayerOptions = {}) {
    super();
    const std = kaimingStd(outChannels * kernel * kernel);
    this.weight = this.addParameter('weight', randn([kernel, kernel, inChannels, outChannels], { std, generator: options.generator }), [3, 2, 0, 1]);
    this.bias = options.bias ? this.addParameter('bias', zeros([outChannels])) : null;
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, { stride: this.options.stride ?? 1, padding: this.options.padding ?? 0 });
  }

  /**
   * These weights and bias with `bn` folded in, stored as `dtype`. Kept until one of the six tensors
   * they come from is written (runtime write stamps), so an attack's twenty passes, or an
   * evaluation's batches, fold once.
   */
  foldedWith(bn: BatchNorm, dtype: 'f32' | 'f16'): { weight: Tensor; bias: Tensor } {
    const sources = [this.weight, this.bias, bn.weight, bn.bias, bn.runningMean, bn.runningVar];
    const stamp = [...sources.map((t) => (t ? runtime().writeStamp(t.range) : '-')), bn.eps, dtype].join(' ');
    if (this.folded?.stamp === stamp) return this.folded;
    this.releaseDerived();
    const folded = foldBatchNorm(this.weight, this.bias, bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.eps);
    // f16 storage: the folded weights and the output are stored as halves (x may be either).
    const weight = dtype === 'f16' ? cast(folded.weight, 'f16') : folded.weight;
    if (weight !== folded.weight) folded.weight.dispose();
    this.folded = { stamp, weight: weight.keep(), bias: folded.bias.keep() };
    return this.folded;
  }

  protected override releaseDerived(): void {
    this.folded?.weight.dispose();
    this.folded?.bias.dispose();
    this.folded = null;
  }
}

/** BatchNorm over the channel axis (BatchNorm2d on NHWC, BatchNorm1d on [N, C]); γ = 1, β = 0. */
export class BatchNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  constructor(readonly channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    super();
    this.weight = this.addParameter('weight', ones([channels]));
    this.bias = this.addParameter('bias', zeros([channels]));
    this.runningMean = this.addBuffer('running_mean', zeros([channels]));
    this.runningVar = this.addBuffer('running_var', ones([channels]));
    this.counters.set('num_batches_tracked', 0);
  }

  /** Normalises x; with relu, applies ReLU in the same pass (BN → ReLU fused), after adding `residual` if given. */
  forward(x: Tensor, { relu = false, residual }: { relu?: boolean; residual?: Tensor } = {}): Tensor {
    if (this.training) this.counters.set('num_batches_tracked', this.counters.get('num_batches_tracked')! + 1);
    return batchNorm(x, this.weight, this.bias, this.runningMean, this.runningVar, { training: this.training, momentum: this.momentum, eps: this.eps, relu, residual });
  }
}

/** y = x·Wᵀ + b with PyTorch's default init: U(−1/√in, 1/√in) for weight and bias. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: InitOptions & { bias?: boolean } = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.addParameter('weight', rand([outFeatures, inFeatures], { lo: -bound, hi: bound, generator: options.generator }));
    this.bias = options.bias === false ? null : this.addParameter('bias', rand([outFeatures], { lo: -bound, hi: bound, generator: options.generator }));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/**
 * conv → BN (→ ReLU). In eval mode, when no gradient with respect to the parameters is wanted, the
 * batch norm is folded into the convolution's weights and bias, and the residual and the ReLU into its write-out: one
 * GEMM instead of a GEMM and a normalisation pass (inference, attacks, corruption evaluation).
 * Otherwise the layers run as they are.
 */
export function convBatchNorm(conv: Conv2d, bn: BatchNorm, x: Tensor, { relu = false, dtype = 'f32' as 'f32' | 'f16', residual }: { relu?: boolean; dtype?: 'f32' | 'f16'; residual?: Tensor } = {}): Tensor {
  const paramsNeedGrad = isGradEnabled() && [conv.weight, conv.bias, bn.weight, bn.bias].some((p) => p?.requiresGrad);
  if (bn.training || paramsNeedGrad) {
    if (dtype !== 'f32' || x.dtype !== 'f32') throw new Error(`conv ${conv.weight.name} + batch norm: f16 storage is for eval-mode inference without parameter gradients (call eval() and noGrad())`);
    // The residual is added inside the normalisation pass (one pass fewer than a separate add).
    return bn.forward(conv.forward(x), { relu, residual });
  }
  if (residual && (dtype !== 'f32' || residual.dtype !== 'f32')) {
    // f16 storage: the skip may be f16, which the GEMM's write-out does not read.
    const y = convBatchNorm(conv, bn, x, { dtype });
    return relu ? addRelu(y, residual) : add(y, residual);
  }
  const { weight, bias } = conv.foldedWith(bn, dtype);
  return conv2d(x, weight, bias, { stride: conv.options.stride ?? 1, padding: conv.options.padding ?? 0, relu, residual, dtype });
}


