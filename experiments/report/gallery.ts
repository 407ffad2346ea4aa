// Corruption galleries: one image under every corruption at every severity, as a labelled grid
// (rows = corruptions, columns = clean + severities). Browser-safe: the raster variant returns RGB
// pixels (labels drawn with the built-in 5×7 bitmap font), the SVG variant embeds each tile as a PNG
// data URI with real <text> labels; the caller supplies the PNG encoder (compressed in Node).
import { escapeXml } from './svg.js';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font.js';
import { pngDataUri, encodePng } from '../io/png.js';

export interface GalleryRow {
  name: string;
  /** One uint8 H×W×3 tile per severity column. */
  tiles: Uint8Array[];
}

export interface Gallery {
  title: string;
  /** Tile size in image pixels. */
  height: number;
  width: number;
  clean: Uint8Array;
  /** Column headings after "clean" (e.g. severity numbers). */
  severities: number[];
  rows: GalleryRow[];
}

export interface GalleryLayout {
  /** Nearest-neighbour upscaling of each tile (default: 3 for tiles up to 32 px, 2 up to 64, else 1). */
  scale?: number;
}

export function defaultScale(height: number, width: number): number {
  const size = Math.max(height, width);
  return size <= 32 ? 3 : size <= 64 ? 2 : 1;
}

/** Nearest-neighbour ×scale of an H×W×3 image. */
export function upscale(tile: Uint8Array, height: number, width: number, scale: number): Uint8Array {
  if (scale === 1) return tile;
  const W = width * scale;
  const out = new Uint8Array(height * scale * W * 3);
  for (let y = 0; y < height * scale; y++) {
    const sy = Math.floor(y / scale);
    for (let x = 0; x < W; x++) {
      const s = (sy * width + Math.floor(x / scale)) * 3;
      const o = (y * W + x) * 3;
      out[o] = tile[s];
      out[o + 1] = tile[s + 1];
      out[o + 2] = tile[s + 2];
    }
  }
  return out;
}

function checkGallery(g: Gallery): void {
  const bytes = g.height * g.width * 3;
  if (g.clean.length !== bytes) throw new Error(`gallery: the clean tile has ${g.clean.length} bytes, expected ${g.height}×${g.width}×3`);
  for (const row of g.rows) {
    if (row.tiles.length !== g.severities.length) throw new Error(`gallery: row ${row.name} has ${row.tiles.length} tiles for ${g.severities.length} severities`);
    for (const t of row.tiles) if (t.length !== bytes) throw new Error(`gallery: a tile of row ${row.name} has ${t.length} bytes, expected ${bytes}`);
  }
}

const FONT_SCALE = 2;
const GAP = 6;

function rasterGeometry(g: Gallery, scale: number) {
  const tileW = g.width * scale;
  const tileH = g.height * scale;
  const textH = GLYPH_HEIGHT * FONT_SCALE;
  const labelW = Math.max(...g.rows.map((r) => textWidth(r.name, FONT_SCALE)), textWidth('severity', FONT_SCALE)) + 2 * GAP;
  const titleH = textH + 2 * GAP;
  const headH = textH + 2 * GAP;
  const cols = 1 + g.severities.length;
  const width = Math.max(labelW + cols * (tileW + GAP) + GAP, textWidth(g.title, FONT_SCALE) + 2 * GAP);
  const height = titleH + headH + g.rows.length * (tileH + GAP) + GAP;
  return { tileW, tileH, textH, labelW, titleH, headH, cols, width, height };
}

const columnTitle = (s: number) => `severity ${s}`;
const shortColumnTitle = (s: number) => `s${s}`;

/**
 * The gallery as one RGB image: a title line, a heading row (clean, severity 1..5), then a row per
 * corruption with its name at the left, starting with the clean image.
 */
export function galleryRaster(g: Gallery, layout: GalleryLayout = {}): { rgb: Uint8Array; width: number; height: number } {
  checkGallery(g);
  const scale = layout.scale ?? defaultScale(g.height, g.width);
  const geo = rasterGeometry(g, scale);
  const { width, height, tileW, tileH } = geo;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const blit = (tile: Uint8Array, x0: number, y0: number) => {
    const up = upscale(tile, g.height, g.width, scale);
    for (let y = 0; y < tileH; y++) rgb.set(up.subarray(y * tileW * 3, (y + 1) * tileW * 3), ((y0 + y) * width + x0) * 3);
  };
  const text = (x: number, y: number, s: string, color: [number, number, number] = [0, 0, 0]) => drawText(rgb, width, height, x, y, s, { scale: FONT_SCALE, color });
  text(GAP, GAP, g.title);
  const colX = (c: number) => geo.labelW + c * (tileW + GAP);
  const rowY = (r: number) => geo.titleH + geo.headH + r * (tileH + GAP);
  const headY = geo.titleH + GAP;
  ['clean', ...g.severities.map((s) => (textWidth(columnTitle(s), FONT_SCALE) <= tileW ? columnTitle(s) : shortColumnTitle(s)))].forEach((h, c) => {
    text(colX(c) + Math.max(0, Math.floor((tileW - textWidth(h, FONT_SCALE)) / 2)), headY, h, [60, 60, 60]);
  });
  const labelY = (r: number) => rowY(r) + Math.floor((tileH - geo.textH) / 2);
  g.rows.forEach((row, r) => {
    text(GAP, labelY(r), row.name);
    blit(g.clean, colX(0), rowY(r));
    row.tiles.forEach((t, c) => blit(t, colX(c + 1), rowY(r)));
  });
  return { rgb, width, height };
}

/**
 * The gallery as a standalone SVG document: each tile a nearest-neighbour-upscaled PNG embedded as
 * a data URI, labels as text. `png` encodes RGB pixels (default: the uncompressed browser-safe encoder).
 */
export function gallerySvg(g: Gallery, layout: GalleryLayout & { png?: (rgb: Uint8Array, width: number, height: number) => Uint8Array } = {}): string {
  checkGallery(g);
  const scale = layout.scale ?? defaultScale(g.height, g.width);
  const png = layout.png ?? ((rgb, w, h) => encodePng(rgb, w, h));
  const tileW = g.width * scale;
  const tileH = g.height * scale;
  const labelW = Math.max(110, ...g.rows.map((r) => 8 + 7.5 * r.name.length)) + 12;
  const top = 56;
  const cols = 1 + g.severities.length;
  const width = Math.ceil(labelW + cols * (tileW + GAP) + GAP);
  const height = top + g.rows.length * (tileH + GAP) + GAP;
  const uri = (tile: Uint8Array) => pngDataUri(png(upscale(tile, g.height, g.width, scale), tileW, tileH));
  const cleanUri = uri(g.clean);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${GAP}" y="20" font-size="15" font-weight="bold">${escapeXml(g.title)}</text>`,
  ];
  const colX = (c: number) => labelW + c * (tileW + GAP);
  const rowY = (r: number) => top + r * (tileH + GAP);
  ['clean', ...g.severities.map(columnTitle)].forEach((h, c) => out.push(`<text x="${(colX(c) + tileW / 2).toFixed(1)}" y="${top - 10}" text-anchor="middle" fill="#333">${escapeXml(h)}</text>`));
  const image = (href: string, c: number, r: number, title: string) =>
    out.push(`<image x="${colX(c)}" y="${rowY(r)}" width="${tileW}" height="${tileH}" href="${href}" xlink:href="${href}"><title>${escapeXml(title)}</title></image>`);
  const label = (r: number, s: string) => out.push(`<text x="${GAP}" y="${(rowY(r) + tileH / 2 + 4).toFixed(1)}">${escapeXml(s)}</text>`);
  g.rows.forEach((row, r) => {
    label(r, row.name);
    image(cleanUri, 0, r, 'clean');
    row.tiles.forEach((t, c) => image(uri(t), c + 1, r, `${row.name}, severity ${g.severities[c]}`));
  });
  return out.join('\n') + '\n</svg>\n';
}
