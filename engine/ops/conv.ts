// 2-D convolution on NHWC activations with HWIO weights ([KH, KW, Cin, Cout]), forward and both
// gradients as implicit GEMMs on one core (see shaders/conv.ts).
import { col2imProgram, col2imWorkgroups, convDataGradA, convDataGradB, convForwardA, convForwardWindowA, convMatrixB, convTapMajorB, convPhaseDataGradA, convPhaseDataGradB, convWeightGradA, convWeightGradWindowA, phaseRowOffset } from '../../shaders/conv.js';
import { record, type GradFold } from '../autograd.js';
import type { OperandReader } from '../../shaders/gemm.js';
import { gpu } from '../device.js';
import { empty, type Tensor } from '../tensor.js';
import { DEFAULT_TILE, chooseTiling, gemm, gemmSplitTarget, gemmTile } from './gemm.js';
import { matmulRaw } from './matmul.js';
import { reduceRaw } from './reduce.js';
import { run, shapes } from './run.js';
import { permuteRaw, resizeRaw } from './shape.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  /**
   * Added to the output before the ReLU, in the GEMM's write-out: a residual block's skip
   * connection. Must be f32 with the output's shape; its gradient is the output's (masked by the ReLU).
   */
  residual?: Tensor;
  /** Apply ReLU in the GEMM's write-out (the gradient is masked by the output). */
  relu?: boolean;
  /** Storage type of the output (default f32). Input and weight may be f16 (inference); sums are f32. */
  dtype?: 'f32' | 'f16';
}

export interface ConvGeometry {
  N: number; H: number; W: number; Ci: number;
  Ho: number; Wo: number; Co: number;
  KH: number; KW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
}

const pair = (v: number | [number, number] | undefined, fallback: number): [number, number] => (v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v);

export function convGeometry(x: Tensor, w: Tensor, options: Conv2dOptions): ConvGeometry {
  const op = 'conv2d';
  if (x.rank !== 4) throw new Error(`${op}: input must be NHWC [N, H, W, C], got ${x.describe()}`);
  if (w.rank !== 4) throw new Error(`${op}: weight must be HWIO [KH, KW, Cin, Cout], got ${w.describe()}`);
  const [N, H, W, Ci] = x.shape;
  const [KH, KW, wCi, Co] = w.shape;
  if (wCi !== Ci) throw new Error(`${op}: weight ${w.describe()} expects ${wCi} input channels but input ${x.describe()} has ${Ci}`);
  const [sh, sw] = pair(options.stride, 1);
  const [ph, pw] = pair(options.padding, 0);
  const [dh, dw] = pair(options.dilation, 1);
  for (const [name, v, min] of [['stride', sh, 1], ['stride', sw, 1], ['padding', ph, 0], ['padding', pw, 0], ['dilation', dh, 1], ['dilation', dw, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer ≥ ${min}, got ${v} (input ${x.describe()}, weight ${w.describe()})`);
  }
  const Ho = Math.floor((H + 2 * ph - dh * (KH - 1) - 1) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - dw * (KW - 1) - 1) / sw) + 1;
  if (Ho < 1 || Wo < 1) {
    throw new Error(`${op}: a ${KH}x${KW} kernel (dilation ${dh},${dw}) with stride ${sh},${sw} and padding ${ph},${pw} does not fit input ${x.describe()} (output would be ${Ho}x${Wo})`);
  }
  return { N, H, W, Ci, Ho, Wo, Co, KH, KW, sh, sw, ph, pw, dh, dw };
}

const geometryUniforms = (g: ConvGeometry) => ({ H: g.H, W: g.W, Ci: g.Ci, Ho: g.Ho, Wo: g.Wo, Co: g.Co, KW: g.KW, sh: g.sh, sw: g.sw, ph: g.ph, pw: g.pw, dh: g.dh, dw: g.dw });

function describe(g: ConvGeometry): string {
  return `[${g.N},${g.H},${g.W},${g.Ci}]→[${g.N},${g.Ho},${g.Wo},${g.Co}] k${g.KH}x${g.KW} s${g.sh} p${g.ph}`;
}

/** What the forward GEMM's epilogue applies: relu(conv + bias + residual), stored as dtype. */
export interface ConvEpilogue {
  bias?: Tensor;
  /** f32, shaped like the output. */
  residual?: Tensor;
  relu?: boolean;
  /** f32, shaped like the output: zero where it is not positive, applied last (a ReLU's mask). */
  mask?: Tensor;
  dtype?: 'f32' | 'f16';
}

let tapWindow = true;

/**
 * Turns the convolutions' sliding tap windows on or off: the forward's (convForwardWindowA, also
 * taken by stride-1 data gradients), the weight gradient's (convWeightGradWindowA, CPU adapters) and
 * with them the padding of 1 to 3 input channels to 4 (imageChannelsPadded). For comparisons,
 * adapters where they do not pay, and runs resumed under the order they started with (the windows
 * sum in another order).
 */
export function setConvTapWindow(enabled: boolean): void {
  tapWindow = enabled;
}

export function convTapWindow(): boolean {
  return tapWindow;
}

/** Whether a forward convolution can read through the tap window (when its row tile divides Wo). */
const forwardWindow = (g: ConvGeometry) => tapWindow && g.sw === 1 && g.dw === 1 && g.Ci % 4 === 0 && g.Co % 4 === 0 && g.KW >= 2;

/** The window's readers when a thread's rows are whole runs of an output row, stride 1 along the width. */
function windowReaders(g: ConvGeometry, x: Tensor, w: Tensor): ((tm: number) => { a: OperandReader; b: OperandReader } | undefined) | undefined {
  if (!forwardWindow(g)) return undefined;
  return (tm) => (g.Wo % tm === 0 ? { a: convForwardWindowA(tm, x.dtype === 'f16'), b: convTapMajorB(w.dtype === 'f16') } : undefined);
}

/**
 * A windowed convolution's thread tile on a CPU adapter under the default tile. Accumulators spill
 * to cache cheaply there, and more rows share one window (TM + KW − 1 loads per kernel row), so the
 * tiles grow past the default's 128 accumulators: 16×16 at 16 output channels, 8×32 from 32, 4×64
 * from 64 and 8×64 from 128. Measured on llvmpipe (interleaved minima): 16 channels at batch 128
 * 18.1 → 17.0 ms (4×16 before), 32 channels 11.3 → 10.2 ms and 64 channels 11.3 → 9.1 ms (4×32
 * before), ResNet18's 128 to 512 channels 293–309 → 265–282 ms (4×64 before). Strided convolutions
 * (no window) were slower with larger tiles.
 */
function windowTile(g: ConvGeometry): { tm: number; tn: number } | undefined {
  if (!cpuWithDefaultTile()) return undefined;
  const tile = g.Co >= 128 ? { tm: 8, tn: 64 } : g.Co >= 64 ? { tm: 4, tn: 64 } : g.Co >= 32 ? { tm: 8, tn: 32 } : g.Co >= 16 ? { tm: 16, tn: 16 } : undefined;
  if (!tile || g.Wo % tile.tm !== 0) return undefined;
  // Only where the larger tile leaves enough threads not to split K: at small batches the split's
  // extra pass cost more than the tile saved (gradient variability at batch 24: 2.95 → 3.93 s).
  return Math.ceil((g.N * g.Ho * g.Wo) / tile.tm) * Math.ceil(g.Co / tile.tn) >= gemmSplitTarget() ? tile : undefined;
}

/** The tile a forward convolution (or a stride-1 data gradient, which runs as one) takes when it is not the adapter's default. */
export function conv2dForwardTile(g: ConvGeometry): { tm: number; tn: number } | undefined {
  return forwardWindow(g) ? windowTile(g) : undefined;
}

/**
 * A CPU adapter under the default register tile: where the windows' larger tiles pay. Not where a
 * smaller tile was chosen, as compatibility-mode devices do for their slow shader compilers.
 */
function cpuWithDefaultTile(): boolean {
  const current = gemmTile();
  return gpu().info.cpu && !current.shared && current.tm === DEFAULT_TILE.tm && current.tn === DEFAULT_TILE.tn;
}

/** How many K chunks the forward GEMM sums separately (the depth of its sums, for error bounds). */
export function conv2dForwardSplits(g: ConvGeometry): number {
  return chooseTiling(g.N * g.Ho * g.Wo, g.Co, g.KH * g.KW * g.Ci, 1, true, false, conv2dForwardTile(g)).splits;
}

export function conv2dForwardRaw(x: Tensor, w: Tensor, g: ConvGeometry, { bias, residual, relu = false, mask, dtype = 'f32' }: ConvEpilogue = {}): Tensor {
  const y = gemm({
    forRowTile: windowReaders(g, x, w),
    // The same tile conv2dForwardSplits reports, so error bounds follow the split actually taken.
    tile: conv2dForwardTile(g),
    M: g.N * g.Ho * g.Wo, N: g.Co, K: g.KH * g.KW * g.Ci,
    a: convForwardA(g.Ci % 4 === 0, x.dtype === 'f16'),
    b: convMatrixB(g.Co % 4 === 0, w.dtype === 'f16'),
    inputs: { xbuf: x, Bbuf: w },
    uniforms: { ...geometryUniforms(g), Bld: g.Co, Bbs: 0 },
    bias, residual, relu, mask,
    outDtype: dtype,
    label: `conv2d forward ${describe(g)}`,
  });
  const out = y.view([g.N, g.Ho, g.Wo, g.Co]);
  y.dispose();
  return out;
}

/** Input channels at or below which a data gradient runs as a GEMM and a col2im pass (see col2imProgram). */
const COL2IM_MAX_CHANNELS = 4;

/** A GradFold as the GEMM write-out's epilogue: the earlier gradients added, then the ReLU's mask. */
const foldEpilogue = (fold: GradFold) => ({ residual: fold.residual ?? undefined, mask: fold.mask });

/**
 * The data gradient dx. With `fold` (an offer from the autograd core: see GradFold) it returns
 * relu'(fold.mask) ⊙ (fold.residual + dx) instead, in the GEMMs' write-out, where the data gradient
 * runs as a forward convolution (stride 1) or as sub-pixel phases (strided), and marks it taken.
 */
export function conv2dDataGradRaw(dy: Tensor, w: Tensor, g: ConvGeometry, fold?: GradFold | null): Tensor {
  if (g.Ci <= COL2IM_MAX_CHANNELS) return conv2dDataGradCol2im(dy, w, g);
  if ((g.sh > 1 || g.sw > 1) && g.dh === 1 && g.dw === 1) return conv2dDataGradPhases(dy, w, g, fold);
  const fullPadH = g.dh * (g.KH - 1) - g.ph;
  const fullPadW = g.dw * (g.KW - 1) - g.pw;
  if (g.sh === 1 && g.sw === 1 && fullPadH >= 0 && fullPadW >= 0) {
    // With stride 1 the data gradient is a forward convolution of dy with the spatially flipped,
    // in/out-transposed kernel, which reads both operands along their fast axes.
    const flipped = permuteRaw(w, [0, 1, 3, 2], [0, 1]);
    const gd = { ...g, H: g.Ho, W: g.Wo, Ci: g.Co, Ho: g.H, Wo: g.W, Co: g.Ci, ph: fullPadH, pw: fullPadW };
    // A GEMM that splits K would apply the fold in a pass after the sum: no gain, and a pass more
    // for a consumer whose own kernels mask (ReluMask.inBackward), so it declines.
    const take = !!fold && conv2dForwardSplits(gd) === 1;
    const dx = conv2dForwardRaw(dy, flipped, gd, take ? foldEpilogue(fold) : {});
    flipped.dispose();
    if (take) fold.taken = true;
    return dx;
  }
  const vec = g.Co % 4 === 0;
  const dx = gemm({
    M: g.N * g.H * g.W, N: g.Ci, K: g.KH * g.KW * g.Co,
    a: convDataGradA(vec, g.sh > 1 || g.sw > 1),
    b: convDataGradB(vec),
    inputs: { dybuf: dy, wbuf: w },
    uniforms: geometryUniforms(g),
    label: `conv2d data-grad ${describe(g)}`,
  });
  const out = dx.view([g.N, g.H, g.W, g.Ci]);
  dx.dispose();
  return out;
}

/**
 * Data gradient for few input channels: Z = dy·Wᵀ, one plain GEMM over every output pixel's taps
 * ([N·Ho·Wo, Co] × [Co, KH·KW·Ci]), then col2im sums each input pixel's taps. The implicit GEMM would
 * give each thread a 4-column tile with Ci useful columns and gather dy once per tap.
 */
function conv2dDataGradCol2im(dy: Tensor, w: Tensor, g: ConvGeometry): Tensor {
  const taps = g.KH * g.KW * g.Ci;
  const rows = dy.view([g.N * g.Ho * g.Wo, g.Co]);
  const weights = w.view([taps, g.Co]);
  const z = matmulRaw(rows, weights, { transB: true });
  const dx = empty([g.N, g.H, g.W, g.Ci]);
  if (dx.size > 0) run(col2imProgram(g), { Z: z, dx }, { count: dx.size }, col2imWorkgroups(dx.size), `conv2d data-grad ${describe(g)} col2im`);
  [rows, weights, z].forEach((t) => t.dispose());
  return dx;
}

/**
 * Strided data gradient as one dense GEMM per sub-pixel phase (see shaders/conv.ts). The phases
 * partition dx, so a fold's residual and mask, read where each phase writes, apply once everywhere.
 */
function conv2dDataGradPhases(dy: Tensor, w: Tensor, g: ConvGeometry, fold?: GradFold | null): Tensor {
  const dx = empty([g.N, g.H, g.W, g.Ci]);
  const vec = g.Co % 4 === 0;
  for (let pa = 0; pa < g.sh; pa++) {
    for (let pb = 0; pb < g.sw; pb++) {
      const Hp = Math.ceil((g.H - pa) / g.sh);
      const Wp = Math.ceil((g.W - pb) / g.sw);
      if (Hp <= 0 || Wp <= 0) continue;
      const kh0 = (pa + g.ph) % g.sh;
      const kw0 = (pb + g.pw) % g.sw;
      const nkh = kh0 < g.KH ? Math.ceil((g.KH - kh0) / g.sh) : 0;
      const nkw = kw0 < g.KW ? Math.ceil((g.KW - kw0) / g.sw) : 0;
      gemm({
        M: g.N * Hp * Wp, N: g.Ci, K: nkh * nkw * g.Co,
        a: convPhaseDataGradA(vec),
        b: convPhaseDataGradB(vec),
        inputs: { dybuf: dy, wbuf: w },
        uniforms: { ...geometryUniforms(g), Hp, Wp, pa, pb, kh0, kw0, nkw: Math.max(nkw, 1), qa: (pa + g.ph - kh0) / g.sh, qb: (pb + g.pw - kw0) / g.sw },
        rowOffset: phaseRowOffset,
        output: dx,
        ...(fold ? foldEpilogue(fold) : {}),
        label: `conv2d data-grad ${describe(g)} phase ${pa},${pb}`,
      });
    }
  }
  if (fold) fold.taken = true;
  return dx;
}

export function conv2dWeightGradRaw(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  if (weightGradWindow(g)) return weightGradByWindow(x, dy, g);
  const dw = gemm({
    M: g.KH * g.KW * g.Ci, N: g.Co, K: g.N * g.Ho * g.Wo,
    a: convWeightGradA(g.Ci % 4 === 0, g.Wo % 4 === 0),
    b: convMatrixB(g.Co % 4 === 0),
    inputs: { xbuf: x, Bbuf: dy },
    uniforms: { ...geometryUniforms(g), Bld: g.Co, Bbs: 0 },
    label: `conv2d weight-grad ${describe(g)}`,
  });
  const out = dw.view([g.KH, g.KW, g.Ci, g.Co]);
  dw.dispose();
  return out;
}

/**
 * Whether the weight gradient takes the tap window (convWeightGradWindowA): stride 1 or 2 and
 * dilation 1 along the width, 2 to 4 taps across, channels and Wo multiples of 4, and a CPU adapter
 * under the default tile. A lane then holds 4·KW rows by up to 32 columns of C, or 64 from 128 output
 * channels (384 or 768 accumulators at KW = 3): CPU adapters spill them to cache cheaply and gain
 * from every load saved, while on a GPU that many registers would cost most of its occupancy, and
 * its loads are coalesced anyway.
 */
function weightGradWindow(g: ConvGeometry): boolean {
  return tapWindow && cpuWithDefaultTile() && g.sw <= 2 && g.dw === 1 && g.KW >= 2 && g.KW <= 4 && g.Ci % 4 === 0 && g.Co % 4 === 0 && g.Wo % 4 === 0;
}

/**
 * A lane of the window takes all KW taps of its kernel row. On llvmpipe 32 columns measured fastest
 * at 32 and 64 channels (16 and 64 were 10–50% slower), and 64 from 128 channels (ResNet18's 128 to
 * 512 channels: 255–334 → 240–295 ms, interleaved minima).
 */
const weightGradWindowTile = (g: ConvGeometry) => ({ tm: 4 * g.KW, tn: g.Co >= 128 ? 64 : Math.min(32, g.Co) });

/** The tile the weight gradient takes when it is not the adapter's default (its window's). */
export function conv2dWeightGradTile(g: ConvGeometry): { tm: number; tn: number } | undefined {
  return weightGradWindow(g) ? weightGradWindowTile(g) : undefined;
}

/** How many K chunks the weight gradient's GEMM sums separately (the depth of its sums, for error bounds). */
export function conv2dWeightGradSplits(g: ConvGeometry): number {
  return chooseTiling(g.KH * g.KW * g.Ci, g.Co, g.N * g.Ho * g.Wo, 1, true, false, conv2dWeightGradTile(g)).splits;
}

function weightGradByWindow(x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const dw = gemm({
    M: g.KH * g.KW * g.Ci, N: g.Co, K: g.N * g.Ho * g.Wo,
    a: convWeightGradWindowA(g.KW, g.sw),
    b: convMatrixB(true),
    inputs: { xbuf: x, Bbuf: dy },
    uniforms: { ...geometryUniforms(g), Bld: g.Co, Bbs: 0 },
    tile: weightGradWindowTile(g),
    label: `conv2d weight-grad ${describe(g)}`,
  });
  // Rows came out as (kh, ci/4, kw, ci%4): back to HWIO.
  const grouped = dw.view([g.KH, g.Ci / 4, g.KW, 4, g.Co]);
  const out = permuteRaw(grouped, [0, 2, 1, 3, 4]).view([g.KH, g.KW, g.Ci, g.Co]);
  [dw, grouped].forEach((t) => t.dispose());
  return out;
}

/** y = conv2d(x, w) + bias, NHWC / HWIO, with autograd. */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, options: Conv2dOptions = {}): Tensor {
  for (const t of [x, w]) if (t.dtype !== 'f32' && t.dtype !== 'f16') throw new Error(`conv2d: expected an f32 or f16 tensor, got ${t.describe()}`);
  const g = convGeometry(x, w, options);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== g.Co)) throw new Error(`conv2d: bias must have shape [${g.Co}], got ${bias.describe()} (${shapes(x, w)})`);
  const { relu = false, residual } = options;
  const dtype = options.dtype ?? 'f32';
  if (residual && (residual.dtype !== 'f32' || residual.shape.join() !== [g.N, g.Ho, g.Wo, g.Co].join())) {
    throw new Error(`conv2d: residual must be f32 [${[g.N, g.Ho, g.Wo, g.Co]}] like the output, got ${residual.describe()} (${shapes(x, w)})`);
  }
  const epilogue = { bias: bias ?? undefined, residual, relu, dtype };
  if (dtype !== 'f32' || x.dtype !== 'f32' || w.dtype !== 'f32') {
    // f16 storage is for inference: gradients flow through f32 tensors only.
    for (const t of [x, w, bias, residual]) if (t?.requiresGrad) throw new Error(`conv2d: ${t.describe()} requires grad, but f16 storage (output ${dtype}, ${shapes(x, w)}) is inference-only`);
    return conv2dForwardRaw(x, w, g, epilogue);
  }
  const op = `conv2d${residual ? '+residual' : ''}${relu ? '+relu' : ''}`;
  // The forward and the weight gradient run in geometry gf: an image's channels padded to 4, or g.
  const gf = imageChannelsPadded(g) ? { ...g, Ci: 4 } : g;
  const xf = gf === g ? x : resizeRaw(x, [g.N, g.H, g.W, 4], 'conv2d input, channels padded');
  const wf = gf === g ? w : resizeRaw(w, [g.KH, g.KW, 4, g.Co], 'conv2d weight, channels padded');
  const y = conv2dForwardRaw(xf, wf, gf, epilogue);
  if (wf !== w) wf.dispose();
  // With ReLU, dy arrives masked (the autograd core masks the incoming gradients' sum: saved[2] is y).
  const out = record(op, [x, w, bias, residual], y, relu ? [xf, w, y] : [xf, w], (dy, [sx, sw], folds) => [
    x.requiresGrad ? conv2dDataGradRaw(dy, sw, g, folds[0]) : null,
    w.requiresGrad ? weightGradIn(gf, sx, dy, g) : null,
    bias?.requiresGrad ? reduceRaw('sum', dy, 1, g.N * g.Ho * g.Wo, g.Co) : null,
    // The sum passes the gradient to the residual unchanged (a new handle: each gradient is disposed once).
    residual?.requiresGrad ? dy.view(dy.shape) : null,
  ], relu ? { saved: 2 } : undefined);
  // The graph holds its own handle to the padded copy, if it saved one.
  if (xf !== x) xf.dispose();
  return out;
}

/**
 * Whether a convolution of an image's 1 to 3 channels runs on a copy with a zero fourth channel: with
 * the tap windows on a CPU adapter under the default tile, whose forward and weight gradient then read
 * vec4s through their windows instead of one float per tap and channel. The zero terms leave the
 * forward's sums as they were (K keeps its (kh, kw, c) order), so its outputs are the same bit for
 * bit where K is not split (it never is for a 3×3 kernel: K = 27); the weight gradient sums in the
 * padded geometry's K chunks, so the same `convTapWindow` setting switches this. The data gradient
 * stays unpadded, where col2im takes the channels as they are (a padded one measured slower).
 * ResNet20's RGB stem at batch 128: forward 13.4 → 8.8 ms, weight gradient 28.6 → 12.4 ms.
 */
function imageChannelsPadded(g: ConvGeometry): boolean {
  return tapWindow && g.Ci < 4 && cpuWithDefaultTile();
}

/** The weight gradient computed in geometry gf (padded channels), cut back to g's. */
function weightGradIn(gf: ConvGeometry, x: Tensor, dy: Tensor, g: ConvGeometry): Tensor {
  const dw = conv2dWeightGradRaw(x, dy, gf);
  if (gf === g) return dw;
  const cut = resizeRaw(dw, [g.KH, g.KW, g.Ci, g.Co], 'conv2d weight-grad, padding dropped');
  dw.dispose();
  return cut;
}
