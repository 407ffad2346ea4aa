// Philox4x32-10 on the CPU, written from the Random123 definition with BigInt products (independent
// of the GPU's 16-bit-limb multiply), plus the engine's counter layout and distribution transforms.
const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const MASK = 0xffffffffn;

/** [hi, lo] words of the 64-bit product of two u32. */
export function mulhilo(a: bigint, b: number): [number, number] {
  const p = a * BigInt(b >>> 0);
  return [Number(p >> 32n), Number(p & MASK)];
}

/** One Philox4x32 block: `rounds` rounds over counter (4 words) under key (2 words). */
export function philox4x32(counter: ArrayLike<number>, key: ArrayLike<number>, rounds = 10): Uint32Array {
  let [c0, c1, c2, c3] = Array.from(counter, (v) => v >>> 0);
  let [k0, k1] = Array.from(key, (v) => v >>> 0);
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/**
 * The engine's layout: key = the 64-bit seed (low word first); block b of a call made at counter
 * offset `offset` uses counter (offset + b as two words, stream, 0). Returns `n` words, block by block.
 */
export function philoxWords(seed: bigint, offset: bigint, stream: number, n: number): Uint32Array {
  const key = [Number(seed & MASK), Number((seed >> 32n) & MASK)];
  const out = new Uint32Array(n);
  for (let b = 0; b * 4 < n; b++) {
    const ctr = offset + BigInt(b);
    const block = philox4x32([Number(ctr & MASK), Number((ctr >> 32n) & MASK), stream, 0], key);
    for (let j = 0; j < 4 && b * 4 + j < n; j++) out[b * 4 + j] = block[j];
  }
  return out;
}

/** Top 24 bits as a multiple of 2^-24 in [0, 1). */
export const unit = (w: number) => (w >>> 8) * 2 ** -24;

/** lo + (hi − lo)·u in f32 (two roundings), kept below hi as the GPU does. */
export function uniformRef(words: Uint32Array, lo: number, hi: number): Float32Array {
  const l = Math.fround(lo);
  const scale = Math.fround(Math.fround(hi) - l);
  const top = nextDownF32(Math.fround(hi));
  return Float32Array.from(words, (w) => Math.min(Math.fround(l + Math.fround(scale * unit(w))), top));
}

/**
 * Box–Muller in float64 on pairs (words 0,1 and 2,3 of each block), as the GPU lays them out: the
 * first n outputs from whole blocks of `words` (a partial last block still uses all four words).
 */
export function normalRef(words: Uint32Array, n: number): { z: Float64Array; radius: Float64Array; u1: Float64Array } {
  if (words.length < 4 * Math.ceil(n / 4)) throw new Error(`normalRef: ${n} normals need ${4 * Math.ceil(n / 4)} words, got ${words.length}`);
  const z = new Float64Array(n);
  const radius = new Float64Array(n);
  const u1 = new Float64Array(n);
  for (let b = 0; b * 4 < n; b++) {
    for (let pair = 0; pair < 2; pair++) {
      const i = b * 4 + pair * 2;
      const u = ((words[i] >>> 8) + 1) * 2 ** -24; // (0, 1]
      const theta = ((words[i + 1] >>> 8) * 2 ** -23 - 1) * Math.fround(Math.PI);
      const r = Math.sqrt(-2 * Math.log(u));
      for (const [k, v] of [[i, r * Math.cos(theta)], [i + 1, r * Math.sin(theta)]]) {
        if (k < n) {
          z[k] = v;
          radius[k] = r;
          u1[k] = u;
        }
      }
    }
  }
  return { z, radius, u1 };
}

export function bernoulliRef(words: Uint32Array, p: number): Float32Array {
  const pf = Math.fround(p);
  return Float32Array.from(words, (w) => (unit(w) < pf ? 1 : 0));
}

/** The largest normal f32 below x (x finite): subnormals are avoided since GPUs may flush them. */
export function nextDownF32(x: number): number {
  if (x <= 2 ** -126 && x > -(2 ** -126)) return -(2 ** -126);
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x);
  const bits = view.getUint32(0);
  view.setUint32(0, x > 0 ? bits - 1 : bits + 1);
  return view.getFloat32(0);
}
