// Corruption augmentation (docs/robust-training.md): each training sample, with probability p, gets
// a corruption drawn uniformly from the configured set at a severity drawn uniformly from 1–5,
// made by the evaluation's GPU kernels (experiments/corruptions) and quantised to 8 bits as the
// evaluation sets are. The kernels take one severity per call, so the batch is reordered on the
// host to put the samples of each (corruption, severity) next to each other; each such group is
// corrupted as one slice and written back in place. Reordering a batch changes nothing a step
// computes (the loss, batch statistics and SI are means over the batch).
import { noGrad } from '../../engine/autograd.js';
import type { Generator } from '../../engine/ops/random.js';
import { slice } from '../../engine/ops/shape.js';
import { runtime } from '../../engine/runtime.js';
import { scope, type Tensor } from '../../engine/tensor.js';
import { corruptNow, quantize } from '../corruptions/index.js';
import { defaultParameterSet } from '../corruptions/parameters.js';
import type { CorruptionName } from '../corruptions/types.js';
import { mulberry32 } from '../data/dataset.js';
import type { AugmentCorruptionsConfig } from './spec.js';

export interface CorruptionGroup {
  name: CorruptionName;
  severity: number;
  /** First row of the group in the reordered batch, and its size. */
  start: number;
  count: number;
}

export interface CorruptionPlan {
  /** Row r of the reordered batch is sample order[r] of the original one: clean samples first. */
  order: number[];
  groups: CorruptionGroup[];
}

/**
 * Host randomness for one batch's choices, derived from the next Philox block of `generator` (so a
 * checkpointed generator state makes a resumed run choose the same).
 */
export function batchRandom(generator: Generator): () => number {
  const { key0, key1, ctrLo, ctrHi, stream } = generator.reserve(1);
  return mulberry32(key0 ^ Math.imul(key1, 0x27d4eb2f) ^ Math.imul(ctrLo, 0x9e3779b1) ^ Math.imul(ctrHi, 0x165667b1) ^ Math.imul(stream, 0x85ebca6b));
}

/** Which samples get which (corruption, severity), as contiguous groups of a reordered batch. */
export function planCorruptions(count: number, config: AugmentCorruptionsConfig, random: () => number): CorruptionPlan {
  const { corruptions, p } = config;
  const cells = new Map<string, { name: CorruptionName; severity: number; rows: number[] }>();
  const clean: number[] = [];
  for (let n = 0; n < count; n++) {
    if (random() >= p) {
      clean.push(n);
      continue;
    }
    const name = corruptions[Math.min(corruptions.length - 1, Math.floor(random() * corruptions.length))];
    const severity = 1 + Math.min(4, Math.floor(random() * 5));
    const key = `${name}/${severity}`;
    if (!cells.has(key)) cells.set(key, { name, severity, rows: [] });
    cells.get(key)!.rows.push(n);
  }
  const order = [...clean];
  const groups: CorruptionGroup[] = [];
  for (const { name, severity, rows } of cells.values()) {
    groups.push({ name, severity, start: order.length, count: rows.length });
    order.push(...rows);
  }
  return { order, groups };
}

/** A batch's images (uint8 NHWC) and labels in the plan's order. */
export function reorderBatch(batch: { images: Uint8Array; labels: Int32Array; count: number }, order: readonly number[]): { images: Uint8Array; labels: Int32Array; count: number } {
  const pixels = batch.images.length / batch.count;
  const images = new Uint8Array(batch.images.length);
  const labels = new Int32Array(batch.count);
  order.forEach((from, to) => {
    images.set(batch.images.subarray(from * pixels, (from + 1) * pixels), to * pixels);
    labels[to] = batch.labels[from];
  });
  return { images, labels, count: batch.count };
}

/**
 * Corrupts the plan's groups of x (f32 [N, H, W, 3] in [0, 1], already in the plan's order) in
 * place, drawing the corruptions' randomness from `generator`. Returns x.
 */
export function applyCorruptionPlan(x: Tensor, plan: CorruptionPlan, generator: Generator): Tensor {
  const [, H, W, C] = x.shape;
  const rowBytes = H * W * C * 4;
  const ctx = { generator, parameters: defaultParameterSet(H, W) };
  noGrad(() => {
    for (const g of plan.groups) {
      scope(() => {
        const y = quantize(corruptNow(slice(x, [g.start, 0, 0, 0], [g.count, H, W, C]), g.name, g.severity, ctx));
        const target = x.range;
        runtime().copy(y.range, { ...target, offset: target.offset + g.start * rowBytes, size: g.count * rowBytes }, g.count * rowBytes);
      });
    }
  });
  return x;
}
