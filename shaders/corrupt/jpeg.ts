// JPEG compression as PIL's encoder (libjpeg-turbo, default settings) and decoder compute it, minus
// the lossless entropy coding: integer RGB→YCbCr, 4:2:0 chroma subsampling (2×2 means with
// libjpeg's alternating 1, 2 rounding bias), the islow integer forward DCT, quantisation with the
// IJG-scaled standard tables (round half away from zero), then dequantisation, the islow integer
// inverse DCT with libjpeg's range-limit table, "fancy" (triangle) chroma upsampling and integer
// YCbCr→RGB. Every step is libjpeg's integer arithmetic, so the result is bit-exact with it.
//
// Two kernels: one invocation per 8×8 block (all components of all images) writes the decoded
// component planes; one invocation per pixel upsamples chroma and converts to RGB.
// Plane layout per image: Y [Hy, Wy] (8-multiples), then Cb and Cr [Hc, Wc] (8-multiples of the
// half-size chroma); image edges are replicated into the padding, as libjpeg's edge expansion does
// (checked bit for bit against PIL's libjpeg-turbo, odd and even sizes).
import { u32, type Program } from '../../engine/program.js';
import { INV_255, MAIN_HEADER, WG } from './common.js';

const UNIFORMS = [u32('count'), u32('H'), u32('W'), u32('Hy'), u32('Wy'), u32('Hc'), u32('Wc')];

// jfdctint.c / jidctint.c constants (CONST_BITS 13) and the butterflies shared by both passes.
const DCT_WGSL = `
const CONST_BITS = 13;
const PASS1_BITS = 2;
fn descale(x: i32, n: i32) -> i32 { return (x + (1 << u32(n - 1))) >> u32(n); }
// One forward 1-D DCT of v (8 values) into out, with libjpeg's per-pass scaling.
fn fdct8(v: array<i32, 8>, first: bool) -> array<i32, 8> {
  var o: array<i32, 8>;
  let tmp0 = v[0] + v[7]; let tmp7 = v[0] - v[7];
  let tmp1 = v[1] + v[6]; let tmp6 = v[1] - v[6];
  let tmp2 = v[2] + v[5]; let tmp5 = v[2] - v[5];
  let tmp3 = v[3] + v[4]; let tmp4 = v[3] - v[4];
  let tmp10 = tmp0 + tmp3; let tmp13 = tmp0 - tmp3;
  let tmp11 = tmp1 + tmp2; let tmp12 = tmp1 - tmp2;
  let shift = select(CONST_BITS + PASS1_BITS, CONST_BITS - PASS1_BITS, first);
  if (first) {
    o[0] = (tmp10 + tmp11) << u32(PASS1_BITS);
    o[4] = (tmp10 - tmp11) << u32(PASS1_BITS);
  } else {
    o[0] = descale(tmp10 + tmp11, PASS1_BITS);
    o[4] = descale(tmp10 - tmp11, PASS1_BITS);
  }
  let z1 = (tmp12 + tmp13) * 4433;
  o[2] = descale(z1 + tmp13 * 6270, shift);
  o[6] = descale(z1 - tmp12 * 15137, shift);
  let z5 = (tmp4 + tmp6 + tmp5 + tmp7) * 9633;
  let a1 = (tmp4 + tmp7) * -7373;
  let a2 = (tmp5 + tmp6) * -20995;
  let a3 = (tmp4 + tmp6) * -16069 + z5;
  let a4 = (tmp5 + tmp7) * -3196 + z5;
  o[7] = descale(tmp4 * 2446 + a1 + a3, shift);
  o[5] = descale(tmp5 * 16819 + a2 + a4, shift);
  o[3] = descale(tmp6 * 25172 + a2 + a3, shift);
  o[1] = descale(tmp7 * 12299 + a1 + a4, shift);
  return o;
}
// One inverse 1-D DCT (jidctint.c): the first pass descales by CONST_BITS − PASS1_BITS, the second
// by CONST_BITS + PASS1_BITS + 3.
fn idct8(v: array<i32, 8>, first: bool) -> array<i32, 8> {
  var o: array<i32, 8>;
  let shift = select(CONST_BITS + PASS1_BITS + 3, CONST_BITS - PASS1_BITS, first);
  let z1 = (v[2] + v[6]) * 4433;
  let t2 = z1 - v[6] * 15137;
  let t3 = z1 + v[2] * 6270;
  let t0 = (v[0] + v[4]) << u32(CONST_BITS);
  let t1 = (v[0] - v[4]) << u32(CONST_BITS);
  let tmp10 = t0 + t3; let tmp13 = t0 - t3;
  let tmp11 = t1 + t2; let tmp12 = t1 - t2;
  let p0 = v[7]; let p1 = v[5]; let p2 = v[3]; let p3 = v[1];
  let z5 = (p0 + p2 + p1 + p3) * 9633;
  let a1 = (p0 + p3) * -7373;
  let a2 = (p1 + p2) * -20995;
  let a3 = (p0 + p2) * -16069 + z5;
  let a4 = (p1 + p3) * -3196 + z5;
  let q0 = p0 * 2446 + a1 + a3;
  let q1 = p1 * 16819 + a2 + a4;
  let q2 = p2 * 25172 + a2 + a3;
  let q3 = p3 * 12299 + a1 + a4;
  o[0] = descale(tmp10 + q3, shift); o[7] = descale(tmp10 - q3, shift);
  o[1] = descale(tmp11 + q2, shift); o[6] = descale(tmp11 - q2, shift);
  o[2] = descale(tmp12 + q1, shift); o[5] = descale(tmp12 - q1, shift);
  o[3] = descale(tmp13 + q0, shift); o[4] = descale(tmp13 - q0, shift);
  return o;
}
// libjpeg's post-IDCT range limit: clamp(x + 128) on [−512, 511], wrapping beyond (x & 1023).
fn rangeLimit(x: i32) -> i32 {
  let j = x & 1023;
  if (j < 128) { return j + 128; }
  if (j < 512) { return 255; }
  if (j < 896) { return 0; }
  return j - 896;
}`;

/**
 * count = N·(blocks of Y + 2·blocks of chroma). qt: 128 u32, the luminance then chrominance table
 * (natural order). Writes the decoded samples 0..255 into `planes`.
 */
export const jpegBlockProgram: Program = {
  key: 'corrupt_jpeg_blocks',
  bindings: [
    { name: 'src', access: 'read', element: 'f32' },
    { name: 'qt', access: 'read', element: 'u32' },
    { name: 'planes', access: 'read_write', element: 'f32' },
  ],
  uniforms: UNIFORMS,
  workgroupSize: WG,
  source: () => `${DCT_WGSL}
fn byteAt(n: u32, y: u32, x: u32, c: u32) -> i32 {
  let yy = min(y, params.H - 1u);
  let xx = min(x, params.W - 1u);
  return i32(floor(clamp(src[((n * params.H + yy) * params.W + xx) * 3u + c], 0.0, 1.0) * 255.0));
}
// jccolor.c rgb_ycc_convert, SCALEBITS 16.
fn ycc(n: u32, y: u32, x: u32, comp: u32) -> i32 {
  let r = byteAt(n, y, x, 0u);
  let g = byteAt(n, y, x, 1u);
  let b = byteAt(n, y, x, 2u);
  if (comp == 0u) { return (19595 * r + 38470 * g + 7471 * b + 32768) >> 16u; }
  if (comp == 1u) { return (-11059 * r - 21709 * g + 32768 * b + 8421375) >> 16u; }
  return (32768 * r - 27439 * g - 5329 * b + 8421375) >> 16u;
}
// jcsample.c h2v2_downsample: 2×2 sum plus bias 1, 2, 1, 2, ... along the row, >> 2. Past the
// right edge libjpeg replicates full-size columns before downsampling; past the bottom it replicates
// the last downsampled row (jcprepct.c), hence the clamp of cy only.
fn chroma(n: u32, cyPadded: u32, cx: u32, comp: u32) -> i32 {
  let cy = min(cyPadded, (params.H + 1u) / 2u - 1u);
  let s = ycc(n, 2u * cy, 2u * cx, comp) + ycc(n, 2u * cy, 2u * cx + 1u, comp) + ycc(n, 2u * cy + 1u, 2u * cx, comp) + ycc(n, 2u * cy + 1u, 2u * cx + 1u, comp);
  return (s + 1 + i32(cx & 1u)) >> 2u;
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let yBlocks = (params.Hy / 8u) * (params.Wy / 8u);
  let cBlocks = (params.Hc / 8u) * (params.Wc / 8u);
  let perImage = yBlocks + 2u * cBlocks;
  let n = i / perImage;
  var b = i % perImage;
  var comp = 0u;
  if (b >= yBlocks) {
    b -= yBlocks;
    comp = 1u + b / cBlocks;
    b = b % cBlocks;
  }
  let Wp = select(params.Wc, params.Wy, comp == 0u);
  let Hp = select(params.Hc, params.Hy, comp == 0u);
  let by = b / (Wp / 8u);
  let bx = b % (Wp / 8u);
  let table = select(64u, 0u, comp == 0u);
  // Forward: samples − 128, rows then columns.
  var blk: array<i32, 64>;
  for (var r = 0u; r < 8u; r++) {
    var row: array<i32, 8>;
    for (var c = 0u; c < 8u; c++) {
      let y = by * 8u + r;
      let x = bx * 8u + c;
      row[c] = select(chroma(n, y, x, comp), ycc(n, y, x, 0u), comp == 0u) - 128;
    }
    let o = fdct8(row, true);
    for (var c = 0u; c < 8u; c++) { blk[r * 8u + c] = o[c]; }
  }
  for (var c = 0u; c < 8u; c++) {
    var col: array<i32, 8>;
    for (var r = 0u; r < 8u; r++) { col[r] = blk[r * 8u + c]; }
    let o = fdct8(col, false);
    for (var r = 0u; r < 8u; r++) {
      // jcdctmgr.c quantize: divisor = q·8, rounded half away from zero; then the decoder's q·coef.
      let q = i32(qt[table + r * 8u + c]);
      let d = q * 8;
      let t = o[r];
      let k = select((t + d / 2) / d, -((-t + d / 2) / d), t < 0);
      blk[r * 8u + c] = k * q;
    }
  }
  // Inverse: columns then rows, range-limited.
  for (var c = 0u; c < 8u; c++) {
    var col: array<i32, 8>;
    for (var r = 0u; r < 8u; r++) { col[r] = blk[r * 8u + c]; }
    let o = idct8(col, true);
    for (var r = 0u; r < 8u; r++) { blk[r * 8u + c] = o[r]; }
  }
  let yPlane = params.Hy * params.Wy;
  let cPlane = params.Hc * params.Wc;
  let base = n * (yPlane + 2u * cPlane) + select(yPlane + (comp - 1u) * cPlane, 0u, comp == 0u);
  for (var r = 0u; r < 8u; r++) {
    var row: array<i32, 8>;
    for (var c = 0u; c < 8u; c++) { row[c] = blk[r * 8u + c]; }
    let o = idct8(row, false);
    for (var c = 0u; c < 8u; c++) { planes[base + (by * 8u + r) * Wp + bx * 8u + c] = f32(rangeLimit(o[c])); }
  }
}`,
};

/** count = N·H·W: h2v2 fancy upsampling of the decoded chroma and jdcolor.c's YCbCr→RGB. */
export const jpegPixelProgram: Program = {
  key: 'corrupt_jpeg_pixels',
  bindings: [{ name: 'planes', access: 'read', element: 'f32' }, { name: 'out', access: 'read_write', element: 'f32' }],
  uniforms: UNIFORMS,
  workgroupSize: WG,
  source: () => `
// T(c) = 3·(nearer row) + (farther row) of chroma column c, columns clamped to the real ⌈W/2⌉.
fn colsum(base: u32, r0: u32, r1: u32, c: i32) -> i32 {
  let cc = u32(clamp(c, 0, i32((params.W + 1u) / 2u) - 1));
  return 3 * i32(planes[base + r0 * params.Wc + cc]) + i32(planes[base + r1 * params.Wc + cc]);
}
fn upsample(base: u32, y: u32, x: u32) -> i32 {
  let cy = y / 2u;
  let last = (params.H + 1u) / 2u - 1u;
  // Upper output row of a pair blends with the chroma row above, the lower with the row below.
  let other = select(min(cy + 1u, last), select(cy - 1u, 0u, cy == 0u), (y & 1u) == 0u);
  let cx = i32(x / 2u);
  let t = colsum(base, cy, other, cx);
  if ((x & 1u) == 0u) { return (3 * t + colsum(base, cy, other, cx - 1) + 8) >> 4u; }
  return (3 * t + colsum(base, cy, other, cx + 1) + 7) >> 4u;
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let x = i % params.W;
  let y = (i / params.W) % params.H;
  let n = i / (params.W * params.H);
  let yPlane = params.Hy * params.Wy;
  let cPlane = params.Hc * params.Wc;
  let base = n * (yPlane + 2u * cPlane);
  let Y = i32(planes[base + y * params.Wy + x]);
  let cb = upsample(base + yPlane, y, x) - 128;
  let cr = upsample(base + yPlane + cPlane, y, x) - 128;
  let r = clamp(Y + ((91881 * cr + 32768) >> 16u), 0, 255);
  let g = clamp(Y + ((-22554 * cb + 32768 - 46802 * cr) >> 16u), 0, 255);
  let b = clamp(Y + ((116130 * cb + 32768) >> 16u), 0, 255);
  out[3u * i] = f32(r) * ${INV_255};
  out[3u * i + 1u] = f32(g) * ${INV_255};
  out[3u * i + 2u] = f32(b) * ${INV_255};
}`,
};

/** The standard tables of ITU T.81 Annex K (natural order): luminance, then chrominance. */
const LUMINANCE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMINANCE = [
  17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
  ...new Array<number>(32).fill(99),
];

/** jpeg_set_quality(quality, force_baseline = TRUE): both tables scaled by IJG's quality formula. */
export function quantTables(quality: number): Uint32Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Uint32Array.from([...LUMINANCE, ...CHROMINANCE], (v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
}
