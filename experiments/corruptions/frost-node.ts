// Loading the published frost photographs in Node: frost1.png … frost6.jpg from a directory (see
// ./frost-textures.ts for the decoding).
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import type { Tensor } from '../../engine/tensor.js';
import { nodeJpegDecoder } from '../io/jpeg-node.js';
import { FROST_FILES, frostTexturesFrom } from './frost-textures.js';

/**
 * The frost textures in `dir`: the published frost1.png … frost6.jpg in that order (the corruption
 * uses the first five), or, if none of those names exist, every .png/.jpg/.jpeg there sorted by name.
 */
export async function loadFrostTextures(dir: string): Promise<Tensor[]> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new Error(`loadFrostTextures: cannot read directory ${dir}: ${(error as Error).message}`);
  }
  const published = FROST_FILES.filter((f) => names.includes(f));
  const files = published.length > 0 ? published : names.filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  if (files.length === 0) throw new Error(`loadFrostTextures: no frost textures (${FROST_FILES.join(', ')}) in ${dir}`);
  const read = await Promise.all(files.map(async (f) => ({ name: join(dir, f), bytes: new Uint8Array(await readFile(join(dir, f))) })));
  return frostTexturesFrom(read, { jpeg: await nodeJpegDecoder(), inflate: async (d) => new Uint8Array(inflateSync(d)) });
}
