// Chooses tiles and K-splits for the GEMM core and runs it: shared by matmul, linear and conv.
import { gemmProgram, gemmWorkgroups, sharedBlock, type GemmConfig, type GemmLayout, type OperandReader } from '../../shaders/gemm.js';
import { gpu } from '../device.js';
import { empty, type Tensor } from '../tensor.js';
import { cast } from './cast.js';
import { addRaw, reluGradOfSumRaw, reluGradRaw, reluRaw } from './elementwise.js';
import { reduceRaw } from './reduce.js';
import { run } from './run.js';

export interface GemmProblem {
  M: number;
  N: number;
  K: number;
  batches?: number;
  a: OperandReader;
  b: OperandReader;
  /** Tensors bound by name (the readers' bindings, plus `bias` when given). */
  inputs: Record<string, Tensor>;
  /** The readers' uniform values. */
  uniforms: Record<string, number>;
  bias?: Tensor;
  /** Added after the bias and before the ReLU: f32, laid out like C ([batches·M, N] elements). */
  residual?: Tensor;
  relu?: boolean;
  /**
   * Zero where this tensor (f32, laid out like C) is not positive, after everything else: with a
   * residual, the gradient through a ReLU whose output is `mask` of the residual and this GEMM summed.
   */
  mask?: Tensor;
  /** Write hook: rows of C land at these offsets of `output` (no K split then). */
  rowOffset?: GemmConfig['rowOffset'];
  /** Write into this tensor instead of a new one (needs no K split). */
  output?: Tensor;
  /** Storage type of C (default f32); accumulation is f32 either way. */
  outDtype?: 'f32' | 'f16';
  /**
   * Readers specialised to the row tile a thread takes (register and subgroup modes only), used
   * instead of a and b when this returns them: a convolution's sliding tap window.
   */
  forRowTile?: (tm: number) => { a: OperandReader; b: OperandReader } | undefined;
  /**
   * A thread tile the readers need (register or subgroup mode, whatever the tile setting): a reader
   * whose lanes each take a fixed group of rows, such as the weight gradient's tap window.
   */
  tile?: { tm: number; tn: number };
  label: string;
}

// Below this many threads a GEMM splits K to keep every SM busy. A CPU adapter's few cores are
// busy with far fewer (16 workgroups of 64), and there every split costs a pass that sums the
// partial tiles: at 4096, ResNet20's 64-channel convolutions at batch 64 split in two, and a
// training step was about 10% slower.
const TARGET_THREADS = 4096;
const CPU_TARGET_THREADS = 1024;
// A split should still do a decent amount of work per thread.
const MIN_K_PER_SPLIT = 64;

export interface GemmTiling {
  tm: number;
  tn: number;
  /** Shared-memory tiling (see TileShape.shared). */
  shared: boolean;
  splits: number;
  kChunk: number;
}

/** Rows × columns of C per thread. */
export interface TileShape {
  tm: number;
  tn: number;
  /**
   * Stage A and B in workgroup memory, 8×8 threads per (8·tm)×(8·tn) block of C: the usual GPU
   * tiling. Without it each thread loads its own operands (register blocking, with B shared across
   * a subgroup where the adapter has subgroups), which is what CPU adapters like lavapipe prefer.
   */
  shared?: boolean;
}

/** What a short autotune tries (experiments/autotune.ts); 4×32 register blocking is the default. */
export const TILE_CANDIDATES: readonly TileShape[] = [
  { tm: 4, tn: 32 }, { tm: 4, tn: 64 }, { tm: 8, tn: 16 }, { tm: 4, tn: 16 }, { tm: 8, tn: 8 }, { tm: 4, tn: 8 }, { tm: 16, tn: 8 }, { tm: 4, tn: 4 },
  { tm: 4, tn: 4, shared: true }, { tm: 4, tn: 8, shared: true }, { tm: 8, tn: 8, shared: true },
];
export const DEFAULT_TILE: TileShape = { tm: 4, tn: 32 };
/**
 * The default on compatibility-mode devices (OpenGL ES, Direct3D 11). Their shader compilers take
 * far longer over the unrolled 4×32 kernel: the matmul test cases compiled cold in 213 s at 4×32,
 * 71 s at 4×16 and 36 s at 4×8 through ANGLE on lavapipe; those devices' GPUs are small anyway.
 */
export const COMPATIBILITY_TILE: TileShape = { tm: 4, tn: 8 };

/** "4×32", or "8×8 shared" for a shared-memory tile. */
export const tileName = (t: TileShape) => `${t.tm}×${t.tn}${t.shared ? ' shared' : ''}`;

/** The candidate a name like "4x32", "4×32", "8x8s" or "8×8 shared" stands for; throws naming the candidates otherwise. */
export function parseTile(text: string): TileShape {
  const m = /^(\d+)\s*[x×]\s*(\d+)\s*(s|shared)?$/.exec(text.trim());
  const found = m && TILE_CANDIDATES.find((c) => c.tm === Number(m[1]) && c.tn === Number(m[2]) && !!c.shared === !!m[3]);
  if (!found) throw new Error(`tile '${text}': expected one of ${TILE_CANDIDATES.map(tileName).join(', ')} (a shared-memory tile as e.g. 8x8s)`);
  return { ...found };
}

/** The tile set by setGemmTile (autotune, --tile, ?tile=), or null for the device's default. */
let chosen: TileShape | null = null;

/** The default tile of the current device (DEFAULT_TILE before any device exists). */
export function defaultGemmTile(): TileShape {
  let compatibility = false;
  try {
    compatibility = gpu().info.compatibility;
  } catch {
    // no device yet: the core default
  }
  return { ...(compatibility ? COMPATIBILITY_TILE : DEFAULT_TILE) };
}

/**
 * Sets the largest tile GEMMs use on this device (smaller matrices still get smaller tiles). The
 * tile changes the order of summation, so record it with results that must be reproducible.
 */
export function setGemmTile(shape: TileShape): void {
  const known = TILE_CANDIDATES.find((c) => c.tm === shape.tm && c.tn === shape.tn && !!c.shared === !!shape.shared);
  if (!known) throw new Error(`gemm tile ${tileName(shape)} is not one of ${TILE_CANDIDATES.map(tileName).join(', ')}`);
  chosen = { ...known };
}

/** Forgets a tile set with setGemmTile: GEMMs use the device's default again. */
export function resetGemmTile(): void {
  chosen = null;
}

export function gemmTile(): TileShape {
  return chosen ? { ...chosen } : defaultGemmTile();
}

/** The tile for one GEMM under the current tile setting; `registersOnly` for GEMMs the shared mode cannot take (a row-offset write hook). */
function tileFor(M: number, N: number, registersOnly: boolean): { tm: number; tn: number; shared: boolean } {
  const tile = gemmTile();
  if (tile.shared && !registersOnly) {
    // A workgroup owns 8·tm × 8·tn of C: halve the block for outputs it would mostly overhang.
    let tn = tile.tn;
    while (tn > 4 && sharedBlock(4, tn).cols / 2 >= N) tn /= 2;
    const tm = sharedBlock(tile.tm, tn).rows / 2 >= M ? 4 : tile.tm;
    return { tm, tn, shared: true };
  }
  // A shared tile set for a GEMM that cannot take one: the device's register-blocked default.
  const base = tile.shared ? defaultGemmTile() : tile;
  // Narrow outputs trade the tile's columns for rows, keeping its accumulator registers, up to 8
  // rows; 4 with 16-lane subgroups (llvmpipe on AVX-512), where the wider SIMD registers spill sooner.
  let tn = base.tn;
  while (tn > 4 && tn > N) tn /= 2;
  const rowCap = (gpu().info.subgroupSize ?? 0) >= 16 ? 4 : 8;
  const rows = Math.min(Math.max(base.tm, rowCap), (base.tm * base.tn) / tn);
  return { tm: M >= rows ? rows : 4, tn, shared: false };
}

/** Threads below which a GEMM splits K on this adapter: with the tile, it fixes the order of summation. */
export function gemmSplitTarget(): number {
  return gpu().info.cpu ? CPU_TARGET_THREADS : TARGET_THREADS;
}

export function chooseTiling(M: number, N: number, K: number, batches: number, allowSplit = true, registersOnly = false, fixed?: { tm: number; tn: number }): GemmTiling {
  const { tm, tn, shared } = fixed ? { ...fixed, shared: false } : tileFor(M, N, registersOnly);
  const threads = Math.ceil(M / tm) * Math.ceil(N / tn) * batches;
  const target = gemmSplitTarget();
  let splits = 1;
  if (allowSplit && threads < target && K >= 2 * MIN_K_PER_SPLIT) {
    splits = Math.min(Math.ceil(target / threads), Math.floor(K / MIN_K_PER_SPLIT));
  }
  const kChunk = Math.ceil(Math.ceil(K / splits) / 4) * 4;
  splits = Math.max(1, Math.ceil(K / Math.max(kChunk, 4)));
  return { tm, tn, shared, splits, kChunk: Math.max(kChunk, 4) };
}

let storeLoopSetting: boolean | null = null;

/**
 * How GEMMs write their tile out: true for a loop over the tile (GemmConfig.storeLoop), false for
 * straight-line code, null for the adapter's default (the loop on CPU adapters, where it compiles
 * several times faster and ran faster too). The stored values are the same either way.
 */
export function setGemmStoreLoop(enabled: boolean | null): void {
  storeLoopSetting = enabled;
}

/** Whether register-blocked GEMMs write their tile out in a loop on this device now. */
export function gemmStoreLoop(): boolean {
  return storeLoopSetting ?? gpu().info.cpu;
}

let subgroupsEnabled = true;
// Threads per GEMM workgroup (shaders/gemm.ts): a subgroup must divide it.
const WORKGROUP = 64;

/** Turns the subgroup-shared B tile off (benchmark comparisons, or adapters where it does not pay). */
export function setGemmSubgroups(enabled: boolean): void {
  subgroupsEnabled = enabled;
}

/**
 * The subgroup size to share B tiles with, when the adapter and the reader allow it and the row
 * tiles fill the workgroups: lanes past the last row still run (subgroup operations need them), so
 * a GEMM with few row tiles (a weight gradient, M = KH·KW·Cin) would mostly compute nothing.
 */
function subgroupSharing(b: OperandReader, rowTiles: number): { subgroupSize: number; workgroupSize: number } | undefined {
  const size = gpu().info.subgroupSize;
  if (!subgroupsEnabled || !size || WORKGROUP % size !== 0 || !b.vec4 || !b.loadVecDynamic) return undefined;
  const idle = (group: number) => (Math.ceil(rowTiles / group) * group - rowTiles) / (Math.ceil(rowTiles / group) * group);
  // Full workgroups unless one-subgroup workgroups leave fewer lanes idle.
  const workgroupSize = idle(size) < idle(WORKGROUP) ? size : WORKGROUP;
  return idle(workgroupSize) <= 0.25 ? { subgroupSize: size, workgroupSize } : undefined;
}

/** Runs C[batches, M, N] = A·B (+ bias, ReLU) and returns C. */
export function gemm(p: GemmProblem): Tensor {
  const batches = p.batches ?? 1;
  const direct = !!(p.output || p.rowOffset);
  const tiling = chooseTiling(p.M, p.N, p.K, batches, !direct, !!p.rowOffset, p.tile);
  let sharing = tiling.shared ? undefined : subgroupSharing(p.b, Math.ceil(p.M / tiling.tm));
  // Too few row tiles to fill subgroups (a weight gradient's M = KH·KW·Cin): 4 rows per thread may
  // let B's tile be shared anyway, which saves more loads than the rows cost.
  const narrower = !sharing && !tiling.shared && !p.tile && tiling.tm > 4 ? subgroupSharing(p.b, Math.ceil(p.M / 4)) : undefined;
  if (narrower) {
    tiling.tm = 4;
    sharing = narrower;
  }
  const outSize = p.output?.size ?? batches * p.M * p.N;
  for (const [name, t] of [['residual', p.residual], ['mask', p.mask]] as const) {
    if (t && (t.dtype !== 'f32' || t.size !== outSize)) throw new Error(`${p.label}: ${name} ${t.describe()} must be f32 with the output's ${outSize} elements`);
  }
  const { tm, tn, shared, splits, kChunk } = tiling;
  const vecStore = p.N % 4 === 0;
  const fused = splits === 1;
  const half = p.outDtype === 'f16';
  if (half && (p.output || !vecStore || !fused || p.residual || p.mask)) {
    // The f16 store packs whole vec4 rows of one thread; otherwise round once at the end.
    const full = gemm({ ...p, outDtype: 'f32' });
    const rounded = cast(full, 'f16');
    full.dispose();
    return rounded;
  }
  const { a, b } = (!shared && p.forRowTile?.(tm)) || p;
  const program = gemmProgram({ a, b, tm, tn, vecStore, kAligned: p.K % 4 === 0, subgroupSize: sharing?.subgroupSize, workgroupSize: sharing?.workgroupSize, shared, bias: fused && !!p.bias, residual: fused && !!p.residual, relu: fused && !!p.relu, mask: fused && !!p.mask, halfOutput: half, rowOffset: p.rowOffset, storeLoop: !shared && gemmStoreLoop(), label: p.label });
  const layout: GemmLayout = shared ? { mode: 'shared' } : sharing ? { mode: 'subgroup', workgroupSize: sharing.workgroupSize } : { mode: 'registers' };
  const out = p.output ?? empty([batches * splits * p.M * p.N], half ? 'f16' : 'f32');
  const tensors: Record<string, Tensor> = { ...p.inputs, C: out };
  if (fused && p.bias) tensors.bias = p.bias;
  if (fused && p.residual) tensors.R = p.residual;
  if (fused && p.mask) tensors.mask = p.mask;
  const uniforms = { ...p.uniforms, M: p.M, N: p.N, K: p.K, kChunk, splits, batches };
  if (p.M * p.N > 0) run(program, tensors, uniforms, gemmWorkgroups(p.M, p.N, tm, tn, splits, batches, layout), p.label);
  if (fused) return out;
  const summed = reduceRaw('sum', out, batches, splits, p.M * p.N);
  out.dispose();
  if (!p.bias && !p.residual && !p.relu && !p.mask) return summed;
  // Split-K: apply the epilogue after the partial tiles are summed, in the fused epilogue's order.
  let y = summed.view([batches * p.M, p.N]);
  summed.dispose();
  const apply = (f: (t: Tensor) => Tensor) => {
    const next = f(y);
    y.dispose();
    y = next;
  };
  const [r, m] = [p.residual?.view(y.shape), p.mask?.view(y.shape)];
  if (p.bias) apply((t) => addRaw(t, p.bias!));
  if (r && m && !p.relu) {
    // A folded ReLU gradient: the residual's addition and the mask in one pass, as unfolded.
    apply((t) => reluGradOfSumRaw([t, r], m));
  } else {
    if (r) apply((t) => addRaw(t, r));
    if (p.relu) apply(reluRaw);
    if (m) apply((t) => reluGradRaw(t, m));
  }
  [r, m].forEach((t) => t?.dispose());
  return y;
}
