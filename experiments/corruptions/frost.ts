// frost: clip(c0·x + c1·frost) with frost a random crop of one of the first five textures after
// resizing it by the table's factor (cv2.resize INTER_LINEAR, 0.2 for CIFAR-10-C and 0.3 for
// Tiny-ImageNet-C), as the published code does (it draws randint(5) over six files). The resize,
// the per-image texture and crop choice and the blend run on the GPU.
//
// Textures come from the context (loadFrostTextures in frost-node.ts reads the published
// photographs). Without them, frost falls back to procedurally generated textures, which imitate
// the photographs' look (bright, bluish ice needles in fans) but are not them: results then differ
// from the published frost corruption, and a warning says so once per process.
import { gpu } from '../../engine/device.js';
import { randomBits, type Generator } from '../../engine/ops/random.js';
import { empty, scope, tensor, type Tensor } from '../../engine/tensor.js';
import { checkImages, mapsTensor, resampleMaps, roundHalfEven, shade } from './ops.js';
import { atSeverity, parameterTable } from './parameters.js';
import type { Corruption, CorruptionContext } from './types.js';
import { mulberry32 } from '../data/dataset.js';

/** How many of the textures the published code picks among. */
export const FROST_TEXTURES_USED = 5;

export const PROCEDURAL_FROST_NOTE = 'frost: no frost textures given (CorruptionContext.frostTextures); using procedural stand-ins, so frost differs from the published corruption. Load the published photographs with loadFrostTextures(dir).';

function checkTexture(t: Tensor, k: number): [number, number] {
  if (t.dtype !== 'f32' || t.rank !== 3 || t.shape[2] !== 3) throw new Error(`frost: texture ${k} must be an f32 [h, w, 3] tensor, got ${t.describe()}`);
  return [t.shape[0], t.shape[1]];
}

/**
 * The blend with the crop choices given: draws [N, 4] u32 (word 0 picks the texture, words 1, 2 the
 * crop's top and left, each by a multiply-shift range reduction). A texture that would be smaller
 * than the image after the resize is resized just enough to cover it instead.
 */
export function frostWithDraws(images: Tensor, textures: readonly Tensor[], draws: Tensor, imageWeight: number, frostWeight: number, scale: number): Tensor {
  const [, H, W] = checkImages('frost', images);
  if (textures.length === 0) throw new Error('frost: no textures');
  const used = textures.slice(0, FROST_TEXTURES_USED);
  return scope(() => {
    const sizes = used.map((t, k) => {
      const [h, w] = checkTexture(t, k);
      const f = Math.max(scale, H / h, W / w);
      return { f, th: Math.max(H, roundHalfEven(h * f)), tw: Math.max(W, roundHalfEven(w * f)) };
    });
    const total = sizes.reduce((n, s) => n + s.th * s.tw * 3, 0);
    const atlas = empty([total]);
    const info = new Uint32Array(4 * used.length);
    let base = 0;
    used.forEach((t, k) => {
      const { f, th, tw } = sizes[k];
      // cv2.resize(fx = fy = f): source = (dst + ½)/f − ½, edge pixels repeated, uint8 output.
      const maps = mapsTensor([[1 / f, 0, 0.5 / f - 0.5, 0, 1 / f, 0.5 / f - 0.5]]);
      resampleMaps(t.view([1, t.shape[0], t.shape[1], 3]), maps, 1, { boundary: 'clamp', epilogue: 'round8', outH: th, outW: tw, into: { out: atlas, outBase: base } });
      info.set([base, th, tw, 0], 4 * k);
      base += th * tw * 3;
    });
    return shade('frost', images, { atlas, info: tensor(info, [used.length, 4]), draws }, { s0: imageWeight, s1: frostWeight, aux: used.length });
  });
}

/** The stand-ins, made once per device (a device lost and replaced needs its own). */
let procedural: { device: GPUDevice; textures: Tensor[] } | null = null;
let warned = false;

/** The context's textures, or (with a one-time warning) the procedural stand-ins. */
export function frostTexturesFor(ctx: CorruptionContext): readonly Tensor[] {
  if (ctx.frostTextures && ctx.frostTextures.length > 0) return ctx.frostTextures;
  if (!warned) {
    warned = true;
    console.warn(PROCEDURAL_FROST_NOTE);
  }
  if (procedural?.device !== gpu().device) procedural = { device: gpu().device, textures: proceduralFrostTextures().map((t) => t.keep()) };
  return procedural.textures;
}

export function frost(images: Tensor, imageWeight: number, frostWeight: number, scale: number, textures: readonly Tensor[], generator: Generator): Tensor {
  const [N] = checkImages('frost', images);
  return scope(() => frostWithDraws(images, textures, randomBits([N, 4], { generator }), imageWeight, frostWeight, scale));
}

export const frostCorruption: Corruption = {
  name: 'frost',
  gpu: true,
  apply: (x, s, ctx) => {
    const table = parameterTable(ctx.parameters);
    return frost(x, ...atSeverity(table.frost, s), table.frostScale, frostTexturesFor(ctx), ctx.generator);
  },
};

// ---- procedural textures --------------------------------------------------------------------------


/**
 * Procedural frost, made on the host (a one-off input, like the photographs): smooth value noise
 * for the icy haze, then fans of thin dendrites (needles with side needles), a light blur and a cool
 * tint. Not the published textures; see PROCEDURAL_FROST_NOTE. Deterministic for a given seed.
 */
export function proceduralFrostTexture(width: number, height: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const grey = new Float32Array(width * height);
  // Haze: four octaves of bilinear value noise on random lattices.
  for (let octave = 0; octave < 4; octave++) {
    const cell = 96 >> octave;
    const gw = Math.ceil(width / cell) + 2;
    const gh = Math.ceil(height / cell) + 2;
    const lattice = Float32Array.from({ length: gw * gh }, () => random());
    const amplitude = 0.16 / (octave + 1);
    for (let y = 0; y < height; y++) {
      const fy = y / cell;
      const y0 = Math.floor(fy);
      const ty = fy - y0;
      for (let x = 0; x < width; x++) {
        const fx = x / cell;
        const x0 = Math.floor(fx);
        const tx = fx - x0;
        const top = lattice[y0 * gw + x0] * (1 - tx) + lattice[y0 * gw + x0 + 1] * tx;
        const bottom = lattice[(y0 + 1) * gw + x0] * (1 - tx) + lattice[(y0 + 1) * gw + x0 + 1] * tx;
        grey[y * width + x] += amplitude * (top * (1 - ty) + bottom * ty);
      }
    }
  }
  // Base level varies per texture, as the photographs' brightness does (means 0.3 to 0.8).
  const level = 0.3 + 0.25 * random();
  for (let i = 0; i < grey.length; i++) grey[i] += level + 0.06 * (random() - 0.5);
  // Needles: antialiased additive strokes sampled every half pixel, fading towards the tip.
  const stroke = (x0: number, y0: number, angle: number, length: number, intensity: number) => {
    const dx = Math.cos(angle);
    const dy = Math.sin(angle);
    for (let t = 0; t < length; t += 0.5) {
      const fade = intensity * (1 - (0.8 * t) / length);
      const px = x0 + dx * t;
      const py = y0 + dy * t;
      const ix = Math.floor(px);
      const iy = Math.floor(py);
      for (let oy = 0; oy <= 1; oy++)
        for (let ox = 0; ox <= 1; ox++) {
          const x = ix + ox;
          const y = iy + oy;
          if (x < 0 || y < 0 || x >= width || y >= height) continue;
          grey[y * width + x] += 0.5 * fade * (1 - Math.abs(px - x)) * (1 - Math.abs(py - y));
        }
    }
  };
  // Dendrites: a stem with short side needles at a fixed angle on both sides, in fans.
  const dendrite = (x0: number, y0: number, angle: number, length: number, intensity: number) => {
    stroke(x0, y0, angle, length, intensity);
    const spread = 0.5 + 0.5 * random();
    for (let t = 3; t < length; t += 2 + 3 * random()) {
      const side = length * (0.1 + 0.25 * random()) * (1 - t / length);
      const bx = x0 + Math.cos(angle) * t;
      const by = y0 + Math.sin(angle) * t;
      stroke(bx, by, angle + spread, side, intensity * 0.6);
      stroke(bx, by, angle - spread, side, intensity * 0.6);
    }
  };
  const fans = Math.round((width * height) / 900);
  for (let f = 0; f < fans; f++) {
    const cx = random() * width;
    const cy = random() * height;
    const base = random() * 2 * Math.PI;
    const needles = 3 + Math.floor(random() * 8);
    for (let k = 0; k < needles; k++) {
      const length = 6 + random() ** 2 * 70;
      const intensity = (random() < 0.2 ? -0.5 : 1) * (0.05 + random() * 0.2);
      dendrite(cx, cy, base + (random() - 0.5) * 1.6, length, intensity);
    }
  }
  // 3×3 blur against aliasing, then a cool tint.
  const rgb = new Float32Array(width * height * 3);
  const tint = [0.9, 0.95, 1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let acc = 0;
      let n = 0;
      for (let oy = -1; oy <= 1; oy++)
        for (let ox = -1; ox <= 1; ox++) {
          const xx = x + ox;
          const yy = y + oy;
          if (xx < 0 || yy < 0 || xx >= width || yy >= height) continue;
          acc += grey[yy * width + xx] * (ox === 0 && oy === 0 ? 4 : 1);
          n += ox === 0 && oy === 0 ? 4 : 1;
        }
      const v = Math.min(1, Math.max(0, acc / n));
      for (let c = 0; c < 3; c++) rgb[3 * (y * width + x) + c] = Math.min(1, v * tint[c] + 0.04 * (1 - v));
    }
  return rgb;
}

/** Procedural textures (sized like the photographs' sizes vary around 560×315 to 900×600) as f32 [h, w, 3] tensors. */
export function proceduralFrostTextures(count = FROST_TEXTURES_USED, seed = 20190101): Tensor[] {
  const sizes = [[600, 900], [315, 560], [315, 560], [350, 527], [495, 660], [323, 485]];
  return Array.from({ length: count }, (_, k) => {
    const [h, w] = sizes[k % sizes.length];
    const t = tensor(proceduralFrostTexture(w, h, seed + 7919 * k), [h, w, 3]);
    t.name = `procedural frost texture ${k + 1}`;
    return t;
  });
}
