// One GEMM template, C[M,N] = Σ_k A(m,k)·B(k,n), used by matmul and by all three conv directions
// (implicit GEMM). Each thread owns a TM×TN tile of C held in vec4 registers and walks K four at a
// time. How A and B are read is supplied by "operand readers" (plain row-major matrices, or
// im2col-style gathers for convolutions), and K can be split across threads with partial tiles
// summed by a second pass when M·N alone offers too little parallelism.
//
// Where a K block's operands come from is a hook with three variants:
//  - registers: each thread loads its own A rows and B columns (best on CPU adapters like lavapipe,
//    where every lane's load is a separate memory access anyway and workgroup memory is plain RAM);
//  - subgroup: as registers, but the lanes of a subgroup share one B tile through subgroupBroadcast;
//  - shared: the standard GPU tiling. A workgroup of 8×8 threads owns an (8·TM)×(8·TN) block of C;
//    its threads first stage the A and B tiles of a few K blocks in workgroup memory (each thread
//    loading a slice through the same readers), then every thread reads its rows and columns from
//    there, so each element of A and B is fetched from global memory once per workgroup.
import type { Program, StorageBinding, UniformField } from '../engine/program.js';
import { u32, write } from '../engine/program.js';

/** How one operand is read. Indices are "outer" = m for A, n for B. */
export interface OperandReader {
  /** Distinguishes generated code in the pipeline cache key. */
  key: string;
  bindings: StorageBinding[];
  uniforms: UniformField[];
  /** Memory runs along K (true) or along the outer dimension (false). */
  kContiguous: boolean;
  /** Reads 4 consecutive elements along the contiguous dimension at once. */
  vec4: boolean;
  /**
   * Statements run once per thread for outer index `o` (a WGSL u32 expression, already clamped to
   * the matrix) of tile slot `t`. For vec4 outer-contiguous readers, `t` indexes groups of 4.
   */
  outerSetup(t: number, o: string): string;
  /** Statements at the start of each 4-wide K block; `k` is the block's first index. */
  kSetup(k: string): string;
  /**
   * Loop-carried index state: declarations before the K loop (from its first index `kBegin`) and
   * the statements that advance it by 4 at the end of each block. Decomposing k incrementally keeps
   * integer division out of the loop: it has no SIMD form on CPUs, so each one costs a scalar loop.
   */
  kInit?(kBegin: string): string;
  kNext?(): string;
  /** Helper WGSL functions the loads call (module scope). */
  functions?: string;
  /** Scalar load for tile slot t at k + kk. */
  load(t: number, kk: number): string;
  /** vec4 load: along K for slot t (kk = 0), or along the outer dim for group t at k + kk. */
  loadVec(t: number, kk: number): string;
  /**
   * The same vec4 load with a runtime index (u32 WGSL expressions): group t at k offset kk for
   * outer-contiguous readers, outer index t (kk unused) for K-contiguous ones. Readers that offer it
   * let a subgroup share one B tile (see GemmConfig.subgroupSize).
   */
  loadVecDynamic?(t: string, kk: string): string;
}

export interface GemmConfig {
  a: OperandReader;
  b: OperandReader;
  /** Rows and columns of C per thread (tn a multiple of 4). */
  tm: number;
  tn: number;
  /** C row length allows vec4 stores. */
  vecStore: boolean;
  /** K is a multiple of 4, so no K block runs past the end and loads need no masks. */
  kAligned: boolean;
  /** Optional per-column bias added before the store (binding `bias`). */
  bias: boolean;
  /**
   * Optional residual (binding `R`, f32, laid out like C) added after the bias and before the ReLU:
   * a residual block's relu(conv(x) + b + skip) in one pass instead of a GEMM and an add.
   */
  residual?: boolean;
  /** Optional ReLU on the stored value. */
  relu: boolean;
  /**
   * Optional ReLU mask (binding `mask`, f32, laid out like C), applied last: the stored value is
   * zero where the mask is not positive. With a residual it gives relu'(y) ⊙ (g + residual), the
   * gradient through a ReLU with output y of two summed gradients, without a pass of its own.
   */
  mask?: boolean;
  /** Store C as f16 (needs vecStore): accumulation stays f32, rounding happens once at the store. */
  halfOutput?: boolean;
  /**
   * Write hook: maps row m of C (a u32 WGSL expression; tile row t) to the element offset of its
   * first value in the output, and may use the A reader's per-row values of slot t. Default:
   * row-major [M, N]. Strided outputs (sub-pixel convolution phases) use it.
   */
  rowOffset?: { key: string; uniforms: UniformField[]; expr: (m: string, t: number) => string };
  /**
   * Subgroup size S when B's row tile is shared across a subgroup: the lanes of a subgroup take
   * consecutive row tiles of the same column tile, lanes 0..S−1 each load 1/S of the 4×TN B block and
   * subgroupBroadcast hands every lane the rest. On CPU backends, where each lane's load is a
   * separate memory access, this cuts B's loads S-fold. Needs a B reader with loadVecDynamic.
   * Correct whenever every subgroup has at least S lanes (all lanes of a workgroup share the B
   * block, and only lanes below S are read from), so S is the adapter's smallest subgroup size and
   * subgroups that are wider, or vary between dispatches, are fine.
   */
  subgroupSize?: number;
  /** Threads per workgroup (default 64); a subgroup-shared GEMM with few row tiles uses one subgroup. */
  workgroupSize?: number;
  /**
   * Stage operands in workgroup memory (the GPU tiling): 64 threads as 8×8 own an (8·tm)×(8·tn)
   * block of C. Excludes subgroupSize and rowOffset (a row's store offset comes from the A reader's
   * per-thread values, which in this mode belong to the rows a thread loads, not those it stores).
   */
  shared?: boolean;
  /**
   * Write the tile out in a loop over its vec4s, read from a private array, instead of straight-line
   * code (same values, same order of sums). For CPU adapters: llvmpipe turns each lane-varying store
   * into a branch per lane, and a tile's hundreds of them, with every accumulator live across them,
   * cost LLVM seconds per pipeline (a 4×64 tile with bias, residual and ReLU: 37 s, in a loop 2 s).
   * GPU compilers keep the straight-line form's values in registers, which a dynamically indexed
   * array may not get, so they keep it.
   */
  storeLoop?: boolean;
  label: string;
}

const WG = 64;
/** Threads along each side of a shared-memory workgroup (SIDE² = WG). */
const SIDE = 8;
/** K blocks of 4 staged in workgroup memory between two barriers. */
const SHARED_K_BLOCKS = 2;

/** Rows × columns of C one workgroup owns in shared-memory mode. */
export const sharedBlock = (tm: number, tn: number) => ({ rows: SIDE * tm, cols: SIDE * tn });

/**
 * Uniforms of the core, in order: M, N, K, kChunk (multiple of 4), splits, batches, then the
 * readers' own. A dispatch covers batches × splits × ceil(M/tm) × ceil(N/tn) threads.
 */
export function gemmProgram(cfg: GemmConfig): Program {
  const { a, b, tm, tn } = cfg;
  if (tn % 4 !== 0 || tm % 4 !== 0) throw new Error(`gemm: tile ${tm}x${tn} must be multiples of 4`);
  if (cfg.halfOutput && !cfg.vecStore) throw new Error('gemm: f16 output needs rows of C in whole vec4s');
  if (cfg.shared && (cfg.subgroupSize || cfg.rowOffset)) throw new Error('gemm: shared-memory tiles take neither a subgroup-shared B tile nor a row-offset write hook');
  if ((cfg.residual || cfg.mask) && cfg.halfOutput) throw new Error('gemm: a residual or a mask applies to f32 outputs only');
  const key = `gemm_${tm}x${tn}_A[${a.key}]_B[${b.key}]_${cfg.vecStore ? 'v' : 's'}${cfg.kAligned ? 'k4' : ''}${cfg.bias ? '_bias' : ''}${cfg.residual ? '_res' : ''}${cfg.relu ? '_relu' : ''}${cfg.mask ? '_mask' : ''}${cfg.halfOutput ? '_h' : ''}${cfg.rowOffset ? `_row[${cfg.rowOffset.key}]` : ''}${cfg.subgroupSize ? `_sg${cfg.subgroupSize}` : ''}${cfg.shared ? '_smem' : ''}${cfg.storeLoop ? '_wl' : ''}${cfg.workgroupSize && cfg.workgroupSize !== WG ? `_wg${cfg.workgroupSize}` : ''}`;
  const bindings = [...a.bindings, ...b.bindings, ...(cfg.bias ? [{ name: 'bias', access: 'read' as const, element: 'f32' as const }] : []), ...(cfg.residual ? [{ name: 'R', access: 'read' as const, element: cfg.vecStore ? ('vec4<f32>' as const) : ('f32' as const) }] : []), ...(cfg.mask ? [{ name: 'mask', access: 'read' as const, element: cfg.vecStore ? ('vec4<f32>' as const) : ('f32' as const) }] : []), cfg.halfOutput ? { ...write('C', 'vec2<u32>'), half: true } : write('C', cfg.vecStore ? 'vec4<f32>' : 'f32')];
  const all = [u32('M'), u32('N'), u32('K'), u32('kChunk'), u32('splits'), u32('batches'), ...a.uniforms, ...b.uniforms, ...(cfg.rowOffset?.uniforms ?? [])];
  // Readers of one conv share geometry uniforms: declare each name once.
  const uniforms = all.filter((f, i) => all.findIndex((g) => g.name === f.name) === i);
  const workgroupSize = cfg.shared ? WG : (cfg.workgroupSize ?? WG);
  return { key, bindings, uniforms, workgroupSize, subgroups: !!cfg.subgroupSize, source: () => gemmSource(cfg) };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const comp = ['x', 'y', 'z', 'w'];

/** A K block's operands as the FMAs see them: A(row i, k + kk) as a scalar, B(k + kk, columns 4j..4j+3) as a vec4. */
interface BlockOperands {
  aElem: (i: number, kk: number) => string;
  bVec: (kk: number, j: number) => string;
}

/** Whether a reader's loads need a mask against kEnd (K not a multiple of 4, and not read as K-vec4s). */
const kMasked = (cfg: GemmConfig, r: OperandReader) => !cfg.kAligned && !(r.kContiguous && r.vec4);
const masked = (cfg: GemmConfig, r: OperandReader, zero: string, load: string, kk: number) => (kMasked(cfg, r) ? `select(${zero}, ${load}, kv${kk})` : load);
const kMaskLines = (cfg: GemmConfig) => (kMasked(cfg, cfg.a) || kMasked(cfg, cfg.b) ? range(4).map((kk) => `let kv${kk} = k + ${kk}u < kEnd;`) : []);

/** Register and subgroup modes: per-thread outer setup (rows m0.., columns n0..). */
function registerSetup(cfg: GemmConfig): string[] {
  const { a, b, tm, tn } = cfg;
  const L: string[] = [];
  const aGroups = !a.kContiguous && a.vec4;
  for (const t of range(aGroups ? tm / 4 : tm)) L.push(a.outerSetup(t, aGroups ? `min(m0 + ${4 * t}u, params.M - 4u)` : `min(m0 + ${t}u, params.M - 1u)`));
  const bGroups = !b.kContiguous && b.vec4;
  for (const t of range(bGroups ? tn / 4 : tn)) L.push(b.outerSetup(t, bGroups ? `min(n0 + ${4 * t}u, params.N - 4u)` : `min(n0 + ${t}u, params.N - 1u)`));
  return L;
}

/** Register and subgroup modes: each thread loads its own TM×4 block of A and 4×TN block of B (B maybe shared by a subgroup). */
function registerOperands(cfg: GemmConfig, L: string[]): BlockOperands {
  const { a, b, tm, tn } = cfg;
  const tn4 = tn / 4;
  L.push(...kMaskLines(cfg), a.kSetup('k'), b.kSetup('k'));
  let aElem: BlockOperands['aElem'];
  if (a.kContiguous && a.vec4) {
    for (const i of range(tm)) L.push(`let a${i} = ${a.loadVec(i, 0)};`);
    aElem = (i, kk) => `a${i}.${comp[kk]}`;
  } else if (a.vec4) {
    for (const kk of range(4)) for (const g of range(tm / 4)) L.push(`let a${g}_${kk} = ${masked(cfg, a, 'vec4<f32>()', a.loadVec(g, kk), kk)};`);
    aElem = (i, kk) => `a${Math.floor(i / 4)}_${kk}.${comp[i % 4]}`;
  } else {
    for (const kk of range(4)) for (const i of range(tm)) L.push(`let a${i}_${kk} = ${masked(cfg, a, '0.0', a.load(i, kk), kk)};`);
    aElem = (i, kk) => `a${i}_${kk}`;
  }
  let bVec: BlockOperands['bVec'];
  const S = cfg.subgroupSize;
  if (S && !b.kContiguous && b.vec4 && b.loadVecDynamic) {
    // Value v = kk·TN/4 + j of the block is loaded by lane v mod S as its (v div S)-th load.
    const values = 4 * tn4;
    for (let r = 0; r * S < values; r++) {
      const v = `min(${r * S}u + sid, ${values - 1}u)`;
      const load = b.loadVecDynamic(`(${v} % ${tn4}u)`, `(${v} / ${tn4}u)`);
      L.push(`let bl${r} = ${kMasked(cfg, b) ? `select(vec4<f32>(), ${load}, k + ${v} / ${tn4}u < kEnd)` : load};`);
    }
    bVec = (kk, j) => {
      const v = kk * tn4 + j;
      return `subgroupBroadcast(bl${Math.floor(v / S)}, ${v % S}u)`;
    };
  } else if (S && b.kContiguous && b.vec4 && b.loadVecDynamic) {
    // B stored along K (a transposed operand): column c's vec4 over the block's 4 k is loaded by
    // lane c mod S as its (c div S)-th load.
    for (let r = 0; r * S < tn; r++) L.push(`let bl${r} = ${b.loadVecDynamic(`min(${r * S}u + sid, ${tn - 1}u)`, '0u')};`);
    for (const c of range(tn)) L.push(`let bc${c} = subgroupBroadcast(bl${Math.floor(c / S)}, ${c % S}u);`);
    bVec = (kk, j) => `vec4<f32>(${range(4).map((q) => `bc${4 * j + q}.${comp[kk]}`).join(', ')})`;
  } else if (!b.kContiguous && b.vec4) {
    for (const kk of range(4)) for (const j of range(tn4)) L.push(`let b${kk}_${j} = ${masked(cfg, b, 'vec4<f32>()', b.loadVec(j, kk), kk)};`);
    bVec = (kk, j) => `b${kk}_${j}`;
  } else if (b.vec4) {
    for (const c of range(tn)) L.push(`let bc${c} = ${b.loadVec(c, 0)};`);
    bVec = (kk, j) => `vec4<f32>(${range(4).map((q) => `bc${4 * j + q}.${comp[kk]}`).join(', ')})`;
  } else {
    for (const kk of range(4)) for (const c of range(tn)) L.push(`let b${kk}_c${c} = ${masked(cfg, b, '0.0', b.load(c, kk), kk)};`);
    bVec = (kk, j) => `vec4<f32>(${range(4).map((q) => `b${kk}_c${4 * j + q}`).join(', ')})`;
  }
  return { aElem, bVec };
}

/**
 * The TM·TN/4·4 vec4 FMAs of one K block, grouped by accumulator: each one takes its 4 FMAs in a
 * row. On CPU adapters the accumulators (TM·TN per lane) far outnumber the SIMD registers, so each
 * is spilled; this order reloads it once per block instead of once per k (20–30% faster on
 * lavapipe). Every accumulator still sums its k in ascending order, so results are unchanged.
 */
function fmaLines(cfg: GemmConfig, { aElem, bVec }: BlockOperands, L: string[], tag = ''): void {
  for (const j of range(cfg.tn / 4)) {
    for (const kk of range(4)) L.push(`let bv${tag}${kk}_${j} = ${bVec(kk, j)};`);
    for (const i of range(cfg.tm)) for (const kk of range(4)) L.push(`acc${i}_${j} = fma(vec4<f32>(${aElem(i, kk)}), bv${tag}${kk}_${j}, acc${i}_${j});`);
  }
}

/**
 * Shared-memory mode: how one operand is staged. Workgroup memory holds A as one vec4 over the 4 k
 * of a block per row (As[block·BM + row]) and B as one vec4 over 4 columns per k (Bs[(block·4 +
 * kk)·BN/4 + column/4]), the forms the FMAs consume. The loads are the reader's own, for the slice
 * of rows (or 4-row groups) this thread fetches; `put(u, value, kk)` stores unit u of the slice.
 */
function sharedStaging(cfg: GemmConfig, which: 'A' | 'B') {
  const r = which === 'A' ? cfg.a : cfg.b;
  const extent = which === 'A' ? SIDE * cfg.tm : SIDE * cfg.tn;
  const [first, base, bound] = which === 'A' ? ['m0', 'wgM0', 'params.M'] : ['n0', 'wgN0', 'params.N'];
  const groups = !r.kContiguous && r.vec4; // one load covers 4 consecutive rows (columns)
  const units = groups ? extent / 4 : extent;
  const perThread = Math.ceil(units / WG);
  const setup = [`let ${first} = ${base} + lidx * ${groups ? 4 * perThread : perThread}u;`];
  for (const t of range(perThread)) setup.push(r.outerSetup(t, groups ? `min(${first} + ${4 * t}u, ${bound} - 4u)` : `min(${first} + ${t}u, ${bound} - 1u)`));
  const bn4 = (SIDE * cfg.tn) / 4;
  // Stores of unit u (a WGSL u32) of block `blk`: a row's (column's) vec4 over kk, or one k's value(s).
  const store = (blk: number, u: string, value: string, kk: number | null): string[] => {
    if (which === 'A') {
      if (kk === null) return [`As[${blk * extent}u + ${u}] = ${value};`];
      return groups ? range(4).map((q) => `As[${blk * extent}u + 4u * ${u} + ${q}u][${kk}] = ${value}.${comp[q]};`) : [`As[${blk * extent}u + ${u}][${kk}] = ${value};`];
    }
    const row = (q: number) => `Bs[${(blk * 4 + q) * bn4}u + ${groups ? u : `${u} / 4u`}]`;
    if (kk === null) return range(4).map((q) => `${row(q)}[${u} % 4u] = ${value}.${comp[q]};`);
    return [groups ? `${row(kk)} = ${value};` : `${row(kk)}[${u} % 4u] = ${value};`];
  };
  /** The loads and stores of block `blk` (k, kv0..3 and the reader's kSetup are in scope). */
  const stage = (blk: number): string[] => {
    const L: string[] = [];
    for (const t of range(perThread)) {
      const u = `u${which}${t}`;
      L.push(`let ${u} = lidx * ${perThread}u + ${t}u;`);
      const body: string[] = [];
      if (r.kContiguous && r.vec4) body.push(`let v${which}${t} = select(vec4<f32>(), ${r.loadVec(t, 0)}, kv0);`, ...store(blk, u, `v${which}${t}`, null));
      else {
        const zero = groups ? 'vec4<f32>()' : '0.0';
        for (const kk of range(4)) {
          const value = `v${which}${t}_${kk}`;
          body.push(`let ${value} = select(${zero}, ${groups ? r.loadVec(t, kk) : r.load(t, kk)}, kv${kk});`, ...store(blk, u, value, kk));
        }
      }
      L.push(`if (${u} < ${units}u) {`, ...body.map((l) => `  ${l}`), '}');
    }
    return L;
  };
  return { setup, stage };
}

/** Shared-memory mode: declarations, per-thread setup and the body of one K stage (SHARED_K_BLOCKS blocks). */
function sharedMode(cfg: GemmConfig) {
  const { a, b, tm, tn } = cfg;
  const tn4 = tn / 4;
  const BM = SIDE * tm;
  const BN4 = (SIDE * tn) / 4;
  const A = sharedStaging(cfg, 'A');
  const B = sharedStaging(cfg, 'B');
  const decls = `var<workgroup> As: array<vec4<f32>, ${SHARED_K_BLOCKS * BM}>;
var<workgroup> Bs: array<vec4<f32>, ${SHARED_K_BLOCKS * 4 * BN4}>;`;
  const L: string[] = [];
  for (const blk of range(SHARED_K_BLOCKS)) {
    // Past kEnd every mask is off and the block stages zeros; the readers' carried K state still
    // advances (kNext), which is harmless after the last block.
    L.push('{', `  let k = ks + ${4 * blk}u;`, ...range(4).map((kk) => `  let kv${kk} = k + ${kk}u < kEnd;`), `  ${a.kSetup('k')}`, `  ${b.kSetup('k')}`);
    L.push(...A.stage(blk).map((l) => `  ${l}`), ...B.stage(blk).map((l) => `  ${l}`));
    L.push(`  ${a.kNext?.() ?? ''}`, `  ${b.kNext?.() ?? ''}`, '}');
  }
  L.push('workgroupBarrier();');
  for (const blk of range(SHARED_K_BLOCKS)) {
    for (const i of range(tm)) L.push(`let sa${blk}_${i} = As[${blk * BM}u + ty * ${tm}u + ${i}u];`);
    fmaLines(cfg, {
      aElem: (i, kk) => `sa${blk}_${i}.${comp[kk]}`,
      bVec: (kk, j) => `Bs[${(blk * 4 + kk) * BN4}u + tx * ${tn4}u + ${j}u]`,
    }, L, `${blk}_`);
  }
  L.push('workgroupBarrier();');
  return { decls, setup: [...A.setup, ...B.setup], stage: L };
}

/** The value stored for accumulator `acc` (a vec4 WGSL expression) with bias `bias`, at row offset `row` and column `n`. */
function storedValue(cfg: GemmConfig, acc: string, bias: string, row: string, n: string): string {
  // The residual and the mask are read where C is written; past the last column (scalar stores) the
  // read is clamped.
  const alongC = (buf: string) => (cfg.vecStore ? `${buf}[(${row} + ${n}) / 4u]` : `vec4<f32>(${range(4).map((q) => `${buf}[${row} + min(${n} + ${q}u, params.N - 1u)]`).join(', ')})`);
  let v = acc;
  if (cfg.bias) v = `(${v} + ${bias})`;
  if (cfg.residual) v = `(${v} + ${alongC('R')})`;
  if (cfg.relu) v = `max(${v}, vec4<f32>())`;
  if (cfg.mask) v = `select(vec4<f32>(), ${v}, ${alongC('mask')} > vec4<f32>())`;
  return v;
}

/** Statements storing `v` (vec4) at row offset `row`, columns n..n+3, inside the row's bounds check. */
function storeStatements(cfg: GemmConfig, v: string, row: string, n: string): string[] {
  if (cfg.halfOutput) return [`if (${n} < params.N) { C[(${row} + ${n}) / 4u] = packHalf4(${v}); }`];
  if (cfg.vecStore) return [`if (${n} < params.N) { C[(${row} + ${n}) / 4u] = ${v}; }`];
  return [`{ let v = ${v};`, ...range(4).map((q) => `  if (${n} + ${q}u < params.N) { C[${row} + ${n} + ${q}u] = v.${comp[q]}; }`), '}'];
}

/** A vec4 of the bias from column `n` + `offset` on (uniform across a subgroup where `n` is), clamped to the last column. */
const biasAt = (n: string, offset = 0) => `vec4<f32>(${range(4).map((q) => `bias[min(${n} + ${offset + q}u, params.N - 1u)]`).join(', ')})`;

/** The store of the thread's TM×TN tile at rows cm0.., columns cn0.. (bias, residual, ReLU, f16 and the row-offset hook applied). */
function storeLines(cfg: GemmConfig): string[] {
  const tn4 = cfg.tn / 4;
  const rowOf = (i: number) => (cfg.rowOffset ? `cBase + ${cfg.rowOffset.expr(`(cm0 + ${i}u)`, i)}` : `cBase + (cm0 + ${i}u) * params.N`);
  // Biases are loaded before the row checks: outside divergent control flow their addresses are
  // uniform across a subgroup, which llvmpipe loads once instead of lane by lane.
  if (cfg.storeLoop) {
    const count = cfg.tm * tn4;
    return [
      `var tileAcc = array<vec4<f32>, ${count}>(${range(cfg.tm).flatMap((i) => range(tn4).map((j) => `acc${i}_${j}`)).join(', ')});`,
      `var tileRow = array<u32, ${cfg.tm}>(${range(cfg.tm).map(rowOf).join(', ')});`,
      `for (var t = 0u; t < ${count}u; t++) {`,
      `  let i = t / ${tn4}u;`,
      `  let n = cn0 + 4u * (t % ${tn4}u);`,
      ...(cfg.bias ? [`  let b = ${biasAt('n')};`] : []),
      '  if (cm0 + i < params.M) {',
      '    let row = tileRow[i];',
      ...storeStatements(cfg, storedValue(cfg, 'tileAcc[t]', 'b', 'row', 'n'), 'row', 'n').map((l) => `    ${l}`),
      '  }',
      '}',
    ];
  }
  const L: string[] = [];
  if (cfg.bias) for (const j of range(tn4)) L.push(`let bias${j} = ${biasAt('cn0', 4 * j)};`);
  for (const i of range(cfg.tm)) {
    L.push(`if (cm0 + ${i}u < params.M) {`);
    for (const j of range(tn4)) {
      const n = `cn0 + ${4 * j}u`;
      L.push(...storeStatements(cfg, storedValue(cfg, `acc${i}_${j}`, `bias${j}`, rowOf(i), n), rowOf(i), n).map((l) => `  ${l}`));
    }
    L.push('}');
  }
  return L;
}

/**
 * WGSL that reads index `g` as (batch, split, block) over rows×cols blocks of C, blocks row-major
 * within a slice: declares batch, split and the block's first row and column (`r0`, `c0`). An index
 * past the last block returns.
 */
function blockOfIndex(g: string, rows: number, cols: number, r0: string, c0: string): string {
  return `let blocksN = (params.N + ${cols - 1}u) / ${cols}u;
    let blocks = ((params.M + ${rows - 1}u) / ${rows}u) * blocksN;
    if (${g} >= blocks * params.splits * params.batches) { return; }
    let batch = ${g} / (blocks * params.splits);
    let split = (${g} / blocks) % params.splits;
    let block = ${g} % blocks;
    let ${r0} = (block / blocksN) * ${rows}u;
    let ${c0} = (block % blocksN) * ${cols}u;`;
}

function gemmSource(cfg: GemmConfig): string {
  const { a, b, tm, tn } = cfg;
  const S = cfg.subgroupSize;
  const accDecl = range(tm).flatMap((i) => range(tn / 4).map((j) => `var acc${i}_${j} = vec4<f32>();`)).join('\n    ');
  const helpers = [...new Set([a.functions ?? '', b.functions ?? ''])].join('\n');
  const kInit = [a.kInit?.('kBegin') ?? '', b.kInit?.('kBegin') ?? ''].join('\n    ');
  const kNext = [a.kNext?.() ?? '', b.kNext?.() ?? ''].join('\n      ');
  const slice = `let kBegin = split * params.kChunk;
    let kEnd = min(params.K, kBegin + params.kChunk);
    // partial results of split s land in slice s of C (summed by a reduction afterwards)
    let cBase = (batch * params.splits + split) * params.M * params.N;`;
  const store = storeLines(cfg).join('\n    ');

  if (cfg.shared) {
    const { rows, cols } = sharedBlock(tm, tn);
    const sm = sharedMode(cfg);
    return `${helpers}
${sm.decls}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
    // One workgroup per ${rows}×${cols} block of C; every branch before the barriers is uniform
    // across the workgroup (a 2-D dispatch's surplus workgroups leave as a whole).
    let wg = workgroupIndex(wid, nwg);
    ${blockOfIndex('wg', rows, cols, 'wgM0', 'wgN0')}
    let ty = lidx / ${SIDE}u;
    let tx = lidx % ${SIDE}u;
    let cm0 = wgM0 + ty * ${tm}u;
    let cn0 = wgN0 + tx * ${tn}u;
    ${slice}
    ${accDecl}
    ${sm.setup.join('\n    ')}
    ${kInit}
    for (var ks = kBegin; ks < kEnd; ks += ${4 * SHARED_K_BLOCKS}u) {
      ${sm.stage.join('\n      ')}
    }
    ${store}
}`;
  }

  const setup = registerSetup(cfg).join('\n    ');
  const L: string[] = [];
  fmaLines(cfg, registerOperands(cfg, L), L);
  const body = L.join('\n      ');
  return `${helpers}
@compute @workgroup_size(${cfg.workgroupSize ?? WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32${S ? ', @builtin(subgroup_invocation_id) sid: u32' : ''}) {
    ${S ? `// A workgroup takes one column tile (wid.y) and consecutive row tiles, so every lane of a
    // subgroup shares the B block. Lanes past the last row keep running (they compute clamped rows
    // and store nothing): subgroupBroadcast needs the whole subgroup.
    let m0 = (wid.x * WORKGROUP_SIZE + lidx) * ${tm}u;
    let n0 = wid.y * ${tn}u;
    let split = wid.z % params.splits;
    let batch = wid.z / params.splits;` : `let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
    ${blockOfIndex('g', tm, tn, 'm0', 'n0')}`}
    let cm0 = m0;
    let cn0 = n0;
    ${slice}
    ${accDecl}
    ${setup}
    ${kInit}
    for (var k = kBegin; k < kEnd; k += 4u) {
      ${body}
      ${kNext}
    }
    ${store}
}`;
}

/** How a GEMM's threads are grouped (the workgroup count depends on it). */
export type GemmLayout = { mode: 'registers' } | { mode: 'subgroup'; workgroupSize: number } | { mode: 'shared' };

/** Workgroups covering a GEMM: linear over thread tiles, row-tile groups × column tiles × (splits · batches) with subgroups, linear over blocks with shared memory. */
export function gemmWorkgroups(M: number, N: number, tm: number, tn: number, splits: number, batches: number, layout: GemmLayout = { mode: 'registers' }): number | [number, number, number] {
  if (layout.mode === 'subgroup') return [Math.ceil(Math.ceil(M / tm) / layout.workgroupSize), Math.ceil(N / tn), splits * batches];
  if (layout.mode === 'shared') {
    const { rows, cols } = sharedBlock(tm, tn);
    return Math.ceil(M / rows) * Math.ceil(N / cols) * splits * batches;
  }
  return Math.ceil((Math.ceil(M / tm) * Math.ceil(N / tn) * splits * batches) / WG);
}

// ---- f16 storage ----------------------------------------------------------------------------------

/**
 * How a reader binds and loads one operand buffer stored as f32 or as f16. Halves are packed two per
 * u32; a vec4 of them is one vec2<u32>, so vec4 indices are the same for both storage types. Loads
 * widen to f32 (unpack2x16float is core WGSL: no shader-f16 needed), and on CPU adapters, where each
 * lane's load is a separate access, a vec4 of halves costs two 32-bit loads instead of four.
 */
export function operandStorage(buf: string, vec4: boolean, half: boolean) {
  return {
    binding: half ? { name: buf, access: 'read' as const, element: vec4 ? ('vec2<u32>' as const) : ('u32' as const), half: true } : { name: buf, access: 'read' as const, element: vec4 ? ('vec4<f32>' as const) : ('f32' as const) },
    /** WGSL helpers the loads call (module scope, named after the buffer). */
    functions: half && !vec4 ? `fn ${buf}At(e: u32) -> f32 { let v = unpack2x16float(${buf}[e >> 1u]); return select(v.x, v.y, (e & 1u) == 1u); }` : '',
    /** Element e (scalar storage). */
    at: (e: string) => (half ? `${buf}At(${e})` : `${buf}[${e}]`),
    /** vec4 number i (vec4 storage; unpackHalf4 comes with every program that binds halves). */
    vecAt: (i: string) => (half ? `unpackHalf4(${buf}[${i}])` : `${buf}[${i}]`),
    key: half ? 'h' : '',
  };
}

// ---- plain row-major matrix readers (matmul) ----------------------------------------------------

/**
 * A stored row-major as [outer, K] (kContiguous) or [K, outer], with `ld` elements between rows
 * and `bs` elements between batches (0 broadcasts one matrix over the batch).
 */
export function matrixReader(name: 'A' | 'B', kContiguous: boolean, vec4: boolean, half = false): OperandReader {
  const buf = `${name}buf`;
  const store = operandStorage(buf, vec4, half);
  const ld = `params.${name}ld`;
  const bs = `params.${name}bs`;
  // Vectorised readers keep offsets in vec4 units, so no load divides by 4.
  const start = (t: number) => `${name}s${t}`;
  return {
    key: `mat${kContiguous ? 'K' : 'O'}${vec4 ? 4 : 1}${store.key}`,
    bindings: [store.binding],
    functions: store.functions,
    uniforms: [u32(`${name}ld`), u32(`${name}bs`)],
    kContiguous,
    vec4,
    outerSetup: (t, o) => {
      const first = kContiguous ? `batch * ${bs} + (${o}) * ${ld}` : `batch * ${bs} + (${o})`;
      return `let ${start(t)} = ${vec4 ? `(${first}) / 4u` : first};${t === 0 && vec4 && !kContiguous ? `\n    let ${name}ld4 = ${ld} / 4u;` : ''}`;
    },
    kSetup: () => '',
    load: (t, kk) => store.at(kContiguous ? `${start(t)} + k + ${kk}u` : `${start(t)} + (k + ${kk}u) * ${ld}`),
    loadVec: (t, kk) => store.vecAt(kContiguous ? `${start(t)} + k / 4u` : `${start(t)} + (k + ${kk}u) * ${name}ld4`),
    ...(vec4
      ? {
          loadVecDynamic: (t: string, kk: string) => {
            const [o0, extent] = name === 'A' ? ['m0', 'params.M'] : ['n0', 'params.N'];
            return store.vecAt(kContiguous ? `(batch * ${bs} + min(${o0} + ${t}, ${extent} - 1u) * ${ld}) / 4u + k / 4u` : `(batch * ${bs} + min(${o0} + 4u * ${t}, ${extent} - 4u)) / 4u + (k + ${kk}) * ${name}ld4`);
          },
        }
      : {}),
  };
}
