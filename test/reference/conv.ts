// Direct-loop 2-D convolution references (NHWC activations, HWIO weights) in float64, each with
// Σ|products| per output for the dot-product error bound.
import type { RefResult } from './matmul.js';

export interface ConvShape {
  N: number; H: number; W: number; Ci: number; Co: number;
  KH: number; KW: number;
  sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
}

export function outSize(s: ConvShape): [number, number] {
  return [Math.floor((s.H + 2 * s.ph - s.dh * (s.KH - 1) - 1) / s.sh) + 1, Math.floor((s.W + 2 * s.pw - s.dw * (s.KW - 1) - 1) / s.sw) + 1];
}

/** Calls visit(xIndex, wIndex, yIndex) for every multiply-add of the convolution. */
function forEachTap(s: ConvShape, visit: (xi: number, wi: number, yi: number) => void): void {
  const [Ho, Wo] = outSize(s);
  for (let n = 0; n < s.N; n++)
    for (let ho = 0; ho < Ho; ho++)
      for (let wo = 0; wo < Wo; wo++)
        for (let kh = 0; kh < s.KH; kh++) {
          const h = ho * s.sh - s.ph + kh * s.dh;
          if (h < 0 || h >= s.H) continue;
          for (let kw = 0; kw < s.KW; kw++) {
            const w = wo * s.sw - s.pw + kw * s.dw;
            if (w < 0 || w >= s.W) continue;
            for (let ci = 0; ci < s.Ci; ci++)
              for (let co = 0; co < s.Co; co++) {
                visit(((n * s.H + h) * s.W + w) * s.Ci + ci, ((kh * s.KW + kw) * s.Ci + ci) * s.Co + co, ((n * Ho + ho) * Wo + wo) * s.Co + co);
              }
          }
        }
}

export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, s: ConvShape, bias?: ArrayLike<number>): RefResult {
  const [Ho, Wo] = outSize(s);
  const value = new Float64Array(s.N * Ho * Wo * s.Co);
  const absSum = new Float64Array(value.length);
  forEachTap(s, (xi, wi, yi) => {
    const p = x[xi] * w[wi];
    value[yi] += p;
    absSum[yi] += Math.abs(p);
  });
  if (bias) for (let i = 0; i < value.length; i++) {
    value[i] += bias[i % s.Co];
    absSum[i] += Math.abs(bias[i % s.Co]);
  }
  return { value, absSum };
}

export function conv2dDataGradRef(dy: ArrayLike<number>, w: ArrayLike<number>, s: ConvShape): RefResult {
  const value = new Float64Array(s.N * s.H * s.W * s.Ci);
  const absSum = new Float64Array(value.length);
  forEachTap(s, (xi, wi, yi) => {
    const p = dy[yi] * w[wi];
    value[xi] += p;
    absSum[xi] += Math.abs(p);
  });
  return { value, absSum };
}

export function conv2dWeightGradRef(x: ArrayLike<number>, dy: ArrayLike<number>, s: ConvShape): RefResult {
  const value = new Float64Array(s.KH * s.KW * s.Ci * s.Co);
  const absSum = new Float64Array(value.length);
  forEachTap(s, (xi, wi, yi) => {
    const p = x[xi] * dy[yi];
    value[wi] += p;
    absSum[wi] += Math.abs(p);
  });
  return { value, absSum };
}
