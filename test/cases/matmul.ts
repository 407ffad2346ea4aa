// Matrix products against float64 references with dot-product error bounds.
import { chooseTiling } from '../../engine/ops/gemm.js';
import { linear, matmulRaw } from '../../engine/ops/matmul.js';
import { tensor } from '../../engine/tensor.js';
import { matmulRef } from '../reference/matmul.js';
import type { KernelCase } from './check.js';
import { dotBound, randn } from './util.js';

export const matmulShapes: [number, number, number, number, boolean, boolean][] = [
  // batch, M, N, K, transA, transB
  [1, 1, 1, 1, false, false],
  [1, 3, 7, 17, false, false],
  [1, 17, 33, 7, false, true],
  [1, 33, 17, 3, true, false],
  [1, 8, 16, 64, true, true],
  [1, 64, 48, 32, false, false],
  [1, 5, 3, 1000, false, false], // K split across threads
  [1, 16, 16, 4096, true, false],
  [3, 7, 9, 5, false, false],
  [2, 12, 20, 36, false, true],
];

/** The inputs of the linear case (the Node test reuses them for its gradient check). */
export const linearInputs = () => ({ x: randn(6 * 5, 8), w: randn(3 * 5, 9), bias: randn(3, 10) });

export const matmulCases: KernelCase[] = [
  ...matmulShapes.map(([batch, M, N, K, transA, transB]): KernelCase => ({
    suite: 'matmul',
    name: `matmul b${batch} ${M}x${K}·${K}x${N}${transA ? ' Aᵀ' : ''}${transB ? ' Bᵀ' : ''}`,
    async run(check) {
      const aShape: [number, number, number] = [batch, transA ? K : M, transA ? M : K];
      const bShape: [number, number, number] = [batch, transB ? N : K, transB ? K : N];
      const a = randn(aShape[0] * aShape[1] * aShape[2], M * 7 + K);
      const b = randn(bShape[0] * bShape[1] * bShape[2], N * 13 + K);
      const ta = tensor(a, batch === 1 ? aShape.slice(1) : aShape);
      const tb = tensor(b, batch === 1 ? bShape.slice(1) : bShape);
      const c = matmulRaw(ta, tb, { transA, transB });
      check.equal([...c.shape], batch === 1 ? [M, N] : [batch, M, N], 'shape');
      const ref = matmulRef(a, aShape, b, bShape, transA, transB);
      const { splits } = chooseTiling(M, N, K, batch);
      check.close(await c.toArray(), ref.value, dotBound(K + splits, ref.absSum), 'matmul');
      [ta, tb, c].forEach((t) => t.dispose());
    },
  })),
  {
    suite: 'matmul',
    // Shapes for the subgroup-shared B tile (any adapter runs them; without subgroups they take the
    // plain path). M makes row tiles fill 64-lane workgroups (1000/4 = 250 tiles) or only single
    // subgroups (40/8 = 5 tiles → one-subgroup workgroups); N leaves a partial column tile; K is odd,
    // or a multiple of 4 so that a transposed B (stored along K) is read as vec4s and shared too.
    name: 'matmul subgroup-shaped tiles: full and one-subgroup workgroups, partial tiles, Bᵀ',
    async run(check) {
      for (const [M, N, K] of [[1000, 36, 73], [40, 20, 16], [1024, 16, 144], [1000, 36, 64]]) {
        const a = randn(M * K, M + 1);
        const b = randn(K * N, N + 2);
        for (const transB of [false, true]) {
          const ref = matmulRef(a, [1, M, K], b, transB ? [1, N, K] : [1, K, N], false, transB);
          const ta = tensor(a, [M, K]);
          const tb = tensor(b, transB ? [N, K] : [K, N]);
          const c = matmulRaw(ta, tb, { transB });
          const { splits } = chooseTiling(M, N, K, 1);
          check.close(await c.toArray(), ref.value, dotBound(K + splits, ref.absSum), `${M}x${K}·${K}x${N}${transB ? ' Bᵀ' : ''}`);
          [ta, tb, c].forEach((t) => t.dispose());
        }
      }
    },
  },
  {
    suite: 'matmul',
    name: 'matmul broadcasts a batch of one',
    async run(check) {
      const a = randn(2 * 3 * 4, 1);
      const b = randn(4 * 5, 2);
      const c = matmulRaw(tensor(a, [2, 3, 4]), tensor(b, [1, 4, 5]));
      const ref = matmulRef(a, [2, 3, 4], b, [1, 4, 5]);
      check.close(await c.toArray(), ref.value, dotBound(5, ref.absSum), 'broadcast matmul');
    },
  },
  {
    suite: 'matmul',
    name: 'linear matches x·Wᵀ + b',
    async run(check) {
      const { x, w, bias } = linearInputs();
      const y = linear(tensor(x, [6, 5]), tensor(w, [3, 5]), tensor(bias, [3]));
      const ref = matmulRef(x, [1, 6, 5], w, [1, 3, 5], false, true);
      const expected = ref.value.map((v, i) => v + bias[i % 3]);
      check.close(await y.toArray(), expected, (i) => dotBound(6, ref.absSum)(i) + Math.abs(bias[i % 3]) * 1e-7, 'linear');
    },
  },
];
