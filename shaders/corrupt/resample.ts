// Resampling of NHWC images (1 to 4 channels, one invocation per output pixel): each output pixel
// is a bilinear sample of the input at a source coordinate, from one of two coordinate sources:
//   maps   the mean over K affine maps (sx, sy) = (a·x + b·y + c, d·x + e·y + f), two vec4 per map,
//          shared by the batch (mapStride 0: zoom blur's zoom factors, the frost texture resize, the
//          snow layer zoom) or per image (mapStride K: elastic transform's random affine warp)
//   field  a per-pixel displacement (dx, dy) added to (x, y) (elastic transform's smooth field)
// Neighbours outside the input fold back by the boundary mode, so each of scipy's order-1 zoom and
// map_coordinates, OpenCV's warpAffine and INTER_LINEAR resize is one instance. With `fixedPoint`,
// map coordinates are rounded as cv2.warpAffine does: the row and column terms each to 1/1024 pixel,
// then (sum + 16) >> 5 to 1/32 pixel (its INTER_BITS table), which moves samples by up to 1/64
// pixel from the exact map and shows on sharp edges.
//
// Also here: PIL's BOX resize (pixelate) and the per-image affine solve for elastic transform.
import { f32, u32, type Program } from '../../engine/program.js';
import { EPILOGUE_UNIFORMS, INV_255, MAIN_HEADER, WG, epilogueWgsl, foldWgsl, type Boundary, type Epilogue } from './common.js';

export type CoordinateSource = 'maps' | 'field';

export function resampleProgram(coordinates: CoordinateSource, boundary: Boundary, epilogue: Epilogue, fixedPoint = false): Program {
  const coordinateBinding = coordinates === 'maps' ? { name: 'maps', access: 'read' as const, element: 'vec4<f32>' as const } : { name: 'field', access: 'read' as const, element: 'f32' as const };
  const sample =
    coordinates === 'maps'
      ? `var acc = vec4f(0.0);
  let first = 2u * n * params.mapStride;
  for (var k = 0u; k < params.nmaps; k++) {
    let a = maps[first + 2u * k];
    let b = maps[first + 2u * k + 1u];
    acc += bilinear(nin, coordinate(a, fx, fy), coordinate(b, fx, fy));
  }
  let v = acc / f32(params.nmaps);`
      : `let d = 2u * ((n * params.Hout + y) * params.Wout + x);
  let v = bilinear(nin, fx + field[d], fy + field[d + 1u]);`;
  return {
    key: `corrupt_resample_${coordinates}_${boundary}_${epilogue}${fixedPoint ? '_fixed' : ''}`,
    bindings: [{ name: 'src', access: 'read', element: 'f32' }, coordinateBinding, { name: 'out', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count'), u32('Hin'), u32('Win'), u32('Hout'), u32('Wout'), u32('C'), u32('nmaps'), u32('mapStride'), u32('srcStride'), u32('outBase'), ...EPILOGUE_UNIFORMS],
    workgroupSize: WG,
    source: () => `${foldWgsl(boundary)}
${epilogueWgsl(epilogue)}
fn coordinate(m: vec4f, fx: f32, fy: f32) -> f32 {
  ${fixedPoint ? `let X = i32(round((m.y * fy + m.z) * 1024.0)) + 16 + i32(round(m.x * fx * 1024.0));
  return f32(X >> 5u) * 0.03125;` : 'return m.x * fx + m.y * fy + m.z;'}
}
// All channels (up to 4) of the texel at (y, x), borders folded.
fn texel(n: u32, y: i32, x: i32) -> vec4f {
  let sy = u32(fold(y, i32(params.Hin)));
  let sx = u32(fold(x, i32(params.Win)));
  let at = ((n * params.Hin + sy) * params.Win + sx) * params.C;
  var v = vec4f(0.0);
  for (var c = 0u; c < params.C; c++) { v[c] = src[at + c]; }
  return v;
}
fn bilinear(n: u32, sx: f32, sy: f32) -> vec4f {
  let x0 = floor(sx);
  let y0 = floor(sy);
  let tx = sx - x0;
  let ty = sy - y0;
  let ix = i32(x0);
  let iy = i32(y0);
  let top = mix(texel(n, iy, ix), texel(n, iy, ix + 1), tx);
  let bottom = mix(texel(n, iy + 1, ix), texel(n, iy + 1, ix + 1), tx);
  return mix(top, bottom, ty);
}
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let x = i % params.Wout;
  let y = (i / params.Wout) % params.Hout;
  let n = i / (params.Wout * params.Hout);
  let nin = n * params.srcStride;
  let fx = f32(x);
  let fy = f32(y);
  ${sample}
  for (var c = 0u; c < params.C; c++) { out[params.outBase + i * params.C + c] = epilogue(v[c]); }
}`,
  };
}

/**
 * PIL's Image.resize(BOX) down to m×m' and back up (pixelate), in PIL's own 8-bit fixed point: a
 * pass sums uint8 pixels times coefficients k = round(2^22/count) plus 2^21 and shifts right by 22,
 * horizontal pass first, each pass stored as uint8. The way back up is an exact nearest-pixel copy,
 * so each output pixel reads one source box. spans[y] (rows, then W entries for columns) holds
 * (first source index, count, k).
 */
export const boxResampleProgram: Program = {
  key: 'corrupt_resample_box',
  bindings: [
    { name: 'src', access: 'read', element: 'f32' },
    { name: 'spans', access: 'read', element: 'vec4<u32>' },
    { name: 'out', access: 'read_write', element: 'f32' },
  ],
  uniforms: [u32('count'), u32('H'), u32('W'), u32('C')],
  workgroupSize: WG,
  source: () => `
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let C = params.C;
  let c = i % C;
  let x = (i / C) % params.W;
  let y = (i / (C * params.W)) % params.H;
  let n = i / (C * params.W * params.H);
  let rows = spans[y];
  let cols = spans[params.H + x];
  var vertical = 1u << 21u;
  for (var r = rows.x; r < rows.x + rows.y; r++) {
    var horizontal = 1u << 21u;
    for (var q = cols.x; q < cols.x + cols.y; q++) {
      let byte = u32(floor(clamp(src[((n * params.H + r) * params.W + q) * C + c], 0.0, 1.0) * 255.0));
      horizontal += byte * cols.z;
    }
    vertical += min(horizontal >> 22u, 255u) * rows.z;
  }
  out[i] = f32(min(vertical >> 22u, 255u)) * ${INV_255};
}`,
};

/**
 * Per image, the affine map taking the perturbed points p1 + δ back to p1 (the inverse of
 * cv2.getAffineTransform(p1, p1 + δ), which warpAffine applies to sample its source), written as
 * a 'maps' entry. δ: [N, 3, 2] as (x, y) per point; p1 in the uniforms.
 */
export const affineFromPointsProgram: Program = {
  key: 'corrupt_affine_from_points',
  bindings: [{ name: 'deltas', access: 'read', element: 'f32' }, { name: 'maps', access: 'read_write', element: 'vec4<f32>' }],
  uniforms: [u32('count'), f32('p0x'), f32('p0y'), f32('p1x'), f32('p1y'), f32('p2x'), f32('p2y')],
  workgroupSize: WG,
  source: () => `
${MAIN_HEADER}
  if (i >= params.count) { return; }
  let P0 = vec2f(params.p0x, params.p0y);
  let P1 = vec2f(params.p1x, params.p1y);
  let P2 = vec2f(params.p2x, params.p2y);
  let q0 = P0 + vec2f(deltas[6u * i], deltas[6u * i + 1u]);
  let q1 = P1 + vec2f(deltas[6u * i + 2u], deltas[6u * i + 3u]);
  let q2 = P2 + vec2f(deltas[6u * i + 4u], deltas[6u * i + 5u]);
  // A·[u v] = [U V] with u, v the perturbed edges and U, V the original ones; then t = P0 − A·q0.
  let u = q1 - q0;
  let v = q2 - q0;
  let U = P1 - P0;
  let V = P2 - P0;
  let det = u.x * v.y - v.x * u.y;
  let a00 = (U.x * v.y - V.x * u.y) / det;
  let a01 = (V.x * u.x - U.x * v.x) / det;
  let a10 = (U.y * v.y - V.y * u.y) / det;
  let a11 = (V.y * u.x - U.y * v.x) / det;
  maps[2u * i] = vec4f(a00, a01, P0.x - a00 * q0.x - a01 * q0.y, 0.0);
  maps[2u * i + 1u] = vec4f(a10, a11, P0.y - a10 * q0.x - a11 * q0.y, 0.0);
}`,
};
