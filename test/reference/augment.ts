// Image conversion and augmentation on the CPU: an explicit zero-padded image, cropped, then flipped.
import { mulhilo, philoxWords } from './philox.js';

/** x·fl(1/255) rounded to f32: one correctly rounded multiply, as the GPU computes it. */
export const byteToFloat = (x: number) => Math.fround(x * Math.fround(1 / 255));

export interface AugmentDraw {
  ox: number;
  oy: number;
  flip: boolean;
}

/**
 * The per-sample draws the engine makes: sample n reads block n of the call (counter offset + n);
 * offsets are ⌊word·(2p+1) / 2^32⌋ (p, the identity crop, when not cropping), flip the top bit of word 2.
 */
export function augmentDrawsRef(seed: bigint, offset: bigint, stream: number, N: number, padding: number, crop: boolean, flip: boolean): AugmentDraw[] {
  const words = philoxWords(seed, offset, stream, 4 * N);
  const span = BigInt(2 * padding + 1);
  const pick = (w: number) => (crop ? mulhilo(span, w)[0] : padding);
  return Array.from({ length: N }, (_, n) => ({ ox: pick(words[4 * n]), oy: pick(words[4 * n + 1]), flip: flip && words[4 * n + 2] >>> 31 === 1 }));
}

export function augmentRef(bytes: Uint8Array, [N, H, W, C]: readonly number[], padding: number, draws: readonly AugmentDraw[]): Float32Array {
  const out = new Float32Array(N * H * W * C);
  const PH = H + 2 * padding;
  const PW = W + 2 * padding;
  for (let n = 0; n < N; n++) {
    const padded = new Float32Array(PH * PW * C);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) padded[((y + padding) * PW + x + padding) * C + c] = byteToFloat(bytes[((n * H + y) * W + x) * C + c]);
      }
    }
    const { ox, oy, flip } = draws[n];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const cx = flip ? W - 1 - x : x;
        for (let c = 0; c < C; c++) out[((n * H + y) * W + x) * C + c] = padded[((y + oy) * PW + cx + ox) * C + c];
      }
    }
  }
  return out;
}
