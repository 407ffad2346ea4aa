// A tiny built-in 5×7 bitmap font for labelling raster images (PNG galleries) without a font
// renderer: lowercase letters (capitals are drawn as lowercase), digits, space and _ - . , : # = ( ) / % ?.
// Each glyph is 7 rows of 5 pixels ('#' on) above the baseline, plus 2 descender rows for g j p q y
// and the comma; characters advance by 6 pixels (one column of spacing).

const GLYPHS: Record<string, string> = {
  a: '...../...../.###./....#/.####/#...#/.####',
  b: '#..../#..../#.##./##..#/#...#/#...#/####.',
  c: '...../...../.###./#..../#..../#...#/.###.',
  d: '....#/....#/.##.#/#..##/#...#/#...#/.####',
  e: '...../...../.###./#...#/#####/#..../.###.',
  f: '..##./.#..#/.#.../###../.#.../.#.../.#...',
  g: '...../...../.####/#...#/#...#/#...#/.####/....#/.###.',
  h: '#..../#..../#.##./##..#/#...#/#...#/#...#',
  i: '..#../...../.##../..#../..#../..#../.###.',
  j: '...#./...../..##./...#./...#./...#./...#./#..#./.##..',
  k: '#..../#..../#..#./#.#../##.../#.#../#..#.',
  l: '.##../..#../..#../..#../..#../..#../.###.',
  m: '...../...../##.#./#.#.#/#.#.#/#...#/#...#',
  n: '...../...../#.##./##..#/#...#/#...#/#...#',
  o: '...../...../.###./#...#/#...#/#...#/.###.',
  p: '...../...../####./#...#/#...#/#...#/####./#..../#....',
  q: '...../...../.####/#...#/#...#/#...#/.####/....#/....#',
  r: '...../...../#.##./##..#/#..../#..../#....',
  s: '...../...../.####/#..../.###./....#/####.',
  t: '.#.../.#.../###../.#.../.#.../.#..#/..##.',
  u: '...../...../#...#/#...#/#...#/#..##/.##.#',
  v: '...../...../#...#/#...#/#...#/.#.#./..#..',
  w: '...../...../#...#/#...#/#.#.#/#.#.#/.#.#.',
  x: '...../...../#...#/.#.#./..#../.#.#./#...#',
  y: '...../...../#...#/#...#/#...#/#...#/.####/....#/.###.',
  z: '...../...../#####/...#./..#../.#.../#####',
  '0': '.###./#...#/#..##/#.#.#/##..#/#...#/.###.',
  '1': '..#../.##../..#../..#../..#../..#../.###.',
  '2': '.###./#...#/....#/...#./..#../.#.../#####',
  '3': '#####/...#./..#../...#./....#/#...#/.###.',
  '4': '...#./..##./.#.#./#..#./#####/...#./...#.',
  '5': '#####/#..../####./....#/....#/#...#/.###.',
  '6': '..##./.#.../#..../####./#...#/#...#/.###.',
  '7': '#####/....#/...#./..#../.#.../.#.../.#...',
  '8': '.###./#...#/#...#/.###./#...#/#...#/.###.',
  '9': '.###./#...#/#...#/.####/....#/...#./.##..',
  ' ': '...../...../...../...../...../...../.....',
  _: '...../...../...../...../...../...../#####',
  '-': '...../...../...../#####/...../...../.....',
  '.': '...../...../...../...../...../.##../.##..',
  ',': '...../...../...../...../...../.##../.##../..#../.#...',
  ':': '...../.##../.##../...../.##../.##../.....',
  '#': '.#.#./.#.#./#####/.#.#./#####/.#.#./.#.#.',
  '=': '...../...../#####/...../#####/...../.....',
  '(': '...#./..#../.#.../.#.../.#.../..#../...#.',
  ')': '.#.../..#../...#./...#./...#./..#../.#...',
  '/': '...../....#/...#./..#../.#.../#..../.....',
  '%': '##.../##..#/...#./..#../.#.../#..##/...##',
  '?': '.###./#...#/....#/...#./..#../...../..#..',
};

export const GLYPH_WIDTH = 5;
/** Cell height: 7 rows to the baseline and 2 for descenders. */
export const GLYPH_HEIGHT = 9;
const ADVANCE = GLYPH_WIDTH + 1;

function glyph(ch: string): string[] {
  const rows = (GLYPHS[ch] ?? GLYPHS[ch.toLowerCase()] ?? GLYPHS['?']).split('/');
  while (rows.length < GLYPH_HEIGHT) rows.push('.....');
  return rows;
}

/** Width in pixels of `text` drawn at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale;
}

/**
 * Draws `text` into an RGB image (width·height·3 bytes) with its top-left corner at (x, y), each
 * font pixel a scale×scale square; pixels outside the image are clipped.
 */
export function drawText(rgb: Uint8Array, width: number, height: number, x: number, y: number, text: string, options: { scale?: number; color?: [number, number, number] } = {}): void {
  const { scale = 1, color = [0, 0, 0] } = options;
  [...text].forEach((ch, k) => {
    const rows = glyph(ch);
    const gx = x + k * ADVANCE * scale;
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (rows[r][c] !== '#') continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + r * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = gx + c * scale + dx;
            if (px < 0 || px >= width) continue;
            const o = (py * width + px) * 3;
            rgb[o] = color[0];
            rgb[o + 1] = color[1];
            rgb[o + 2] = color[2];
          }
        }
      }
    }
  });
}
