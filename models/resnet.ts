// ResNet20 (CIFAR, He et al. 2016 §4.2) and ResNet18 (torchvision's basic-block ResNet with a
// 3×3 stride-1 stem and no max-pool for 64×64 Tiny ImageNet). NHWC activations; parameter names
// follow torchvision (conv1, bn1, layerK.B.conv1, layerK.B.downsample.0, fc) so checkpoints load
// into the same definitions in PyTorch. Input normalisation lives inside the model, so attacks and
// corruptions work in [0, 1] pixel space.
import { cast } from '../engine/ops/cast.js';
import { normalizeChannels } from '../engine/ops/elementwise.js';
import { globalAvgPool } from '../engine/ops/pool.js';
import { window } from '../engine/ops/shape.js';
import { BatchNorm, Conv2d, Linear, Module, convBatchNorm, type InitOptions } from '../engine/nn.js';
import type { Tensor } from '../engine/tensor.js';

export type Shortcut = 'A' | 'B';

export interface ForwardResult {
  logits: Tensor;
  /** Output of every residual block (after the skip-add and the block's ReLU), in order. */
  blocks: Tensor[];
}

/** Option A: stride-2 subsampling and zero-padded channels, as one strided window (no parameters). */
function shortcutA(x: Tensor, stride: number, outChannels: number): Tensor {
  const [N, H, W, C] = x.shape;
  const extra = outChannels - C;
  const before = Math.floor(extra / 2);
  return window(x, [N, Math.ceil(H / stride), Math.ceil(W / stride), outChannels], [0, 0, 0, -before], [1, stride, stride, 1], 'shortcut_a');
}

export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly downsample: Sequential | null = null;
  private readonly projectA: boolean;

  constructor(readonly inChannels: number, readonly outChannels: number, readonly stride: number, shortcut: Shortcut, init: InitOptions) {
    super();
    this.conv1 = this.addModule('conv1', new Conv2d(inChannels, outChannels, 3, { stride, padding: 1, ...init }));
    this.bn1 = this.addModule('bn1', new BatchNorm(outChannels));
    this.conv2 = this.addModule('conv2', new Conv2d(outChannels, outChannels, 3, { padding: 1, ...init }));
    this.bn2 = this.addModule('bn2', new BatchNorm(outChannels));
    const reshape = stride !== 1 || inChannels !== outChannels;
    this.projectA = reshape && shortcut === 'A';
    if (reshape && shortcut === 'B') {
      this.downsample = this.addModule('downsample', new Sequential([new Conv2d(inChannels, outChannels, 1, { stride, ...init }), new BatchNorm(outChannels)]));
    }
  }

  /** dtype: storage of the block's activations (f16: eval-mode inference only; see ResNet.storage). */
  forward(x: Tensor, dtype: 'f32' | 'f16' = 'f32'): Tensor {
    const h = convBatchNorm(this.conv1, this.bn1, x, { relu: true, dtype });
    const [projection, projectionBn] = (this.downsample?.layers ?? []) as [Conv2d, BatchNorm];
    let skip = x;
    if (this.downsample) skip = convBatchNorm(projection, projectionBn, x, { dtype });
    else if (this.projectA) {
      // The strided window gathers f32; the add reads the f32 skip beside the f16 branch.
      skip = shortcutA(x.dtype === 'f16' ? cast(x, 'f32') : x, this.stride, this.outChannels);
    }
    // relu(bn2(conv2(h)) + skip): in training the add and the ReLU run inside the normalisation pass.
    return convBatchNorm(this.conv2, this.bn2, h, { dtype, residual: skip, relu: true });
  }
}

export class Sequential extends Module {
  constructor(readonly layers: (Module & { forward(x: Tensor): Tensor })[]) {
    super();
    layers.forEach((l, i) => this.addModule(String(i), l));
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, l) => l.forward(h), x);
  }
}

export interface ResNetConfig {
  /** Channels of each stage. */
  widths: number[];
  /** Blocks per stage. */
  depths: number[];
  numClasses: number;
  shortcut: Shortcut;
  /** Per-channel input mean and std (of [0,1] pixels), applied inside the model. */
  mean: number[];
  std: number[];
  init?: InitOptions;
}

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly layers: BasicBlock[][] = [];
  readonly fc: Linear;
  private readonly invStd: number[];
  /**
   * Storage type of activations and folded weights in eval mode. 'f16' halves the memory traffic of
   * inference (sums stay f32; block outputs come back as f16 tensors, logits as f32). Training and
   * every gradient (attacks included) need 'f32'.
   */
  storage: 'f32' | 'f16' = 'f32';

  constructor(readonly config: ResNetConfig) {
    super();
    const init = config.init ?? {};
    const [first] = config.widths;
    this.conv1 = this.addModule('conv1', new Conv2d(3, first, 3, { padding: 1, ...init }));
    this.bn1 = this.addModule('bn1', new BatchNorm(first));
    let channels = first;
    config.widths.forEach((width, stage) => {
      const blocks: BasicBlock[] = [];
      for (let b = 0; b < config.depths[stage]; b++) {
        const stride = b === 0 && stage > 0 ? 2 : 1;
        blocks.push(new BasicBlock(channels, width, stride, config.shortcut, init));
        channels = width;
      }
      this.addModule(`layer${stage + 1}`, new Sequential(blocks));
      this.layers.push(blocks);
    });
    this.fc = this.addModule('fc', new Linear(channels, config.numClasses, init));
    // Normalisation constants are not part of PyTorch's state dict: plain numbers, applied in one pass.
    this.invStd = config.std.map((s) => 1 / s);
  }

  /** x: [N, H, W, 3] pixels in [0, 1]. Returns logits and every block output. */
  forward(x: Tensor): ForwardResult {
    const blocks = this.forwardBlocks(x);
    const h = blocks[blocks.length - 1];
    const last = h.dtype === 'f16' ? cast(h, 'f32') : h;
    return { logits: this.fc.forward(globalAvgPool(last)), blocks };
  }

  /** Block outputs 0..lastBlock (every block by default); analyses of early layers stop there. */
  forwardBlocks(x: Tensor, lastBlock = Infinity): Tensor[] {
    if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`${this.constructor.name}: input must be [N, H, W, 3] pixels in [0, 1], got ${x.describe()}`);
    const dtype = this.storage;
    let h = convBatchNorm(this.conv1, this.bn1, normalizeChannels(x, this.config.mean, this.invStd), { relu: true, dtype });
    const blocks: Tensor[] = [];
    for (const block of this.layers.flat()) {
      if (blocks.length > lastBlock) break;
      h = block.forward(h, dtype);
      blocks.push(h);
    }
    return blocks;
  }
}

export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD = [0.247, 0.2435, 0.2616];
export const TINY_IMAGENET_MEAN = [0.4802, 0.4481, 0.3975];
export const TINY_IMAGENET_STD = [0.277, 0.2691, 0.2821];

export interface ModelOptions extends InitOptions {
  numClasses?: number;
  shortcut?: Shortcut;
  mean?: number[];
  std?: number[];
}

/** ResNet20 for 32×32 inputs: 16-32-64 channels, 3 blocks per stage, option-A shortcuts by default. */
export function resnet20(options: ModelOptions = {}): ResNet {
  return new ResNet({
    widths: [16, 32, 64], depths: [3, 3, 3], numClasses: options.numClasses ?? 10, shortcut: options.shortcut ?? 'A',
    mean: options.mean ?? CIFAR10_MEAN, std: options.std ?? CIFAR10_STD, init: { generator: options.generator },
  });
}

/** ResNet18 for 64×64 Tiny ImageNet: 64-128-256-512 channels, 2 blocks per stage, projection shortcuts. */
export function resnet18(options: ModelOptions = {}): ResNet {
  return new ResNet({
    widths: [64, 128, 256, 512], depths: [2, 2, 2, 2], numClasses: options.numClasses ?? 200, shortcut: options.shortcut ?? 'B',
    mean: options.mean ?? TINY_IMAGENET_MEAN, std: options.std ?? TINY_IMAGENET_STD, init: { generator: options.generator },
  });
}
