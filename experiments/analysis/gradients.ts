// Input–unit gradient variability (docs/method.md §9): for a unit u of a block output (a channel,
// averaged over space) and a sample x_n, g_{u,n} = ∂ā_u(x_n)/∂x_n. Per layer it reports
//   dirVarSamples  mean over units of the variance, across samples, of v = g/‖g‖ (v = 0 when g = 0)
//   dirVarUnits    mean over samples of the variance of v across units
// where the variance of a set of vectors is mean‖v‖² − ‖mean v‖². A silent pair (g = 0) counts as the
// zero vector, so silence itself adds variance; the same variances over the active pairs alone, and
// the silent fraction, are reported beside them. Also the coefficient of variation of ‖g‖ across
// samples and across units.
//
// One forward per sample batch (stopped at the deepest layer asked for), then one backward per unit
// through the retained graph; statistics stay on the GPU until the end. (Repeating the batch once
// per unit along the batch axis, to seed many units in one backward, measured slower on CPU adapters:
// it adds a forward per unit and gains no arithmetic.)
import { backward, noGrad } from '../../engine/autograd.js';
import { addRaw, div, maximum, mulRaw, sqrt } from '../../engine/ops/elementwise.js';
import { expandRaw, sum } from '../../engine/ops/reduce.js';
import { scope, tensor, type Tensor } from '../../engine/tensor.js';
import type { ResNet } from '../../models/resnet.js';
import { mulberry32 } from '../data/dataset.js';
import { checkBatchSize, sliceRows } from './dimensionality.js';

export interface GradientVariability {
  layer: string;
  units: number[];
  samples: number;
  /** Variance of normalised gradients across samples (silent pairs as zero vectors), mean over units. */
  dirVarSamples: number;
  /** Variance of normalised gradients across units (silent pairs as zero vectors), mean over samples. */
  dirVarUnits: number;
  /** The same over active pairs only: units (samples) with fewer than 2 active pairs are left out; NaN if none qualifies. */
  dirVarSamplesActive: number;
  dirVarUnitsActive: number;
  /** Fraction of (unit, sample) pairs whose gradient is exactly zero. */
  silentFraction: number;
  /** Coefficient of variation of ‖g‖ across samples (mean over units that are active somewhere). */
  cvSamples: number;
  /** Coefficient of variation of ‖g‖ across units (mean over samples with an active unit). */
  cvUnits: number;
  /** ‖g_{u,n}‖ for every chosen unit (rows) and sample (columns). */
  norms: number[][];
}

export interface GradientOptions {
  /** Samples per forward pass. */
  batchSize: number;
  /** Units per layer (a fixed random subset when the layer has more). */
  unitsPerLayer: number;
  layers?: number[];
  seed?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Mean of the finite values; NaN when there are none. */
export function meanDefined(xs: readonly number[]): number {
  const ok = xs.filter(Number.isFinite);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
}

/** Population coefficient of variation; NaN when the mean is 0 (every value 0). */
function cv(xs: readonly number[]): number {
  const m = xs.reduce((s, v) => s + v, 0) / xs.length;
  const variance = xs.reduce((s, v) => s + (v - m) ** 2, 0) / xs.length;
  return m > 0 ? Math.sqrt(variance) / m : NaN;
}

/** A fixed random subset of `k` of `n` units, sorted. */
export function chooseUnits(n: number, k: number, seed: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (k >= n) return all;
  const r = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, k).sort((a, b) => a - b);
}

/** Per-row sums of a [R, …] tensor's squares, read back. */
async function rowSquares(t: Tensor): Promise<Float32Array> {
  const sq = noGrad(() => sum(mulRaw(t, t).view([t.shape[0], t.size / t.shape[0]]), 1));
  const values = (await sq.toArray()) as Float32Array;
  sq.dispose();
  return values;
}

/** Variance statistics of one layer from the norms and the sums of normalised gradients. */
export function layerStatistics(norms: number[][], unitSumSquares: ArrayLike<number>, sampleSumSquares: ArrayLike<number>) {
  const U = norms.length;
  const N = norms[0].length;
  const activeOfUnit = norms.map((row) => row.filter((v) => v > 0).length);
  const activeOfSample = Array.from({ length: N }, (_, n) => norms.filter((row) => row[n] > 0).length);
  const totalActive = activeOfUnit.reduce((a, b) => a + b, 0);
  // Active v have ‖v‖² = 1 and silent ones 0, so Σ‖v‖² over a set is its active count.
  const dirVarSamples = activeOfUnit.map((a, u) => a / N - unitSumSquares[u] / N ** 2);
  const dirVarUnits = activeOfSample.map((a, n) => a / U - sampleSumSquares[n] / U ** 2);
  const dirVarSamplesActive = activeOfUnit.map((a, u) => (a >= 2 ? 1 - unitSumSquares[u] / a ** 2 : NaN));
  const dirVarUnitsActive = activeOfSample.map((a, n) => (a >= 2 ? 1 - sampleSumSquares[n] / a ** 2 : NaN));
  return {
    dirVarSamples: meanDefined(dirVarSamples),
    dirVarUnits: meanDefined(dirVarUnits),
    dirVarSamplesActive: meanDefined(dirVarSamplesActive),
    dirVarUnitsActive: meanDefined(dirVarUnitsActive),
    silentFraction: 1 - totalActive / (U * N),
    cvSamples: meanDefined(norms.map(cv)),
    cvUnits: meanDefined(Array.from({ length: N }, (_, n) => cv(norms.map((row) => row[n])))),
  };
}

export async function gradientVariability(model: ResNet, images: Tensor, names: string[], options: GradientOptions): Promise<GradientVariability[]> {
  const [N, H, W, C] = images.shape;
  checkBatchSize('gradient variability', options.batchSize);
  const layers = options.layers ?? names.map((_, i) => i);
  const params = model.parameters();
  const wasTraining = model.training;
  const frozen = params.map((p) => p.requiresGrad);
  params.forEach((p) => (p.requiresGrad = false));
  model.eval();
  const units: number[][] = [];
  // Per layer and unit: Σ_n v_{u,n} ([1, H, W, C]) and the norms of each sample batch ([b, 1, 1, 1]);
  // per layer and sample batch: Σ_u v_{u,n} ([b, H, W, C]). Read back once, at the end.
  const unitSums: (Tensor | null)[][] = layers.map(() => []);
  const normParts: Tensor[][][] = layers.map(() => []);
  const sampleSums: Tensor[][] = layers.map(() => []);
  const total = Math.ceil(N / options.batchSize) * layers.length;
  let done = 0;
  try {
    for (let start = 0; start < N; start += options.batchSize) {
      const count = Math.min(options.batchSize, N - start);
      const x = noGrad(() => sliceRows(images, start, count, [H, W, C])).keep();
      x.requiresGrad = true;
      // One forward per batch; each unit then costs one backward through the retained graph.
      const blocks = scope(() => model.forwardBlocks(x, Math.max(...layers)));
      for (const [li, l] of layers.entries()) {
        const [, Hl, Wl, Cl] = blocks[l].shape;
        units[li] ??= chooseUnits(Cl, options.unitsPerLayer, (options.seed ?? 0) * 1000 + l);
        let acrossUnits: Tensor | null = null;
        for (const [ui, u] of units[li].entries()) {
          const seed = noGrad(() => scope(() => {
            const onehot = new Float32Array(Cl);
            onehot[u] = 1 / (Hl * Wl);
            return expandRaw(tensor(onehot, [1, 1, 1, Cl]), [count, Hl, Wl, Cl]);
          }));
          backward(blocks[l], { grad: seed, retainGraph: true });
          seed.dispose();
          const g = x.grad!;
          x.grad = null;
          const [norm, unitSum, unitsAcc] = noGrad(() => scope(() => {
            const n = sqrt(sum(mulRaw(g, g), [1, 2, 3], { keepDims: true }));
            // A silent unit has a zero gradient: its direction counts as the zero vector, not NaN.
            const v = div(g, maximum(n, tensor([1e-30])));
            const overSamples = sum(v, 0, { keepDims: true });
            const prev = unitSums[li][ui];
            return [n, prev ? addRaw(prev, overSamples) : overSamples, acrossUnits ? addRaw(acrossUnits, v) : v];
          }));
          g.dispose();
          unitSums[li][ui]?.dispose();
          unitSums[li][ui] = unitSum.keep();
          acrossUnits?.dispose();
          acrossUnits = unitsAcc.keep();
          (normParts[li][ui] ??= []).push(norm.keep());
        }
        sampleSums[li].push(acrossUnits!);
        options.onProgress?.(++done, total);
      }
      blocks.forEach((b) => b.dispose());
      x.dispose();
    }
    const results: GradientVariability[] = [];
    for (const [li, l] of layers.entries()) {
      const norms: number[][] = [];
      for (const parts of normParts[li]) {
        const row: number[] = [];
        for (const part of parts) {
          row.push(...((await part.toArray()) as Float32Array));
          part.dispose();
        }
        norms.push(row);
      }
      const unitSumSquares: number[] = [];
      for (const s of unitSums[li]) {
        unitSumSquares.push(...(await rowSquares(s!)));
        s!.dispose();
      }
      const sampleSumSquares: number[] = [];
      for (const s of sampleSums[li]) {
        sampleSumSquares.push(...(await rowSquares(s)));
        s.dispose();
      }
      results.push({ layer: names[l], units: units[li], samples: N, ...layerStatistics(norms, unitSumSquares, sampleSumSquares), norms });
    }
    return results;
  } finally {
    params.forEach((p, i) => (p.requiresGrad = frozen[i]));
    model.train(wasTraining);
  }
}
