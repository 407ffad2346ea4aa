// `autotune`: picks the fastest GEMM tile for this adapter and caches it for later runs.
import { tileName } from '../../engine/ops/gemm.js';
import { autotuneGemm, saveTunedTile } from '../autotune.js';
import { parseArgs } from './args.js';
import { startGpu } from './gpu.js';

export async function autotuneCommand(argv: string[]): Promise<void> {
  const args = parseArgs('autotune', 'Time each candidate GEMM tile (rows × columns of the output per thread; register-blocked, and shared-memory tiles as GPUs use) on a matmul and ResNet-style convolutions, keep the fastest, and cache it for this adapter; every later command uses it. Runs recorded before keep their tile (resume refuses a different one: the tile changes the order of summation).', {}, argv);
  if (!args) return;
  await startGpu({ tune: false });
  const result = await autotuneGemm((tile, ms) => console.log(`tile ${tileName(tile)}: ${ms.toFixed(1)} ms`));
  const path = await saveTunedTile(result);
  console.log(`fastest: ${tileName(result.tile)} on ${result.adapter} → ${path}`);
}
