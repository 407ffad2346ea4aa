// A small PNG decoder to 8-bit RGB (browser-safe: the caller supplies zlib's inflate, e.g.
// node:zlib inflateSync, or a page's DecompressionStream through decodePngAsync). Reads greyscale,
// RGB, palette, grey+alpha and RGBA images of bit depth 8 or 16 (16 keeps the high byte; palette and
// sub-byte greyscale depths 1/2/4 are expanded), without interlacing. Alpha is dropped, as
// cv2.imread(IMREAD_COLOR) does for the frost textures. The chunk CRCs are not checked: zlib's
// Adler-32 already guards the pixel data.
export interface DecodedImage {
  width: number;
  height: number;
  /** Row-major RGB bytes. */
  rgb: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

export function decodePng(bytes: Uint8Array, inflate: (data: Uint8Array) => Uint8Array, name = 'PNG'): DecodedImage {
  const png = parsePng(bytes, name);
  return pngPixels(png, inflate(png.compressed), name);
}

/** decodePng with an asynchronous inflate (a page's DecompressionStream). */
export async function decodePngAsync(bytes: Uint8Array, inflate: (data: Uint8Array) => Promise<Uint8Array>, name = 'PNG'): Promise<DecodedImage> {
  const png = parsePng(bytes, name);
  return pngPixels(png, await inflate(png.compressed), name);
}

interface ParsedPng {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  palette: Uint8Array | null;
  /** The IDAT chunks joined: one zlib stream. */
  compressed: Uint8Array;
}

function parsePng(bytes: Uint8Array, name: string): ParsedPng {
  if (!isPng(bytes)) throw new Error(`${name}: not a PNG file (bad signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = -1;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (data.length !== length) throw new Error(`${name}: truncated ${type} chunk`);
    if (type === 'IHDR') {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      depth = data[8];
      colorType = data[9];
      if (data[12] !== 0) throw new Error(`${name}: interlaced PNGs are not supported; re-save it without interlacing`);
      if (!(colorType in CHANNELS) || ![1, 2, 4, 8, 16].includes(depth) || (depth < 8 && colorType !== 0 && colorType !== 3)) throw new Error(`${name}: unsupported PNG colour type ${colorType} with bit depth ${depth}`);
    } else if (type === 'PLTE') palette = data.slice();
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (width === 0 || height === 0 || idat.length === 0) throw new Error(`${name}: missing IHDR or IDAT chunk`);
  if (colorType === 3 && !palette) throw new Error(`${name}: palette image without a PLTE chunk`);
  const joined = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
  let offset = 0;
  for (const d of idat) {
    joined.set(d, offset);
    offset += d.length;
  }
  return { width, height, depth, colorType, palette, compressed: joined };
}

function pngPixels({ width, height, depth, colorType, palette }: ParsedPng, raw: Uint8Array, name: string): DecodedImage {
  const channels = CHANNELS[colorType];
  const bitsPerPixel = channels * depth;
  const stride = Math.ceil((width * bitsPerPixel) / 8);
  const bpp = Math.max(1, bitsPerPixel >> 3); // the filter's byte distance to the left neighbour
  if (raw.length < height * (stride + 1)) throw new Error(`${name}: image data too short (${raw.length} bytes for ${height} rows of ${stride + 1})`);
  const lines = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = lines.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? lines.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const b = up[i];
      const c = i >= bpp ? up[i - bpp] : 0;
      let predictor: number;
      if (filter === 0) predictor = 0;
      else if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`${name}: bad filter type ${filter} on row ${y}`);
      row[i] = (src[i] + predictor) & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  const sample = (row: Uint8Array, x: number, ch: number): number => {
    if (depth === 8) return row[x * channels + ch];
    if (depth === 16) return row[2 * (x * channels + ch)];
    const bit = x * depth;
    return (row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  const maxValue = (1 << Math.min(depth, 8)) - 1;
  for (let y = 0; y < height; y++) {
    const row = lines.subarray(y * stride, (y + 1) * stride);
    for (let x = 0; x < width; x++) {
      const o = 3 * (y * width + x);
      if (colorType === 3) {
        const k = sample(row, x, 0);
        rgb.set(palette!.subarray(3 * k, 3 * k + 3), o);
      } else if (channels >= 3) {
        for (let ch = 0; ch < 3; ch++) rgb[o + ch] = sample(row, x, ch);
      } else {
        const g = depth < 8 ? Math.round((sample(row, x, 0) * 255) / maxValue) : sample(row, x, 0);
        rgb[o] = rgb[o + 1] = rgb[o + 2] = g;
      }
    }
  }
  return { width, height, rgb };
}
