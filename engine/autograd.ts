// Reverse-mode autograd. Each op that sees an input requiring gradients records a GradNode holding
// its backward closure (written next to its forward in engine/ops), the tensors it saved, and edges
// to the nodes of its inputs. Nodes are reference counted like the tensors that own them, so a
// graph nobody can reach any more releases its saved activations.
import { Tensor } from './tensor.js';

type Edge = { node: GradNode } | { leaf: Tensor } | null;

/**
 * A backward closure: the gradient of the node's output and its saved tensors in, one gradient (or
 * null) per input out. `folds[k]`, where not null, offers to fold input k's consumer's ReLU mask
 * into the kernel that makes gradient k (see GradFold); a backward may ignore it. `masked`: for a
 * node with a ReLU mask, whether gradOutput has it applied (always, unless the node applies it
 * itself: ReluMask.inBackward).
 */
export type BackwardFn = (gradOutput: Tensor, saved: readonly Tensor[], folds: readonly (GradFold | null)[], masked: boolean) => readonly (Tensor | null)[];

/**
 * An op that ends with a ReLU: its backward takes relu'(y) ⊙ Σ incoming, y = saved[saved]. The
 * core masks the sum (in one pass with the last addition, or in the write-out of the kernel making
 * the last gradient: GradFold). With `inBackward`, a lone gradient that arrives unmasked is handed
 * over as it is, for a backward whose kernels apply the mask as they read it.
 */
export interface ReluMask {
  saved: number;
  inBackward?: boolean;
}

/**
 * Offered to the node that makes the last gradient a ReLU-ended node waits for (`reluMask` in
 * record): return relu'(mask) ⊙ (residual + g) instead of g, where the kernel that makes g can do
 * it in its write-out (the sum in that order, so the values are the same as the separate pass's),
 * and set `taken`. `residual` is the sum of the gradients that arrived before, if any. The ReLU's
 * node then receives the result as is, and no pass of its own masks it.
 */
export interface GradFold {
  readonly mask: Tensor;
  readonly residual: Tensor | null;
  taken: boolean;
}

export class GradNode {
  private refs = 1; // the output tensor's handle
  private saved: Tensor[];
  private consumed = false;

  constructor(
    readonly op: string,
    private edges: Edge[],
    saved: readonly Tensor[],
    private backwardFn: BackwardFn,
    readonly outputShape: readonly number[],
    /** How the incoming gradients take the mask of a ReLU that ends the op, if one does. */
    readonly reluMask: ReluMask | null = null,
  ) {
    this.saved = saved.map((t) => t.retainHandle());
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    if (--this.refs > 0) return;
    this.freeSaved();
    for (const edge of this.edges) if (edge && 'node' in edge) edge.node.release();
    this.edges = [];
  }

  get inputs(): readonly Edge[] {
    return this.edges;
  }

  /** The ReLU output whose mask this node's incoming gradients take (see ReluMask). */
  get maskTensor(): Tensor | null {
    return this.reluMask === null ? null : this.saved[this.reluMask.saved];
  }

  /**
   * Runs the backward on the incoming gradients (the caller still owns and disposes them).
   * `masked`: they arrive as one gradient with the ReLU mask already applied (a taken GradFold).
   */
  apply(incoming: readonly Tensor[], folds: readonly (GradFold | null)[], masked = false): readonly (Tensor | null)[] {
    if (this.consumed) {
      throw new Error(`backward through '${this.op}' a second time: its saved tensors were freed by the first backward() (pass { retainGraph: true } to keep them)`);
    }
    const mask = (masked || (this.reluMask?.inBackward && incoming.length === 1)) ? null : this.maskTensor;
    const gradOutput = mask ? autogradOps.reluGradOfSum(incoming, mask) : incoming[0];
    try {
      const grads = this.backwardFn(gradOutput, this.saved, folds, masked || !!mask);
      if (grads.length !== this.edges.length) throw new Error(`autograd: '${this.op}' returned ${grads.length} gradients for ${this.edges.length} inputs`);
      return grads;
    } finally {
      if (mask) gradOutput.dispose();
    }
  }

  freeSaved(): void {
    for (const t of this.saved) t.dispose();
    this.saved = [];
    this.consumed = true;
  }
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording autograd nodes (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

export function needsGrad(inputs: readonly (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t?.requiresGrad);
}

/**
 * Attaches a node to `output` if any input requires gradients. `backward` receives the gradient of
 * `output` and the saved tensors, and returns one gradient (or null) per input, in order. With
 * `reluMask` (the op ends with a ReLU whose output is saved), backward receives the incoming
 * gradients' sum masked by it (see ReluMask).
 */
export function record(op: string, inputs: readonly (Tensor | null | undefined)[], output: Tensor, saved: readonly Tensor[], backward: BackwardFn, reluMask?: ReluMask): Tensor {
  if (!needsGrad(inputs)) return output;
  const edges: Edge[] = inputs.map((t) => {
    if (!t || !t.requiresGrad) return null;
    if (t.node) {
      t.node.retain();
      return { node: t.node };
    }
    return { leaf: t };
  });
  if (reluMask && !(reluMask.saved >= 0 && reluMask.saved < saved.length)) throw new Error(`autograd: '${op}' names saved tensor ${reluMask.saved} as its ReLU mask, but saves ${saved.length}`);
  output.node = new GradNode(op, edges, saved, backward, output.shape, reluMask ?? null);
  output.requiresGrad = true;
  return output;
}

export interface BackwardOptions {
  /** Gradient of the output; defaults to 1 for a scalar output. */
  grad?: Tensor;
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

// Filled in by ops/index.ts: the few ops backward itself needs (kept out of this module's imports
// so autograd stays independent of the kernels).
const notLoaded = () => {
  throw new Error('autograd: ops not loaded (import engine/index.js)');
};
export const autogradOps: {
  onesLike: (t: Tensor) => Tensor;
  accumulate: (a: Tensor, b: Tensor) => Tensor;
  /** relu'(y) ⊙ Σ gradients, summed in order, the last addition and the mask in one pass. */
  reluGradOfSum: (gradients: readonly Tensor[], y: Tensor) => Tensor;
} = { onesLike: notLoaded, accumulate: notLoaded, reluGradOfSum: notLoaded };

let foldMasks = true;

/**
 * Turns GradFold offers on or off (on by default). Off, every ReLU-ended node masks its gradients in
 * a pass of its own: for comparisons, since the values are the same either way.
 */
export function setGradFolds(enabled: boolean): void {
  foldMasks = enabled;
}

/** Computes gradients of `output` with respect to every leaf tensor with requiresGrad. */
export function backward(output: Tensor, options: BackwardOptions = {}): void {
  if (!options.grad && output.size !== 1) {
    throw new Error(`backward(): ${output.describe()} is not a scalar; pass { grad } with the output's shape`);
  }
  if (options.grad && options.grad.shape.join() !== output.shape.join()) {
    throw new Error(`backward(): grad ${options.grad.describe()} does not match ${output.describe()}`);
  }
  if (!output.requiresGrad) throw new Error(`backward(): ${output.describe()} does not require grad (no input of the ops that made it did)`);
  noGrad(() => {
    const seed = options.grad ?? autogradOps.onesLike(output);
    if (!output.node) {
      accumulateLeaf(output, seed === options.grad ? cloneHandle(seed) : seed);
      return;
    }
    const order = topologicalOrder(output.node);
    // Gradients waiting for each node: summed as they arrive, or kept apart for a node's ReLU mask.
    const grads = new Map<GradNode, Tensor[]>([[output.node, [seed === options.grad ? cloneHandle(seed) : seed]]]);
    // For each ReLU-ended node, the edges into it whose node has not run yet: at one, that node
    // makes its last gradient and is offered the fold. Nodes that received a taken fold:
    const edgesLeft = maskedEdgeCounts(order);
    const masked = new Set<GradNode>();
    const foldFor = (edge: Edge): GradFold | null => {
      if (!foldMasks || !edge || !('node' in edge) || edgesLeft.get(edge.node) !== 1) return null;
      const waiting = grads.get(edge.node) ?? [];
      return waiting.length <= 1 ? { mask: edge.node.maskTensor!, residual: waiting[0] ?? null, taken: false } : null;
    };
    const ran = (node: GradNode) => node.inputs.forEach((edge) => edge && 'node' in edge && edgesLeft.has(edge.node) && edgesLeft.set(edge.node, edgesLeft.get(edge.node)! - 1));
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const incoming = grads.get(node);
      if (!incoming) {
        ran(node);
        continue;
      }
      grads.delete(node);
      const folds = node.inputs.map(foldFor);
      let inputGrads: readonly (Tensor | null)[];
      try {
        inputGrads = node.apply(incoming, folds, masked.has(node));
      } finally {
        incoming.forEach((g) => g.dispose());
      }
      ran(node);
      node.inputs.forEach((edge, k) => {
        const gi = inputGrads[k];
        if (!gi) return;
        if (!edge) {
          gi.dispose();
        } else if ('node' in edge) {
          const waiting = grads.get(edge.node);
          if (folds[k]?.taken) {
            // gi already holds the earlier gradients' sum, masked.
            waiting?.forEach((g) => g.dispose());
            grads.set(edge.node, [gi]);
            masked.add(edge.node);
          } else if (!waiting) grads.set(edge.node, [gi]);
          else if (edge.node.reluMask !== null) waiting.push(gi);
          else {
            const previous = waiting[0];
            waiting[0] = autogradOps.accumulate(previous, gi);
            previous.dispose();
            gi.dispose();
          }
        } else accumulateLeaf(edge.leaf, gi);
      });
      if (!options.retainGraph) node.freeSaved();
    }
  });
}

function cloneHandle(t: Tensor): Tensor {
  return t.view(t.shape);
}

function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (g.shape.join() !== leaf.shape.join()) {
    throw new Error(`autograd: gradient ${g.describe()} does not match leaf ${leaf.describe()}`);
  }
  if (leaf.grad) {
    const sum = autogradOps.accumulate(leaf.grad, g);
    leaf.grad.dispose();
    g.dispose();
    leaf.grad = sum.keep();
  } else {
    leaf.grad = g.keep();
  }
}

/** How many edges of the graph point at each node that has a ReLU mask. */
function maskedEdgeCounts(order: readonly GradNode[]): Map<GradNode, number> {
  const counts = new Map<GradNode, number>();
  for (const node of order) {
    for (const edge of node.inputs) if (edge && 'node' in edge && edge.node.reluMask !== null) counts.set(edge.node, (counts.get(edge.node) ?? 0) + 1);
  }
  return counts;
}

function topologicalOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const visited = new Set<GradNode>();
  // Iterative DFS: ResNet graphs are deep enough to make recursion risky.
  const stack: [GradNode, number][] = [[root, 0]];
  visited.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    const edges = node.inputs;
    if (next < edges.length) {
      top[1]++;
      const edge = edges[next];
      if (edge && 'node' in edge && !visited.has(edge.node)) {
        visited.add(edge.node);
        stack.push([edge.node, 0]);
      }
    } else {
      order.push(node);
      stack.pop();
    }
  }
  return order;
}
