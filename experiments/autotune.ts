// A short autotune of the GEMM tile per adapter: times representative GEMMs (a square matmul and
// ResNet-style convolutions in all three directions) for each candidate tile, register-blocked and
// shared-memory alike, keeps the fastest and caches the choice on disk per adapter, so later
// processes start with it. Register blocking wins on CPU adapters; shared-memory tiles are the ones
// GPUs are built for.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gpu } from '../engine/device.js';
import { conv2dDataGradRaw, conv2dForwardRaw, conv2dWeightGradRaw, convGeometry } from '../engine/ops/conv.js';
import { TILE_CANDIDATES, gemmTile, setGemmTile, type TileShape } from '../engine/ops/gemm.js';
import { matmulRaw } from '../engine/ops/matmul.js';
import { rand } from '../engine/ops/random.js';
import { runtime } from '../engine/runtime.js';
import { scope, type Tensor } from '../engine/tensor.js';
import { writeFileAtomic } from './io/atomic.js';
import { userCacheDir } from './io/cache-dir.js';

export interface TuneResult {
  adapter: string;
  tile: TileShape;
  /** Median ms of the workload per candidate. */
  timings: { tile: TileShape; ms: number }[];
  tuned: string;
}

/** The identity a tile is tuned for: the adapter, and its subgroup size (llvmpipe's follows its vector width). */
export const tuningIdentity = (): string => `${gpu().info.description}${gpu().info.subgroupSize ? ` (subgroup size ${gpu().info.subgroupSize})` : ''}`;

/** Where the chosen tile of an adapter is cached ($XDG_CACHE_HOME or ~/.cache). */
export function tileCachePath(adapter: string): string {
  const id = createHash('sha256').update(adapter).digest('hex').slice(0, 16);
  return join(userCacheDir(), `gemm-tile-${id}.json`);
}

async function medianMs(work: () => Tensor[], repeats: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats + 1; i++) {
    const t0 = performance.now();
    const outs = scope(work);
    await runtime().sync();
    if (i > 0) times.push(performance.now() - t0); // the first run compiles the pipelines
    outs.forEach((t) => t.dispose());
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** Times every candidate tile on a small, representative workload and applies the fastest. */
export async function autotuneGemm(onCandidate?: (tile: TileShape, ms: number) => void): Promise<TuneResult> {
  // Full-size shapes: a small workload favours tiles that only win at low occupancy.
  const a = rand([1024, 1024]).keep();
  const b = rand([1024, 1024]).keep();
  const x = rand([128, 16, 16, 32]).keep();
  const w = rand([3, 3, 32, 32], { lo: -0.1, hi: 0.1 }).keep();
  const g = convGeometry(x, w, { padding: 1 });
  const dy = rand([128, 16, 16, 32]).keep();
  const workload = () => [matmulRaw(a, b), conv2dForwardRaw(x, w, g), conv2dDataGradRaw(dy, w, g), conv2dWeightGradRaw(x, dy, g)];
  const previous = gemmTile();
  const timings: TuneResult['timings'] = [];
  try {
    for (const tile of TILE_CANDIDATES) {
      setGemmTile(tile);
      const ms = await medianMs(workload, 2);
      timings.push({ tile, ms });
      onCandidate?.(tile, ms);
    }
  } finally {
    setGemmTile(previous);
    [a, b, x, w, dy].forEach((t) => t.dispose());
  }
  const best = timings.reduce((m, t) => (t.ms < m.ms ? t : m));
  setGemmTile(best.tile);
  return { adapter: tuningIdentity(), tile: best.tile, timings, tuned: new Date().toISOString() };
}

export async function saveTunedTile(result: TuneResult): Promise<string> {
  const path = tileCachePath(result.adapter);
  await writeFileAtomic(path, JSON.stringify(result, null, 2) + '\n');
  return path;
}

/** Applies this adapter's cached tile, if an autotune stored one; returns it (or the default). */
export async function applyTunedTile(): Promise<TileShape> {
  const path = tileCachePath(tuningIdentity());
  if (!existsSync(path)) return gemmTile();
  try {
    const { tile } = JSON.parse(await readFile(path, 'utf8')) as TuneResult;
    setGemmTile(tile);
    return tile;
  } catch (e) {
    console.error(`ignoring the GEMM tile cache ${path}: ${(e as Error).message} (run \`cli autotune\` to rebuild it)`);
    return gemmTile();
  }
}
