// Class means, the class-selectivity index, the minibatch SI of the regularizer (forward and its
// gradient over whole tensors) and the dataset-wide accumulator, against float64 references written
// from the definition (test/reference/selectivity.ts).
import { backward } from '../../engine/autograd.js';
import { classMeans, classWeights, selectivityIndex } from '../../engine/ops/selectivity.js';
import { tensor, type Tensor } from '../../engine/tensor.js';
import { batchSelectivity, SelectivityAccumulator } from '../../experiments/selectivity.js';
import { EPS, classMeansRef, layerSelectivityRef, networkSelectivityGradRef, networkSelectivityRef, selectivityRef } from '../reference/selectivity.js';
import type { KernelCase } from './check.js';
import { U, leaf, numel, rng, uniform } from './util.js';

export function siOnGpu(a: Float32Array, N: number, C: number, labels: Int32Array, K: number) {
  const { weights, counts } = classWeights(tensor(labels), K);
  const mu = classMeans(tensor(a, [N, C]), weights);
  return { mu, counts, si: selectivityIndex(mu, counts) };
}

type Shape4 = [number, number, number, number];

/** A seeded Fisher–Yates shuffle, in place. */
function shuffle<T>(items: T[], r: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Labels with the given count per class, in a seeded random order. */
const labelsWithCounts = (counts: readonly number[], seed: number) => Int32Array.from(shuffle(counts.flatMap((n, k) => Array<number>(n).fill(k)), rng(seed)));

/**
 * Non-negative block outputs (as after a ReLU) [N, H, W, C] whose class means are distinct per
 * unit: class k of unit c sits at 0.2 + 0.3·rank (a seeded permutation of the classes per unit)
 * plus uniform noise in [0, 0.2), so the two largest class means are at least 0.1 apart. With
 * `special`, channel 0 is 0 everywhere (SI = 0 through ε), channel 1 is constant per class with two
 * classes tied for the largest mean, and channel 2 is active for one class only (SI ≈ 1).
 */
function blockData(shape: Shape4, labels: Int32Array, K: number, seed: number, special = false): Float32Array {
  const [N, H, W, C] = shape;
  const r = rng(seed);
  const level = Array.from({ length: C }, () => shuffle(Array.from({ length: K }, (_, rank) => 0.2 + 0.3 * rank), r));
  const present = [...new Set(labels)].sort((a, b) => a - b);
  const x = new Float32Array(numel(shape));
  for (let n = 0; n < N; n++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) {
          const k = labels[n];
          let v = level[c][k] + 0.2 * r();
          if (special && c === 0) v = 0;
          // Two present classes share the top level 1.5; the rest sit at 0.25·(1 + k mod 3).
          if (special && c === 1) v = k === present[0] || k === present[present.length - 1] ? 1.5 : 0.25 * (1 + (k % 3));
          if (special && c === 2) v = k === present[1] ? 0.75 + 0.5 * r() : 0;
          x[((n * H + h) * W + w) * C + c] = v;
        }
  return x;
}

/**
 * Error bound for one unit's SI computed in f32 from non-negative activations (so every mean is
 * ≤ μ_max ≤ D = μ_max + μ_−max + ε), with u = 2⁻²⁴ and each division counted as 3u (WGSL's f32
 * division need only be within 2.5 ulp). The spatial mean (HW terms times fl(1/HW)), the class mean
 * (≤ N terms with weights 1/N_k, or one-hot sums over batches then a division) and the SI kernel's
 * sum over K classes, subtraction and division by P − 1 leave |δμ_max| ≤ (HW + N + 6)u·μ_max and
 * |δμ_−max| ≤ (HW + N + 2K + 10)u·μ_max. |∂SI/∂μ_max| = (2μ_−max + ε)/D² and |∂SI/∂μ_−max| =
 * (2μ_max + ε)/D² are both ≤ 2/D, so |δSI| ≤ 4·(HW + N + K + 8)u, plus 9u for SI's own
 * subtraction, addition and division (|SI| ≤ 1).
 */
const unitSiBound = (HW: number, N: number, K: number) => (4 * (HW + N + K + 8) + 9) * U;

/** The minibatch SI of each block alone (a layer's mean SI) and of all blocks together. */
async function batchSiOnGpu(blocks: { data: Float32Array; shape: Shape4 }[], labels: Int32Array, K: number) {
  const ts = blocks.map((b) => tensor(b.data, b.shape));
  const lt = tensor(labels);
  const layers = await Promise.all(ts.map(async (t) => (await batchSelectivity([t], lt, K).toArray())[0]));
  const overall = (await batchSelectivity(ts, lt, K).toArray())[0];
  return { layers, overall };
}

/** [H, W, C] of the two block outputs the cases use. */
const SHAPES: [number, number, number][] = [[3, 3, 6], [2, 2, 5]];
const withN = ([H, W, C]: [number, number, number], N: number): Shape4 => [N, H, W, C];

/** Three minibatches: unequal class counts; class 2 absent; classes 0 and 4 absent. K = 5. */
const BATCHES = [[1, 3, 7, 4, 8], [5, 6, 0, 2, 4], [0, 4, 1, 4, 0]];

export const selectivityCases: KernelCase[] = [
  {
    suite: 'selectivity',
    name: 'class means and SI match the reference, including absent classes, zero units and one-class units',
    async run(check) {
      const N = 37;
      const C = 9;
      const K = 7;
      const r = rng(5);
      // Class 3 and class 6 get no samples.
      const labels = Int32Array.from({ length: N }, () => [0, 1, 2, 4, 5][Math.floor(r() * 5)]);
      const a = uniform(N * C, 6, 0, 2);
      for (let n = 0; n < N; n++) {
        a[n * C + 0] = 0; // an all-zero unit: SI = 0
        a[n * C + 1] = labels[n] === 2 ? 1.5 : 0; // active for one class only: SI = 1
      }
      const { mu, counts, si } = siOnGpu(a, N, C, labels, K);
      const ref = classMeansRef(a, N, C, labels, K);
      check.close(await counts.toArray(), ref.counts, 0, 'counts');
      // Each class mean is a weighted sum of ≤ N terms with weights 1/count.
      check.close(await mu.toArray(), ref.mu, 4 * N * U + 1e-7, 'class means');
      const expected = selectivityRef(ref.mu, ref.counts, K, C);
      const got = await si.toArray();
      check.close(got, expected, (i) => 64 * N * U * (1 + expected[i]) + 1e-6, 'SI');
      check.equal([got[0]], [0], 'all-zero unit');
      check.ok(Math.abs(got[1] - 1) < 1e-6, `one-class unit: SI ${got[1]}`);
    },
  },
  {
    suite: 'selectivity',
    name: 'SI is 0 when fewer than two classes are present',
    async run(check) {
      const { si } = siOnGpu(uniform(4 * 3, 2, 0, 1), 4, 3, Int32Array.from([1, 1, 1, 1]), 3);
      check.equal(await si.toArray(), [0, 0, 0], 'SI');
    },
  },
  {
    suite: 'selectivity',
    name: 'minibatch SI (the regularizer) matches the definition on several batches: unequal counts, absent classes, a zero unit, tied maxima',
    async run(check) {
      const K = 5;
      for (const [b, counts] of BATCHES.entries()) {
        const labels = labelsWithCounts(counts, 10 + b);
        const N = labels.length;
        const blocks = SHAPES.map((s, i) => ({ data: blockData(withN(s, N), labels, K, 20 + 10 * b + i, i === 0), shape: withN(s, N) }));
        const ref = networkSelectivityRef(blocks, labels, K);
        const got = await batchSiOnGpu(blocks, labels, K);
        // A layer's SI is the mean of C unit values (C + 3 more roundings); the network's, of L layers.
        const layerBound = (i: number) => unitSiBound(SHAPES[i][0] * SHAPES[i][1], N, K) + (SHAPES[i][2] + 3) * U;
        check.close(got.layers, ref.layers.map((l) => l.mean), layerBound, `batch ${b}: layer SI`);
        check.close([got.overall], [ref.overall], Math.max(layerBound(0), layerBound(1)) + (SHAPES.length + 3) * U, `batch ${b}: network SI`);
        // The special units of the first block, against values worked out by hand.
        const units = ref.layers[0].units;
        check.ok(units[0].si === 0, `batch ${b}: the all-zero unit has SI ${units[0].si}, expected 0`);
        // The first and last present classes at 1.5, the others at 0.25·(1 + k mod 3):
        // μ_max = 1.5 and μ_−max = (1.5 + the P − 2 others)/(P − 1).
        const present = counts.map((_, k) => k).filter((k) => counts[k] > 0);
        const others = present.slice(1, -1).map((k) => 0.25 * (1 + (k % 3)));
        const rest = (1.5 + others.reduce((a, v) => a + v, 0)) / (present.length - 1);
        check.ok(Math.abs(units[1].si - (1.5 - rest) / (1.5 + rest + EPS)) < 1e-15 && units[1].margin === 0, `batch ${b}: tied unit SI ${units[1].si}`);
        check.ok(units[2].si > 1 - 1e-6, `batch ${b}: one-class unit SI ${units[2].si}`);
      }
    },
  },
  {
    suite: 'selectivity',
    name: 'dataset-wide accumulator over several batches matches the definition on the whole dataset (a class absent from some batches, one from all)',
    async run(check) {
      const K = 6; // class 5 never occurs
      const labelSets = BATCHES.map((counts, b) => labelsWithCounts(counts, 40 + b));
      const dataSets = labelSets.map((labels, b) => SHAPES.map((s, i) => blockData(withN(s, labels.length), labels, K, 50 + 10 * b + i, i === 0)));
      const acc = new SelectivityAccumulator(K);
      try {
        for (const [b, labels] of labelSets.entries()) acc.add(dataSets[b].map((d, i) => tensor(d, withN(SHAPES[i], labels.length))), tensor(labels));
        const report = await acc.report(['first', 'second']);
        // The whole dataset, concatenated.
        const labels = Int32Array.from(labelSets.flatMap((l) => Array.from(l)));
        const blocks = SHAPES.map((s, i) => ({ data: Float32Array.from(dataSets.flatMap((d) => Array.from(d[i]))), shape: withN(s, labels.length) }));
        const ref = networkSelectivityRef(blocks, labels, K);
        check.equal([report.samples], [labels.length], 'samples');
        const Nmax = Math.max(...labelSets.map((l) => l.length));
        for (const [i, layer] of ref.layers.entries()) {
          // Class sums: ≤ Nmax terms per batch, then B batches added: N ↦ Nmax + B in the unit bound.
          const bound = unitSiBound(SHAPES[i][0] * SHAPES[i][1], Nmax + labelSets.length, K);
          check.close(report.units[i], layer.units.map((u) => u.si), bound, `layer ${i}: unit SI`);
          check.close([report.layers[i]], [layer.mean], bound, `layer ${i}: mean SI`);
        }
        check.close([report.overall], [ref.overall], unitSiBound(Math.max(...SHAPES.map(([H, W]) => H * W)), Nmax + labelSets.length, K), 'network SI');
        check.equal([report.units[0][0]], [0], 'all-zero unit');
      } finally {
        acc.dispose();
      }
    },
  },
  {
    suite: 'selectivity',
    name: 'minibatch SI backward matches the analytic gradient over every element of every block',
    async run(check) {
      const K = 5;
      // Unequal counts and an absent class (3); every unit's largest class mean is unique.
      const labels = labelsWithCounts([4, 1, 6, 0, 3], 61);
      const N = labels.length;
      const blocks = SHAPES.map((s, i) => ({ data: blockData(withN(s, N), labels, K, 70 + i), shape: withN(s, N) }));
      const ref = networkSelectivityRef(blocks, labels, K);
      for (const layer of ref.layers) for (const u of layer.units) check.ok(u.margin > 0.05, `test data: the top two class means are only ${u.margin} apart`);
      const ts: Tensor[] = blocks.map((b) => leaf(b.data, b.shape));
      backward(batchSelectivity(ts, tensor(labels), K));
      const expected = networkSelectivityGradRef(blocks, labels, K);
      for (const [i, t] of ts.entries()) {
        const [, H, W, C] = blocks[i].shape;
        const layer = layerSelectivityRef(blocks[i], labels, K);
        const P = layer.present.length;
        // Per element g = dSI/dμ_k / (N_k·HW·C·L). The class means carry |δμ| ≤ Γu·μ_max with
        // Γ = HW + N + 2K + 10 (see unitSiBound); (2μ_−max + ε)/D² and (2μ_max + ε)/(D²(P − 1)) then
        // move by ≤ 10Γu/D. The kernel forms the argmax class's value as (dMax − dRest) + dRest, which
        // costs ≤ 2u(|dMax| + 2|dRest|); the scalings by 1/L, 1/C, 1/N_k (the matmul) and 1/HW add
        // ≤ 8u relative (divisions at 3u).
        const gamma = H * W + N + 2 * K + 10;
        const bound = (e: number) => {
          const n = Math.floor(e / (H * W * C));
          const u = layer.units[e % C];
          const D = u.max + u.rest + EPS;
          const dMax = (2 * u.rest + EPS) / (D * D);
          const dRest = (2 * u.max + EPS) / (D * D) / (P - 1);
          const scale = 1 / (layer.counts[labels[n]] * H * W * C * ts.length);
          return scale * ((10 * gamma * U) / D + 2 * U * (dMax + 2 * dRest)) + 8 * U * Math.abs(expected[i][e]);
        };
        check.close(await t.grad!.toArray(), expected[i], bound, `block ${i}: dSI/dx`);
      }
    },
  },
];
