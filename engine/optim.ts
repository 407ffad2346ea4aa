// Optimizers. SGD with momentum, dampening, weight decay and Nesterov as one fused kernel per
// parameter tensor; state (momentum buffers, step count) is exposed for checkpoints.
import { sgdProgram, sgdWorkgroups } from '../shaders/optim.js';
import { run } from './ops/run.js';
import { zerosLike } from './ops/fill.js';
import type { Tensor } from './tensor.js';

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

export class SGD {
  lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** Completed optimizer steps. */
  steps = 0;
  private buffers = new Map<Tensor, Tensor>();

  constructor(readonly params: readonly Tensor[], options: SgdOptions) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    for (const [name, v] of [['lr', lr], ['momentum', momentum], ['dampening', dampening], ['weightDecay', weightDecay]] as const) {
      if (!Number.isFinite(v) || v < 0) throw new Error(`SGD: ${name} must be a finite number ≥ 0, got ${v}`);
    }
    if (nesterov && (momentum <= 0 || dampening !== 0)) throw new Error('SGD: Nesterov momentum needs momentum > 0 and dampening 0');
    if (params.length === 0) throw new Error('SGD: no parameters to optimise');
    this.lr = lr;
    this.momentum = momentum;
    this.dampening = dampening;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
  }

  /** Applies one update to every parameter that has a gradient. Records GPU work only. */
  step(): void {
    for (const p of this.params) {
      if (!p.grad) continue;
      const useMomentum = this.momentum > 0;
      let v = this.buffers.get(p);
      const first = useMomentum && !v;
      if (useMomentum && !v) {
        v = zerosLike(p).keep();
        this.buffers.set(p, v);
      }
      const vec = p.size % 4 === 0;
      const count = vec ? p.size / 4 : p.size;
      const tensors: Record<string, Tensor> = { p, g: p.grad };
      if (v) tensors.v = v;
      run(sgdProgram(vec, useMomentum), tensors, {
        count, lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay,
        nesterov: this.nesterov ? 1 : 0, first: first ? 1 : 0,
      }, sgdWorkgroups(count), `sgd ${p.describe()}`);
    }
    this.steps++;
  }

  /** Drops every gradient (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Momentum buffer of a parameter, if one exists yet. */
  momentumBuffer(p: Tensor): Tensor | undefined {
    return this.buffers.get(p);
  }

  /** Installs a momentum buffer (checkpoint restore); the optimizer takes ownership. */
  setMomentumBuffer(p: Tensor, buffer: Tensor): void {
    if (buffer.shape.join() !== p.shape.join()) throw new Error(`SGD: momentum buffer ${buffer.describe()} does not match ${p.describe()}`);
    this.buffers.get(p)?.dispose();
    this.buffers.set(p, buffer.keep());
  }

  dispose(): void {
    for (const v of this.buffers.values()) v.dispose();
    this.buffers.clear();
  }
}
