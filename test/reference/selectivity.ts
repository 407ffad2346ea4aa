// Class selectivity in float64, written from its definition (Leavitt & Morcos 2020; docs/method.md §3):
//   a unit is one channel of a block output, averaged over space;
//   μ_k = the unit's mean over the samples of class k (only classes with samples count);
//   μ_max = max_k μ_k, and μ_−max = the mean of the other classes' μ_k;
//   SI = (μ_max − μ_−max) / (μ_max + μ_−max + ε), ε = 1e-7;
//   a layer's SI is the mean over its units, the network's the mean over layers.
// With fewer than two classes present μ_−max is an empty mean; the project defines SI = 0 there.
export const EPS = 1e-7;

/** An NHWC block output. */
export interface BlockRef {
  data: ArrayLike<number>;
  shape: readonly [number, number, number, number];
}

/** The units of a block: spatial means, [n][c]. */
export function unitActivations(block: BlockRef): number[][] {
  const [N, H, W, C] = block.shape;
  return Array.from({ length: N }, (_, n) =>
    Array.from({ length: C }, (_, c) => {
      let sum = 0;
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) sum += block.data[((n * H + h) * W + w) * C + c];
      return sum / (H * W);
    }),
  );
}

/** Class means [K][C] (row-major) of activations [N][C] and the per-class counts; labels outside [0, K) belong to no class. */
export function classMeansRef(a: ArrayLike<number>, N: number, C: number, labels: ArrayLike<number>, K: number): { mu: Float64Array; counts: Float64Array } {
  const mu = new Float64Array(K * C);
  const counts = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const members = Array.from({ length: N }, (_, n) => n).filter((n) => labels[n] === k);
    counts[k] = members.length;
    if (members.length === 0) continue;
    for (let c = 0; c < C; c++) mu[k * C + c] = members.reduce((s, n) => s + a[n * C + c], 0) / members.length;
  }
  return { mu, counts };
}

export interface UnitSelectivity {
  si: number;
  /** Index (into the list given) of the class taken as μ_max: the first of the largest. */
  argmax: number;
  max: number;
  /** μ_−max. */
  rest: number;
  /** μ_max − the second largest mean (0 for ties). */
  margin: number;
}

/** SI of one unit from the means of the classes present. */
export function unitSelectivity(means: readonly number[]): UnitSelectivity {
  if (means.length < 2) return { si: 0, argmax: 0, max: means[0] ?? 0, rest: 0, margin: Infinity };
  let argmax = 0;
  for (let k = 1; k < means.length; k++) if (means[k] > means[argmax]) argmax = k;
  const others = means.filter((_, k) => k !== argmax);
  const max = means[argmax];
  const rest = others.reduce((s, v) => s + v, 0) / others.length;
  return { si: (max - rest) / (max + rest + EPS), argmax, max, rest, margin: max - Math.max(...others) };
}

/** SI per unit [C] from class means [K][C] and counts [K], leaving out classes with no samples. */
export function selectivityRef(mu: ArrayLike<number>, counts: ArrayLike<number>, K: number, C: number): Float64Array {
  const present = Array.from({ length: K }, (_, k) => k).filter((k) => counts[k] > 0);
  return Float64Array.from({ length: C }, (_, c) => unitSelectivity(present.map((k) => mu[k * C + c])).si);
}

export interface LayerSelectivity {
  units: UnitSelectivity[];
  /** The classes present, in order (unit.argmax indexes this list). */
  present: number[];
  counts: number[];
  mean: number;
}

/** Every unit's SI for one block output and the labels of its samples. */
export function layerSelectivityRef(block: BlockRef, labels: ArrayLike<number>, K: number): LayerSelectivity {
  const [N, , , C] = block.shape;
  const a = unitActivations(block).flat();
  const { mu, counts } = classMeansRef(a, N, C, labels, K);
  const present = Array.from({ length: K }, (_, k) => k).filter((k) => counts[k] > 0);
  const units = Array.from({ length: C }, (_, c) => unitSelectivity(present.map((k) => mu[k * C + c])));
  return { units, present, counts: Array.from(counts), mean: units.reduce((s, u) => s + u.si, 0) / C };
}

/** The network's SI: per layer, the mean over its units; overall, the mean over layers. */
export function networkSelectivityRef(blocks: readonly BlockRef[], labels: ArrayLike<number>, K: number): { layers: LayerSelectivity[]; overall: number } {
  const layers = blocks.map((b) => layerSelectivityRef(b, labels, K));
  return { layers, overall: layers.reduce((s, l) => s + l.mean, 0) / layers.length };
}

/**
 * ∂(network SI)/∂x for every element x[n, h, w, c] of every block, by the chain rule on the
 * definition. With D = μ_max + μ_−max + ε and P classes present:
 *   ∂SI/∂μ_max = ((μ_max + μ_−max + ε) − (μ_max − μ_−max))/D² = (2μ_−max + ε)/D²
 *   ∂SI/∂μ_−max = (−(μ_max + μ_−max + ε) − (μ_max − μ_−max))/D² = −(2μ_max + ε)/D²
 *   ∂μ_max/∂μ_k = [k = argmax],  ∂μ_−max/∂μ_k = [k ≠ argmax]/(P − 1)
 *   ∂μ_k/∂a_n = [label n = k]/N_k,  ∂a_n/∂x[n, h, w, c] = 1/(H·W)
 *   ∂(network SI)/∂SI_unit = 1/(layers · C)
 * Defined where the largest class mean is unique (margin > 0); 0 for units with P < 2 (SI ≡ 0)
 * and for samples of no class.
 */
export function networkSelectivityGradRef(blocks: readonly BlockRef[], labels: ArrayLike<number>, K: number): Float64Array[] {
  const { layers } = networkSelectivityRef(blocks, labels, K);
  return blocks.map((block, b) => {
    const [N, H, W, C] = block.shape;
    const { units, present, counts } = layers[b];
    const grad = new Float64Array(N * H * W * C);
    if (present.length < 2) return grad;
    for (let n = 0; n < N; n++) {
      const slot = present.indexOf(labels[n]);
      if (slot < 0) continue;
      for (let c = 0; c < C; c++) {
        const u = units[c];
        const D = u.max + u.rest + EPS;
        const dSi = slot === u.argmax ? (2 * u.rest + EPS) / (D * D) : -(2 * u.max + EPS) / (D * D) / (present.length - 1);
        const g = dSi / counts[labels[n]] / (H * W) / (C * blocks.length);
        for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) grad[((n * H + h) * W + w) * C + c] = g;
      }
    }
    return grad;
  });
}
