// Byte-level mutations of a valid file, each with a name that says what it did (the fuzz report and
// a failing case name it). `rng` is the project's seeded generator, so a seed replays every case.
import { jpegSegments } from './reference.js';

export interface Mutation {
  name: string;
  apply(bytes: Uint8Array): Uint8Array;
  /** 'reject': the loader must refuse the result; 'any': valid (content checked) or refused. */
  expect?: 'reject' | 'any';
}

export const truncate = (at: number, expect?: 'reject'): Mutation => ({ name: `truncate at ${at}`, apply: (b) => b.slice(0, Math.max(0, Math.min(at, b.length))), expect });

export const flipBit = (offset: number, bit: number): Mutation => ({
  name: `flip bit ${bit} of byte ${offset}`,
  apply: (b) => {
    const out = b.slice();
    if (offset < out.length) out[offset] ^= 1 << bit;
    return out;
  },
});

export const setBytes = (offset: number, values: ArrayLike<number>, name = `set ${values.length} byte(s) at ${offset}`, expect?: 'reject'): Mutation => ({
  name,
  apply: (b) => {
    const out = b.slice();
    for (let i = 0; i < values.length && offset + i < out.length; i++) out[offset + i] = values[i];
    return out;
  },
  expect,
});

export const append = (values: ArrayLike<number>, name = `append ${values.length} byte(s)`, expect?: 'reject'): Mutation => ({
  name,
  apply: (b) => {
    const out = new Uint8Array(b.length + values.length);
    out.set(b);
    out.set(Array.from(values), b.length);
    return out;
  },
  expect,
});

export const replaceWith = (values: Uint8Array, name: string, expect: 'reject' | 'any' = 'reject'): Mutation => ({ name, apply: () => values.slice(), expect });

/** Replaces the first occurrence of `from` (latin-1 text) with `to`, keeping everything else. */
export const editText = (from: string, to: string, expect?: 'reject'): Mutation => ({
  name: `edit ${JSON.stringify(from)} → ${JSON.stringify(to)}`,
  apply: (b) => {
    const text = Array.from(b, (c) => String.fromCharCode(c)).join('');
    const at = text.indexOf(from);
    if (at < 0) return b.slice();
    const edited = text.slice(0, at) + to + text.slice(at + from.length);
    return Uint8Array.from(edited, (c) => c.charCodeAt(0) & 255);
  },
  expect,
});

export function randomTruncations(length: number, count: number, rng: () => number): Mutation[] {
  return Array.from({ length: count }, () => truncate(Math.floor(rng() * length)));
}

export function randomFlips(from: number, to: number, count: number, rng: () => number): Mutation[] {
  return Array.from({ length: count }, () => flipBit(from + Math.floor(rng() * (to - from)), Math.floor(rng() * 8)));
}

export function randomBytes(n: number, rng: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
}

/** JPEG-aware mutations: truncation at every segment boundary and inside the scan, bit flips in
 * the headers and the entropy-coded data, edited frame dimensions and component counts. */
export function jpegMutations(file: Uint8Array, rng: () => number): Mutation[] {
  const segments = jpegSegments(file);
  const sof = segments.find((s) => s.marker >= 0xc0 && s.marker <= 0xc3);
  const sos = segments.find((s) => s.marker === 0xda);
  const scanStart = sos ? sos.offset + 2 + sos.length : file.length;
  const out: Mutation[] = [truncate(0, 'reject'), truncate(2, 'reject')];
  for (const s of segments) out.push(truncate(s.offset), truncate(s.offset + 4));
  out.push(truncate(scanStart), truncate(scanStart + 16), truncate(Math.floor((scanStart + file.length) / 2)), truncate(file.length - 2), truncate(file.length - 1));
  out.push(...randomFlips(2, scanStart, 4, rng), ...randomFlips(scanStart, file.length - 2, 4, rng));
  if (sof) {
    const at = sof.offset + 5; // after marker (2), length (2), precision (1): height, width
    out.push(
      setBytes(at, [0, 63], 'frame height 63', 'reject'),
      setBytes(at + 2, [0, 128], 'frame width 128', 'reject'),
      setBytes(at, [0, 0, 0, 0], 'frame 0×0', 'reject'),
      setBytes(at, [0xff, 0xff, 0xff, 0xff], 'frame 65535×65535', 'reject'),
      setBytes(at + 4, [file[at + 4] === 1 ? 3 : 1], 'component count changed'),
      setBytes(at + 4, [0], 'no components', 'reject'),
    );
  }
  out.push(
    replaceWith(new Uint8Array(0), 'empty file'),
    replaceWith(Uint8Array.from('GIF89a\x01\x00\x01\x00', (c) => c.charCodeAt(0)), 'a GIF header'),
    replaceWith(randomBytes(200, rng), '200 random bytes'),
    append(randomBytes(64, rng), 'append 64 random bytes after EOI', undefined),
  );
  return out.map((m) => ({ ...m, expect: m.expect ?? 'any' }));
}
