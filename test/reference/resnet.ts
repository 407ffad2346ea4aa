// A ResNet (models/resnet.ts: basic blocks, option-A or option-B shortcuts, input normalisation
// inside the model) forward and backward in float64, composed from the layer references. Layouts
// are the engine's: NHWC activations, HWIO conv weights [kh, kw, in, out], Linear weight [out, in].
// BatchNorm runs in training mode (batch statistics, running statistics updated once).
import { batchNormBackwardRef, batchNormRef, type BatchNormRef } from './batchnorm.js';
import { conv2dDataGradRef, conv2dRef, conv2dWeightGradRef, outSize, type ConvShape } from './conv.js';
import { windowRef } from './elementwise.js';
import { crossEntropyRef } from './loss.js';
import { matmulRef } from './matmul.js';

/** An NHWC activation (or [N, C] features with H = W = 1). */
export interface Activation {
  data: Float64Array;
  shape: [number, number, number, number];
}

export interface ResNetRefConfig {
  widths: number[];
  depths: number[];
  numClasses: number;
  shortcut: 'A' | 'B';
  /** The model's normalisation constants: x̃ = (x − mean)·invStd per channel. */
  mean: ArrayLike<number>;
  invStd: ArrayLike<number>;
  momentum?: number;
  eps?: number;
}

/** Parameters and buffers by their PyTorch names (conv1.weight, layer2.0.bn1.running_var, ...) in our layouts. */
export type RefState = Record<string, ArrayLike<number>>;

export interface ResNetRefResult {
  logits: Float64Array;
  /** Output of every residual block (after the skip-add and ReLU), in order. */
  blocks: Activation[];
  /** Mean cross-entropy over the batch. */
  loss: number;
  /** Gradient of the loss for every parameter, by name, in the parameter's layout. */
  grads: Record<string, Float64Array>;
  /** Gradient of the loss for the input pixels, NHWC. */
  inputGrad: Float64Array;
  /** Running statistics after the step, by buffer name (`<bn>.running_mean`, `<bn>.running_var`). */
  buffers: Record<string, Float64Array>;
  /** Batch mean and 1/σ of every BatchNorm, by module name (for error bounds). */
  bnStats: Record<string, { mean: Float64Array; invstd: Float64Array }>;
}

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---- layers: each forward returns its output and what its backward needs ------------------------

interface ConvSpec {
  name: string;
  kernel: number;
  stride: number;
  padding: number;
  cin: number;
  cout: number;
}

interface ConvCache {
  spec: ConvSpec;
  x: Activation;
  geometry: ConvShape;
}

function convGeometry(x: Activation, spec: ConvSpec): ConvShape {
  const [N, H, W, Ci] = x.shape;
  if (Ci !== spec.cin) throw new Error(`${spec.name}: input has ${Ci} channels, expected ${spec.cin}`);
  return { N, H, W, Ci, Co: spec.cout, KH: spec.kernel, KW: spec.kernel, sh: spec.stride, sw: spec.stride, ph: spec.padding, pw: spec.padding, dh: 1, dw: 1 };
}

function convForward(x: Activation, spec: ConvSpec, state: RefState): { y: Activation; cache: ConvCache } {
  const geometry = convGeometry(x, spec);
  const [Ho, Wo] = outSize(geometry);
  const y = conv2dRef(x.data, state[`${spec.name}.weight`], geometry).value;
  return { y: { data: y, shape: [geometry.N, Ho, Wo, spec.cout] }, cache: { spec, x, geometry } };
}

function convBackward(dy: Activation, cache: ConvCache, state: RefState, grads: Record<string, Float64Array>): Activation {
  const { spec, x, geometry } = cache;
  grads[`${spec.name}.weight`] = conv2dWeightGradRef(x.data, dy.data, geometry).value;
  return { data: conv2dDataGradRef(dy.data, state[`${spec.name}.weight`], geometry).value, shape: x.shape };
}

interface BnCache {
  name: string;
  ref: BatchNormRef;
  shape: Activation['shape'];
}

function bnForward(x: Activation, name: string, state: RefState, config: ResNetRefConfig, out: ResNetRefResult): { y: Activation; cache: BnCache } {
  const C = x.shape[3];
  const ref = batchNormRef(x.data, C, state[`${name}.weight`], state[`${name}.bias`], state[`${name}.running_mean`], state[`${name}.running_var`], true, config.momentum ?? 0.1, config.eps ?? 1e-5);
  out.buffers[`${name}.running_mean`] = ref.runningMean;
  out.buffers[`${name}.running_var`] = ref.runningVar;
  out.bnStats[name] = { mean: ref.mean, invstd: ref.invstd };
  return { y: { data: ref.y, shape: x.shape }, cache: { name, ref, shape: x.shape } };
}

function bnBackward(dy: Activation, cache: BnCache, state: RefState, grads: Record<string, Float64Array>): Activation {
  const { dx, dgamma, dbeta } = batchNormBackwardRef(dy.data, cache.ref, state[`${cache.name}.weight`], cache.shape[3]);
  grads[`${cache.name}.weight`] = dgamma;
  grads[`${cache.name}.bias`] = dbeta;
  return { data: dx, shape: cache.shape };
}

function reluForward(x: Activation): Activation {
  return { data: x.data.map((v) => Math.max(v, 0)), shape: x.shape };
}

/** The derivative is taken from the output (y > 0), as the engine and PyTorch do. */
function reluBackward(dy: Activation, y: Activation): Activation {
  return { data: dy.data.map((g, i) => (y.data[i] > 0 ? g : 0)), shape: dy.shape };
}

function addForward(a: Activation, b: Activation): Activation {
  return { data: a.data.map((v, i) => v + b.data[i]), shape: a.shape };
}

// Option A: out[n, h, w, c] = x[n, s·h, s·w, c − before], zero outside x (models/resnet.ts shortcutA).
interface WindowSpec {
  outShape: number[];
  offsets: number[];
  steps: number[];
}

function shortcutASpec(shape: Activation['shape'], stride: number, outChannels: number): WindowSpec {
  const [N, H, W, C] = shape;
  const before = Math.floor((outChannels - C) / 2);
  return { outShape: [N, Math.ceil(H / stride), Math.ceil(W / stride), outChannels], offsets: [0, 0, 0, -before], steps: [1, stride, stride, 1] };
}

function shortcutAForward(x: Activation, stride: number, outChannels: number): Activation {
  const w = shortcutASpec(x.shape, stride, outChannels);
  return { data: windowRef(x.data, x.shape, w.outShape, w.offsets, w.steps), shape: w.outShape as Activation['shape'] };
}

/** The transpose of a 4-D window: every output element adds its gradient back to its source. */
function windowTranspose(dy: ArrayLike<number>, inShape: readonly number[], w: WindowSpec): Float64Array {
  const dx = new Float64Array(size(inShape));
  const [O0, O1, O2, O3] = w.outShape;
  let i = 0;
  for (let a = 0; a < O0; a++)
    for (let b = 0; b < O1; b++)
      for (let c = 0; c < O2; c++)
        for (let d = 0; d < O3; d++, i++) {
          const src = [a, b, c, d].map((v, k) => w.offsets[k] + w.steps[k] * v);
          if (src.every((s, k) => s >= 0 && s < inShape[k])) dx[((src[0] * inShape[1] + src[1]) * inShape[2] + src[2]) * inShape[3] + src[3]] += dy[i];
        }
  return dx;
}

function shortcutABackward(dy: Activation, xShape: Activation['shape'], stride: number): Activation {
  return { data: windowTranspose(dy.data, xShape, shortcutASpec(xShape, stride, dy.shape[3])), shape: xShape };
}

/** [N, H, W, C] → [N, C]: the mean over spatial positions. */
function globalAvgPoolForward(x: Activation): Float64Array {
  const [N, H, W, C] = x.shape;
  const y = new Float64Array(N * C);
  for (let i = 0; i < x.data.length; i++) y[Math.floor(i / (H * W * C)) * C + (i % C)] += x.data[i] / (H * W);
  return y;
}

function globalAvgPoolBackward(dy: Float64Array, shape: Activation['shape']): Activation {
  const [, H, W, C] = shape;
  const dx = new Float64Array(size(shape));
  for (let i = 0; i < dx.length; i++) dx[i] = dy[Math.floor(i / (H * W * C)) * C + (i % C)] / (H * W);
  return { data: dx, shape };
}

/** y = x·Wᵀ + b for x [N, in], W [out, in]. */
function linearForward(x: Float64Array, N: number, weight: ArrayLike<number>, bias: ArrayLike<number>, inF: number, outF: number): Float64Array {
  const y = matmulRef(x, [1, N, inF], weight, [1, outF, inF], false, true).value;
  for (let i = 0; i < y.length; i++) y[i] += bias[i % outF];
  return y;
}

function linearBackward(dy: Float64Array, x: Float64Array, N: number, weight: ArrayLike<number>, inF: number, outF: number): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = matmulRef(dy, [1, N, outF], weight, [1, outF, inF]).value;
  const dw = matmulRef(dy, [1, N, outF], x, [1, N, inF], true).value;
  const db = new Float64Array(outF);
  for (let i = 0; i < dy.length; i++) db[i % outF] += dy[i];
  return { dx, dw, db };
}

function normalizeForward(x: Activation, mean: ArrayLike<number>, invStd: ArrayLike<number>): Activation {
  const C = x.shape[3];
  return { data: x.data.map((v, i) => (v - mean[i % C]) * invStd[i % C]), shape: x.shape };
}

function normalizeBackward(dy: Activation, invStd: ArrayLike<number>): Float64Array {
  const C = dy.shape[3];
  return dy.data.map((g, i) => g * invStd[i % C]);
}

// ---- blocks and the network -------------------------------------------------------------------

interface BlockSpec {
  name: string;
  inChannels: number;
  outChannels: number;
  stride: number;
  /** 'identity', option A's window, or option B's 1×1 conv + BN (downsample.0, downsample.1). */
  shortcut: 'identity' | 'A' | 'B';
}

interface BlockCache {
  spec: BlockSpec;
  xShape: Activation['shape'];
  conv1: ConvCache;
  bn1: BnCache;
  h: Activation;
  conv2: ConvCache;
  bn2: BnCache;
  down?: { conv: ConvCache; bn: BnCache };
  y: Activation;
}

function blockSpecs(config: ResNetRefConfig): BlockSpec[] {
  const specs: BlockSpec[] = [];
  let channels = config.widths[0];
  config.widths.forEach((width, stage) => {
    for (let b = 0; b < config.depths[stage]; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      const reshape = stride !== 1 || channels !== width;
      specs.push({ name: `layer${stage + 1}.${b}`, inChannels: channels, outChannels: width, stride, shortcut: reshape ? config.shortcut : 'identity' });
      channels = width;
    }
  });
  return specs;
}

const conv3x3 = (name: string, cin: number, cout: number, stride: number): ConvSpec => ({ name, kernel: 3, stride, padding: 1, cin, cout });

/** relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
function blockForward(x: Activation, spec: BlockSpec, state: RefState, config: ResNetRefConfig, out: ResNetRefResult): BlockCache {
  const { name, inChannels, outChannels, stride } = spec;
  const c1 = convForward(x, conv3x3(`${name}.conv1`, inChannels, outChannels, stride), state);
  const b1 = bnForward(c1.y, `${name}.bn1`, state, config, out);
  const h = reluForward(b1.y);
  const c2 = convForward(h, conv3x3(`${name}.conv2`, outChannels, outChannels, 1), state);
  const b2 = bnForward(c2.y, `${name}.bn2`, state, config, out);
  let skip = x;
  let down: BlockCache['down'];
  if (spec.shortcut === 'A') skip = shortcutAForward(x, stride, outChannels);
  if (spec.shortcut === 'B') {
    const dc = convForward(x, { name: `${name}.downsample.0`, kernel: 1, stride, padding: 0, cin: inChannels, cout: outChannels }, state);
    const db = bnForward(dc.y, `${name}.downsample.1`, state, config, out);
    skip = db.y;
    down = { conv: dc.cache, bn: db.cache };
  }
  const y = reluForward(addForward(b2.y, skip));
  return { spec, xShape: x.shape, conv1: c1.cache, bn1: b1.cache, h, conv2: c2.cache, bn2: b2.cache, down, y };
}

/** The block's forward in reverse; returns the gradient for its input. */
function blockBackward(dy: Activation, cache: BlockCache, state: RefState, grads: Record<string, Float64Array>): Activation {
  // The skip-add passes the gradient after the final ReLU to both branches.
  const dsum = reluBackward(dy, cache.y);
  // Residual branch: bn2 → conv2 → relu → bn1 → conv1.
  const dc2 = bnBackward(dsum, cache.bn2, state, grads);
  const dh = convBackward(dc2, cache.conv2, state, grads);
  const dc1 = bnBackward(reluBackward(dh, cache.h), cache.bn1, state, grads);
  const dxResidual = convBackward(dc1, cache.conv1, state, grads);
  // Shortcut branch.
  let dxSkip: Activation;
  if (cache.spec.shortcut === 'A') dxSkip = shortcutABackward(dsum, cache.xShape, cache.spec.stride);
  else if (cache.spec.shortcut === 'B') dxSkip = convBackward(bnBackward(dsum, cache.down!.bn, state, grads), cache.down!.conv, state, grads);
  else dxSkip = dsum;
  return addForward(dxResidual, dxSkip);
}

/**
 * Forward and backward of the whole network for pixels x (NHWC in [0, 1]) and integer labels:
 * normalise → conv1 → bn1 → relu → blocks → global average pool → fc → mean cross-entropy.
 */
export function resnetRef(config: ResNetRefConfig, state: RefState, x: ArrayLike<number>, xShape: [number, number, number, number], labels: ArrayLike<number>): ResNetRefResult {
  const out: ResNetRefResult = { logits: new Float64Array(0), blocks: [], loss: 0, grads: {}, inputGrad: new Float64Array(0), buffers: {}, bnStats: {} };
  const [N] = xShape;
  const K = config.numClasses;
  const width = config.widths[config.widths.length - 1];
  // Forward.
  const input: Activation = { data: Float64Array.from(x), shape: xShape };
  const stem = convForward(normalizeForward(input, config.mean, config.invStd), conv3x3('conv1', 3, config.widths[0], 1), state);
  const stemBn = bnForward(stem.y, 'bn1', state, config, out);
  let h = reluForward(stemBn.y);
  const stemOut = h;
  const blocks: BlockCache[] = [];
  for (const spec of blockSpecs(config)) {
    const cache = blockForward(h, spec, state, config, out);
    blocks.push(cache);
    out.blocks.push(cache.y);
    h = cache.y;
  }
  const pooled = globalAvgPoolForward(h);
  out.logits = linearForward(pooled, N, state['fc.weight'], state['fc.bias'], width, K);
  const ce = crossEntropyRef(out.logits, labels, N, K);
  out.loss = ce.loss.reduce((a, b) => a + b, 0) / N;
  // Backward: d(mean loss)/d logits = per-sample gradient / N.
  const dlogits = ce.grad.map((g) => g / N);
  const fc = linearBackward(dlogits, pooled, N, state['fc.weight'], width, K);
  out.grads['fc.weight'] = fc.dw;
  out.grads['fc.bias'] = fc.db;
  let dh = globalAvgPoolBackward(fc.dx, h.shape);
  for (let b = blocks.length - 1; b >= 0; b--) dh = blockBackward(dh, blocks[b], state, out.grads);
  const dstem = convBackward(bnBackward(reluBackward(dh, stemOut), stemBn.cache, state, out.grads), stem.cache, state, out.grads);
  out.inputGrad = normalizeBackward(dstem, config.invStd);
  return out;
}
