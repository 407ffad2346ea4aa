// Per-pixel colour maps and blends from one template: an invocation reads one RGB pixel of an NHWC
// [N, H, W, 3] batch, applies its variant's `shade` (which may read per-image statistics or a
// per-pixel layer made by earlier kernels) and stores clip(result, 0, 1).
//
//   brightness  HSV value + s0                      saturate  HSV saturation·s0 + s1
//   contrast    (x − channel mean)·s0 + mean        fog       (x + s0·plasma)·max/(max + s0)
//   frost       s0·x + s1·(crop of a texture)       snow      grey-lifted blend + layer + layer rotated 180°
//   water       x + (mask/max)·s0·pale turquoise    mud       mask blend towards mud brown
// HSV follows skimage's rgb2hsv/hsv2rgb (ties for the largest channel go to blue, then green).
import { f32, u32, type Program, type StorageBinding } from '../../engine/program.js';
import { MULHILO_WGSL } from '../random.js';
import { INV_255, MAIN_HEADER, WG } from './common.js';

interface Variant {
  bindings: StorageBinding[];
  /** Body of fn shade(rgb: vec3f, n: u32, y: u32, x: u32) -> vec3f. */
  shade: string;
  hsv?: boolean;
}

const read = (name: string, element: StorageBinding['element'] = 'f32'): StorageBinding => ({ name, access: 'read', element });

const VARIANTS = {
  brightness: { bindings: [], hsv: true, shade: `var c = rgb2hsv(rgb);
  c.z = clamp(c.z + params.s0, 0.0, 1.0);
  return hsv2rgb(c);` },
  saturate: { bindings: [], hsv: true, shade: `var c = rgb2hsv(rgb);
  c.y = clamp(c.y * params.s0 + params.s1, 0.0, 1.0);
  return hsv2rgb(c);` },
  // means: [N, 3] per-channel means over the image.
  contrast: { bindings: [read('means')], shade: `let m = vec3f(means[3u * n], means[3u * n + 1u], means[3u * n + 2u]);
  return (rgb - m) * params.s0 + m;` },
  // plasma: [N, M, M] raw fractal (aux = M), normalised by its per-image min and max; imax: the image's max.
  fog: { bindings: [read('plasma'), read('pmin'), read('pmax'), read('imax')], shade: `let M = params.aux;
  let f = (plasma[(n * M + y) * M + x] - pmin[n]) / (pmax[n] - pmin[n]);
  return (rgb + params.s0 * f) * imax[n] / (imax[n] + params.s0);` },
  // atlas: the resized textures' RGB, one after another; info[k] = (first float, height, width);
  // draws: [N] Philox blocks choosing the texture among aux and the crop's top-left corner.
  frost: { bindings: [read('atlas'), read('info', 'vec4<u32>'), read('draws', 'vec4<u32>')], shade: `let d = draws[n];
  let t = info[mulhilo(d.x, params.aux).x];
  let top = mulhilo(d.y, t.y - params.H).x;
  let left = mulhilo(d.z, t.z - params.W).x;
  let at = t.x + ((top + y) * t.z + left + x) * 3u;
  // In 8-bit units, as the published code blends its uint8 image and texture (k·fl(1/255)·255 is
  // exactly k): then 0.3·50 is the whole level 15 it is in float64, which the truncation keeps.
  let v = params.s0 * (rgb * 255.0) + params.s1 * (vec3f(atlas[at], atlas[at + 1u], atlas[at + 2u]) * 255.0);
  return v * ${INV_255};` },
  // layer: [N, H, W] motion-blurred snow; s0: the image weight of the grey-lifted blend.
  snow: { bindings: [read('layer')], shade: `let grey = dot(rgb, vec3f(0.299, 0.587, 0.114));
  let lifted = params.s0 * rgb + (1.0 - params.s0) * max(rgb, vec3f(grey * 1.5 + 0.5));
  let plane = n * params.H;
  let s = layer[(plane + y) * params.W + x] + layer[(plane + params.H - 1u - y) * params.W + params.W - 1u - x];
  return lifted + vec3f(s);` },
  // mask: [N, H, W] liquid·distance map, mmax: its per-image max; s0: intensity.
  water: { bindings: [read('mask'), read('mmax')], shade: `let mx = mmax[n];
  let m = select(0.0, mask[(n * params.H + y) * params.W + x] / mx * params.s0, mx > 0.0);
  return rgb + m * vec3f(175.0, 238.0, 238.0) / 255.0;` },
  mud: { bindings: [read('mask')], shade: `let m = mask[(n * params.H + y) * params.W + x];
  return rgb * (1.0 - m) + m * vec3f(63.0, 42.0, 20.0) / 255.0;` },
} satisfies Record<string, Variant>;

export type PixelVariant = keyof typeof VARIANTS;

const HSV_WGSL = `
fn rgb2hsv(c: vec3f) -> vec3f {
  let v = max(c.r, max(c.g, c.b));
  let delta = v - min(c.r, min(c.g, c.b));
  if (delta == 0.0) { return vec3f(0.0, 0.0, v); }
  var h: f32;
  if (c.b == v) { h = 4.0 + (c.r - c.g) / delta; }
  else if (c.g == v) { h = 2.0 + (c.b - c.r) / delta; }
  else { h = (c.g - c.b) / delta; }
  h = h / 6.0;
  return vec3f(h - floor(h), delta / v, v);
}
fn hsv2rgb(c: vec3f) -> vec3f {
  let h6 = c.x * 6.0;
  let hi = floor(h6);
  let f = h6 - hi;
  let s = c.y;
  let v = c.z;
  let p = v * (1.0 - s);
  let q = v * (1.0 - f * s);
  let t = v * (1.0 - (1.0 - f) * s);
  switch (u32(hi) % 6u) {
    case 0u: { return vec3f(v, t, p); }
    case 1u: { return vec3f(q, v, p); }
    case 2u: { return vec3f(p, v, t); }
    case 3u: { return vec3f(p, q, v); }
    case 4u: { return vec3f(t, p, v); }
    default: { return vec3f(v, p, q); }
  }
}`;

export function pixelProgram(variant: PixelVariant): Program {
  const v: Variant = VARIANTS[variant];
  return {
    key: `corrupt_pixel_${variant}`,
    bindings: [read('src'), ...v.bindings, { name: 'out', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count'), u32('H'), u32('W'), u32('aux'), f32('s0'), f32('s1')],
    workgroupSize: WG,
    source: () => `${v.hsv ? HSV_WGSL : ''}${variant === 'frost' ? MULHILO_WGSL : ''}
fn shade(rgb: vec3f, n: u32, y: u32, x: u32) -> vec3f {
  ${v.shade}
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let x = i % params.W;
  let y = (i / params.W) % params.H;
  let n = i / (params.W * params.H);
  let rgb = clamp(shade(vec3f(src[3u * i], src[3u * i + 1u], src[3u * i + 2u]), n, y, x), vec3f(0.0), vec3f(1.0));
  out[3u * i] = rgb.x;
  out[3u * i + 1u] = rgb.y;
  out[3u * i + 2u] = rgb.z;
}`,
  };
}
