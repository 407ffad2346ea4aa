// The page's link to the robustness code: corruptions (experiments/corruptions) and attacks
// (experiments/attacks.ts). Everything the page needs from them goes through this file.
import type { Generator } from '../engine/ops/random.js';
import { tensor, type Tensor } from '../engine/tensor.js';
import { attackBatch, resolveAttack, type AttackNorm } from '../experiments/attacks.js';
import { FROST_FILES, frostTexturesFrom } from '../experiments/corruptions/frost-textures.js';
import { corrupt } from '../experiments/corruptions/index.js';
import { CORRUPTION_NAMES, type CorruptionName, type ParameterSet } from '../experiments/corruptions/types.js';
import { createJpegDecoder, JPEG_WASM_FILE } from '../experiments/io/jpeg.js';
import type { ResNet } from '../models/resnet.js';
import { urlSource } from './io/files.js';

export { CORRUPTION_NAMES, type CorruptionName };

/** zlib inflate with the browser's DecompressionStream ('deflate' is the zlib format PNG uses). */
async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

let frostTextures: Promise<Tensor[] | undefined> | null = null;

/**
 * The published frost photographs, fetched from the page's server (`npm run serve` serves data/frost
 * at frost/) and decoded as Node decodes them (libjpeg-turbo for the JPEGs), once per page. If they
 * cannot be had, frost falls back to its procedural stand-ins and the console says why.
 */
export function pageFrostTextures(): Promise<Tensor[] | undefined> {
  frostTextures ??= (async () => {
    const jpeg = await createJpegDecoder(await urlSource(JPEG_WASM_FILE).bytes());
    const files = await Promise.all(FROST_FILES.map(async (name) => ({ name, bytes: await urlSource(`frost/${name}`).bytes() })));
    return (await frostTexturesFrom(files, { jpeg, inflate })).map((t) => t.keep());
  })().catch((e: Error) => {
    console.warn(`frost: the published textures could not be loaded (${e.message}); frost uses procedural stand-ins`);
    return undefined;
  });
  return frostTextures;
}

/** One corrupted copy of an f32 NHWC [1, H, W, 3] image in [0, 1]. */
export async function corruptImage(image: Tensor, name: CorruptionName, severity: number, generator: Generator, parameters: ParameterSet = 'cifar10'): Promise<Tensor> {
  const frost = name === 'frost' ? await pageFrostTextures() : undefined;
  return corrupt(image, name, severity, { generator, parameters, ...(frost ? { frostTextures: frost } : {}) });
}

export interface PgdResult {
  adversarial: Float32Array;
  cleanPredicted: number;
  adversarialPredicted: number;
}

/** PGD on one image (f32 NHWC [1, H, W, 3] in [0, 1]) with its true label. */
export async function pgdImage(model: ResNet, image: Float32Array, shape: number[], label: number, options: { norm: AttackNorm; eps: number; steps: number }, generator: Generator): Promise<PgdResult> {
  const attack = resolveAttack({ norm: options.norm, eps: options.eps, steps: options.steps });
  const clean = tensor(image, shape);
  const labels = tensor(Int32Array.of(label));
  const result = attackBatch(model, clean, labels, attack, generator);
  const [adversarial, predicted, cleanPredicted] = await Promise.all([result.adversarial.toArray(), result.predicted.toArray(), result.cleanPredicted.toArray()]);
  [result.adversarial, result.correct, result.predicted, result.cleanCorrect, result.cleanPredicted, clean, labels].forEach((t) => t.dispose());
  return { adversarial: adversarial as Float32Array, cleanPredicted: cleanPredicted[0], adversarialPredicted: predicted[0] };
}
