import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linear, matmul, matmulRaw } from '../engine/ops/matmul.js';
import { tensor } from '../engine/tensor.js';
import { runCase } from './cases/check.js';
import { linearInputs, matmulCases } from './cases/matmul.js';
import { chooseTiling } from '../engine/ops/gemm.js';
import { assertClose, dotBound, gradCheck, randn, setupGpu } from './helpers.js';
import { matmulRef } from './reference/matmul.js';

test.before(setupGpu);

// The reference comparisons are shared cases (test/cases/matmul.ts, also run by the page's test mode).
for (const c of matmulCases) test(c.name, async () => void (await runCase(c)));

test('matmul rejects mismatched inner dimensions with both shapes named', () => {
  assert.throws(() => matmulRaw(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [4, 2])), /inner dimensions differ.*\[2,3\].*\[4,2\]/);
});

test('matmul gradient matches finite differences', async () => {
  for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]]) {
    await gradCheck(`matmul transA=${transA} transB=${transB}`, (a, b) => matmul(a, b, { transA, transB }), [
      { data: randn(15, 3), shape: transA ? [5, 3] : [3, 5] },
      { data: randn(20, 4), shape: transB ? [4, 5] : [5, 4] },
    ]);
  }
});

test('batched matmul gradient sums over a broadcast batch', async () => {
  await gradCheck('batched matmul', (a, b) => matmul(a, b), [
    { data: randn(2 * 3 * 5, 5), shape: [2, 3, 5] },
    { data: randn(5 * 4, 6), shape: [1, 5, 4] },
  ]);
});

test('linear matches x·Wᵀ + b and its gradient', async () => {
  const { x, w, bias } = linearInputs();
  await gradCheck('linear', (a, b, c) => linear(a, b, c), [
    { data: x, shape: [6, 5] },
    { data: w, shape: [3, 5] },
    { data: bias, shape: [3] },
  ]);
});

test('the subgroup-shared B tile matches the plain path against the reference (same shapes, subgroups off)', async () => {
  const { setGemmSubgroups } = await import('../engine/ops/gemm.js');
  const shaped = matmulCases.find((c) => c.name.startsWith('matmul subgroup-shaped tiles'))!;
  setGemmSubgroups(false);
  try {
    await runCase(shaped);
  } finally {
    setGemmSubgroups(true);
  }
});

test('every autotune tile candidate computes the same products (matmul and the three conv directions)', async () => {
  const { TILE_CANDIDATES, resetGemmTile, setGemmTile, tileName } = await import('../engine/ops/gemm.js');
  const { conv2dDataGradRaw, conv2dForwardRaw, conv2dWeightGradRaw, convGeometry } = await import('../engine/ops/conv.js');
  const { conv2dRef, conv2dDataGradRef, conv2dWeightGradRef } = await import('./reference/conv.js');
  const a = randn(19 * 23, 1);
  const b = randn(23 * 37, 2);
  const s = { N: 2, H: 6, W: 6, Ci: 8, Co: 12, KH: 3, KW: 3, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 };
  const x = randn(2 * 6 * 6 * 8, 3);
  const w = randn(3 * 3 * 8 * 12, 4);
  const dy = randn(2 * 6 * 6 * 12, 5);
  try {
    for (const tile of TILE_CANDIDATES) {
      setGemmTile(tile);
      const ref = matmulRef(a, [1, 19, 23], b, [1, 23, 37]);
      const { splits } = chooseTiling(19, 37, 23, 1);
      assertClose(await matmulRaw(tensor(a, [19, 23]), tensor(b, [23, 37])).toArray(), ref.value, dotBound(23 + splits, ref.absSum), `matmul, tile ${tileName(tile)}`);
      const tx = tensor(x, [2, 6, 6, 8]);
      const tw = tensor(w, [3, 3, 8, 12]);
      const tdy = tensor(dy, [2, 6, 6, 12]);
      const g = convGeometry(tx, tw, { padding: 1 });
      for (const [name, got, want, K] of [
        ['forward', conv2dForwardRaw(tx, tw, g), conv2dRef(x, w, s), 72],
        ['data-grad', conv2dDataGradRaw(tdy, tw, g), conv2dDataGradRef(dy, w, s), 108],
        ['weight-grad', conv2dWeightGradRaw(tx, tdy, g), conv2dWeightGradRef(x, dy, s), 72 + 64],
      ] as const) {
        assertClose(await got.toArray(), want.value, dotBound(K + 64, want.absSum), `conv ${name}, tile ${tileName(tile)}`);
      }
    }
  } finally {
    resetGemmTile();
  }
  assert.throws(() => setGemmTile({ tm: 3, tn: 5 }), /not one of/);
});

test('the tile setting: the device default until set, and again after a reset', async () => {
  const { DEFAULT_TILE, gemmTile, parseTile, resetGemmTile, setGemmTile } = await import('../engine/ops/gemm.js');
  const { gpu } = await import('../engine/device.js');
  assert.is(gpu().info.compatibility, false, 'Node asks for a core device');
  assert.equal(gemmTile(), DEFAULT_TILE);
  try {
    setGemmTile(parseTile('4x16'));
    assert.equal(gemmTile(), { tm: 4, tn: 16 });
    setGemmTile(parseTile('8x8s'));
    assert.equal(gemmTile(), { tm: 8, tn: 8, shared: true });
  } finally {
    resetGemmTile();
  }
  assert.equal(gemmTile(), DEFAULT_TILE);
  assert.throws(() => parseTile('5x5'), /expected one of/);
});

test.run();
