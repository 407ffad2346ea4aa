// Checkpoints in safetensors: the model's state dict under PyTorch's names and layouts, the SGD
// momentum buffers as `optimizer.momentum_buffer.<param>`, and in __metadata__ the training position
// (epoch, batch, step), random-generator states and the run's configuration, so a run resumes
// exactly where it stopped. The metadata also says what a user of the file alone needs to run the
// model elsewhere (docs/pytorch.md): `input_mean` and `input_std` (JSON arrays; the model takes RGB
// pixels in [0, 1] and computes (x − mean) / std itself, so PyTorch code must do that first),
// `num_classes`, and `class_names` (a JSON array) when the dataset names its classes.
import { inversePermutation, permute, type HostTensor, type Module } from '../engine/nn.js';
import type { GeneratorState } from '../engine/ops/random.js';
import type { SGD } from '../engine/optim.js';
import { runtime } from '../engine/runtime.js';
import { empty } from '../engine/tensor.js';
import { ResNet } from '../models/resnet.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './io/safetensors.js';

export const CHECKPOINT_FORMAT = 'selectivity-webgpu/checkpoint@1';
const MOMENTUM_PREFIX = 'optimizer.momentum_buffer.';

export interface TrainingPosition {
  /** Epochs completed, and batches completed within the current epoch. */
  epoch: number;
  batch: number;
  /** Optimizer steps taken in total. */
  globalStep: number;
  generators: Record<string, GeneratorState>;
  /** Running sums of the current epoch's training metrics, so a resumed epoch reports the same totals. */
  epochTotals?: { loss: number; correct: number; selectivity: number; seen: number };
}

/** How to feed the model and read its outputs, from the file alone. */
export interface ModelInterface {
  /** Per-channel mean and std of RGB pixels in [0, 1]. */
  mean: number[];
  std: number[];
  numClasses: number;
  classNames: string[] | null;
}

export interface DecodedCheckpoint {
  tensors: Record<string, SafetensorsTensor>;
  position: TrainingPosition | null;
  config: Record<string, unknown> | null;
  /** Null for files written before the interface was recorded. */
  interface: ModelInterface | null;
  metadata: Record<string, string>;
}

/** A float tensor holds NaN or ±Infinity (weights that must never be saved or loaded). */
export class NonFiniteTensorError extends Error {
  constructor(readonly tensorName: string, readonly index: number, readonly value: number, source: string) {
    super(`${source}: tensor '${tensorName}' holds ${value} at element ${index}`);
    this.name = 'NonFiniteTensorError';
  }
}

/** Throws NonFiniteTensorError for the first F32 element that is NaN or infinite. */
export function checkFinite(tensors: Record<string, { dtype: string; data: ArrayLike<number | bigint> }>, source: string): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'F32') continue;
    const data = t.data as Float32Array;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new NonFiniteTensorError(name, i, data[i], source);
  }
}

/**
 * Encodes a checkpoint; refuses (NonFiniteTensorError) weights or momenta that are not finite.
 * `classNames` (the dataset's, in label order) is recorded, when there is one a class, with the
 * model's normalisation and class count.
 */
export async function encodeCheckpoint(model: Module, optimizer: SGD | null, position: TrainingPosition | null, config: object, classNames?: readonly string[]): Promise<Uint8Array> {
  const tensors: Record<string, HostTensor> = await model.exportState();
  if (optimizer) {
    for (const [name, p] of model.namedParameters()) {
      const buffer = optimizer.momentumBuffer(p);
      if (!buffer) continue;
      const data = (await buffer.toArray()) as Float32Array;
      const perm = model.torchPermutationOf(p);
      tensors[MOMENTUM_PREFIX + name] = perm ? permute(data, [...p.shape], perm) : { dtype: 'F32', shape: [...p.shape], data };
    }
  }
  checkFinite(tensors, 'checkpoint');
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, config: JSON.stringify(config) };
  if (position) metadata.position = JSON.stringify(position);
  if (model instanceof ResNet) {
    const { mean, std, numClasses } = model.config;
    Object.assign(metadata, { input_mean: JSON.stringify(mean), input_std: JSON.stringify(std), num_classes: String(numClasses) });
    if (classNames?.length === numClasses) metadata.class_names = JSON.stringify(classNames);
  }
  return encodeSafetensors(tensors as Record<string, SafetensorsTensor>, metadata);
}

export function decodeCheckpoint(bytes: Uint8Array, source: string): DecodedCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const parse = (key: string) => {
    if (metadata[key] === undefined) return null;
    try {
      return JSON.parse(metadata[key]);
    } catch {
      throw new Error(`${source}: __metadata__.${key} is not valid JSON`);
    }
  };
  const position = parse('position') as TrainingPosition | null;
  const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (position !== null && !(typeof position === 'object' && count(position.epoch) && count(position.batch) && count(position.globalStep) && typeof position.generators === 'object' && position.generators !== null)) {
    throw new Error(`${source}: __metadata__.position is not a training position (epoch, batch, globalStep, generators)`);
  }
  const config = parse('config');
  if (config !== null && (typeof config !== 'object' || Array.isArray(config))) throw new Error(`${source}: __metadata__.config is not an object`);
  const mean = parse('input_mean');
  const std = parse('input_std');
  const names = parse('class_names');
  const numClasses = Number(metadata.num_classes);
  let described: ModelInterface | null = null;
  if (mean !== null || std !== null || metadata.num_classes !== undefined) {
    const vector = (v: unknown) => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!vector(mean) || !vector(std) || (std as number[]).some((x) => x <= 0)) throw new Error(`${source}: __metadata__ input_mean/input_std must be 3 finite numbers each (std > 0), got ${metadata.input_mean} / ${metadata.input_std}`);
    if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`${source}: __metadata__.num_classes must be a positive integer, got '${metadata.num_classes}'`);
    if (names !== null && (!Array.isArray(names) || names.length !== numClasses || !names.every((n) => typeof n === 'string'))) throw new Error(`${source}: __metadata__.class_names must list ${numClasses} strings`);
    described = { mean: mean as number[], std: std as number[], numClasses, classNames: names as string[] | null };
  }
  return { tensors, position, config, interface: described, metadata };
}

/** Loads model weights (strictly) and, when given, the optimizer's momentum buffers; refuses NaN or ±Infinity. */
export function restoreCheckpoint(checkpoint: DecodedCheckpoint, model: Module, optimizer: SGD | null, source: string): void {
  checkFinite(checkpoint.tensors, source);
  const modelState: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(checkpoint.tensors)) {
    if (name.startsWith(MOMENTUM_PREFIX)) continue;
    if (t.dtype !== 'F32' && t.dtype !== 'I64') throw new Error(`${source}: tensor '${name}' has dtype ${t.dtype}, expected F32 (or I64 for counters)`);
    modelState[name] = t as HostTensor;
  }
  model.importState(modelState, { source });
  if (!optimizer) return;
  for (const [name, p] of model.namedParameters()) {
    const saved = checkpoint.tensors[MOMENTUM_PREFIX + name];
    if (!saved) continue;
    const perm = model.torchPermutationOf(p);
    const torchShape = perm ? perm.map((a) => p.shape[a]) : [...p.shape];
    if (saved.dtype !== 'F32' || saved.shape.join() !== torchShape.join()) {
      throw new Error(`${source}: '${MOMENTUM_PREFIX}${name}' is ${saved.dtype} [${saved.shape}], expected F32 [${torchShape}]`);
    }
    const data = perm ? (permute(saved.data as Float32Array, torchShape, inversePermutation(perm)).data as Float32Array) : (saved.data as Float32Array);
    const buffer = empty(p.shape);
    runtime().upload(buffer.range, data);
    optimizer.setMomentumBuffer(p, buffer);
  }
}
