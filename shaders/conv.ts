// Convolution as implicit GEMM on the core in gemm.ts. Activations are NHWC, weights HWIO
// ([KH, KW, Cin, Cout]). The three directions differ only in how they gather A and B:
//   forward        y[m=(n,ho,wo), co]   = Σ_{k=(kh,kw,ci)} x(gather) · W[k, co]
//   data grad     dx[m=(n,h,w), ci]     = Σ_{k=(kh,kw,co)} dy(gather) · W[kh,kw,ci,co]
//   weight grad   dW[m=(kh,kw,ci), co]  = Σ_{k=(n,ho,wo)} x(gather) · dy[k, co]
// On the vectorised paths the K index is carried as mixed-radix digits that the loop advances
// (kInit/kNext), so the hot loop never divides: integer division has no SIMD form on CPUs.
import { i32, perElementLoopMain, perElementWorkgroups, u32, type Program, type UniformField } from '../engine/program.js';
import { matrixReader, operandStorage, type OperandReader } from './gemm.js';

/** Geometry uniforms shared by the conv readers (all u32; pads are applied as signed offsets). */
export const convUniforms: UniformField[] = ['H', 'W', 'Ci', 'Ho', 'Wo', 'Co', 'KW', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw'].map(u32);

const P = (n: string) => `i32(params.${n})`;

/** Adds `by` to the lowest digit and carries: c += by; if c ≥ R0 { c = 0; d1 += 1; if d1 ≥ R1 { … } }. */
function carryStep(vars: string[], radices: string[], by: string): string {
  let inner = `${vars[vars.length - 1]} += 1u;`;
  for (let i = vars.length - 2; i >= 1; i--) inner = `${vars[i]} += 1u; if (${vars[i]} >= ${radices[i]}) { ${vars[i]} = 0u; ${inner} }`;
  return `${vars[0]} += ${by}; if (${vars[0]} >= ${radices[0]}) { ${vars[0]} = 0u; ${inner} }`;
}

/** Declares a counter's digits from a start index (divisions happen here, once per thread). */
function carryInit(vars: string[], radices: string[], start: string): string {
  const lines: string[] = [];
  let rest = start;
  vars.forEach((v, i) => {
    if (i === vars.length - 1) {
      lines.push(`var ${v} = ${rest};`);
      return;
    }
    lines.push(`var ${v} = ${rest} % ${radices[i]};`);
    lines.push(`let ${v}_rest = ${rest} / ${radices[i]};`);
    rest = `${v}_rest`;
  });
  return lines.join('\n    ');
}

// Reads x (NHWC) at (base, h, w, c), zero outside the image. Coordinates are clamped before the load
// so the address is always valid and the select keeps lanes branch-free.
function xLoad(vec4: boolean, store: ReturnType<typeof operandStorage>): string {
  return `${store.functions}
fn xLoad${vec4 ? 4 : 1}(base: u32, h: i32, w: i32, c: u32) -> ${vec4 ? 'vec4<f32>' : 'f32'} {
  let inside = h >= 0 && w >= 0 && h < ${P('H')} && w < ${P('W')};
  let idx = base + (u32(clamp(h, 0, ${P('H')} - 1)) * params.W + u32(clamp(w, 0, ${P('W')} - 1))) * params.Ci + c;
  return select(${vec4 ? 'vec4<f32>()' : '0.0'}, ${vec4 ? store.vecAt('idx / 4u') : store.at('idx')}, inside);
}`;
}

/** Splits k into (kh·dh, kw·dw, channel) by division: the scalar paths (channels not a multiple of 4). */
function kDecompose(k: string, channels: string, suffix: string): string {
  return `let ac${suffix} = ${k} % params.${channels};
      let akt${suffix} = ${k} / params.${channels};
      let akw${suffix} = i32(akt${suffix} % params.KW) * ${P('dw')};
      let akh${suffix} = i32(akt${suffix} / params.KW) * ${P('dh')};`;
}

const scalarKSetup = (k: string, channels: string) => [0, 1, 2, 3].map((kk) => kDecompose(`(${k} + ${kk}u)`, channels, `${kk}`)).join('\n      ');

/**
 * K over (kh, kw, channel) with 4 channels per block, carried as digits ac (channel), akwi, akhi;
 * the block's tap offsets are akw/akh.
 */
function tapCounter(channels: string): Pick<OperandReader, 'kInit' | 'kNext' | 'kSetup'> {
  const vars = ['ac', 'akwi', 'akhi'];
  const radices = [`params.${channels}`, 'params.KW'];
  return {
    kInit: (k) => carryInit(vars, radices, k),
    kSetup: () => `let akw = i32(akwi) * ${P('dw')};
      let akh = i32(akhi) * ${P('dh')};`,
    kNext: () => carryStep(vars, radices, '4u'),
  };
}

/**
 * Row t of an A tile as pixel (image rn, row ri, column rj) of an images × gridH × gridW grid. The
 * core hands readers consecutive rows min(m0 + t, M − 1), so only row 0 divides; later rows step
 * from the one before with carries (and repeat it once past M). Divisions have no SIMD form on CPUs,
 * and a small-K GEMM (a strided data-gradient phase) would otherwise spend much of its time here.
 */
function pixelRow(t: number, o: string, gridH: string, gridW: string): string {
  if (t === 0) {
    return `let rp0 = ${o};
    let rn0 = rp0 / (${gridH} * ${gridW});
    let ri0 = (rp0 / ${gridW}) % ${gridH};
    let rj0 = rp0 % ${gridW};`;
  }
  const prev = t - 1;
  return `let rs${t} = select(0u, 1u, m0 + ${t}u < params.M);
    let rw${t} = select(0u, 1u, rj${prev} + rs${t} == ${gridW});
    let rj${t} = select(rj${prev} + rs${t}, 0u, rw${t} == 1u);
    let rh${t} = select(0u, 1u, ri${prev} + rw${t} == ${gridH});
    let ri${t} = select(ri${prev} + rw${t}, 0u, rh${t} == 1u);
    let rn${t} = rn${prev} + rh${t};`;
}

/** Forward A: rows are output pixels, K runs over (kh, kw, ci); contiguous along ci. x may be f16. */
export function convForwardA(vec4: boolean, half = false): OperandReader {
  const store = operandStorage('xbuf', vec4, half);
  return {
    key: `cfA${vec4 ? 4 : 1}${store.key}`,
    bindings: [store.binding],
    uniforms: convUniforms,
    kContiguous: true,
    vec4,
    functions: xLoad(vec4, store),
    outerSetup: (t, o) => `${pixelRow(t, o, 'params.Ho', 'params.Wo')}
    let ab${t} = rn${t} * params.H * params.W * params.Ci;
    let ah${t} = i32(ri${t}) * ${P('sh')} - ${P('ph')};
    let aw${t} = i32(rj${t}) * ${P('sw')} - ${P('pw')};`,
    ...(vec4 ? tapCounter('Ci') : { kSetup: (k: string) => scalarKSetup(k, 'Ci') }),
    load: (t, kk) => `xLoad1(ab${t}, ah${t} + akh${kk}, aw${t} + akw${kk}, ac${kk})`,
    loadVec: (t) => `xLoad4(ab${t}, ah${t} + akh, aw${t} + akw, ac)`,
  };
}

/**
 * K over 4-wide blocks in the order (kh, ci/4, kw), carried as digits `${p}kwi`, `${p}cb`, `${p}khi`:
 * the tap window's order (convForwardWindowA, convTapMajorB).
 */
function tapMajorCounter(p: string): Required<Pick<OperandReader, 'kInit' | 'kNext'>> {
  const vars = [`${p}kwi`, `${p}cb`, `${p}khi`];
  const radices = ['params.KW', '(params.Ci / 4u)'];
  return { kInit: (k) => carryInit(vars, radices, `(${k}) / 4u`), kNext: () => carryStep(vars, radices, '1u') };
}

/**
 * K over output pixels (n, ho, wo), carried as digits pwo, pho, pn from the chunk's first pixel and
 * stepped a whole 4-pixel block at a time: a weight gradient's K when Wo is a multiple of 4 (a
 * block never crosses an output row). kInit alone also serves readers that step pixel by pixel.
 */
function pixelCounter(): Required<Pick<OperandReader, 'kInit' | 'kNext'>> {
  const vars = ['pwo', 'pho', 'pn'];
  const radices = ['params.Wo', 'params.Ho'];
  return { kInit: (k) => carryInit(vars, radices, k), kNext: () => carryStep(vars, radices, '4u') };
}

/**
 * Forward A for stride 1 along the width, with K ordered (kh, ci/4, kw, ci%4) instead of (kh, kw, ci)
 * and a sliding window over the taps. A lane's TM rows are TM consecutive pixels of one output row
 * (Wo a multiple of TM), so the tap one to the right reads the same input row shifted by one pixel:
 * the window keeps TM − 1 of its vec4s and loads one, instead of loading TM. A (kh, channel block)
 * starts with a full load, so a K block of KW taps costs TM + KW − 1 loads instead of TM·KW. On CPU
 * adapters every lane's load is a separate memory access, and these loads are much of a
 * convolution's time when Cout is small. The weights must be read in the same K order
 * (convTapMajorB). Needs Ci and Cout multiples of 4, sw = dw = 1.
 */
export function convForwardWindowA(tm: number, half = false): OperandReader {
  const store = operandStorage('xbuf', true, half);
  const counter = tapMajorCounter('a');
  const win = (t: number) => `awin${t}`;
  const range = Array.from({ length: tm }, (_, t) => t);
  return {
    key: `cfW${tm}${store.key}`,
    bindings: [store.binding],
    uniforms: convUniforms,
    kContiguous: true,
    vec4: true,
    functions: xLoad(true, store),
    // Row 0 locates the window; the other rows are its neighbours along the output row.
    outerSetup: (t, o) => (t > 0 ? '' : `${pixelRow(0, o, 'params.Ho', 'params.Wo')}
    let ab0 = rn0 * params.H * params.W * params.Ci;
    let ah0 = i32(ri0) * ${P('sh')} - ${P('ph')};
    let aw0 = i32(rj0) - ${P('pw')};`),
    kInit: (k) => `${counter.kInit(k)}
    ${range.map((t) => `var ${win(t)} = vec4<f32>();`).join('\n    ')}`,
    kSetup: (k) => `let akh = ah0 + i32(akhi) * ${P('dh')};
      let akw = aw0 + i32(akwi);
      let ac = acb * 4u;
      if (akwi == 0u || ${k} == kBegin) {
        ${range.slice(0, -1).map((t) => `${win(t)} = xLoad4(ab0, akh, akw + ${t}, ac);`).join('\n        ')}
      } else {
        ${range.slice(0, -1).map((t) => `${win(t)} = ${win(t + 1)};`).join('\n        ')}
      }
      ${win(tm - 1)} = xLoad4(ab0, akh, akw + ${tm - 1}, ac);`,
    kNext: counter.kNext,
    load: () => {
      throw new Error('convForwardWindowA reads vec4s only');
    },
    loadVec: (t) => win(t),
  };
}

/** HWIO weights as B[k, co] with K ordered (kh, ci/4, kw, ci%4), the order of convForwardWindowA. */
export function convTapMajorB(half = false): OperandReader {
  const store = operandStorage('Bbuf', true, half);
  return {
    key: `ctB${store.key}`,
    bindings: [store.binding],
    functions: store.functions,
    uniforms: convUniforms,
    kContiguous: false,
    vec4: true,
    outerSetup: (t, o) => `let bs${t} = (${o}) / 4u;${t === 0 ? '\n    let bld4 = params.Co / 4u;' : ''}`,
    ...tapMajorCounter('b'),
    // W's row (kh, kw, ci) for the block's first channel; the block's 4 rows follow it.
    kSetup: () => `let brow = (bkhi * params.KW + bkwi) * params.Ci + bcb * 4u;`,
    load: () => {
      throw new Error('convTapMajorB reads vec4s only');
    },
    loadVec: (t, kk) => store.vecAt(`bs${t} + (brow + ${kk}u) * bld4`),
    loadVecDynamic: (t, kk) => store.vecAt(`min(n0 + 4u * ${t}, params.N - 4u) / 4u + (brow + ${kk}) * bld4`),
  };
}

/** Forward B and weight-gradient B: a plain [K, Cout] row-major matrix (HWIO weights, or dy). */
export function convMatrixB(vec4: boolean, half = false) {
  return matrixReader('B', false, vec4, half);
}

/**
 * Data-gradient A: rows are input pixels, K runs over (kh, kw, co); gathers dy where the stride
 * hits. With stride 1 the hit test needs no division (`strided` false).
 */
export function convDataGradA(vec4: boolean, strided: boolean): OperandReader {
  const load = (vec: boolean) => {
    const zero = vec ? 'vec4<f32>()' : '0.0';
    const position = strided
      ? `let ho = th / ${P('sh')};
  let wo = tw / ${P('sw')};
  let hit = th >= 0 && tw >= 0 && th % ${P('sh')} == 0 && tw % ${P('sw')} == 0 && ho < ${P('Ho')} && wo < ${P('Wo')};`
      : `let ho = th;
  let wo = tw;
  let hit = th >= 0 && tw >= 0 && ho < ${P('Ho')} && wo < ${P('Wo')};`;
    return `
fn dyLoad${vec ? 4 : 1}(base: u32, hp: i32, wp: i32, kh: i32, kw: i32, c: u32) -> ${vec ? 'vec4<f32>' : 'f32'} {
  let th = hp - kh;
  let tw = wp - kw;
  ${position}
  let idx = base + (u32(clamp(ho, 0, ${P('Ho')} - 1)) * params.Wo + u32(clamp(wo, 0, ${P('Wo')} - 1))) * params.Co + c;
  return select(${zero}, dybuf[${vec ? 'idx / 4u' : 'idx'}], hit);
}`;
  };
  return {
    key: `cdA${vec4 ? 4 : 1}${strided ? 's' : ''}`,
    bindings: [{ name: 'dybuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms: convUniforms,
    kContiguous: true,
    vec4,
    functions: load(vec4),
    outerSetup: (t, o) => `${pixelRow(t, o, 'params.H', 'params.W')}
    let ab${t} = rn${t} * params.Ho * params.Wo * params.Co;
    let ah${t} = i32(ri${t}) + ${P('ph')};
    let aw${t} = i32(rj${t}) + ${P('pw')};`,
    ...(vec4 ? tapCounter('Co') : { kSetup: (k: string) => scalarKSetup(k, 'Co') }),
    load: (t, kk) => `dyLoad1(ab${t}, ah${t}, aw${t}, akh${kk}, akw${kk}, ac${kk})`,
    loadVec: (t) => `dyLoad4(ab${t}, ah${t}, aw${t}, akh, akw, ac)`,
  };
}

/**
 * HWIO weights read transposed, as B[k, n=ci] with k = (tap, co): memory runs along co, i.e. along K.
 * The vectorised path carries k as digits (bco, then the tap digits) and `tapBase` turns the tap
 * digits into the offset of W[tap, 0, 0]; `scalarAddr` addresses one element from k. A subgroup
 * shares the vectorised tile, each lane loading the K-run of one column (loadVecDynamic).
 */
function transposedWeights(key: string, vec4: boolean, uniforms: UniformField[], tapDigits: string[], tapRadices: string[], tapBase: string, scalarAddr: (t: number, k: string) => string): OperandReader {
  const vars = ['bco', ...tapDigits];
  const radices = ['params.Co', ...tapRadices];
  return {
    key: `${key}${vec4 ? 4 : 1}`,
    bindings: [{ name: 'wbuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms,
    kContiguous: true,
    vec4,
    outerSetup: (t, o) => `let bo${t} = (${o}) * params.Co;`,
    ...(vec4
      ? {
          kInit: (k: string) => carryInit(vars, radices, k),
          kSetup: () => `let bbase = (${tapBase}) * params.Ci * params.Co + bco;`,
          kNext: () => carryStep(vars, radices, '4u'),
        }
      : { kSetup: () => '' }),
    load: (t, kk) => `wbuf[${scalarAddr(t, `(k + ${kk}u)`)}]`,
    loadVec: (t) => `wbuf[(bbase + bo${t}) / 4u]`,
    ...(vec4 ? { loadVecDynamic: (t: string) => `wbuf[(bbase + min(n0 + ${t}, params.Ci - 1u) * params.Co) / 4u]` } : {}),
  };
}

/** Data-gradient B: W[kh,kw,ci,co] read as B[k=(kh,kw,co), n=ci]. */
export function convDataGradB(vec4: boolean): OperandReader {
  return transposedWeights('cdB', vec4, convUniforms, ['btap'], [], 'btap', (t, k) => `(${k} / params.Co) * params.Ci * params.Co + bo${t} + ${k} % params.Co`);
}

/**
 * Weight-gradient A: rows are (kh, kw, ci), K runs over output pixels (n, ho, wo); contiguous along
 * ci. The 4 pixels of a block are carried as digits (wo, ho, n) and stepped by one with carries.
 * With `rowAligned` (Wo a multiple of 4, so K blocks, which start at multiples of 4, never cross an
 * output row) the block's pixels share (n, ho) and only wo steps: one carry per block instead of
 * four. Carries are uniform across lanes but still cost about a sixth of a 16-channel weight
 * gradient on llvmpipe. The pixels, and so the sums, are the same either way.
 */
export function convWeightGradA(vec4: boolean, rowAligned = false): OperandReader {
  const xStore = operandStorage('xbuf', vec4, false);
  const kk4 = [0, 1, 2, 3];
  const radices = ['params.Wo', 'params.Ho'];
  const digits = (kk: number) => [`kwo${kk}`, `kho${kk}`, `kn${kk}`];
  const pixels = pixelCounter();
  return {
    key: `cwA${vec4 ? 4 : 1}${rowAligned ? 'r' : ''}`,
    bindings: [xStore.binding],
    uniforms: convUniforms,
    kContiguous: false,
    vec4,
    functions: xLoad(vec4, xStore),
    // vec4: slot t is a group of 4 consecutive channels sharing (kh, kw)
    outerSetup: (t, o) => `let am${t} = ${o};
    let ac${t} = am${t} % params.Ci;
    let akt${t} = am${t} / params.Ci;
    let aw${t} = i32(akt${t} % params.KW) * ${P('dw')} - ${P('pw')};
    let ah${t} = i32(akt${t} / params.KW) * ${P('dh')} - ${P('ph')};`,
    kInit: pixels.kInit,
    kSetup: () => rowAligned
      ? `let akb0 = pn * params.H * params.W * params.Ci;
      let akh0 = i32(pho * params.sh);
      ${kk4.map((kk) => `let akw${kk} = i32((pwo + ${kk}u) * params.sw);`).join('\n      ')}`
      : kk4.map((kk) => {
      const [w, h, n] = digits(kk);
      const from = kk === 0 ? ['pwo', 'pho', 'pn'] : digits(kk - 1);
      const copy = `var ${w} = ${from[0]};
      var ${h} = ${from[1]};
      var ${n} = ${from[2]};`;
      return `${copy}
      ${kk === 0 ? '' : carryStep([w, h, n], radices, '1u')}
      let akb${kk} = ${n} * params.H * params.W * params.Ci;
      let akh${kk} = i32(${h} * params.sh);
      let akw${kk} = i32(${w} * params.sw);`;
    }).join('\n      '),
    kNext: () => rowAligned
      ? pixels.kNext()
      : `pwo = kwo3;
      pho = kho3;
      pn = kn3;
      ${carryStep(['pwo', 'pho', 'pn'], radices, '1u')}`,
    load: (t, kk) => `xLoad1(akb${rowAligned ? 0 : kk}, akh${rowAligned ? 0 : kk} + ah${t}, akw${kk} + aw${t}, ac${t})`,
    loadVec: (t, kk) => `xLoad4(akb${rowAligned ? 0 : kk}, akh${rowAligned ? 0 : kk} + ah${t}, akw${kk} + aw${t}, ac${t})`,
  };
}

/**
 * Weight-gradient A with a sliding window over the pixels, for dilation 1 and stride sw along the
 * width. Rows are ordered (kh, ci/4, kw, ci%4) instead of (kh, kw, ci) and a lane takes the 4·KW rows
 * of one (kh, channel block): all KW taps of a kernel row for 4 channels. Tap kw at output pixel wo
 * reads input column sw·wo + kw − pw, so across a K block of 4 pixels of one output row (Wo a
 * multiple of 4) the lane reads the 3·sw + KW columns from sw·wo − pw on, and the block before
 * already loaded the first KW − sw of them: at stride 1, 4 loads per block instead of 4·KW; at
 * stride 2 with 3 taps, 8 instead of 12. A row or K chunk starts with all of them. Each lane's load is
 * a separate memory access on CPU adapters, where these loads were most of a small-channel weight
 * gradient's time. The output comes out in the reordered rows (the caller permutes them back to
 * HWIO). Needs Ci a multiple of 4 and sw ≤ KW.
 */
export function convWeightGradWindowA(KW: number, sw: number): OperandReader {
  if (!Number.isInteger(sw) || sw < 1 || sw > KW) throw new Error(`convWeightGradWindowA: stride ${sw} must be 1 to KW = ${KW}`);
  const xStore = operandStorage('xbuf', true, false);
  const size = 3 * sw + KW;
  const kept = KW - sw;
  const win = (i: number) => `awin${i}`;
  const loadAt = (i: number) => `${win(i)} = xLoad4(akb, akh, akw + ${i}, ac);`;
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  const pixels = pixelCounter();
  return {
    key: `cwW${KW}s${sw}`,
    bindings: [xStore.binding],
    uniforms: convUniforms,
    kContiguous: false,
    vec4: true,
    functions: xLoad(true, xStore),
    // Slot t is tap kw = t of the lane's group (rows m0 + 4t .. m0 + 4t + 3); group g = m0 / (4·KW).
    outerSetup: (t, o) => t > 0 ? '' : `let ag = (${o}) / ${4 * KW}u;
    let ac = (ag % (params.Ci / 4u)) * 4u;
    let ah = i32(ag / (params.Ci / 4u)) * ${P('dh')} - ${P('ph')};`,
    kInit: (k) => `${pixels.kInit(k)}
    ${range(0, size).map((i) => `var ${win(i)} = vec4<f32>();`).join('\n    ')}`,
    kSetup: (k) => `let akb = pn * params.H * params.W * params.Ci;
      let akh = i32(pho * params.sh) + ah;
      let akw = i32(pwo * ${sw}u) - ${P('pw')};
      if (pwo == 0u || ${k} == kBegin) {
        ${range(0, size).map(loadAt).join('\n        ')}
      } else {
        ${range(0, kept).map((i) => `${win(i)} = ${win(i + 4 * sw)};`).join('\n        ')}
        ${range(kept, size).map(loadAt).join('\n        ')}
      }`,
    kNext: pixels.kNext,
    load: () => {
      throw new Error('convWeightGradWindowA reads vec4s only');
    },
    loadVec: (t, kk) => win(sw * kk + t),
  };
}

// ---- strided data gradient by sub-pixel phases ----------------------------------------------------
// With stride s > 1 only the taps with (h + ph − kh) ≡ 0 (mod s) reach an input row h, so the plain
// data-gradient gather wastes (s²−1)/s² of its loads on zeros. Splitting the input pixels by phase
// (h mod s, w mod s) gives s² dense GEMMs, each over its own taps kh = kh0 + s·t:
//   dx[n, a + s·i, b + s·j, ci] = Σ_{t,u,co} dy[n, i + qa − t, j + qb − u, co] · W[kh0 + s·t, kw0 + s·u, ci, co]

/** Phase geometry uniforms (besides convUniforms): rows of the phase grid, first taps, tap counts, offsets. */
export const phaseUniforms: UniformField[] = ['Hp', 'Wp', 'pa', 'pb', 'kh0', 'kw0', 'nkw'].map(u32).concat([i32('qa'), i32('qb')]);

export function convPhaseDataGradA(vec4: boolean): OperandReader {
  const load = `
fn dyPhaseLoad${vec4 ? 4 : 1}(base: u32, i: i32, j: i32, t: i32, u: i32, c: u32) -> ${vec4 ? 'vec4<f32>' : 'f32'} {
  let ho = i + params.qa - t;
  let wo = j + params.qb - u;
  let hit = ho >= 0 && wo >= 0 && ho < ${P('Ho')} && wo < ${P('Wo')};
  let idx = base + (u32(clamp(ho, 0, ${P('Ho')} - 1)) * params.Wo + u32(clamp(wo, 0, ${P('Wo')} - 1))) * params.Co + c;
  return select(${vec4 ? 'vec4<f32>()' : '0.0'}, dybuf[${vec4 ? 'idx / 4u' : 'idx'}], hit);
}`;
  const kSplit = (k: string, suffix: string) => `let ac${suffix} = ${k} % params.Co;
      let akt${suffix} = ${k} / params.Co;
      let au${suffix} = i32(akt${suffix} % params.nkw);
      let at${suffix} = i32(akt${suffix} / params.nkw);`;
  const vars = ['ac', 'aui', 'ati'];
  const radices = ['params.Co', 'params.nkw'];
  return {
    key: `cpA${vec4 ? 4 : 1}`,
    bindings: [{ name: 'dybuf', access: 'read', element: vec4 ? 'vec4<f32>' : 'f32' }],
    uniforms: [...convUniforms, ...phaseUniforms],
    kContiguous: true,
    vec4,
    functions: load,
    outerSetup: (t, o) => `${pixelRow(t, o, 'params.Hp', 'params.Wp')}
    let ab${t} = rn${t} * params.Ho * params.Wo * params.Co;
    let ai${t} = i32(ri${t});
    let aj${t} = i32(rj${t});`,
    ...(vec4
      ? { kInit: (k: string) => carryInit(vars, radices, k), kSetup: () => '', kNext: () => carryStep(vars, radices, '4u') }
      : { kSetup: (k: string) => [0, 1, 2, 3].map((kk) => kSplit(`(${k} + ${kk}u)`, `${kk}`)).join('\n      ') }),
    load: (t, kk) => `dyPhaseLoad1(ab${t}, ai${t}, aj${t}, at${kk}, au${kk}, ac${kk})`,
    loadVec: (t) => `dyPhaseLoad4(ab${t}, ai${t}, aj${t}, i32(ati), i32(aui), ac)`,
  };
}

/** B[k=(t,u,co), n=ci] = W[kh0 + s·t, kw0 + s·u, ci, co]: contiguous along co, i.e. along K. */
export function convPhaseDataGradB(vec4: boolean): OperandReader {
  const tap = (t: string, u: string) => `(params.kh0 + params.sh * ${t}) * params.KW + params.kw0 + params.sw * ${u}`;
  return transposedWeights('cpB', vec4, [...convUniforms, ...phaseUniforms], ['bui', 'bti'], ['params.nkw'], tap('bti', 'bui'),
    (t, k) => `(${tap(`((${k} / params.Co) / params.nkw)`, `((${k} / params.Co) % params.nkw)`)}) * params.Ci * params.Co + bo${t} + ${k} % params.Co`);
}

/**
 * Row m of a phase GEMM lands at input pixel (n, pa + s·i, pb + s·j); (n, i, j) of tile row t are
 * the ones convPhaseDataGradA decomposed, so the store divides nothing.
 */
export const phaseRowOffset = {
  key: 'phase',
  uniforms: [...convUniforms, ...phaseUniforms],
  expr: (_m: string, t: number) => `((rn${t} * params.H + params.pa + params.sh * ri${t}) * params.W + params.pb + params.sw * rj${t}) * params.Ci`,
};

/** The geometry a col2im program is compiled for: a convolution's, all but the batch size. */
export interface Col2imGeometry {
  H: number; W: number; Ci: number; Ho: number; Wo: number;
  KH: number; KW: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
}

/**
 * col2im for a data gradient: dx[n, h, w, c] = Σ_{kh,kw} Z[n, ho, wo, kh, kw, c] over the taps where
 * ho·sh = h + ph − kh·dh (and likewise for w) lands inside the output, with Z = dy·Wᵀ computed by
 * a GEMM beforehand. Used when the input has so few channels (an image's 3) that the implicit GEMM
 * would fill 4-column tiles with 3 useful columns and re-read dy for every tap. The geometry is
 * compiled in, so every division is by a constant (a multiply on CPUs) and the tap loops unroll.
 */
const COL2IM_WG = 64;
export const col2imWorkgroups = (count: number) => perElementWorkgroups(count, COL2IM_WG);

export function col2imProgram(g: Col2imGeometry): Program {
  const taps = g.KH * g.KW * g.Ci;
  const axis = (name: 'h' | 'w', k: string, pad: number, dil: number, stride: number, out: number) => {
    const t = `t${name}`;
    return `let ${t} = i32(${name}) + ${pad} - i32(${k}) * ${dil};
      let ${name}o = u32(max(${t}, 0)) / ${stride}u;
      let ${name}hit = ${t} >= 0 && ${stride === 1 ? 'true' : `u32(${t}) % ${stride}u == 0u`} && ${name}o < ${out}u;`;
  };
  return {
    key: `col2im_${[g.H, g.W, g.Ci, g.Ho, g.Wo, g.KH, g.KW, g.sh, g.sw, g.ph, g.pw, g.dh, g.dw].join('_')}`,
    bindings: [{ name: 'Z', access: 'read', element: 'f32' }, { name: 'dx', access: 'read_write', element: 'f32' }],
    uniforms: [u32('count')],
    workgroupSize: COL2IM_WG,
    source: () => perElementLoopMain(`let c = i % ${g.Ci}u;
  let p = i / ${g.Ci}u;
  let w = p % ${g.W}u;
  let q = p / ${g.W}u;
  let h = q % ${g.H}u;
  let n = q / ${g.H}u;
  var s = 0.0;
  for (var kh = 0u; kh < ${g.KH}u; kh++) {
    ${axis('h', 'kh', g.ph, g.dh, g.sh, g.Ho)}
    for (var kw = 0u; kw < ${g.KW}u; kw++) {
      ${axis('w', 'kw', g.pw, g.dw, g.sw, g.Wo)}
      // Out-of-range taps read a clamped, valid address and add nothing.
      let z = Z[((n * ${g.Ho}u + min(ho, ${g.Ho - 1}u)) * ${g.Wo}u + min(wo, ${g.Wo - 1}u)) * ${taps}u + (kh * ${g.KW}u + kw) * ${g.Ci}u + c];
      s += select(0.0, z, hhit && whit);
    }
  }
  dx[i] = s;`, COL2IM_WG),
  };
}
