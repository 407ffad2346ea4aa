// Reverse-mode autograd. Each op that sees an input requiring gradients records a GradNode holding
// its backward closure (written next to its forward in engine/ops), the tensors it saved, and edges
// to the nodes of its inputs. Nodes are reference counted like the tensors that own them, so a
// graph nobody can reach any more releases its saved activations.
import { Tensor } from './tensor.js';

type Edge = { node: GradNode } | { leaf: Tensor } | null;

export type BackwardFn = (gradOutput: Tensor, saved: readonly Tensor[]) => readonly (Tensor | null)[];

/**
 * Turns the gradients arriving at a node (one per consumer of its output, in arrival order) into
 * the one its backward receives. Without it they are summed as they arrive. With it, a node whose
 * backward starts with an elementwise step (a ReLU's mask) can sum and mask in one pass.
 */
export type GradPrologue = (incoming: readonly Tensor[], saved: readonly Tensor[]) => Tensor;

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
    readonly prologue: GradPrologue | null = null,
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

  /** Runs the backward on the incoming gradients (the caller still owns and disposes them). */
  apply(incoming: readonly Tensor[]): readonly (Tensor | null)[] {
    if (this.consumed) {
      throw new Error(`backward through '${this.op}' a second time: its saved tensors were freed by the first backward() (pass { retainGraph: true } to keep them)`);
    }
    const gradOutput = this.prologue ? this.prologue(incoming, this.saved) : incoming[0];
    try {
      const grads = this.backwardFn(gradOutput, this.saved);
      if (grads.length !== this.edges.length) throw new Error(`autograd: '${this.op}' returned ${grads.length} gradients for ${this.edges.length} inputs`);
      return grads;
    } finally {
      if (this.prologue) gradOutput.dispose();
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
 * `output` and the saved tensors, and returns one gradient (or null) per input, in order. With a
 * `prologue`, backward receives what the prologue makes of the incoming gradients instead of their sum.
 */
export function record(op: string, inputs: readonly (Tensor | null | undefined)[], output: Tensor, saved: readonly Tensor[], backward: BackwardFn, prologue?: GradPrologue): Tensor {
  if (!needsGrad(inputs)) return output;
  const edges: Edge[] = inputs.map((t) => {
    if (!t || !t.requiresGrad) return null;
    if (t.node) {
      t.node.retain();
      return { node: t.node };
    }
    return { leaf: t };
  });
  output.node = new GradNode(op, edges, saved, backward, output.shape, prologue ?? null);
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
export const autogradOps: {
  onesLike: (t: Tensor) => Tensor;
  accumulate: (a: Tensor, b: Tensor) => Tensor;
} = {
  onesLike: () => {
    throw new Error('autograd: ops not loaded (import engine/index.js)');
  },
  accumulate: () => {
    throw new Error('autograd: ops not loaded (import engine/index.js)');
  },
};

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
    // Gradients waiting for each node: summed as they arrive, or kept apart for a node's prologue.
    const grads = new Map<GradNode, Tensor[]>([[output.node, [seed === options.grad ? cloneHandle(seed) : seed]]]);
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i];
      const incoming = grads.get(node);
      if (!incoming) continue;
      grads.delete(node);
      let inputGrads: readonly (Tensor | null)[];
      try {
        inputGrads = node.apply(incoming);
      } finally {
        incoming.forEach((g) => g.dispose());
      }
      node.inputs.forEach((edge, k) => {
        const gi = inputGrads[k];
        if (!gi) return;
        if (!edge) {
          gi.dispose();
        } else if ('node' in edge) {
          const waiting = grads.get(edge.node);
          if (!waiting) grads.set(edge.node, [gi]);
          else if (edge.node.prologue) waiting.push(gi);
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
