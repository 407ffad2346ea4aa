// Convolution as implicit GEMM on the core in gemm.ts. Activations are NHWC, weights HWIO
// ([KH, KW, Cin, Cout]). The three directions differ only in how they gather A and B:
//   forward        y[m=(n,ho,wo), co]   = Σ_{k=(kh,kw,ci)} x(gather) · W[k, co]
//   data grad     dx[m=(n,h,w), ci]     = Σ_{k=(kh,kw,co)} dy(gather) · W[kh,kw,ci,co]
//   weight grad   dW[m=(kh,kw,ci), co]  = Σ_{k=(n,ho,wo)} x(gather) · dy[k, co]
import { u32, type UniformField } from '../engine/program.js';
import { matrixReader, type OperandReader } from './gemm.js';

/** Geometry uniforms shared by the conv readers (all u32; pads are applied as signed offsets). */
export const convUniforms: UniformField[] = ['H', 'W', 'Ci', 'Ho', 'Wo', 'Co', 'KW', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw'].map(u32);

const P = (n: string) => `i32(params.${n})`;

// Reads x (NHWC) at (base, h, w, c), zero outside the image. Coordinates are clamped before the load
// so the address is always valid and the select keeps lanes branch-free.
const X_LOAD = `
fn xLoad1(base: u32, h: i32, w: i32, c: u32) -> f32 {
  let inside = h >= 0 && w >= 0 && h < ${P('H')} && w < ${P('W')};
  let idx = base + (u32(clamp(h, 0, ${P('H')} - 1)) * params.W + u32(clamp(w, 0, ${P('W')} - 1))) * params.Ci + c;
  return select(0.0, xbuf[idx], inside);
}`;
const X_LOAD4 = `
fn xLoad4(base: u32, h: i32, w: i32, c: u32) -> vec4<f32> {
  let inside = h >= 0 && w >= 0 && h < ${P('H')} && w < ${P('W')};
  let idx = base + (u32(clamp(h, 0, ${P('H')} - 1)) * params.W + u32(clamp(w, 0, ${P('W')} - 1))) * params.Ci + c;
  return select(vec4<f32>(), xbuf[idx / 4u], inside);
}`;

/** Forward A: rows are output pixels, K runs over (kh, kw, ci); contiguous along ci. */
export function convForwardA(vec4: boolean): OperandReader {
  return {
    key: `cfA${vec4 ? 4 : 1}`,
    bindings: [{ name: 'xbuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms: convUniforms,
    kContiguous: true,
    vec4,
    functions: vec4 ? X_LOAD4 : X_LOAD,
    outerSetup: (t, o) => `let am${t} = ${o};
    let ar${t} = am${t} % (params.Ho * params.Wo);
    let ab${t} = (am${t} / (params.Ho * params.Wo)) * params.H * params.W * params.Ci;
    let ah${t} = i32(ar${t} / params.Wo) * ${P('sh')} - ${P('ph')};
    let aw${t} = i32(ar${t} % params.Wo) * ${P('sw')} - ${P('pw')};`,
    kSetup: (k) => kBlockSetup(k, 'Ci', vec4),
    load: (t, kk) => `xLoad1(ab${t}, ah${t} + akh${kk}, aw${t} + akw${kk}, ac${kk})`,
    loadVec: (t) => `xLoad4(ab${t}, ah${t} + akh, aw${t} + akw, ac)`,
  };
}

/** Splits k into (kh·dh, kw·dw, channel) for a K index running over (kh, kw, channel). */
function kDecompose(k: string, channels: string, suffix: string): string {
  return `let ac${suffix} = ${k} % params.${channels};
      let akt${suffix} = ${k} / params.${channels};
      let akw${suffix} = i32(akt${suffix} % params.KW) * ${P('dw')};
      let akh${suffix} = i32(akt${suffix} / params.KW) * ${P('dh')};`;
}

/** K-block setup for readers whose K runs over (kh, kw, channel): once per block when vectorised, else per k. */
function kBlockSetup(k: string, channels: string, vec4: boolean): string {
  return vec4 ? kDecompose(k, channels, '') : [0, 1, 2, 3].map((kk) => kDecompose(`(${k} + ${kk}u)`, channels, `${kk}`)).join('\n      ');
}

/** Forward B and weight-gradient B: a plain [K, Cout] row-major matrix (HWIO weights, or dy). */
export function convMatrixB(vec4: boolean) {
  return matrixReader('B', false, vec4);
}

/** Data-gradient A: rows are input pixels, K runs over (kh, kw, co); gathers dy where the stride hits. */
export function convDataGradA(vec4: boolean): OperandReader {
  const load = (vec: boolean) => `
fn dyLoad${vec ? 4 : 1}(base: u32, hp: i32, wp: i32, kh: i32, kw: i32, c: u32) -> ${vec ? 'vec4<f32>' : 'f32'} {
  let th = hp - kh;
  let tw = wp - kw;
  let ho = th / ${P('sh')};
  let wo = tw / ${P('sw')};
  let hit = th >= 0 && tw >= 0 && th % ${P('sh')} == 0 && tw % ${P('sw')} == 0 && ho < ${P('Ho')} && wo < ${P('Wo')};
  let idx = base + (u32(clamp(ho, 0, ${P('Ho')} - 1)) * params.Wo + u32(clamp(wo, 0, ${P('Wo')} - 1))) * params.Co + c;
  return select(${vec ? 'vec4<f32>()' : '0.0'}, dybuf[${vec ? 'idx / 4u' : 'idx'}], hit);
}`;
  return {
    key: `cdA${vec4 ? 4 : 1}`,
    bindings: [{ name: 'dybuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms: convUniforms,
    kContiguous: true,
    vec4,
    functions: load(vec4),
    outerSetup: (t, o) => `let am${t} = ${o};
    let ar${t} = am${t} % (params.H * params.W);
    let ab${t} = (am${t} / (params.H * params.W)) * params.Ho * params.Wo * params.Co;
    let ah${t} = i32(ar${t} / params.W) + ${P('ph')};
    let aw${t} = i32(ar${t} % params.W) + ${P('pw')};`,
    kSetup: (k) => kBlockSetup(k, 'Co', vec4),
    load: (t, kk) => `dyLoad1(ab${t}, ah${t}, aw${t}, akh${kk}, akw${kk}, ac${kk})`,
    loadVec: (t) => `dyLoad4(ab${t}, ah${t}, aw${t}, akh, akw, ac)`,
  };
}

/**
 * Data-gradient B: W[kh,kw,ci,co] read as B[k=(kh,kw,co), n=ci]. Within one (kh,kw) the memory runs
 * along co, i.e. along K.
 */
export function convDataGradB(vec4: boolean): OperandReader {
  const addr = (t: number, k: string) => `(${k} / params.Co) * params.Ci * params.Co + bo${t} * params.Co + ${k} % params.Co`;
  return {
    key: `cdB${vec4 ? 4 : 1}`,
    bindings: [{ name: 'wbuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms: convUniforms,
    kContiguous: true,
    vec4,
    outerSetup: (t, o) => `let bo${t} = ${o};`,
    kSetup: () => '',
    load: (t, kk) => `wbuf[${addr(t, `(k + ${kk}u)`)}]`,
    loadVec: (t) => `wbuf[(${addr(t, 'k')}) / 4u]`,
  };
}

/** Weight-gradient A: rows are (kh, kw, ci), K runs over output pixels (n, ho, wo); contiguous along ci. */
export function convWeightGradA(vec4: boolean): OperandReader {
  const kk4 = [0, 1, 2, 3];
  return {
    key: `cwA${vec4 ? 4 : 1}`,
    bindings: [{ name: 'xbuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms: convUniforms,
    kContiguous: false,
    vec4,
    functions: vec4 ? X_LOAD4 : X_LOAD,
    // vec4: slot t is a group of 4 consecutive channels sharing (kh, kw)
    outerSetup: (t, o) => `let am${t} = ${o};
    let ac${t} = am${t} % params.Ci;
    let akt${t} = am${t} / params.Ci;
    let aw${t} = i32(akt${t} % params.KW) * ${P('dw')} - ${P('pw')};
    let ah${t} = i32(akt${t} / params.KW) * ${P('dh')} - ${P('ph')};`,
    kSetup: (k) => kk4.map((kk) => `let ak${kk} = ${k} + ${kk}u;
      let akr${kk} = ak${kk} % (params.Ho * params.Wo);
      let akb${kk} = (ak${kk} / (params.Ho * params.Wo)) * params.H * params.W * params.Ci;
      let akh${kk} = i32(akr${kk} / params.Wo) * ${P('sh')};
      let akw${kk} = i32(akr${kk} % params.Wo) * ${P('sw')};`).join('\n      '),
    load: (t, kk) => `xLoad1(akb${kk}, akh${kk} + ah${t}, akw${kk} + aw${t}, ac${t})`,
    loadVec: (t, kk) => `xLoad4(akb${kk}, akh${kk} + ah${t}, akw${kk} + aw${t}, ac${t})`,
  };
}
