// IEEE 754 binary16 on the host: uploads and read-backs of f16 tensors, and the CPU references that
// check f16 kernels. Encoding rounds to nearest, ties to even.

/** The 16 bits of the half nearest to x (overflow gives ±Infinity, NaN stays NaN). */
export function toHalfBits(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00; // past the largest half (65504) by at least half an ulp
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal; 1024 rounds up into the normals
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 can be off by one ulp near powers of two
  else if (2 ** (e + 1) <= a) e++;
  const q = roundHalfEven((a / 2 ** e - 1) * 1024);
  return sign | (((e + 15) << 10) + q); // q = 1024 carries into the exponent
}

export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function roundHalfEven(y: number): number {
  const r = Math.round(y);
  return r - y === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function encodeHalves(values: ArrayLike<number>): Uint16Array {
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = toHalfBits(values[i]);
  return bits;
}

export function decodeHalves(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = fromHalfBits(bits[i]);
  return out;
}

/** The value x takes when stored as f16 (what an f16 tensor holds after upload). */
export const roundToHalf = (x: number): number => fromHalfBits(toHalfBits(x));
