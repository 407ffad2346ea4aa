// The JPEG decoder against PIL: every committed fixture (baseline 4:2:0 / 4:2:2 / 4:4:4, odd sizes,
// greyscale, progressive, optimised Huffman tables, quality 10 to 95) decodes to exactly the bytes
// PIL decoded from it. Broken files give one-line errors that name them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeJpegDecoder } from '../experiments/io/jpeg-node.js';
import { jpegFixture, jpegFixtureManifest } from './fixtures/jpeg-files.js';
import { sameBytes, throwsWith } from './helpers.js';

test('decodes every fixture to the bytes PIL decodes', async () => {
  const decoder = await nodeJpegDecoder();
  const manifest = jpegFixtureManifest();
  assert.ok(manifest.cases.length >= 17, 'fixture list');
  for (const name of manifest.cases) {
    const fx = jpegFixture(name);
    const img = decoder.decode(fx.file, `${name}.jpg`);
    assert.equal([img.width, img.height], [fx.width, fx.height], name);
    sameBytes(img.rgb, fx.rgb, `${name}.jpg vs PIL ${manifest.Pillow} on libjpeg-turbo ${manifest.libjpeg_turbo}`);
  }
});

test('truncated, foreign and empty files: errors name the file', async () => {
  const decoder = await nodeJpegDecoder();
  const { file } = jpegFixture('busy-420');
  throwsWith(() => decoder.decode(file.subarray(0, file.length >> 1), 'half.jpg'), 'half.jpg', 'truncated JPEG');
  throwsWith(() => decoder.decode(file.subarray(0, 200), 'header.jpg'), 'header.jpg', 'not a decodable JPEG');
  throwsWith(() => decoder.decode(new TextEncoder().encode('not a jpeg at all'), 'text.jpg'), 'text.jpg', 'Not a JPEG file');
  throwsWith(() => decoder.decode(new Uint8Array(0), 'empty.jpg'), 'empty.jpg', 'not a decodable JPEG');
  // The decoder is still usable after errors.
  sameBytes(decoder.decode(file, 'again').rgb, jpegFixture('busy-420').rgb, 'after errors');
});

test.run();
