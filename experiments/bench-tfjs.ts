// The peer in `npm run bench`: the same measurements taken with TF.js's WebGPU backend
// (@tensorflow/tfjs-core + @tensorflow/tfjs-backend-webgpu, dev-dependencies used only here), on
// the adapter of the same Dawn instance our engine runs on, with the same conventions
// (docs/performance.md §1): warm-up, median and min of the timed runs, first run reported, GPU
// completion inside the timer, and no busy-wait while TF.js waits for the GPU.
//
// TF.js is loaded lazily, so the bench runs (without the comparison) when it is not installed.
// TF.js finds WebGPU through `navigator.gpu`, which Node 20 does not have: while the backend
// registers and starts we expose the Dawn instance there, and TF.js asks it for an adapter and
// opens its own GPUDevice (a WebGPU adapter hands out one device, and ours already has it). The
// adapter it gets is recorded so the bench can print it beside ours.
import type * as TF from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gpu, nodeGpuInstance } from '../engine/device.js';

export interface PeerTiming {
  firstMs: number;
  medianMs: number;
  minMs: number;
  /** Compute dispatches TF.js recorded in one timed iteration (the read-back excluded). */
  dispatches: number;
}

export type ConvDirection = 'forward' | 'data-grad' | 'weight-grad';

/** NHWC input N×H×H×Ci, 3×3 kernel to Co channels, stride s, padding 1 (as in ResNet20). */
export interface ConvShape {
  N: number;
  H: number;
  Ci: number;
  Co: number;
  stride: number;
}

export interface Peer {
  /** e.g. "TF.js 4.22.0 webgpu". */
  readonly name: string;
  /** Description of the adapter TF.js's device was opened on. */
  readonly adapter: string;
  matmul(n: number, warmup: number, iterations: number): Promise<PeerTiming>;
  conv(direction: ConvDirection, shape: ConvShape, warmup: number, iterations: number): Promise<PeerTiming>;
  /** One ResNet20 training step (forward, softmax cross-entropy, backward, SGD momentum + weight decay). */
  resnet20Step(batch: number, warmup: number, iterations: number): Promise<PeerTiming>;
  dispose(): void;
}

export type PeerLoad = { peer: Peer } | { skipped: string };

type Tf = typeof TF;
type Tensor = TF.Tensor;

const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'];

// tfjs-core's Node build has no gradients: they are registered by
// '@tensorflow/tfjs-core/dist/register_all_gradients', which exists only as ES modules that Node
// cannot load as they are (extensionless imports in a CommonJS package). So TF.js is bundled here,
// the way a page gets it, with esbuild (already a dev-dependency): core from its ES modules, its
// gradients, and the WebGPU backend with its kernels, as one module in .cache/ (git-ignored).
const TFJS_ENTRY = `export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
`;

async function bundleTfjs(root: string): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(root, '.cache', 'bench-tfjs', 'tfjs.mjs');
  await build({
    stdin: { contents: TFJS_ENTRY, resolveDir: root, loader: 'js' },
    bundle: true, format: 'esm', platform: 'node', target: 'es2022', mainFields: ['module', 'main'], outfile, logLevel: 'error',
    // tfjs-core's Node platform calls require('util') and require('node-fetch').
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return outfile;
}

/** Starts TF.js's WebGPU backend on our Dawn instance, or says why the comparison is skipped. */
export async function loadPeer(): Promise<PeerLoad> {
  const instance = nodeGpuInstance();
  if (gpu().info.platform !== 'node' || !instance) return { skipped: 'the TF.js comparison runs in Node only' };
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const resolve = createRequire(join(root, 'package.json')).resolve;
  const missing = TFJS_PACKAGES.filter((name) => {
    try {
      resolve(`${name}/package.json`);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) return { skipped: `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed (dev-dependencies)` };
  let tf: Tf;
  let adapter: GPUAdapter | null = null;
  const hadNavigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  const gpuForTf = {
    requestAdapter: async (options?: GPURequestAdapterOptions) => (adapter = await instance.requestAdapter(options)),
    getPreferredCanvasFormat: () => instance.getPreferredCanvasFormat(),
    get wgslLanguageFeatures() {
      return instance.wgslLanguageFeatures;
    },
  };
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: gpuForTf }, configurable: true, writable: true });
  try {
    try {
      // The backend registers itself when its module runs, and only if navigator.gpu exists.
      tf = (await import(pathToFileURL(await bundleTfjs(root)).href)) as Tf;
    } catch (e) {
      return { skipped: `loading TF.js failed: ${message(e)}` };
    }
    tf.enableProdMode();
    let started = false;
    const warn = console.warn;
    const warnings: string[] = [];
    console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
    try {
      started = await tf.setBackend('webgpu');
    } finally {
      console.warn = warn;
    }
    if (!started || tf.getBackend() !== 'webgpu') return { skipped: `TF.js could not start its WebGPU backend${warnings.length ? `: ${warnings.join('; ')}` : ''}` };
  } finally {
    if (hadNavigator) Object.defineProperty(globalThis, 'navigator', hadNavigator);
    else delete (globalThis as { navigator?: unknown }).navigator;
  }
  const info = (adapter as GPUAdapter | null)?.info;
  const description = [info?.description, info?.device, info?.vendor].find((s) => s && s.length > 0) ?? 'unknown adapter';
  return { peer: new TfjsPeer(tf, description) };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// While a mapAsync is pending, dawn.node re-schedules itself with the global `setImmediate`, which
// keeps a core busy (engine/device.ts does the same swap for our own waits). TF.js waits inside
// data(), so the timer-based replacement is installed for the whole of each TF.js measurement.
const POLL_INTERVAL_MS = 1;

async function withoutSpin<T>(run: () => Promise<T>): Promise<T> {
  const real = globalThis.setImmediate;
  globalThis.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) =>
    setTimeout(fn, POLL_INTERVAL_MS, ...args)) as unknown as typeof setImmediate;
  try {
    return await run();
  } finally {
    globalThis.setImmediate = real;
  }
}

/** The backend's internals we touch: it counts dispatches per pass only, so we count them ourselves. */
interface WebGPUBackendInternals {
  device: GPUDevice;
  recordAndSubmit(...args: unknown[]): void;
}

class TfjsPeer implements Peer {
  readonly name: string;
  private dispatches = 0;
  private readonly backend: WebGPUBackendInternals;

  constructor(private readonly tf: Tf, readonly adapter: string) {
    this.name = `TF.js ${tf.version_core} webgpu`;
    this.backend = tf.backend() as unknown as WebGPUBackendInternals;
    // Every compute dispatch goes through recordAndSubmit (one dispatchWorkgroups each).
    const record = this.backend.recordAndSubmit;
    const peer = this;
    this.backend.recordAndSubmit = function (this: WebGPUBackendInternals, ...args: unknown[]) {
      peer.dispatches++;
      return record.apply(this, args);
    };
  }

  /**
   * Times `work`, which records the GPU work and returns a tiny tensor computed from its result
   * (one element, or the loss); reading that back ends the timed region after all of it has run.
   */
  private time(work: () => Tensor, warmup: number, iterations: number): Promise<PeerTiming> {
    return withoutSpin(async () => {
      const once = async () => {
        const d0 = this.dispatches;
        const t0 = performance.now();
        const probe = work();
        const dispatches = this.dispatches - d0;
        await probe.data();
        const ms = performance.now() - t0;
        probe.dispose();
        return { ms, dispatches };
      };
      const first = await once();
      for (let i = 1; i < warmup; i++) await once();
      const runs = [];
      for (let i = 0; i < iterations; i++) runs.push(await once());
      const sorted = runs.map((r) => r.ms).sort((a, b) => a - b);
      return { firstMs: first.ms, medianMs: sorted[Math.floor(sorted.length / 2)], minMs: sorted[0], dispatches: runs[0].dispatches };
    });
  }

  /** One element of `t`, so the read-back is negligible. */
  private corner(t: Tensor): Tensor {
    return this.tf.slice(t, t.shape.map(() => 0), t.shape.map(() => 1));
  }

  async matmul(n: number, warmup: number, iterations: number): Promise<PeerTiming> {
    const { tf } = this;
    const a = tf.randomUniform([n, n]);
    const b = tf.randomUniform([n, n]);
    try {
      return await this.time(() => tf.tidy(() => this.corner(tf.matMul(a, b))), warmup, iterations);
    } finally {
      tf.dispose([a, b]);
    }
  }

  async conv(direction: ConvDirection, shape: ConvShape, warmup: number, iterations: number): Promise<PeerTiming> {
    const { tf } = this;
    const { N, H, Ci, Co, stride } = shape;
    const Ho = Math.floor((H + 2 - 3) / stride) + 1;
    const x = tf.randomUniform([N, H, H, Ci]) as TF.Tensor4D;
    const w = tf.randomUniform([3, 3, Ci, Co], -0.1, 0.1) as TF.Tensor4D;
    const dy = tf.randomUniform([N, Ho, Ho, Co]) as TF.Tensor4D;
    const strides: [number, number] = [stride, stride];
    // Each direction runs TF.js's own kernel: Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter.
    const run: Record<ConvDirection, () => Tensor> = {
      forward: () => tf.conv2d(x, w, strides, 1),
      'data-grad': () => tf.conv2dTranspose(dy, w, [N, H, H, Ci], strides, 1),
      'weight-grad': () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides, pad: 1, dataFormat: 'NHWC', filterShape: [3, 3, Ci, Co] }),
    };
    try {
      return await this.time(() => tf.tidy(() => this.corner(run[direction]())), warmup, iterations);
    } finally {
      tf.dispose([x, w, dy]);
    }
  }

  async resnet20Step(batch: number, warmup: number, iterations: number): Promise<PeerTiming> {
    const { tf } = this;
    const model = new TfResNet20(tf);
    const x = tf.randomUniform([batch, 32, 32, 3]) as TF.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 10), 'int32'), 10);
    const optimizer = tf.train.momentum(0.01, 0.9);
    const weightDecay = 5e-4;
    try {
      return await this.time(() => tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x)) as TF.Scalar);
        // Weight decay as in our SGD (and PyTorch's): added to every gradient before the momentum.
        for (const v of model.trainable) grads[v.name] = tf.add(grads[v.name], tf.mul(v, weightDecay));
        optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
        return value;
      }), warmup, iterations);
    } finally {
      optimizer.dispose();
      model.dispose();
      tf.dispose([x, labels]);
    }
  }

  dispose(): void {
    const device = this.backend.device;
    this.tf.disposeVariables();
    this.tf.removeBackend('webgpu');
    device.destroy();
  }
}

interface TfBatchNorm {
  gamma: TF.Variable;
  beta: TF.Variable;
  runningMean: TF.Variable;
  runningVar: TF.Variable;
}

interface TfBlock {
  w1: TF.Variable;
  bn1: TfBatchNorm;
  w2: TF.Variable;
  bn2: TfBatchNorm;
  stride: number;
  outChannels: number;
}

/**
 * ResNet20 as models/resnet.ts defines it, in TF.js ops: NHWC, 3×3 convs (padding 1) 16-32-64 in
 * three stages of three blocks, batch norm in training mode (tf.moments + tf.batchNorm, running
 * statistics updated), option-A shortcuts, global average pool, fc, input normalisation inside.
 */
class TfResNet20 {
  readonly trainable: TF.Variable[] = [];
  private readonly state: TF.Variable[] = [];
  private readonly conv1: TF.Variable;
  private readonly bn1: TfBatchNorm;
  private readonly blocks: TfBlock[] = [];
  private readonly fcW: TF.Variable;
  private readonly fcB: TF.Variable;
  private readonly mean: Tensor;
  private readonly invStd: Tensor;

  constructor(private readonly tf: Tf) {
    this.conv1 = this.convWeight(3, 16);
    this.bn1 = this.batchNormParams(16);
    let channels = 16;
    for (const [stage, width] of [16, 32, 64].entries()) {
      for (let b = 0; b < 3; b++) {
        const stride = b === 0 && stage > 0 ? 2 : 1;
        this.blocks.push({ w1: this.convWeight(channels, width), bn1: this.batchNormParams(width), w2: this.convWeight(width, width), bn2: this.batchNormParams(width), stride, outChannels: width });
        channels = width;
      }
    }
    this.fcW = this.param(tf.randomNormal([64, 10], 0, Math.sqrt(1 / 64)));
    this.fcB = this.param(tf.zeros([10]));
    this.mean = tf.tensor1d([0.4914, 0.4822, 0.4465]);
    this.invStd = tf.tensor1d([0.247, 0.2435, 0.2616].map((s) => 1 / s));
  }

  forward(x: TF.Tensor4D): TF.Tensor2D {
    const { tf } = this;
    let h = tf.relu(this.batchNorm(this.conv(tf.mul(tf.sub(x, this.mean), this.invStd) as TF.Tensor4D, this.conv1, 1), this.bn1));
    for (const block of this.blocks) {
      const y = this.batchNorm(this.conv(tf.relu(this.batchNorm(this.conv(h, block.w1, block.stride), block.bn1)), block.w2, 1), block.bn2);
      const skip = block.stride !== 1 || h.shape[3] !== block.outChannels ? this.shortcutA(h, block.stride, block.outChannels) : h;
      h = tf.relu(tf.add(y, skip) as TF.Tensor4D);
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]) as TF.Tensor2D, this.fcW), this.fcB);
  }

  dispose(): void {
    this.tf.dispose([...this.trainable, ...this.state, this.mean, this.invStd]);
  }

  private conv(x: TF.Tensor4D, w: TF.Variable, stride: number): TF.Tensor4D {
    return this.tf.conv2d(x, w as TF.Tensor4D, stride, 1);
  }

  private batchNorm(x: TF.Tensor4D, p: TfBatchNorm): TF.Tensor4D {
    const { tf } = this;
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const n = x.size / x.shape[3];
    p.runningMean.assign(tf.add(tf.mul(p.runningMean, 0.9), tf.mul(mean, 0.1)));
    p.runningVar.assign(tf.add(tf.mul(p.runningVar, 0.9), tf.mul(variance, 0.1 * n / (n - 1))));
    return tf.batchNorm(x, mean, variance, p.beta, p.gamma, 1e-5) as TF.Tensor4D;
  }

  /**
   * Option A: stride-2 subsampling and zero-padded channels. tf.stridedSlice has no gradient in
   * TF.js, so the subsampling is a reshape and a slice: rows (h, h+1) and columns (w, w+1) become
   * separate axes, and the slice keeps the even ones.
   */
  private shortcutA(x: TF.Tensor4D, stride: number, outChannels: number): TF.Tensor4D {
    const { tf } = this;
    const [N, H, W, C] = x.shape;
    if (stride !== 2 || H % 2 || W % 2) throw new Error(`shortcut A: stride 2 on even sizes only, got stride ${stride} on ${H}x${W}`);
    const pairs = tf.reshape(x, [N * (H / 2), 2, W / 2, 2 * C]);
    const even = tf.reshape(tf.slice(pairs, [0, 0, 0, 0], [N * (H / 2), 1, W / 2, C]), [N, H / 2, W / 2, C]) as TF.Tensor4D;
    const before = Math.floor((outChannels - C) / 2);
    return tf.pad(even, [[0, 0], [0, 0], [0, 0], [before, outChannels - C - before]]);
  }

  private param(init: Tensor): TF.Variable {
    const v = this.tf.variable(init);
    init.dispose();
    this.trainable.push(v);
    return v;
  }

  private convWeight(ci: number, co: number): TF.Variable {
    return this.param(this.tf.randomNormal([3, 3, ci, co], 0, Math.sqrt(2 / (9 * ci))));
  }

  private batchNormParams(c: number): TfBatchNorm {
    const { tf } = this;
    const stat = (init: Tensor) => {
      const v = tf.variable(init, false);
      init.dispose();
      this.state.push(v);
      return v;
    };
    return { gamma: this.param(tf.ones([c])), beta: this.param(tf.zeros([c])), runningMean: stat(tf.zeros([c])), runningVar: stat(tf.ones([c])) };
  }
}
