// `npm run bench`: kernel and model throughput on the current adapter, each kernel beside a naive
// shader measured in the same run, and beside TF.js's WebGPU backend on the same adapter where it
// has a counterpart (experiments/bench-tfjs.ts; --no-peer leaves it out). Prints a table, checks the
// run against the throughput goals (experiments/bench-goals.ts) and writes
// bench-results/bench-<time>.json. Conventions (docs/performance.md §1): 2 warm-ups, median and min
// of ≥ 5 timed runs, first run (pipeline compilation) reported separately, GPU completion inside
// the timer, no busy-wait.
import { backward, noGrad } from '../engine/autograd.js';
import { gpu, initGpu } from '../engine/device.js';
import { batchNorm } from '../engine/ops/batchnorm.js';
import { conv2dDataGradRaw, conv2dForwardRaw, conv2dWeightGradRaw, convGeometry } from '../engine/ops/conv.js';
import { empty, scope, tensor, type Tensor } from '../engine/tensor.js';
import '../engine/ops/index.js';
import { crossEntropy } from '../engine/ops/loss.js';
import { matmulRaw } from '../engine/ops/matmul.js';
import { scaleRaw } from '../engine/ops/elementwise.js';
import { cast } from '../engine/ops/cast.js';
import { Generator, rand } from '../engine/ops/random.js';
import { run } from '../engine/ops/run.js';
import { SGD } from '../engine/optim.js';
import { formatBytes } from '../engine/pool.js';
import { runtime } from '../engine/runtime.js';
import { naiveBatchNorm, naiveConvDataGrad, naiveConvForward, naiveConvWeightGrad, naiveMatmul, naiveWorkgroups } from '../shaders/naive.js';
import { resnet18, resnet20, type ResNet } from '../models/resnet.js';
import { attackBatch, inputGradient, resolveAttack } from './attacks.js';
import { gradientVariability } from './analysis/gradients.js';
import { blockNames } from './selectivity.js';
import { parseAdversarialSpec, describeAdversarial } from './robust/spec.js';
import { trainingStep } from './train.js';
import { loadPeer, type ConvDirection, type Peer, type PeerTiming } from './bench-tfjs.js';
import { parseArgs, type OptionSpec } from './cli/args.js';
import { writeFileAtomic } from './io/atomic.js';
import { checkGoals, formatGoals } from './bench-goals.js';
import { applyTunedTile, autotuneGemm, saveTunedTile } from './autotune.js';
import { gemmTile, parseTile, setGemmTile, tileName } from '../engine/ops/gemm.js';
import { packageVersion } from './version.js';
import { soakRow } from './soak.js';
import { defaultFrostDir } from './cli/corruptions.js';
import { loadFrostTextures } from './corruptions/frost-node.js';
import { CORRUPTION_NAMES, CORRUPTIONS, proceduralFrostTextures, type CorruptionContext } from './corruptions/index.js';

export interface Measurement {
  name: string;
  shape: string;
  firstMs: number;
  medianMs: number;
  minMs: number;
  gflops?: number;
  gbps?: number;
  imagesPerSecond?: number;
  naiveMedianMs?: number;
  speedup?: number;
  dispatchesPerIteration?: number;
  encodeMsPerIteration?: number;
  peakBytes?: number;
  /** The same measurement taken with TF.js's WebGPU backend. */
  peer?: PeerMeasurement;
  adapter: string;
  date: string;
  version: string;
}

export interface PeerMeasurement {
  library: string;
  adapter: string;
  firstMs: number;
  medianMs: number;
  minMs: number;
  gflops?: number;
  imagesPerSecond?: number;
  dispatchesPerIteration?: number;
  /** Speed ratio ours/peer: the peer's median ms over ours (> 1: ours is faster). */
  ratio: number;
}

/** Groups with a TF.js counterpart. */
const PEER_GROUPS = ['matmul', 'conv', 'resnet20'];

interface Timing {
  firstMs: number;
  medianMs: number;
  minMs: number;
  dispatches: number;
  encodeMs: number;
}

/** Times `work` (records GPU work, returns what to dispose) to GPU completion. */
function time(work: () => Tensor | Tensor[] | void, warmup: number, iterations: number): Promise<Timing> {
  return timeAsync(async () => {
    const out = scope(() => work());
    await runtime().sync();
    return () => [out ?? []].flat().forEach((t) => t.dispose());
  }, warmup, iterations);
}

/** Times `run` (done when it resolves; it may return a clean-up that is left out of the time). */
async function timeAsync(run: () => Promise<(() => void) | void>, warmup: number, iterations: number): Promise<Timing> {
  const once = async () => {
    const c0 = { ...runtime().counters };
    const t0 = performance.now();
    const cleanUp = await run();
    const ms = performance.now() - t0;
    cleanUp?.();
    return { ms, dispatches: runtime().counters.dispatches - c0.dispatches, encodeMs: runtime().counters.encodeMs - c0.encodeMs };
  };
  const first = await once();
  for (let i = 1; i < warmup; i++) await once();
  const runs = [];
  for (let i = 0; i < iterations; i++) runs.push(await once());
  const sorted = runs.map((r) => r.ms).sort((a, b) => a - b);
  return {
    firstMs: first.ms,
    medianMs: sorted[Math.floor(sorted.length / 2)],
    minMs: sorted[0],
    dispatches: runs[0].dispatches,
    encodeMs: runs.reduce((s, r) => s + r.encodeMs, 0) / runs.length,
  };
}

const options: Record<string, OptionSpec> = {
  only: { type: 'string', description: 'comma-separated groups: matmul,conv,batchnorm,resnet20,resnet18,corruptions,attack,adversarial,gradients (and soak: 2,000 training steps, pool and RSS growth)', default: 'matmul,conv,batchnorm,resnet20,resnet18,corruptions,attack,adversarial,gradients' },
  iterations: { type: 'number', integer: true, min: 1, description: 'timed iterations per measurement (median and min reported)', default: 5 },
  warmup: { type: 'number', integer: true, min: 1, description: 'warm-up iterations (the first is reported as compile time)', default: 2 },
  naive: { type: 'boolean', description: 'also time the naive reference shaders', default: true },
  out: { type: 'string', description: 'directory for the JSON results', default: 'bench-results' },
  autotune: { type: 'boolean', description: 'first choose the fastest GEMM tile for this adapter (cached for later commands); otherwise the cached or default tile is used', default: false },
  tile: { type: 'string', description: 'GEMM tile to use instead of the cached or default one, e.g. 4x32 (register blocking) or 8x8s (shared memory)' },
  profile: { type: 'boolean', description: 'print GPU time per op kind for one training step of each model, and for one PGD step (timestamp queries)', default: false },
  peer: { type: 'boolean', description: "also time TF.js's WebGPU backend on the same adapter (matmul, conv, resnet20 training; needs the dev-dependencies)", default: true },
};

export async function main(argv: string[]): Promise<void> {
  const args = parseArgs('bench', 'Kernel and model throughput on this adapter, beside naive reference shaders.', options, argv);
  if (!args) return;
  const ctx = await initGpu();
  const adapter = ctx.info.description;
  const groups = new Set(String(args.only).split(','));
  const warmup = Number(args.warmup);
  const iterations = Number(args.iterations);
  const results: Measurement[] = [];
  const base = { adapter, date: new Date().toISOString(), version: packageVersion() };
  console.log(`adapter: ${adapter} (${ctx.info.platform}); Mesa shader cache ${process.env.MESA_SHADER_CACHE_DISABLE ? 'disabled' : 'enabled (first-run numbers depend on earlier runs)'}`);
  if (args.autotune) {
    const tuned = await autotuneGemm((t, ms) => console.log(`  autotune: tile ${tileName(t)} ${ms.toFixed(1)} ms`));
    console.log(`  autotune: fastest ${tileName(tuned.tile)}, cached at ${await saveTunedTile(tuned)}`);
  } else if (args.tile) {
    setGemmTile(parseTile(String(args.tile)));
  } else {
    await applyTunedTile();
  }
  console.log(`GEMM tile ${tileName(gemmTile())} (rows × columns of the output per thread); subgroups ${ctx.info.subgroupSize ? `of ${ctx.info.subgroupSize}+ lanes` : 'not used'}`);
  const add = (m: Omit<Measurement, keyof typeof base>): Measurement => {
    const row = { ...m, ...base };
    results.push(row);
    printRow(row);
    return row;
  };
  let peer: Peer | null = null;
  let peerNote: { library: string; adapter: string } | { skipped: string } | undefined;
  if (args.peer && PEER_GROUPS.some((g) => groups.has(g))) {
    const loaded = await loadPeer();
    if ('peer' in loaded) {
      peer = loaded.peer;
      peerNote = { library: peer.name, adapter: peer.adapter };
      console.log(`peer: ${peer.name} on ${peer.adapter} (its own device on the same Dawn instance, spin removed); ours/tfjs = TF.js median ms / ours (> 1: ours faster)`);
    } else {
      peerNote = loaded;
      console.log(`peer comparison with TF.js skipped: ${loaded.skipped}`);
    }
  }
  /** Times the TF.js counterpart of `row`, prints it as a `tfjs …` row and stores it in row.peer. */
  const compare = async (row: Measurement, measure: (p: Peer) => Promise<PeerTiming>, work: { flops?: number; images?: number }) => {
    if (!peer) return;
    const t = await measure(peer);
    row.peer = {
      library: peer.name, adapter: peer.adapter, firstMs: t.firstMs, medianMs: t.medianMs, minMs: t.minMs,
      gflops: work.flops && work.flops / t.medianMs / 1e6, imagesPerSecond: work.images && work.images / (t.medianMs / 1000),
      dispatchesPerIteration: work.images ? t.dispatches : undefined, ratio: t.medianMs / row.medianMs,
    };
    printRow({ ...row.peer, name: `tfjs ${row.name}`, shape: row.shape, peer: row.peer, adapter: peer.adapter, date: row.date, version: row.version });
  };
  printHeader();

  if (groups.has('matmul')) {
    const shapes: [string, number, number, number][] = [
      ...[256, 512, 1024, 2048].map((n): [string, number, number, number] => [`${n}³`, n, n, n]),
      ['resnet20 conv 16ch', 131072, 16, 144],
      ['resnet20 conv 32ch', 32768, 32, 288],
      ['resnet20 conv 64ch', 8192, 64, 576],
      ['resnet20 fc', 128, 10, 64],
    ];
    for (const [label, M, N, K] of shapes) {
      const a = rand([M, K]).keep();
      const b = rand([K, N]).keep();
      const flops = 2 * M * N * K;
      const t = await time(() => matmulRaw(a, b), warmup, iterations);
      let naiveMs: number | undefined;
      if (args.naive && flops <= 2 * 1024 ** 3) {
        naiveMs = (await time(() => {
          const c = empty([M, N]);
          run(naiveMatmul, { a, b, c }, { M, N, K }, naiveWorkgroups(M * N), 'naive matmul');
          return c;
        }, 1, 3)).medianMs;
      }
      const row = add({ name: 'matmul', shape: `${label} (${M}x${K}·${K}x${N})`, ...pick(t), gflops: flops / t.medianMs / 1e6, naiveMedianMs: naiveMs, speedup: naiveMs && naiveMs / t.medianMs });
      if (M === N && N === K) await compare(row, (p) => p.matmul(M, warmup, iterations), { flops });
      if (M * N * K >= 1024 ** 3 / 8) {
        // f16 storage: packed operands halve the loads; the sums stay f32.
        const [a16, b16] = [cast(a, 'f16').keep(), cast(b, 'f16').keep()];
        const th = await time(() => matmulRaw(a16, b16), warmup, iterations);
        add({ name: 'matmul f16 storage', shape: `${label} (${M}x${K}·${K}x${N})`, ...pick(th), gflops: flops / th.medianMs / 1e6 });
        [a16, b16].forEach((t) => t.dispose());
      }
      a.dispose();
      b.dispose();
    }
  }

  if (groups.has('conv')) {
    const convs: [number, number, number, number][] = [
      [32, 16, 16, 1], [16, 32, 32, 1], [8, 64, 64, 1], [32, 16, 32, 2], [16, 32, 64, 2],
    ];
    const N = 128;
    for (const [H, Ci, Co, s] of convs) {
      const x = rand([N, H, H, Ci]).keep();
      const w = rand([3, 3, Ci, Co], { lo: -0.1, hi: 0.1 }).keep();
      const g = convGeometry(x, w, { stride: s, padding: 1 });
      const dy = rand([N, g.Ho, g.Wo, Co]).keep();
      const flops = 2 * N * g.Ho * g.Wo * Co * Ci * 9;
      const shape = `${N}x${H}x${H}x${Ci}→${Co} s${s}`;
      const naiveU = { N, H, W: H, Ci, Ho: g.Ho, Wo: g.Wo, Co, K: 3, s, p: 1 };
      const directions: [string, ConvDirection, () => Tensor, () => Tensor][] = [
        ['conv2d forward', 'forward', () => conv2dForwardRaw(x, w, g), () => {
          const y = empty([N, g.Ho, g.Wo, Co]);
          run(naiveConvForward, { x, wt: w, y }, naiveU, naiveWorkgroups(y.size), 'naive conv');
          return y;
        }],
        ['conv2d data-grad', 'data-grad', () => conv2dDataGradRaw(dy, w, g), () => {
          const dx = empty(x.shape);
          run(naiveConvDataGrad, { dy, wt: w, dx }, naiveU, naiveWorkgroups(dx.size), 'naive conv dgrad');
          return dx;
        }],
        ['conv2d weight-grad', 'weight-grad', () => conv2dWeightGradRaw(x, dy, g), () => {
          const dw = empty(w.shape);
          run(naiveConvWeightGrad, { x, dy, dw }, naiveU, naiveWorkgroups(dw.size), 'naive conv wgrad');
          return dw;
        }],
      ];
      for (const [name, direction, fast, naive] of directions) {
        const t = await time(fast, warmup, iterations);
        const naiveMs = args.naive ? (await time(naive, 1, 3)).medianMs : undefined;
        const row = add({ name, shape, ...pick(t), gflops: flops / t.medianMs / 1e6, naiveMedianMs: naiveMs, speedup: naiveMs && naiveMs / t.medianMs });
        await compare(row, (p) => p.conv(direction, { N, H, Ci, Co, stride: s }, warmup, iterations), { flops });
      }
      const [x16, w16] = [cast(x, 'f16').keep(), cast(w, 'f16').keep()];
      const th = await time(() => conv2dForwardRaw(x16, w16, g, { dtype: 'f16' }), warmup, iterations);
      add({ name: 'conv2d forward f16 storage', shape, ...pick(th), gflops: flops / th.medianMs / 1e6 });
      [x16, w16].forEach((t) => t.dispose());
      [x, w, dy].forEach((t) => t.dispose());
    }
  }

  // Copies per timed iteration of the buffer-copy rows: enough that the wait for the results is a small part.
  const BUFFER_COPIES = 16;
  if (groups.has('batchnorm')) {
    for (const [H, C] of [[32, 16], [16, 32], [8, 64]]) {
      const x = rand([128, H, H, C]).keep();
      const gamma = tensor(new Float32Array(C).fill(1)).keep();
      const beta = tensor(new Float32Array(C)).keep();
      const rm = tensor(new Float32Array(C)).keep();
      const rv = tensor(new Float32Array(C).fill(1)).keep();
      const bytes = 3 * x.size * 4; // statistics read x; normalisation reads x and writes y
      const t = await time(() => batchNorm(x, gamma, beta, rm, rv, { training: true }), warmup, iterations);
      const naiveMs = args.naive ? (await time(() => {
        const y = empty(x.shape);
        run(naiveBatchNorm, { x, y }, { R: x.size / C, C }, naiveWorkgroups(C), 'naive bn');
        return y;
      }, 1, 3)).medianMs : undefined;
      add({ name: 'batchnorm train fwd', shape: `128x${H}x${H}x${C}`, ...pick(t), gbps: bytes / t.medianMs / 1e6, naiveMedianMs: naiveMs, speedup: naiveMs && naiveMs / t.medianMs });
      const dy = rand(x.shape).keep();
      const xg = x.view(x.shape);
      xg.requiresGrad = true;
      const tb = await time(() => {
        const y = batchNorm(xg, gamma, beta, rm, rv, { training: true });
        backward(y, { grad: dy });
        const dx = xg.grad!;
        xg.grad = null;
        return [y, dx];
      }, warmup, iterations);
      add({ name: 'batchnorm train fwd+bwd', shape: `128x${H}x${H}x${C}`, ...pick(tb), gbps: (bytes + 5 * x.size * 4) / tb.medianMs / 1e6 });
      // The adapter's own copies of the same tensor (no shader): the streaming rate a memory-bound pass can hope for.
      const copies = [empty(x.shape).keep(), empty(x.shape).keep()];
      const tc = await time(() => {
        for (let i = 0; i < BUFFER_COPIES; i++) runtime().copy((i === 0 ? x : copies[(i + 1) % 2]).range, copies[i % 2].range, x.size * 4);
      }, warmup, iterations);
      add({ name: `buffer copy ×${BUFFER_COPIES}`, shape: `128x${H}x${H}x${C}`, ...pick(tc), gbps: (2 * BUFFER_COPIES * x.size * 4) / tc.medianMs / 1e6 });
      // The same traffic through a shader (the engine's element-wise pass, y = 2x): what one read
      // and one write per element cost when the adapter runs them as shader loads and stores.
      const ts = await time(() => {
        let t = x;
        for (let i = 0; i < BUFFER_COPIES; i++) {
          const next = scaleRaw(t, 2);
          if (t !== x) t.dispose();
          t = next;
        }
        return t;
      }, warmup, iterations);
      add({ name: `element-wise pass ×${BUFFER_COPIES}`, shape: `128x${H}x${H}x${C}`, ...pick(ts), gbps: (2 * BUFFER_COPIES * x.size * 4) / ts.medianMs / 1e6 });
      [x, gamma, beta, rm, rv, dy, xg, ...copies].forEach((t) => t.dispose());
    }
  }

  for (const [group, make, batch, size] of [['resnet20', resnet20, 128, 32], ['resnet18', resnet18, 64, 64]] as const) {
    if (!groups.has(group)) continue;
    const model: ResNet = make();
    const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
    const x = rand([batch, size, size, 3]).keep();
    const y = tensor(Int32Array.from({ length: batch }, (_, i) => i % model.config.numClasses)).keep();
    runtime().pool.resetPeak();
    const its = group === 'resnet18' ? Math.max(3, Math.ceil(iterations / 2)) : iterations;
    const train = await time(() => {
      const loss = crossEntropy(model.forward(x).logits, y);
      backward(loss);
      opt.step();
      opt.zeroGrad();
    }, group === 'resnet18' ? 1 : warmup, its);
    const row = add({
      name: `${group} training step`, shape: `batch ${batch}, ${size}x${size}`, ...pick(train), imagesPerSecond: batch / (train.medianMs / 1000),
      dispatchesPerIteration: train.dispatches, encodeMsPerIteration: train.encodeMs, peakBytes: runtime().pool.snapshot().peakInUseBytes,
    });
    if (group === 'resnet20') await compare(row, (p) => p.resnet20Step(batch, warmup, its), { images: batch });
    if (args.profile) await profileStep(`${group} training`, () => {
      const loss = crossEntropy(model.forward(x).logits, y);
      backward(loss);
      opt.step();
      opt.zeroGrad();
    });
    model.eval();
    const infer = await time(() => noGrad(() => model.forward(x).logits), warmup, its);
    add({ name: `${group} inference`, shape: `batch ${batch}, ${size}x${size}`, ...pick(infer), imagesPerSecond: batch / (infer.medianMs / 1000), dispatchesPerIteration: infer.dispatches });
    model.storage = 'f16';
    const half = await time(() => noGrad(() => model.forward(x).logits), warmup, its);
    add({ name: `${group} inference f16 storage`, shape: `batch ${batch}, ${size}x${size}`, ...pick(half), imagesPerSecond: batch / (half.medianMs / 1000), dispatchesPerIteration: half.dispatches });
    model.dispose();
    opt.dispose();
    x.dispose();
    y.dispose();
  }

  if (groups.has('corruptions')) {
    // Each corruption on a batch of 256 32×32 images at severity 3 (CIFAR-10-C parameters), input
    // already on the GPU. jpeg_compression runs on the CPU (encoder/decoder), so it is timed around
    // the awaited call with the same warm-up and statistics.
    const batch = 256;
    const x = rand([batch, 32, 32, 3]).keep();
    const frostDir = defaultFrostDir();
    const frostTextures = frostDir ? await loadFrostTextures(frostDir) : proceduralFrostTextures();
    const ctx: CorruptionContext = { generator: new Generator(0, { stream: 0x100 }), parameters: 'cifar10', frostTextures };
    const shape = `${batch}x32x32x3 severity 3`;
    for (const name of CORRUPTION_NAMES) {
      const corruption = CORRUPTIONS[name];
      const t = corruption.gpu
        ? await time(() => corruption.apply(x, 3, ctx) as Tensor, warmup, iterations)
        : await timeAsync(async () => {
          const out = await corruption.apply(x, 3, ctx);
          await runtime().sync();
          return () => out.dispose();
        }, warmup, Math.max(3, Math.ceil(iterations / 2)));
      const note = !corruption.gpu ? ', on the CPU' : name === 'frost' && !frostDir ? ', procedural frost' : '';
      add({ name: `corrupt ${name}`, shape: `${shape}${note}`, ...pick(t), imagesPerSecond: batch / (t.medianMs / 1000) });
    }
    x.dispose();
    frostTextures.forEach((t) => t.dispose());
  }

  if (groups.has('attack')) {
    // One PGD-20 batch is 20 forward+backward passes, so fewer repetitions than a single step gets.
    const model = resnet20();
    const batch = 128;
    const x = rand([batch, 32, 32, 3]).keep();
    const y = tensor(Int32Array.from({ length: batch }, (_, i) => i % 10)).keep();
    const attack = resolveAttack({ norm: 'linf', eps: 8 / 255, steps: 20 });
    const t = await time(() => Object.values(attackBatch(model, x, y, attack)), 1, Math.max(2, Math.ceil(iterations / 2)));
    add({ name: 'PGD-20 L∞ attack', shape: `resnet20, batch ${batch}, 32x32`, ...pick(t), imagesPerSecond: batch / (t.medianMs / 1000) });
    // One step's work: the input gradient in eval mode (batch norm folded into the convolutions).
    if (args.profile) await profileStep('PGD (input gradient)', () => void inputGradient(model, x, y));
    model.dispose();
    x.dispose();
    y.dispose();
  }

  if (groups.has('adversarial')) {
    // Adversarial training steps (experiments/train.ts trainingStep, as `train --adversarial` runs
    // them): PGD-AT with K = 7 costs K + 1 forward/backward passes per step, FGSM-RS 2.
    const batch = 128;
    const images = Uint8Array.from({ length: batch * 32 * 32 * 3 }, (_, i) => (i * 2654435761) >>> 24);
    const labels = Int32Array.from({ length: batch }, (_, i) => i % 10);
    for (const spec of ['pgd:linf:8/255:steps=7', 'fgsm-rs:linf:8/255']) {
      const model = resnet20();
      const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 });
      const config = parseAdversarialSpec(spec);
      const generator = new Generator(0, { stream: 1 });
      const adversarial = { config, eps: config.eps, generator: new Generator(0, { stream: 2 }) };
      const t = await time(() => Object.values(trainingStep(model, opt, { images, labels, count: batch }, [32, 32], { alpha: 0, numClasses: 10, padding: 4, flip: true, generator, adversarial })), 1, Math.max(2, Math.ceil(iterations / 2)));
      add({ name: `adversarial training step (${describeAdversarial(config)})`, shape: `resnet20, batch ${batch}, 32x32, ${config.steps + 1} passes`, ...pick(t), imagesPerSecond: batch / (t.medianMs / 1000), dispatchesPerIteration: t.dispatches });
      model.dispose();
      opt.dispose();
    }
  }

  if (groups.has('gradients')) {
    // Gradient variability of one network at the MNIST study's settings: an input gradient per
    // (image, unit) pair, one backward per unit of each block output (experiments/analysis/gradients.ts).
    const model = resnet20();
    const [samples, units] = [24, 8];
    const x = rand([samples, 32, 32, 3]).keep();
    const names = blockNames(model);
    // Its read-backs at the end wait for the GPU.
    const t = await timeAsync(async () => void (await gradientVariability(model, x, names, { batchSize: samples, unitsPerLayer: units })), warmup, Math.max(2, Math.ceil(iterations / 2)));
    add({ name: 'gradient variability', shape: `resnet20, ${samples} images × ${units} units × ${names.length} block outputs`, ...pick(t), imagesPerSecond: samples / (t.medianMs / 1000) });
    model.dispose();
    x.dispose();
  }

  if (groups.has('soak')) await soakRow(add);
  peer?.dispose();
  const file = `${args.out}/bench-${base.date.replace(/[:.]/g, '-')}.json`;
  const goals = checkGoals(results);
  const goalLines = formatGoals(goals, gpu().info.cpu);
  if (goalLines.length > 0) console.log(['', ...goalLines].join('\n'));
  await writeFileAtomic(file, JSON.stringify({ adapter, platform: gpu().info.platform, features: gpu().info.features, peer: peerNote, results, goals }, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}

/** Runs one step with per-dispatch timestamps and prints GPU time per op kind. */
async function profileStep(name: string, step: () => void): Promise<void> {
  runtime().startProfile();
  scope(step);
  const entries = await runtime().stopProfile();
  const kinds = new Map<string, { ms: number; count: number }>();
  for (const e of entries) {
    const kind = e.label.replace(/\s*\[.*$/, '').replace(/ (phase \d+,\d+)$/, '');
    const k = kinds.get(kind) ?? { ms: 0, count: 0 };
    k.ms += e.ms;
    k.count++;
    kinds.set(kind, k);
  }
  const total = entries.reduce((s, e) => s + e.ms, 0);
  console.log(`\nprofile of one ${name} step: ${entries.length} dispatches, ${total.toFixed(1)} ms of GPU time`);
  console.log(`${'op'.padEnd(34)} ${'ms'.padStart(9)} ${'%'.padStart(6)} ${'dispatches'.padStart(10)}`);
  for (const [kind, k] of [...kinds.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${kind.slice(0, 34).padEnd(34)} ${k.ms.toFixed(2).padStart(9)} ${((100 * k.ms) / total).toFixed(1).padStart(6)} ${String(k.count).padStart(10)}`);
  }
  console.log('');
}

function pick(t: Timing) {
  return { firstMs: t.firstMs, medianMs: t.medianMs, minMs: t.minMs, dispatchesPerIteration: t.dispatches, encodeMsPerIteration: t.encodeMs };
}

const columns: [string, number, (m: Measurement) => string][] = [
  ['benchmark', 28, (m) => m.name],
  ['shape', 36, (m) => m.shape],
  ['median ms', 10, (m) => m.medianMs.toFixed(2)],
  // Our CPU time recording dispatches per iteration, and its share of the median.
  ['encode ms', 12, (m) => (m.encodeMsPerIteration ? `${m.encodeMsPerIteration.toFixed(m.encodeMsPerIteration < 10 ? 2 : 0)} (${((100 * m.encodeMsPerIteration) / m.medianMs).toFixed(0)}%)` : '')],
  ['min ms', 9, (m) => m.minMs.toFixed(2)],
  ['first ms', 9, (m) => m.firstMs.toFixed(0)],
  ['GFLOPS', 8, (m) => (m.gflops ? m.gflops.toFixed(1) : '')],
  ['GB/s', 7, (m) => (m.gbps ? m.gbps.toFixed(1) : '')],
  ['img/s', 8, (m) => (m.imagesPerSecond ? m.imagesPerSecond.toFixed(1) : '')],
  ['naive ms', 9, (m) => (m.naiveMedianMs ? m.naiveMedianMs.toFixed(1) : '')],
  ['speed-up', 9, (m) => (m.speedup ? `${m.speedup.toFixed(1)}x` : '')],
  ['ours/tfjs', 9, (m) => (m.peer && m.name.startsWith('tfjs ') ? `${m.peer.ratio.toFixed(2)}x` : '')],
  ['dispatches', 10, (m) => (m.dispatchesPerIteration !== undefined ? String(m.dispatchesPerIteration) : '')],
  ['memory', 9, (m) => (m.peakBytes ? formatBytes(m.peakBytes) : '')],
];

function printHeader(): void {
  console.log(columns.map(([h, w]) => h.padEnd(w)).join(' '));
  console.log(columns.map(([, w]) => '-'.repeat(w)).join(' '));
}

function printRow(m: Measurement): void {
  console.log(columns.map(([, w, f]) => f(m).padEnd(w)).join(' '));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
