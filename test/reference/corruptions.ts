// Float64 CPU references for the corruptions, written from the published Python (make_cifar_c.py /
// make_tinyimagenet_c.py) and the library routines it calls (scipy.ndimage, skimage, OpenCV,
// ImageMagick, PIL), loop by loop as those libraries define them, independent of the GPU code.
// Images are NHWC arrays; random inputs are given (or regenerated with the CPU Philox).
import { mulhilo, philox4x32 } from './philox.js';

export type Shape4 = readonly [number, number, number, number];
type Arr = ArrayLike<number>;

const idx = ([, H, W, C]: Shape4, n: number, y: number, x: number, c: number) => ((n * H + y) * W + x) * C + c;

/** Border folds: scipy 'nearest' / 'reflect' (half-sample), OpenCV BORDER_REFLECT_101. */
export function foldRef(i: number, n: number, mode: 'nearest' | 'reflect' | 'reflect101'): number {
  if (mode === 'nearest') return Math.min(n - 1, Math.max(0, i));
  if (mode === 'reflect') {
    // ... d c b a | a b c d | d c b a ...
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - 1 - i;
    return i;
  }
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** scipy.ndimage.gaussian_filter over axes 1 and 2 (H then W) of NHWC, σ = 0 skipped. */
export function gaussianFilterRef(x: Arr, shape: Shape4, sigma: number, truncate = 4, mode: 'nearest' | 'reflect' = 'nearest'): Float64Array {
  const [N, H, W, C] = shape;
  let cur = Float64Array.from(x);
  if (sigma <= 1e-15) return cur;
  const r = Math.floor(truncate * sigma + 0.5);
  const w = Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp((-0.5 / (sigma * sigma)) * (k - r) ** 2));
  const s = w.reduce((a, b) => a + b, 0);
  for (const axis of [1, 2]) {
    const next = new Float64Array(cur.length);
    for (let n = 0; n < N; n++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++)
          for (let c = 0; c < C; c++) {
            let acc = 0;
            for (let k = -r; k <= r; k++) {
              const yy = axis === 1 ? foldRef(y + k, H, mode) : y;
              const xs = axis === 2 ? foldRef(xx + k, W, mode) : xx;
              acc += (w[k + r] / s) * cur[idx(shape, n, yy, xs, c)];
            }
            next[idx(shape, n, y, xx, c)] = acc;
          }
    cur = next;
  }
  return cur;
}

const clip01 = (v: number) => Math.min(1, Math.max(0, v));
/** np.uint8(x·255) of x in [0, 1] (truncation), back to [0, 1]. */
export const trunc8 = (v: number) => Math.floor(clip01(v) * 255) / 255;
/** An 8-bit image file's rounding. */
export const round8 = (v: number) => Math.floor(clip01(v) * 255 + 0.5) / 255;

// ---- blurs ------------------------------------------------------------------------------------------

/** cv2.filter2D(x, -1, disk(radius, alias_blur)) with the whole 2-D kernels, reflect-101. */
export function defocusRef(x: Arr, shape: Shape4, radius: number, aliasBlur: number): Float64Array {
  const [N, H, W, C] = shape;
  const L = 8;
  const n = 2 * L + 1;
  const disk: number[][] = [];
  let count = 0;
  for (let i = 0; i < n; i++) {
    disk.push([]);
    for (let j = 0; j < n; j++) {
      const inside = (i - L) ** 2 + (j - L) ** 2 <= radius * radius ? 1 : 0;
      disk[i].push(inside);
      count += inside;
    }
  }
  const g = [-1, 0, 1].map((t) => Math.exp(-(t * t) / (2 * aliasBlur * aliasBlur)));
  const gs = g[0] + g[1] + g[2];
  const kernel: number[][] = [];
  for (let i = 0; i < n; i++) {
    kernel.push([]);
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) acc += ((g[a + 1] * g[b + 1]) / (gs * gs)) * (disk[foldRef(i + a, n, 'reflect101')][foldRef(j + b, n, 'reflect101')] / count);
      kernel[i].push(acc);
    }
  }
  const out = new Float64Array(x.length);
  for (let b = 0; b < N; b++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) acc += kernel[i][j] * x[idx(shape, b, foldRef(y + i - L, H, 'reflect101'), foldRef(xx + j - L, W, 'reflect101'), c)];
          out[idx(shape, b, y, xx, c)] = clip01(acc);
        }
  return out;
}

/**
 * ImageMagick MotionBlurImage on each image (angle in degrees), edge virtual pixels, then the
 * 8-bit PNG the published code reads back, whose levels ImageMagick truncates (the value before
 * that is returned too, for rounding margins).
 */
export function motionRef(x: Arr, shape: Shape4, angles: Arr, radius: number, sigma: number): { out: Float64Array; raw: Float64Array } {
  const [N, H, W, C] = shape;
  const width = 2 * Math.ceil(radius) + 1;
  const kernel = Array.from({ length: width }, (_, i) => Math.exp(-(i * i) / (2 * sigma * sigma)) / (Math.sqrt(2 * Math.PI) * sigma));
  const norm = kernel.reduce((a, b) => a + b, 0);
  const raw = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    const px = width * Math.sin((Math.PI * angles[n]) / 180);
    const py = width * Math.cos((Math.PI * angles[n]) / 180);
    const h = Math.hypot(px, py);
    const offsets = kernel.map((_, i) => [Math.ceil((i * py) / h - 0.5), Math.ceil((i * px) / h - 0.5)]);
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          offsets.forEach(([ox, oy], i) => (acc += (kernel[i] / norm) * x[idx(shape, n, foldRef(y + oy, H, 'nearest'), foldRef(xx + ox, W, 'nearest'), c)]));
          raw[idx(shape, n, y, xx, c)] = acc;
        }
  }
  return { out: raw.map(trunc8), raw };
}

const pyRound = (v: number) => {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

/** scipy.ndimage.zoom(order=1) of one [h, w] plane by z, then the published clipped_zoom crop/trim. */
function clippedZoomPlane(plane: Float64Array, S: number, z: number): Float64Array {
  const ch = Math.ceil(S / z);
  const top = Math.floor((S - ch) / 2);
  const crop = (r: number, c: number) => plane[(top + r) * S + top + c];
  const out = pyRound(ch * z);
  const ratio = out > 1 ? (ch - 1) / (out - 1) : 0;
  const trim = Math.floor((out - S) / 2);
  const res = new Float64Array(S * S);
  for (let i = 0; i < S; i++)
    for (let j = 0; j < S; j++) {
      const sy = (trim + i) * ratio;
      const sx = (trim + j) * ratio;
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, ch - 1);
      const x1 = Math.min(x0 + 1, ch - 1);
      const ty = sy - y0;
      const tx = sx - x0;
      res[i * S + j] = (1 - ty) * ((1 - tx) * crop(y0, x0) + tx * crop(y0, x1)) + ty * ((1 - tx) * crop(y1, x0) + tx * crop(y1, x1));
    }
  return res;
}

function planes(x: Arr, shape: Shape4, fn: (plane: Float64Array, n: number, c: number) => Float64Array): Float64Array {
  const [N, H, W, C] = shape;
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const p = new Float64Array(H * W);
      for (let i = 0; i < H * W; i++) p[i] = x[(n * H * W + i) * C + c];
      const r = fn(p, n, c);
      for (let i = 0; i < H * W; i++) out[(n * H * W + i) * C + c] = r[i];
    }
  return out;
}

/** zoom_blur on square images: (x + Σ clipped_zoom(x, z) over np.arange(1, stop, 0.01)) / (K + 1). */
export function zoomBlurRef(x: Arr, shape: Shape4, stop: number): Float64Array {
  const S = shape[1];
  const factors: number[] = [];
  // NumPy fills arange as start + i·((start + step) − start).
  for (let i = 0; i < Math.ceil((stop - 1) / 0.01); i++) factors.push(1 + i * (1 + 0.01 - 1));
  return planes(x, shape, (p) => {
    const acc = Float64Array.from(p);
    for (const z of factors) clippedZoomPlane(p, S, z).forEach((v, i) => (acc[i] += v));
    return acc.map((v) => clip01(v / (factors.length + 1)));
  });
}

/** Philox words of draw(i, j) in the corruption kernels: counter (offset + i, stream, j). */
export function drawRef(seed: bigint, offset: bigint, stream: number, i: number, j: number): Uint32Array {
  const ctr = offset + BigInt(i);
  return philox4x32([Number(ctr & 0xffffffffn), Number(ctr >> 32n), stream, j], [Number(seed & 0xffffffffn), Number(seed >> 32n)]);
}

/**
 * glass_blur as published: gaussian, uint8, then for each iteration the sequential loop over
 * h = H−δ…δ+1, w = W−δ…δ+1 of `x[h,w], x[h',w'] = x[h',w'], x[h,w]` with NumPy view semantics
 * (x[h,w] takes x[h',w']'s pixel; x[h',w'] keeps its own), then gaussian and clip. (dx, dy) come
 * from the kernels' Philox layout: block (offset + pixel, stream, iteration), words 0 and 1.
 */
export function glassBlurRef(x: Arr, shape: Shape4, sigma: number, delta: number, iterations: number, rng: { seed: bigint; offset: bigint; stream: number }): Float64Array {
  const [N, H, W, C] = shape;
  const img = gaussianFilterRef(x, shape, sigma).map(trunc8);
  const span = BigInt(2 * delta);
  for (let it = 0; it < iterations; it++)
    for (let n = 0; n < N; n++)
      for (let h = H - delta; h > delta; h--)
        for (let w = W - delta; w > delta; w--) {
          const r = drawRef(rng.seed, rng.offset, rng.stream, n * H * W + h * W + w, it);
          const dx = mulhilo(span, r[0])[0] - delta;
          const dy = mulhilo(span, r[1])[0] - delta;
          for (let c = 0; c < C; c++) img[idx(shape, n, h, w, c)] = img[idx(shape, n, h + dy, w + dx, c)];
        }
  return gaussianFilterRef(img, shape, sigma).map(clip01);
}

// ---- weather ----------------------------------------------------------------------------------------

/**
 * The published plasma_fractal(mapsize M, wibbledecay) for image n with np.roll written out; the
 * uniform of point (r, c) is word p mod 4 of block ⌊p/4⌋, p = (n·M + r)·M + c. Normalised to [0, 1].
 */
export function plasmaRef(n: number, M: number, decay: number, rng: { seed: bigint; offset: bigint; stream: number }): Float64Array {
  const map = new Float64Array(M * M);
  const at = (r: number, c: number) => map[(((r % M) + M) % M) * M + (((c % M) + M) % M)];
  let wibble = 100;
  const wibbled = (sum: number, r: number, c: number) => {
    const p = (n * M + r) * M + c;
    const u = (drawRef(rng.seed, rng.offset, rng.stream, Math.floor(p / 4), 0)[p % 4] >>> 8) * 2 ** -24;
    return sum / 4 + wibble * (-wibble + 2 * wibble * u);
  };
  for (let s = M; s >= 2; s /= 2) {
    const h = s / 2;
    for (let r = h; r < M; r += s) for (let c = h; c < M; c += s) map[r * M + c] = wibbled(at(r - h, c - h) + at(r + h, c - h) + at(r - h, c + h) + at(r + h, c + h), r, c);
    const next = Float64Array.from(map);
    for (let r = 0; r < M; r += s) for (let c = h; c < M; c += s) next[r * M + c] = wibbled(at(r - h, c) + at(r + h, c) + at(r, c - h) + at(r, c + h), r, c);
    for (let r = h; r < M; r += s) for (let c = 0; c < M; c += s) next[r * M + c] = wibbled(at(r, c - h) + at(r, c + h) + at(r - h, c) + at(r + h, c), r, c);
    map.set(next);
    wibble /= decay;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return map.map((v) => (v - lo) / (hi - lo));
}

export function fogRef(x: Arr, shape: Shape4, strength: number, decay: number, rng: { seed: bigint; offset: bigint; stream: number }): Float64Array {
  const [N, H, W, C] = shape;
  const M = Math.max(2, 2 ** Math.ceil(Math.log2(Math.max(H, W))));
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    const f = plasmaRef(n, M, decay, rng);
    let mx = -Infinity;
    for (let i = n * H * W * C; i < (n + 1) * H * W * C; i++) mx = Math.max(mx, x[i]);
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let c = 0; c < C; c++) {
          const i = idx(shape, n, y, xx, c);
          out[i] = clip01(((x[i] + strength * f[y * M + xx]) * mx) / (mx + strength));
        }
  }
  return out;
}

/** cv2.resize(tex, (0, 0), fx = f, fy = f) with INTER_LINEAR on an RGB [h, w, 3] texture, 8-bit result. */
export function cvResizeRef(tex: Arr, h: number, w: number, f: number): { data: Float64Array; raw: Float64Array; h: number; w: number } {
  const oh = pyRound(h * f);
  const ow = pyRound(w * f);
  const coord = (d: number, size: number): [number, number] => {
    const s = (d + 0.5) / f - 0.5;
    let i = Math.floor(s);
    let t = s - i;
    if (i < 0) [i, t] = [0, 0];
    if (i >= size - 1) [i, t] = [size - 1, 0];
    return [i, t];
  };
  const data = new Float64Array(oh * ow * 3);
  const raw = new Float64Array(oh * ow * 3);
  for (let y = 0; y < oh; y++) {
    const [sy, ty] = coord(y, h);
    for (let x = 0; x < ow; x++) {
      const [sx, tx] = coord(x, w);
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => tex[(Math.min(yy, h - 1) * w + Math.min(xx, w - 1)) * 3 + c];
        const v = (1 - ty) * ((1 - tx) * p(sy, sx) + tx * p(sy, sx + 1)) + ty * ((1 - tx) * p(sy + 1, sx) + tx * p(sy + 1, sx + 1));
        raw[(y * ow + x) * 3 + c] = v;
        data[(y * ow + x) * 3 + c] = round8(v);
      }
    }
  }
  return { data, raw, h: oh, w: ow };
}

/**
 * frost with given choices: draws[4n..4n+2] pick the texture (among the first five) and the crop.
 * `texture` holds each output's resized texture value before its 8-bit rounding.
 */
export function frostRef(x: Arr, shape: Shape4, textures: { data: Arr; h: number; w: number }[], draws: Uint32Array, c0: number, c1: number, scale: number): { out: Float64Array; texture: Float64Array } {
  const [N, H, W, C] = shape;
  const used = textures.slice(0, 5).map((t) => cvResizeRef(t.data, t.h, t.w, scale));
  const out = new Float64Array(x.length);
  const texture = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    const t = used[mulhilo(BigInt(used.length), draws[4 * n])[0]];
    const top = mulhilo(BigInt(t.h - H), draws[4 * n + 1])[0];
    const left = mulhilo(BigInt(t.w - W), draws[4 * n + 2])[0];
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let c = 0; c < C; c++) {
          const i = idx(shape, n, y, xx, c);
          out[i] = clip01(c0 * x[i] + c1 * t.data[((top + y) * t.w + left + xx) * 3 + c]);
          texture[i] = t.raw[((top + y) * t.w + left + xx) * 3 + c];
        }
  }
  return { out, texture };
}

/** snow with given noise [N, H, W] (already N(mean, std)) and angles. */
export function snowRef(x: Arr, shape: Shape4, noise: Arr, angles: Arr, p: readonly number[]): Float64Array {
  const [N, H, W, C] = shape;
  const [, , zoom, threshold, radius, sigma, blend] = p;
  const layerShape: Shape4 = [N, H, W, 1];
  const zoomed = planes(noise, layerShape, (plane) => clippedZoomPlane(plane, H, zoom)).map((v) => trunc8(v < threshold ? 0 : v));
  const layer = motionRef(zoomed, layerShape, angles, radius, sigma).out;
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        const i = idx(shape, n, y, xx, 0);
        const grey = 0.299 * x[i] + 0.587 * x[i + 1] + 0.114 * x[i + 2];
        const s = layer[(n * H + y) * W + xx] + layer[(n * H + H - 1 - y) * W + W - 1 - xx];
        for (let c = 0; c < C; c++) out[i + c] = clip01(blend * x[i + c] + (1 - blend) * Math.max(x[i + c], grey * 1.5 + 0.5) + s);
      }
  return out;
}

// ---- spatter: OpenCV routines on one 8-bit plane -----------------------------------------------------

/** cv2.Canny(img, low, high), aperture 3, L1 gradient; returns 255 on edges. */
export function cannyRef(img: Uint8Array, H: number, W: number, low: number, high: number): Uint8Array {
  const p = (y: number, x: number) => img[Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))];
  const dx = new Int32Array(H * W);
  const dy = new Int32Array(H * W);
  const mag = new Int32Array(H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      dx[y * W + x] = p(y - 1, x + 1) + 2 * p(y, x + 1) + p(y + 1, x + 1) - p(y - 1, x - 1) - 2 * p(y, x - 1) - p(y + 1, x - 1);
      dy[y * W + x] = p(y + 1, x - 1) + 2 * p(y + 1, x) + p(y + 1, x + 1) - p(y - 1, x - 1) - 2 * p(y - 1, x) - p(y - 1, x + 1);
      mag[y * W + x] = Math.abs(dx[y * W + x]) + Math.abs(dy[y * W + x]);
    }
  const m = (y: number, x: number) => (y < 0 || x < 0 || y >= H || x >= W ? 0 : mag[y * W + x]);
  const map = new Uint8Array(H * W).fill(1);
  const stack: number[] = [];
  const TG22 = Math.trunc(0.4142135623730950488016887242097 * (1 << 15) + 0.5);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = mag[y * W + x];
      if (v <= low) continue;
      const xs = dx[y * W + x];
      const ys = dy[y * W + x];
      const ax = Math.abs(xs);
      const ay = Math.abs(ys) * 2 ** 15;
      const tg22x = ax * TG22;
      let peak: boolean;
      if (ay < tg22x) peak = v > m(y, x - 1) && v >= m(y, x + 1);
      else if (ay > tg22x + ax * 2 ** 16) peak = v > m(y - 1, x) && v >= m(y + 1, x);
      else {
        const s = (xs ^ ys) < 0 ? -1 : 1;
        peak = v > m(y - 1, x - s) && v > m(y + 1, x + s);
      }
      if (!peak) continue;
      if (v > high) {
        map[y * W + x] = 2;
        stack.push(y * W + x);
      } else map[y * W + x] = 0;
    }
  while (stack.length > 0) {
    const q = stack.pop()!;
    const y = Math.floor(q / W);
    const x = q % W;
    for (let a = -1; a <= 1; a++)
      for (let b = -1; b <= 1; b++) {
        const yy = y + a;
        const xx = x + b;
        if (yy < 0 || xx < 0 || yy >= H || xx >= W || map[yy * W + xx] !== 0) continue;
        map[yy * W + xx] = 2;
        stack.push(yy * W + xx);
      }
  }
  return map.map((v) => (v === 2 ? 255 : 0));
}

/** cv2.distanceTransform(src, DIST_L2, 5): OpenCV's two-pass 5×5 chamfer in 16-bit fixed point. */
export function distanceRef(src: Uint8Array, H: number, W: number): Float64Array {
  const HV = Math.round(1 * 65536);
  const DIAG = Math.round(Math.fround(1.4) * 65536);
  const LONG = Math.round(Math.fround(2.1969) * 65536);
  const FAR = 0x7fffffff;
  const t = new Float64Array(H * W);
  const get = (y: number, x: number) => (y < 0 || x < 0 || y >= H || x >= W ? FAR : t[y * W + x]);
  const fwd: [number, number, number][] = [[-2, -1, LONG], [-2, 1, LONG], [-1, -2, LONG], [-1, -1, DIAG], [-1, 0, HV], [-1, 1, DIAG], [-1, 2, LONG], [0, -1, HV]];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) t[y * W + x] = src[y * W + x] === 0 ? 0 : Math.min(...fwd.map(([a, b, d]) => get(y + a, x + b) + d));
  const out = new Float64Array(H * W);
  for (let y = H - 1; y >= 0; y--)
    for (let x = W - 1; x >= 0; x--) {
      let v = t[y * W + x];
      if (v > HV) v = Math.min(v, ...fwd.map(([a, b, d]) => get(y - a, x - b) + d));
      t[y * W + x] = v;
      out[y * W + x] = v / 65536;
    }
  return out;
}

function filter3(src: Arr, H: number, W: number, k: number[][]): Float64Array {
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) acc += k[a + 1][b + 1] * src[foldRef(y + a, H, 'reflect101') * W + foldRef(x + b, W, 'reflect101')];
      out[y * W + x] = acc;
    }
  return out;
}

export function equalizeHistRef(src: Arr): Uint8Array {
  const hist = new Array(256).fill(0);
  for (let i = 0; i < src.length; i++) hist[src[i]]++;
  let lo = 0;
  while (hist[lo] === 0) lo++;
  if (hist[lo] === src.length) return Uint8Array.from(src, () => lo);
  const scale = Math.fround(255 / (src.length - hist[lo]));
  const lut = new Array(256).fill(0);
  let sum = 0;
  for (let v = lo + 1; v < 256; v++) {
    sum += hist[v];
    const r = Math.fround(sum * scale);
    lut[v] = Math.min(255, pyRound(r));
  }
  return Uint8Array.from(src, (v) => lut[v]);
}

/** spatter with given noise [N, H, W] (already N(mean, std)). */
export function spatterRef(x: Arr, shape: Shape4, noise: Arr, p: readonly number[]): Float64Array {
  const [N, H, W, C] = shape;
  const [, , sigma, threshold, intensity, mode] = p;
  const blurred = gaussianFilterRef(noise, [N, H, W, 1], sigma);
  const liquid = blurred.map((v) => (v < threshold ? 0 : v));
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    const L = liquid.subarray(n * H * W, (n + 1) * H * W);
    let m: Float64Array;
    let color: number[];
    if (mode === 0) {
      const bytes = Uint8Array.from(L, (v) => Math.min(255, Math.floor(v * 255)));
      const edges = cannyRef(bytes, H, W, 50, 150);
      const dist = distanceRef(edges.map((e) => 255 - e), H, W).map((v) => Math.min(v, 20));
      const box = [[1, 1, 1], [1, 1, 1], [1, 1, 1]].map((r) => r.map((v) => v / 9));
      const d8 = equalizeHistRef(Uint8Array.from(filter3(dist, H, W, [[1, 1, 1], [1, 1, 1], [1, 1, 1]]), (v) => Math.floor(v / 9)));
      const emboss = filter3(d8, H, W, [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]).map((v) => Math.min(255, Math.max(0, Math.round(v))));
      const d = filter3(emboss, H, W, box).map((v) => Math.round(v));
      m = d.map((v, i) => v * bytes[i]);
      const top = Math.max(...m);
      m = m.map((v) => (top > 0 ? (v / top) * intensity : 0));
      color = [175 / 255, 238 / 255, 238 / 255];
    } else {
      const wet = L.map((v) => (v > threshold ? 1 : 0));
      m = gaussianFilterRef(wet, [1, H, W, 1], intensity).map((v) => (v < 0.8 ? 0 : v));
      color = [63 / 255, 42 / 255, 20 / 255];
    }
    for (let i = 0; i < H * W; i++)
      for (let c = 0; c < C; c++) {
        const o = (n * H * W + i) * C + c;
        out[o] = clip01(mode === 0 ? x[o] + m[i] * color[c] : x[o] * (1 - m[i]) + color[c] * m[i]);
      }
  }
  return out;
}

// ---- colour -----------------------------------------------------------------------------------------

/** skimage.color.rgb2hsv of one pixel. */
export function rgb2hsvRef(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const delta = v - Math.min(r, g, b);
  if (delta === 0) return [0, 0, v];
  let h = 0;
  if (r === v) h = (g - b) / delta;
  if (g === v) h = 2 + (b - r) / delta;
  if (b === v) h = 4 + (r - g) / delta;
  h /= 6;
  return [h - Math.floor(h), delta / v, v];
}

export function hsv2rgbRef(h: number, s: number, v: number): [number, number, number] {
  const hi = Math.floor(h * 6);
  const f = h * 6 - hi;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  return ([[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]] as [number, number, number][])[hi % 6];
}

export function hsvRef(x: Arr, channel: 1 | 2, factor: number, shift: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i += 3) {
    const hsv = rgb2hsvRef(x[i], x[i + 1], x[i + 2]);
    hsv[channel] = clip01(hsv[channel] * factor + shift);
    hsv2rgbRef(...hsv).forEach((v, c) => (out[i + c] = clip01(v)));
  }
  return out;
}

export function contrastRef(x: Arr, shape: Shape4, c: number): Float64Array {
  const [N, H, W, C] = shape;
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let ch = 0; ch < C; ch++) {
      let m = 0;
      for (let p = 0; p < H * W; p++) m += x[(n * H * W + p) * C + ch];
      m /= H * W;
      for (let p = 0; p < H * W; p++) {
        const o = (n * H * W + p) * C + ch;
        out[o] = clip01((x[o] - m) * c + m);
      }
    }
  return out;
}

// ---- digital ----------------------------------------------------------------------------------------

/** cv2.getAffineTransform(src, dst): the 2×3 M with M·(src_i, 1) = dst_i, by Cramer's rule on the 3×3 system. */
function affineTransform(src: number[][], dst: number[][]): number[] {
  const det3 = (m: number[][]) => m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const A = src.map(([x, y]) => [x, y, 1]);
  const d = det3(A);
  const M: number[] = [];
  for (const k of [0, 1])
    for (let col = 0; col < 3; col++) {
      const Ak = A.map((row, i) => row.map((v, j) => (j === col ? dst[i][k] : v)));
      M.push(det3(Ak) / d);
    }
  return M;
}

/** elastic_transform with given anchor jitter deltas [N, 6] and uniform fields [N, H, W, 2] (dx, dy). */
export function elasticRef(x: Arr, shape: Shape4, deltas: Arr, fields: Arr, alpha: number, sigma: number): Float64Array {
  const [N, H, W, C] = shape;
  const c0 = Math.floor(H / 2);
  const c1 = Math.floor(W / 2);
  const s = Math.floor(Math.min(H, W) / 3);
  const pts1 = [[c0 + s, c1 + s], [c0 + s, c1 - s], [c0 - s, c1 - s]];
  const smooth = (k: number) => gaussianFilterRef(Float64Array.from({ length: N * H * W }, (_, i) => fields[2 * i + k]), [N, H, W, 1], sigma, 3, 'reflect').map((v) => v * alpha);
  const ddx = smooth(0);
  const ddy = smooth(1);
  const out = new Float64Array(x.length);
  for (let n = 0; n < N; n++) {
    const pts2 = pts1.map(([px, py], i) => [px + deltas[6 * n + 2 * i], py + deltas[6 * n + 2 * i + 1]]);
    // warpAffine samples src at M⁻¹·dst.
    const [a, b, e, c, d, f] = affineTransform(pts1, pts2);
    const det = a * d - b * c;
    const inv = [d / det, -b / det, (b * f - d * e) / det, -c / det, a / det, (c * e - a * f) / det];
    const warped = new Float64Array(H * W * C);
    const bilinear = (get: (y: number, x: number) => number, sy: number, sx: number) => {
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const ty = sy - y0;
      const tx = sx - x0;
      return (1 - ty) * ((1 - tx) * get(y0, x0) + tx * get(y0, x0 + 1)) + ty * ((1 - tx) * get(y0 + 1, x0) + tx * get(y0 + 1, x0 + 1));
    };
    // warpAffine's fixed point: row and column terms rounded to 1/1024 pixel, then (sum + 16) >> 5.
    const fixed = (m0: number, m1: number, m2: number, xx: number, y: number) => Math.floor((pyRound((m1 * y + m2) * 1024) + 16 + pyRound(m0 * xx * 1024)) / 32) / 32;
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        const sx = fixed(inv[0], inv[1], inv[2], xx, y);
        const sy = fixed(inv[3], inv[4], inv[5], xx, y);
        for (let ch = 0; ch < C; ch++) warped[(y * W + xx) * C + ch] = bilinear((yy, xs) => x[idx(shape, n, foldRef(yy, H, 'reflect101'), foldRef(xs, W, 'reflect101'), ch)], sy, sx);
      }
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        const k = (n * H + y) * W + xx;
        for (let ch = 0; ch < C; ch++)
          out[idx(shape, n, y, xx, ch)] = clip01(bilinear((yy, xs) => warped[(foldRef(yy, H, 'reflect') * W + foldRef(xs, W, 'reflect')) * C + ch], y + ddy[k], xx + ddx[k]));
      }
  }
  return out;
}

/** PIL ImagingResample with the BOX filter on one uint8 plane axis pass (8-bit fixed point). */
function pilResampleAxis(src: Uint8Array, rows: number, inSize: number, outSize: number): Uint8Array {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 0.5 * filterscale;
  const out = new Uint8Array(rows * outSize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const w: number[] = [];
    for (let x = 0; x < xmax; x++) {
      const a = (x + xmin - center + 0.5) / filterscale;
      w.push(a > -0.5 && a <= 0.5 ? 1 : 0);
    }
    const ww = w.reduce((p, q) => p + q, 0);
    const k = w.map((v) => Math.trunc(0.5 + (v / ww) * (1 << 22)));
    for (let r = 0; r < rows; r++) {
      let ss = 1 << 21;
      for (let x = 0; x < xmax; x++) ss += src[r * inSize + xmin + x] * k[x];
      out[r * outSize + xx] = Math.min(255, Math.max(0, Math.floor(ss / 2 ** 22)));
    }
  }
  return out;
}

/** PIL Image.resize((w', h'), BOX) of an [H, W] uint8 plane: horizontal pass, then vertical. */
function pilResize(plane: Uint8Array, H: number, W: number, oh: number, ow: number): Uint8Array {
  const horizontal = pilResampleAxis(plane, H, W, ow);
  const t = new Uint8Array(ow * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < ow; x++) t[x * H + y] = horizontal[y * ow + x];
  const vertical = pilResampleAxis(t, ow, H, oh);
  const out = new Uint8Array(oh * ow);
  for (let x = 0; x < ow; x++) for (let y = 0; y < oh; y++) out[y * ow + x] = vertical[x * oh + y];
  return out;
}

/** pixelate: the uint8 image resized to int(S·c) with BOX and back (PIL, per channel), as f32 k·fl(1/255). */
export function pixelateRef(x: Arr, shape: Shape4, factor: number): Float64Array {
  const [, H, W] = shape;
  const mh = Math.trunc(H * factor);
  const mw = Math.trunc(W * factor);
  return planes(x, shape, (p) => {
    const bytes = Uint8Array.from(p, (v) => Math.floor(clip01(v) * 255));
    return Float64Array.from(pilResize(pilResize(bytes, H, W, mh, mw), mh, mw, H, W), (v) => Math.fround(v * Math.fround(1 / 255)));
  });
}

// ---- JPEG: libjpeg(-turbo)'s integer pipeline, transcribed from its C sources ------------------------

const STD_LUMINANCE = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99];
const STD_CHROMINANCE = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, ...Array(32).fill(99)];

/** jcparam.c jpeg_set_quality(q, TRUE). */
function qualityTable(base: number[], quality: number): number[] {
  const scale = quality < 50 ? Math.trunc(5000 / quality) : 200 - quality * 2;
  return base.map((b) => Math.min(255, Math.max(1, Math.trunc((b * scale + 50) / 100))));
}

const DESCALE = (x: number, n: number) => (x + (1 << (n - 1))) >> n;

/** jfdctint.c jpeg_fdct_islow, in place on 64 values (rows, then columns). */
function fdctIslow(d: Int32Array): void {
  for (const pass of [1, 2]) {
    for (let k = 0; k < 8; k++) {
      const at = (i: number) => (pass === 1 ? k * 8 + i : i * 8 + k);
      const tmp0 = d[at(0)] + d[at(7)];
      const tmp7 = d[at(0)] - d[at(7)];
      const tmp1 = d[at(1)] + d[at(6)];
      const tmp6 = d[at(1)] - d[at(6)];
      const tmp2 = d[at(2)] + d[at(5)];
      const tmp5 = d[at(2)] - d[at(5)];
      const tmp3 = d[at(3)] + d[at(4)];
      const tmp4 = d[at(3)] - d[at(4)];
      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      const sh = pass === 1 ? 13 - 2 : 13 + 2;
      d[at(0)] = pass === 1 ? (tmp10 + tmp11) * 4 : DESCALE(tmp10 + tmp11, 2);
      d[at(4)] = pass === 1 ? (tmp10 - tmp11) * 4 : DESCALE(tmp10 - tmp11, 2);
      let z1 = (tmp12 + tmp13) * 4433;
      d[at(2)] = DESCALE(z1 + tmp13 * 6270, sh);
      d[at(6)] = DESCALE(z1 + tmp12 * -15137, sh);
      z1 = tmp4 + tmp7;
      let z2 = tmp5 + tmp6;
      let z3 = tmp4 + tmp6;
      let z4 = tmp5 + tmp7;
      const z5 = (z3 + z4) * 9633;
      z1 *= -7373;
      z2 *= -20995;
      z3 = z3 * -16069 + z5;
      z4 = z4 * -3196 + z5;
      d[at(7)] = DESCALE(tmp4 * 2446 + z1 + z3, sh);
      d[at(5)] = DESCALE(tmp5 * 16819 + z2 + z4, sh);
      d[at(3)] = DESCALE(tmp6 * 25172 + z2 + z3, sh);
      d[at(1)] = DESCALE(tmp7 * 12299 + z1 + z4, sh);
    }
  }
}

/** jidctint.c jpeg_idct_islow of dequantised coefficients: 64 samples 0..255 (range_limit table). */
function idctIslow(c: Int32Array): Int32Array {
  const ws = new Int32Array(64);
  const out = new Int32Array(64);
  const limit = (x: number) => {
    const j = x & 1023;
    return j < 128 ? j + 128 : j < 512 ? 255 : j < 896 ? 0 : j - 896;
  };
  for (let pass = 1; pass <= 2; pass++)
    for (let k = 0; k < 8; k++) {
      const src = pass === 1 ? c : ws;
      const at = (i: number) => (pass === 1 ? i * 8 + k : k * 8 + i);
      const sh = pass === 1 ? 13 - 2 : 13 + 2 + 3;
      let z2 = src[at(2)];
      let z3 = src[at(6)];
      let z1 = (z2 + z3) * 4433;
      const tmp2 = z1 + z3 * -15137;
      const tmp3 = z1 + z2 * 6270;
      const t0 = (src[at(0)] + src[at(4)]) * 8192;
      const t1 = (src[at(0)] - src[at(4)]) * 8192;
      const tmp10 = t0 + tmp3;
      const tmp13 = t0 - tmp3;
      const tmp11 = t1 + tmp2;
      const tmp12 = t1 - tmp2;
      let o0 = src[at(7)];
      let o1 = src[at(5)];
      let o2 = src[at(3)];
      let o3 = src[at(1)];
      z1 = o0 + o3;
      z2 = o1 + o2;
      z3 = o0 + o2;
      let z4 = o1 + o3;
      const z5 = (z3 + z4) * 9633;
      o0 *= 2446;
      o1 *= 16819;
      o2 *= 25172;
      o3 *= 12299;
      z1 *= -7373;
      z2 *= -20995;
      z3 = z3 * -16069 + z5;
      z4 = z4 * -3196 + z5;
      o0 += z1 + z3;
      o1 += z2 + z4;
      o2 += z2 + z3;
      o3 += z1 + z4;
      const v = [tmp10 + o3, tmp11 + o2, tmp12 + o1, tmp13 + o0, tmp13 - o0, tmp12 - o1, tmp11 - o2, tmp10 - o3].map((t) => DESCALE(t, sh));
      for (let i = 0; i < 8; i++) {
        if (pass === 1) ws[at(i)] = v[i];
        else out[at(i)] = limit(v[i]);
      }
    }
  return out;
}

/** PIL img.save('JPEG', quality) + decode through libjpeg: 4:2:0, islow, fancy upsampling. */
export function jpegRef(x: Arr, shape: Shape4, quality: number): Float64Array {
  const [N, H, W] = shape;
  const lum = qualityTable(STD_LUMINANCE, quality);
  const chrom = qualityTable(STD_CHROMINANCE, quality);
  const out = new Float64Array(x.length);
  const Wy = 8 * Math.ceil(W / 8);
  const Hy = 8 * Math.ceil(H / 8);
  const Wc = 8 * Math.ceil(W / 16);
  const Hc = 8 * Math.ceil(H / 16);
  const dw = Math.ceil(W / 2);
  const dh = Math.ceil(H / 2);
  for (let n = 0; n < N; n++) {
    // jccolor.c, then expand_right_edge / expand_bottom_edge of the full-size planes (to 2·Wc, 2·Hc
    // for the downsampler; Wy, Hy for Y).
    const FW = Math.max(Wy, 2 * Wc);
    const FH = Math.max(Hy, 2 * Hc);
    const full = [new Int32Array(FW * FH), new Int32Array(FW * FH), new Int32Array(FW * FH)];
    for (let y = 0; y < FH; y++)
      for (let xx = 0; xx < FW; xx++) {
        const o = idx(shape, n, Math.min(y, H - 1), Math.min(xx, W - 1), 0);
        const [r, g, b] = [0, 1, 2].map((c) => Math.floor(x[o + c] * 255 + 1e-9));
        full[0][y * FW + xx] = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
        full[1][y * FW + xx] = (-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16;
        full[2][y * FW + xx] = (32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16;
      }
    // jcsample.c h2v2_downsample of the real row pairs, then the last downsampled row repeated down.
    const planes: Int32Array[] = [new Int32Array(Hy * Wy), new Int32Array(Hc * Wc), new Int32Array(Hc * Wc)];
    for (let y = 0; y < Hy; y++) for (let xx = 0; xx < Wy; xx++) planes[0][y * Wy + xx] = full[0][y * FW + xx];
    for (const k of [1, 2]) {
      for (let cy = 0; cy < Hc; cy++) {
        const sy = Math.min(cy, dh - 1);
        for (let cx = 0; cx < Wc; cx++) {
          const p = (yy: number, xs: number) => full[k][yy * FW + xs];
          const bias = cx % 2 === 0 ? 1 : 2;
          planes[k][cy * Wc + cx] = (p(2 * sy, 2 * cx) + p(2 * sy, 2 * cx + 1) + p(2 * sy + 1, 2 * cx) + p(2 * sy + 1, 2 * cx + 1) + bias) >> 2;
        }
      }
    }
    // Blocks: forward DCT, quantise (jcdctmgr.c), dequantise, inverse DCT.
    const decoded = planes.map((plane, k) => {
      const [ph, pw, table] = k === 0 ? [Hy, Wy, lum] : [Hc, Wc, chrom];
      const result = new Int32Array(ph * pw);
      for (let by = 0; by < ph; by += 8)
        for (let bx = 0; bx < pw; bx += 8) {
          const blk = new Int32Array(64);
          for (let i = 0; i < 64; i++) blk[i] = plane[(by + (i >> 3)) * pw + bx + (i & 7)] - 128;
          fdctIslow(blk);
          for (let i = 0; i < 64; i++) {
            const q = table[i] * 8;
            const t = blk[i];
            const coef = t < 0 ? -Math.trunc((-t + (q >> 1)) / q) : Math.trunc((t + (q >> 1)) / q);
            blk[i] = coef * table[i];
          }
          const s = idctIslow(blk);
          for (let i = 0; i < 64; i++) result[(by + (i >> 3)) * pw + bx + (i & 7)] = s[i];
        }
      return result;
    });
    // jdsample.c h2v2_fancy_upsample, context rows duplicated at the top and bottom (jdmainct.c).
    const up = [1, 2].map((k) => {
      const C = (yy: number, xs: number) => decoded[k][Math.min(Math.max(yy, 0), dh - 1) * Wc + xs];
      const res = new Int32Array(2 * dh * 2 * dw);
      for (let inrow = 0; inrow < dh; inrow++)
        for (let v = 0; v < 2; v++) {
          const near = inrow;
          const far = v === 0 ? inrow - 1 : inrow + 1;
          const colsum = (c: number) => C(near, c) * 3 + C(far, c);
          const o = (2 * inrow + v) * 2 * dw;
          let thiscolsum = colsum(0);
          if (dw === 1) {
            res[o] = (thiscolsum * 4 + 8) >> 4;
            res[o + 1] = (thiscolsum * 4 + 7) >> 4;
            continue;
          }
          let nextcolsum = colsum(1);
          res[o] = (thiscolsum * 4 + 8) >> 4;
          res[o + 1] = (thiscolsum * 3 + nextcolsum + 7) >> 4;
          let lastcolsum = thiscolsum;
          thiscolsum = nextcolsum;
          for (let col = 1; col < dw - 1; col++) {
            nextcolsum = colsum(col + 1);
            res[o + 2 * col] = (thiscolsum * 3 + lastcolsum + 8) >> 4;
            res[o + 2 * col + 1] = (thiscolsum * 3 + nextcolsum + 7) >> 4;
            lastcolsum = thiscolsum;
            thiscolsum = nextcolsum;
          }
          res[o + 2 * dw - 2] = (thiscolsum * 3 + lastcolsum + 8) >> 4;
          res[o + 2 * dw - 1] = (thiscolsum * 4 + 7) >> 4;
        }
      return res;
    });
    // jdcolor.c ycc_rgb_convert.
    const clampByte = (v: number) => Math.min(255, Math.max(0, v));
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++) {
        const Y = decoded[0][y * Wy + xx];
        const cb = up[0][y * 2 * dw + xx] - 128;
        const cr = up[1][y * 2 * dw + xx] - 128;
        const o = idx(shape, n, y, xx, 0);
        out[o] = clampByte(Y + ((91881 * cr + 32768) >> 16)) / 255;
        out[o + 1] = clampByte(Y + ((-22554 * cb + 32768 + -46802 * cr) >> 16)) / 255;
        out[o + 2] = clampByte(Y + ((116130 * cb + 32768) >> 16)) / 255;
      }
  }
  return out;
}
