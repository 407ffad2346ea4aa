// Packs f32 values in [0, 1] as uint8 bytes ⌊clamp(x, 0, 1)·255⌋ (the published truncation), four
// per u32 word, little-endian: the layout uploadImagesU8 reads and a .npy of uint8 holds.
import { u32, type Program } from '../../engine/program.js';
import { MAIN_HEADER, WG } from './common.js';

export const packBytesProgram: Program = {
  key: 'corrupt_pack_bytes',
  bindings: [{ name: 'src', access: 'read', element: 'f32' }, { name: 'out', access: 'read_write', element: 'u32' }],
  uniforms: [u32('count'), u32('words')],
  workgroupSize: WG,
  source: () => `
${MAIN_HEADER}
  if (i >= params.words) { return; }
  var word = 0u;
  for (var j = 0u; j < 4u; j++) {
    let b = 4u * i + j;
    if (b < params.count) { word |= u32(floor(clamp(src[b], 0.0, 1.0) * 255.0)) << (8u * j); }
  }
  out[i] = word;
}`,
};
