// Windowed pooling over NHWC images. One thread per output (forward) or per input (backward, a
// gather over the windows that contain the input pixel, so no atomics are needed when windows
// overlap). Max pooling records the winning input position per output for its backward.
import { u32, type Program } from '../engine/program.js';

const WG = 64;
export const poolUniforms = ['N', 'H', 'W', 'C', 'Ho', 'Wo', 'KH', 'KW', 'sh', 'sw', 'ph', 'pw'].map(u32);

const entry = `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let g = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;`;

/** Decomposes the NHWC output index g into (n, ho, wo, c) and the window origin. */
const outputCoords = `
  if (g >= params.N * params.Ho * params.Wo * params.C) { return; }
  let c = g % params.C;
  let wo = (g / params.C) % params.Wo;
  let ho = (g / (params.C * params.Wo)) % params.Ho;
  let n = g / (params.C * params.Wo * params.Ho);
  let h0 = i32(ho * params.sh) - i32(params.ph);
  let w0 = i32(wo * params.sw) - i32(params.pw);`;

/** kind 'avg' (padding counted in the divisor, PyTorch's default) or 'max'. */
export function poolForward(kind: 'avg' | 'max'): Program {
  const bindings = [{ name: 'x', access: 'read' as const, element: 'f32' as const }, { name: 'y', access: 'read_write' as const, element: 'f32' as const }];
  if (kind === 'max') bindings.push({ name: 'argmax', access: 'read_write', element: 'f32' });
  return {
    key: `pool_${kind}_forward`,
    bindings,
    uniforms: poolUniforms,
    workgroupSize: WG,
    source: () => `${entry}${outputCoords}
  var acc = ${kind === 'max' ? '-3.4028234663852886e38' : '0.0'};
  var best = -1;
  for (var kh = 0; kh < i32(params.KH); kh++) {
    let h = h0 + kh;
    if (h < 0 || h >= i32(params.H)) { continue; }
    for (var kw = 0; kw < i32(params.KW); kw++) {
      let w = w0 + kw;
      if (w < 0 || w >= i32(params.W)) { continue; }
      let v = x[((n * params.H + u32(h)) * params.W + u32(w)) * params.C + c];
      ${kind === 'max' ? 'if (v > acc || best < 0) { acc = v; best = h * i32(params.W) + w; }' : 'acc += v;'}
    }
  }
  ${kind === 'max' ? 'y[g] = acc;\n  argmax[g] = f32(best);' : 'y[g] = acc / f32(params.KH * params.KW);'}
}`,
  };
}

/** dx by gathering dy over every window that covers the input pixel. */
export function poolBackward(kind: 'avg' | 'max'): Program {
  const bindings = [{ name: 'dy', access: 'read' as const, element: 'f32' as const }, { name: 'dx', access: 'read_write' as const, element: 'f32' as const }];
  if (kind === 'max') bindings.splice(1, 0, { name: 'argmax', access: 'read', element: 'f32' });
  return {
    key: `pool_${kind}_backward`,
    bindings,
    uniforms: poolUniforms,
    workgroupSize: WG,
    source: () => `${entry}
  if (g >= params.N * params.H * params.W * params.C) { return; }
  let c = g % params.C;
  let w = i32((g / params.C) % params.W);
  let h = i32((g / (params.C * params.W)) % params.H);
  let n = g / (params.C * params.W * params.H);
  let me = f32(h * i32(params.W) + w);
  // outputs whose window [o·s − p, o·s − p + K) contains h: ceil((h + p − K + 1)/s) ≤ o ≤ floor((h + p)/s)
  let hp = h + i32(params.ph);
  let wp = w + i32(params.pw);
  let hoLo = max(0, (hp - i32(params.KH) + i32(params.sh)) / i32(params.sh));
  let hoHi = min(i32(params.Ho) - 1, hp / i32(params.sh));
  let woLo = max(0, (wp - i32(params.KW) + i32(params.sw)) / i32(params.sw));
  let woHi = min(i32(params.Wo) - 1, wp / i32(params.sw));
  var acc = 0.0;
  for (var ho = hoLo; ho <= hoHi; ho++) {
    for (var wo = woLo; wo <= woHi; wo++) {
      let o = ((n * params.Ho + u32(ho)) * params.Wo + u32(wo)) * params.C + c;
      ${kind === 'max' ? 'if (argmax[o] == me) { acc += dy[o]; }' : 'acc += dy[o];'}
    }
  }
  dx[g] = ${kind === 'max' ? 'acc' : 'acc / f32(params.KH * params.KW)'};
}`,
  };
}

export const poolWorkgroups = (threads: number) => Math.ceil(threads / WG);
