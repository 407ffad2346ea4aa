// A soak run: many small training steps of the real loop (MNIST, ResNet20, checkpoints into memory,
// an evaluation every epoch), sampling the GPU buffer pool and the process's resident memory. After
// two epochs (warm-up: every buffer shape, pipeline and evaluation has been seen) the pool must stop
// growing and RSS must stay bounded; a leak of one tensor per step shows up as steady growth.
import { runtime } from '../engine/runtime.js';
import { ResNet } from '../models/resnet.js';
import { openDataset } from './datasets.js';
import { NORMALIZATION } from './models.js';
import { MemoryStore } from './io/store.js';
import { train, type TrainConfig } from './train.js';
import type { Measurement } from './bench.js';

export interface SoakSample {
  step: number;
  /** Bytes of every GPU buffer the pool holds (in use or free). */
  poolBytes: number;
  buffersCreated: number;
  rssBytes: number;
}

export interface SoakResult {
  steps: number;
  batchSize: number;
  seconds: number;
  /** Steps of the two warm-up epochs, after which growth is measured. */
  warmupSteps: number;
  samples: SoakSample[];
  poolBytesAfterWarmup: number;
  /** Pool bytes and buffers added after the warm-up (0 when flat). */
  poolGrowth: number;
  buffersCreatedAfterWarmup: number;
  rssAfterWarmup: number;
  /** Largest RSS after the warm-up minus RSS at its end. */
  rssGrowth: number;
}

export interface SoakOptions {
  steps: number;
  batchSize?: number;
  stepsPerEpoch?: number;
  /** A ResNet with one block of widths 4, 8, 16 per stage instead of ResNet20 (cheap for CI). */
  tiny?: boolean;
}

export async function soak(options: SoakOptions): Promise<SoakResult> {
  const batchSize = options.batchSize ?? 8;
  const stepsPerEpoch = Math.min(options.stepsPerEpoch ?? 100, options.steps);
  const epochs = Math.ceil(options.steps / stepsPerEpoch);
  const data = await openDataset('mnist', { limitTrain: stepsPerEpoch * batchSize, limitTest: 64 });
  const config: TrainConfig = {
    model: 'resnet20', shortcut: 'A', data: 'mnist', epochs, batchSize, lr: 0.05, schedule: 'cosine', milestones: [0.5, 0.75], momentum: 0.9,
    weightDecay: 5e-4, nesterov: false, seed: 0, alpha: -1, augmentPadding: 2, augmentFlip: false, limitTrain: stepsPerEpoch * batchSize, limitTest: 64, evalBatchSize: 64,
  };
  const samples: SoakSample[] = [];
  const sample = (step: number) => {
    const pool = runtime().pool.snapshot();
    samples.push({ step, poolBytes: pool.allocatedBytes, buffersCreated: pool.buffersCreated, rssBytes: process.memoryUsage().rss });
  };
  const started = performance.now();
  let done = 0;
  const result = await train(config, {
    store: new MemoryStore('soak'), train: data.train, test: data.test, numClasses: 10, checkpointEvery: 50, logEvery: 10,
    model: options.tiny ? (generator) => new ResNet({ widths: [4, 8, 16], depths: [1, 1, 1], numClasses: 10, shortcut: 'A', ...NORMALIZATION.mnist, init: { generator } }) : undefined,
    progress: (e) => {
      if (e.phase !== 'train') return;
      done = (e.epoch - 1) * stepsPerEpoch + e.step;
      sample(done);
    },
  });
  result.model.dispose();
  sample(done);
  const seconds = (performance.now() - started) / 1000;
  // The warm-up ends with the second epoch and its evaluation: the first sample of epoch 3.
  const warm = samples.findIndex((s) => s.step > 2 * stepsPerEpoch);
  const at = samples[warm < 0 ? samples.length - 1 : warm];
  const after = samples.slice(warm < 0 ? samples.length - 1 : warm);
  return {
    steps: done, batchSize, seconds, warmupSteps: 2 * stepsPerEpoch, samples,
    poolBytesAfterWarmup: at.poolBytes,
    poolGrowth: Math.max(...after.map((s) => s.poolBytes)) - at.poolBytes,
    buffersCreatedAfterWarmup: after[after.length - 1].buffersCreated - at.buffersCreated,
    rssAfterWarmup: at.rssBytes,
    rssGrowth: Math.max(...after.map((s) => s.rssBytes)) - at.rssBytes,
  };
}

/** `bench --only soak`: 2,000 steps, reported as one row. */
export async function soakRow(add: (m: Omit<Measurement, 'adapter' | 'date' | 'version'>) => unknown): Promise<void> {
  const r = await soak({ steps: 2000 });
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  add({
    name: 'soak: ResNet20 training',
    shape: `${r.steps} steps, batch ${r.batchSize}: pool ${mib(r.poolBytesAfterWarmup)} ${r.poolGrowth === 0 ? 'flat' : `+${mib(r.poolGrowth)}`}, RSS +${mib(r.rssGrowth)}`,
    firstMs: 0, medianMs: (1000 * r.seconds) / r.steps, minMs: (1000 * r.seconds) / r.steps, imagesPerSecond: (r.steps * r.batchSize) / r.seconds, peakBytes: r.poolBytesAfterWarmup,
  });
}
