import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { Generator } from '../engine/ops/random.js';
import { encodeCheckpoint } from '../experiments/checkpoint.js';
import { corruptCommand, evalCorruptionsCommand, galleryCommand } from '../experiments/cli/corruptions.js';
import { corruptionGenerator, contextFor, corruptToBytes } from '../experiments/corruption-eval.js';
import { CORRUPTION_NAMES, BENCHMARK_CORRUPTIONS } from '../experiments/corruptions/types.js';
import { openDataset } from '../experiments/datasets.js';
import { createModel } from '../experiments/models.js';
import { summarizeCorruptions, corruptionsCsv, corruptionsSvg } from '../experiments/report/corruptions.js';
import { setupGpu, rejects, sameBytes, runCli } from './helpers.js';
import { batches, readRange, type ImageDataset } from '../experiments/data/dataset.js';
import { detectLayout, loadCifar10C, loadCorruptedSet, loadTinyImageNetC, parseCorruptionList, parseSeverityList } from '../experiments/data/corrupted.js';
import { encodeNpy } from '../experiments/io/npy.js';
import { readNpyFile } from '../experiments/io/npy-node.js';
import { NpyWriter, npyHeader } from '../experiments/io/npy-writer.js';
import { crc32, encodePng, toBase64 } from '../experiments/io/png.js';
import { encodePngCompressed } from '../experiments/io/png-node.js';
import { galleryRaster, gallerySvg } from '../experiments/report/gallery.js';
import { removeDir, tempDir, writeTinyImageNetFixture } from './fixtures/datasets.js';
import { TIN_C_WNIDS, writeCifar10CFixture, writeTinyImageNetCFixture } from './fixtures/corrupted.js';

const dirs: string[] = [];
function scratch(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}
test.before(setupGpu);
test.after(() => dirs.forEach(removeDir));


async function readAll(ds: ImageDataset): Promise<{ images: Uint8Array; labels: Int32Array }> {
  return readRange(ds, 0, ds.size);
}

// ---------------------------------------------------------------------------------------------
// A minimal PNG reader for the checks: chunk CRCs, IHDR, zlib inflate, filter-0 scanlines.

function decodePngForTest(png: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  sig.forEach((b, i) => assert.is(png[i], b, `PNG signature byte ${i}`));
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let o = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (o < png.length) {
    const len = view.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    const data = png.subarray(o + 8, o + 8 + len);
    assert.is(view.getUint32(o + 8 + len), crc32(png.subarray(o + 4, o + 8 + len)), `${type} CRC`);
    types.push(type);
    if (type === 'IHDR') {
      width = view.getUint32(o + 8);
      height = view.getUint32(o + 12);
      assert.equal(Array.from(data.subarray(8)), [8, 2, 0, 0, 0], 'IHDR: 8-bit RGB, deflate, filter 0, no interlace');
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  assert.is(types[0], 'IHDR');
  assert.is(types[types.length - 1], 'IEND');
  assert.is(o, png.length, 'no bytes after IEND');
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const stride = width * 3;
  assert.is(raw.length, height * (stride + 1), 'inflated size');
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    assert.is(raw[y * (stride + 1)], 0, `filter byte of row ${y}`);
    rgb.set(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)), y * stride);
  }
  return { width, height, rgb };
}

/** Well-formedness of an XML document: a tokenizer checking balanced, properly nested tags. */
function checkXml(text: string, label: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  let i = text.indexOf('<');
  assert.ok(i >= 0, `${label}: no tags`);
  assert.is(text.slice(0, i).trim(), '', `${label}: text before the root`);
  let roots = 0;
  while (i >= 0 && i < text.length) {
    if (text.startsWith('<!--', i)) {
      i = text.indexOf('-->', i) + 3;
    } else if (text.startsWith('<?', i)) {
      i = text.indexOf('?>', i) + 2;
    } else {
      const end = text.indexOf('>', i);
      assert.ok(end > i, `${label}: unterminated tag at ${i}`);
      const tag = text.slice(i + 1, end);
      const closing = tag.startsWith('/');
      const selfClosing = tag.endsWith('/');
      const m = /^\/?([A-Za-z_][\w:.-]*)/.exec(tag);
      assert.ok(m, `${label}: bad tag <${tag.slice(0, 40)}>`);
      const name = m![1];
      if (!closing) {
        // Attributes: name="value" pairs with no raw < or & outside entities.
        const attrs = tag.slice(m![0].length, selfClosing ? -1 : undefined);
        assert.match(attrs, /^(\s+[A-Za-z_][\w:.-]*="[^"<]*")*\s*$/, `${label}: attributes of <${name}>`);
        for (const amp of attrs.matchAll(/&[^;\s]*;?/g)) assert.match(amp[0], /^&(amp|lt|gt|quot|apos|#\d+);$/, `${label}: entity ${amp[0]}`);
      }
      if (closing) {
        assert.is(stack.pop(), name, `${label}: </${name}> closes the wrong element`);
        if (stack.length === 0) roots++;
      } else if (selfClosing) {
        names.push(name);
        if (stack.length === 0) roots++;
      } else {
        names.push(name);
        stack.push(name);
      }
      i = end + 1;
    }
    const next = text.indexOf('<', i);
    const between = text.slice(i, next < 0 ? text.length : next);
    for (const amp of between.matchAll(/&[^;\s]*;?/g)) assert.match(amp[0], /^&(amp|lt|gt|quot|apos|#\d+);$/, `${label}: entity ${amp[0]} in text`);
    if (stack.length === 0) assert.is(between.trim(), '', `${label}: text outside the root`);
    i = next;
  }
  assert.is(stack.length, 0, `${label}: unclosed <${stack.join('>, <')}>`);
  assert.is(roots, 1, `${label}: one root element`);
  return names;
}

// ---------------------------------------------------------------------------------------------
// CIFAR-10-C layout

test('CIFAR-10-C: each severity reads its own N-row slice, with labels', async () => {
  const fx = writeCifar10CFixture(scratch('c10c'), ['gaussian_noise', 'fog'], 6);
  assert.is(detectLayout(fx.dir, 'fog'), 'cifar10-c');
  for (let s = 1; s <= 5; s++) {
    const ds = await loadCifar10C(fx.dir, 'gaussian_noise', s);
    assert.equal([ds.size, ds.height, ds.width, ds.channels, ds.numClasses], [6, 32, 32, 3, 10]);
    assert.equal(Array.from(ds.labels), Array.from(fx.labels));
    const { images, labels } = await readAll(ds);
    sameBytes(images, fx.images[s - 1], `severity ${s}`);
    assert.equal(Array.from(labels), Array.from(fx.labels));
    // Scattered indices (two runs and a single) and shuffled batches read through the same handle.
    const out = new Uint8Array(3 * 3072);
    const l = new Int32Array(3);
    await ds.read([4, 5, 1], out, l);
    sameBytes(out.subarray(0, 3072), fx.images[s - 1].subarray(4 * 3072, 5 * 3072), 'index 4');
    sameBytes(out.subarray(2 * 3072), fx.images[s - 1].subarray(3072, 2 * 3072), 'index 1');
    assert.equal(Array.from(l), [fx.labels[4], fx.labels[5], fx.labels[1]]);
    let seen = 0;
    for await (const b of batches(ds, 4, { shuffle: true, seed: s })) {
      for (let i = 0; i < b.count; i++) sameBytes(b.images.subarray(i * 3072, (i + 1) * 3072), fx.images[s - 1].subarray(b.indices[i] * 3072, (b.indices[i] + 1) * 3072), 'batch');
      seen += b.count;
    }
    assert.is(seen, 6);
    await ds.close();
  }
  // Through the layout-detecting entry point; reading after close() reopens the file.
  const fog = await loadCorruptedSet(fx.dir, 'fog', 3);
  await fog.close?.();
  sameBytes((await readAll(fog)).images, fx.images[2], 'fog 3 after close');
  await fog.close?.();
});

test('CIFAR-10-C: unknown names, wrong dtype or shape, truncation and label mismatches are named', async () => {
  const fx = writeCifar10CFixture(scratch('c10c-bad'), ['gaussian_noise', 'contrast', 'brightness', 'frost', 'snow'], 2);
  const dir = fx.dir;
  const msg = await rejects(() => loadCifar10C(dir, 'gaussian_blurr', 1), /unknown corruption 'gaussian_blurr'; valid names: gaussian_noise, shot_noise/, 'unknown name');
  assert.match(msg, /jpeg_compression/);
  await rejects(() => loadCifar10C(dir, 'gaussian_noise', 6), /severity must be an integer from 1 to 5, got 6/, 'severity 6');
  await rejects(() => loadCifar10C(dir, 'fog', 1), /missing .*fog\.npy \(corruptions in .*: brightness, contrast, frost, gaussian_noise, snow\)/, 'missing file');
  // float32 data.
  writeFileSync(join(dir, 'contrast.npy'), encodeNpy(new Float32Array(10 * 32 * 32 * 3), [10, 32, 32, 3]));
  await rejects(() => loadCifar10C(dir, 'contrast', 1), /contrast\.npy: expected dtype uint8, found float32 \('<f4'\)/, 'dtype');
  // Grayscale shape, then a row count that is not 5·N.
  writeFileSync(join(dir, 'brightness.npy'), encodeNpy(new Uint8Array(10 * 32 * 32), [10, 32, 32]));
  await rejects(() => loadCifar10C(dir, 'brightness', 1), /brightness\.npy: expected shape \(5·N, H, W, 3\), found \(10, 32, 32\)/, 'shape');
  writeFileSync(join(dir, 'brightness.npy'), encodeNpy(new Uint8Array(9 * 32 * 32 * 3), [9, 32, 32, 3]));
  await rejects(() => loadCifar10C(dir, 'brightness', 1), /brightness\.npy: 9 rows are not 5 severities × N images/, 'rows');
  // Truncated body.
  truncateSync(join(dir, 'frost.npy'), 128 + 5 * 3072);
  await rejects(() => loadCifar10C(dir, 'frost', 2), /frost\.npy: truncated: header says \(10, 32, 32, 3\) uint8 = 30720 bytes of data but the file has/, 'truncated');
  // Labels: count mismatch, then a missing labels file.
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(new Uint8Array(12), [12]));
  await rejects(() => loadCifar10C(dir, 'snow', 1), /labels\.npy holds 12 labels but .*snow\.npy holds 10 images/, 'label count');
  writeFileSync(join(dir, 'labels.npy'), encodeNpy(new Float32Array(10), [10]));
  await rejects(() => loadCifar10C(dir, 'snow', 1), /labels\.npy: expected 1-D integer labels/, 'label dtype');
  rmSync(join(dir, 'labels.npy'));
  await rejects(() => loadCifar10C(dir, 'snow', 1), /missing .*labels\.npy/, 'no labels');
  await rejects(() => loadCifar10C(join(dir, 'nope'), 'snow', 1), /directory .*nope does not exist/, 'no dir');
  await rejects(() => loadCorruptedSet(dir, 'zoom_blur', 1), /holds neither zoom_blur\.npy .* nor zoom_blur\/<severity>/, 'layout');
});

// ---------------------------------------------------------------------------------------------
// Tiny-ImageNet-C layout

function closeTo(got: Uint8Array, expected: Uint8Array, exact: boolean, label: string): void {
  if (exact) return sameBytes(got, expected, label);
  let sum = 0;
  for (let k = 0; k < got.length; k++) sum += Math.abs(got[k] - expected[k]);
  assert.ok(sum / got.length < 8, `${label}: mean abs error ${(sum / got.length).toFixed(2)}`);
}

test('Tiny-ImageNet-C: JPEG tree decodes into a cache; labels follow the clean wnids order', async () => {
  const dir = scratch('tinc');
  const fx = writeTinyImageNetCFixture(dir, 'motion_blur');
  assert.is(detectLayout(dir, 'motion_blur'), 'tinyimagenet-c');
  for (const s of [1, 4]) {
    const ds = await loadTinyImageNetC(dir, 'motion_blur', s, { wnidsFile: fx.wnidsFile });
    assert.equal([ds.size, ds.height, ds.width, ds.numClasses, ds.cacheStatus, ds.labelSource], [5, 64, 64, 3, 'built', 'wnids.txt']);
    const want = fx.severities[s - 1];
    assert.equal(Array.from(ds.labels), want.labels);
    assert.equal(want.labels, [0, 0, 1, 2, 2]);
    const { images } = await readAll(ds);
    want.images.forEach((img, i) => closeTo(images.subarray(i * 12288, (i + 1) * 12288), img, want.exact[i], `severity ${s} image ${i}`));
    await ds.close();
  }
  // Second load reuses the cache; the sorted-directory fallback gives other labels.
  const again = await loadTinyImageNetC(dir, 'motion_blur', 4, { wnids: TIN_C_WNIDS });
  assert.is(again.cacheStatus, 'reused');
  await again.close();
  const sorted = await loadTinyImageNetC(dir, 'motion_blur', 4);
  assert.is(sorted.labelSource, 'sorted directories');
  assert.equal(Array.from(sorted.labels), [0, 0, 1, 2, 2].map((l) => [...TIN_C_WNIDS].sort().indexOf(TIN_C_WNIDS[l])).sort());
  await sorted.close();
});

test('Tiny-ImageNet-C: missing severities, unknown corruptions and stray wnids are named', async () => {
  const dir = scratch('tinc-bad');
  const fx = writeTinyImageNetCFixture(dir, 'fog', [1, 2, 4]);
  await rejects(() => loadTinyImageNetC(dir, 'fog', 3, { wnidsFile: fx.wnidsFile }), /missing .*fog.3 \(severities present for fog: 1, 2, 4\)/, 'missing severity');
  await rejects(() => loadTinyImageNetC(dir, 'fogg', 3), /unknown corruption 'fogg'; valid names: /, 'unknown');
  await rejects(() => loadTinyImageNetC(dir, 'frost', 1), /missing .*frost \(corruptions in .*: fog\)/, 'missing corruption');
  await rejects(() => loadTinyImageNetC(dir, 'fog', 1, { wnids: TIN_C_WNIDS.slice(1) }), /n01641577: wnid n01641577 is not among the 2 class wnids/, 'stray wnid');
  await rejects(() => loadTinyImageNetC(dir, 'fog', 1, { wnidsFile: join(dir, 'none.txt') }), /missing .*none\.txt/, 'wnids file');
});

// ---------------------------------------------------------------------------------------------
// Streaming .npy writing, PNG, gallery

test('npyHeader matches numpy.save; NpyWriter fills rows in any order and commits atomically', async () => {
  for (const [data, shape] of [[new Uint8Array(5 * 2 * 2 * 3), [5, 2, 2, 3]], [new Uint8Array(50000), [50000]], [new Float32Array(12), [3, 4]]] as const) {
    const full = encodeNpy(data, shape);
    const header = npyHeader(data instanceof Float32Array ? 'float32' : 'uint8', shape);
    sameBytes(header, full.subarray(0, header.length), `header ${shape}`);
    assert.is(header.length + data.byteLength, full.length);
  }
  const dir = scratch('npyw');
  const path = join(dir, 'x.npy');
  const w = await NpyWriter.create(path, 'uint8', [4, 2, 3]);
  await w.writeRows(2, Uint8Array.from({ length: 12 }, (_, i) => 100 + i));
  await w.writeRows(0, Uint8Array.from({ length: 12 }, (_, i) => i));
  assert.is(w.missingRows(), 0);
  const partial = await NpyWriter.create(join(dir, 'y.npy'), 'uint8', [4, 2, 3]);
  await partial.writeRows(0, new Uint8Array(6));
  await rejects(() => partial.commit(), /y\.npy: 3 of 4 rows were never written/, 'missing rows');
  await w.commit();
  const back = await readNpyFile(path, { dtype: 'uint8', shape: [4, 2, 3] });
  assert.equal(Array.from(back.data), [...Array.from({ length: 12 }, (_, i) => i), ...Array.from({ length: 12 }, (_, i) => 100 + i)]);
  assert.equal(readdirSync(dir), ['x.npy']);
});

test('PNG encoder: stored and zlib-compressed streams decode to the pixels; CRCs check', () => {
  const w = 37;
  const h = 5;
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7 + (i >> 5)) & 255);
  for (const png of [encodePng(rgb, w, h), encodePngCompressed(rgb, w, h)]) {
    const got = decodePngForTest(png);
    assert.equal([got.width, got.height], [w, h]);
    sameBytes(got.rgb, rgb, 'pixels');
  }
  // Stored blocks split at 65535 bytes.
  const big = new Uint8Array(200 * 120 * 3).map((_, i) => i % 251);
  sameBytes(decodePngForTest(encodePng(big, 200, 120)).rgb, big, 'multi-block');
  assert.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.is(toBase64(Uint8Array.of(1, 2, 3, 4)), Buffer.from([1, 2, 3, 4]).toString('base64'));
  assert.throws(() => encodePng(rgb, w, h + 1), /do not hold 37×6 RGB pixels/);
});

test('gallery: raster has tiles at 3× and labels; SVG is well-formed with one image per tile', () => {
  const tile = (v: number) => new Uint8Array(32 * 32 * 3).fill(v);
  const g = { title: 'test image 0', height: 32, width: 32, clean: tile(10), severities: [1, 2, 3, 4, 5], rows: [{ name: 'fog', tiles: [1, 2, 3, 4, 5].map((s) => tile(20 * s + 3)) }, { name: 'jpeg_compression', tiles: [1, 2, 3, 4, 5].map((s) => tile(200 + s)) }] };
  const { rgb, width, height } = galleryRaster(g);
  assert.ok(width > 6 * 96 && height > 2 * 96, `${width}×${height}`);
  const counts = new Map<number, number>();
  for (let p = 0; p < width * height; p++) if (rgb[p * 3] === rgb[p * 3 + 1] && rgb[p * 3] === rgb[p * 3 + 2]) counts.set(rgb[p * 3], (counts.get(rgb[p * 3]) ?? 0) + 1);
  assert.is(counts.get(10), 2 * 96 * 96, 'clean tile in each row, upscaled ×3');
  assert.is(counts.get(63), 96 * 96, 'fog severity 3');
  assert.is(counts.get(205), 96 * 96, 'jpeg severity 5');
  assert.ok((counts.get(0) ?? 0) > 200, 'black label text');
  const svg = gallerySvg(g);
  const names = checkXml(svg, 'gallery svg');
  assert.is(names.filter((n) => n === 'image').length, 12);
  assert.match(svg, />jpeg_compression</);
  assert.match(svg, />severity 5</);
  const uri = /href="data:image\/png;base64,([^"]+)"/.exec(svg)![1];
  const tilePng = decodePngForTest(new Uint8Array(Buffer.from(uri, 'base64')));
  assert.equal([tilePng.width, tilePng.height], [96, 96]);
});

// ---------------------------------------------------------------------------------------------
// Summaries

test('summary: mCA over the 15 benchmark corruptions, mCA19 over all, relative and drop', () => {
  const per: Record<string, (number | null)[]> = {};
  CORRUPTION_NAMES.forEach((n, i) => (per[n] = [1, 2, 3, 4, 5].map((s) => 0.9 - 0.1 * s - (BENCHMARK_CORRUPTIONS.includes(n) ? 0 : 0.2) + 0.001 * i)));
  const s = summarizeCorruptions(0.95, per);
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const benchCells = BENCHMARK_CORRUPTIONS.flatMap((n) => per[n] as number[]);
  assert.ok(Math.abs(s.mCA! - meanOf(benchCells)) < 1e-12);
  assert.ok(Math.abs(s.mCA19! - meanOf(CORRUPTION_NAMES.flatMap((n) => per[n] as number[]))) < 1e-12);
  assert.ok(s.mCA19! < s.mCA!, 'extras are harder here');
  assert.ok(Math.abs(s.meanPerSeverity[2]! - meanOf(BENCHMARK_CORRUPTIONS.map((n) => per[n][2]!))) < 1e-12);
  assert.ok(Math.abs(s.relative.mCA! - s.mCA! / 0.95) < 1e-12);
  assert.ok(Math.abs(s.drop.mCA! - (0.95 - s.mCA!)) < 1e-12);
  assert.equal(s.complete, { mCA: true, mCA19: true });
  assert.is(parseCorruptionList(['benchmark']).length, 15);
  assert.equal(parseCorruptionList(['extra']), ['speckle_noise', 'gaussian_blur', 'spatter', 'saturate']);
  assert.equal(parseCorruptionList(['fog', 'all']).slice(0, 2), ['fog', 'gaussian_noise']);
  assert.is(parseCorruptionList(['fog', 'all']).length, 19);
  assert.throws(() => parseSeverityList([3, 3]), /listed twice/);
  assert.throws(() => parseSeverityList([0]), /from 1 to 5, got 0/);
  // Partial grids: the means run over the evaluated cells (7 here), not over per-severity means.
  const partial = summarizeCorruptions(0.5, { fog: [0.4, null, 0.2, null, null], saturate: [0.1, 0.1, 0.1, 0.1, 0.1] });
  assert.is(partial.mCA, 0.30000000000000004);
  assert.equal(partial.meanPerSeverity, [0.4, null, 0.2, null, null]);
  assert.equal(partial.complete, { mCA: false, mCA19: false });
  const csv = corruptionsCsv(partial).trim().split('\n');
  assert.equal(csv, [
    'corruption,group,s1,s2,s3,s4,s5,mean,relative_to_clean,drop_from_clean,seen_in_training',
    'fog,benchmark,0.4,,0.2,,,0.3,0.6,0.2,false',
    'saturate,extra,0.1,0.1,0.1,0.1,0.1,0.1,0.2,0.4,false',
    'mean_benchmark,mean,0.4,,0.2,,,0.3,0.6,0.2,',
    'mean_all,mean,0.25,0.1,0.15,0.1,0.1,0.157143,0.314286,0.342857,',
    'clean,clean,,,,,,0.5,1,0,',
  ]);
  // A model trained on fog (--augment-corruptions): marked in the CSV and the chart (†, with a note).
  const seen = summarizeCorruptions(0.5, { fog: [0.4, null, 0.2, null, null], saturate: [0.1, 0.1, 0.1, 0.1, 0.1] }, ['fog', 'snow']);
  assert.equal(seen.trainedOn, ['fog']);
  assert.is(corruptionsCsv(seen).trim().split('\n')[1], 'fog,benchmark,0.4,,0.2,,,0.3,0.6,0.2,true');
  const chart = corruptionsSvg(seen, 'trained on fog');
  assert.match(chart, /fog †/);
  assert.match(chart, /† seen in training \(--augment-corruptions\): not held out/);
  assert.not.match(corruptionsSvg(partial, 'standard'), /†/);
});

// ---------------------------------------------------------------------------------------------
// Commands (run in this process, sharing its GPU device)

const CORRUPT_SET = ['gaussian_noise', 'contrast', 'jpeg_compression'];
let corruptDir = '';

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  const log = console.log;
  const write = process.stderr.write;
  let out = '';
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  process.stderr.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stderr.write;
  try {
    return { value: await fn(), out };
  } finally {
    console.log = log;
    process.stderr.write = write;
  }
}

test('corrupt: writes the CIFAR-10-C layout, reads back as the generated images, resumes', async () => {
  corruptDir = join(scratch('corrupt'), 'set');
  const argv = ['--data', 'mnist', '--out', corruptDir, '--limit', '12', '--corruptions', CORRUPT_SET.join(','), '--batch-size', '8', '--seed', '5'];
  const first = await quiet(() => corruptCommand(argv));
  assert.match(first.out, /done: 3 corruptions × 5 severities × 12 images/);
  assert.equal(readdirSync(corruptDir).sort(), ['contrast.npy', 'corrupt.json', 'gaussian_noise.npy', 'jpeg_compression.npy', 'labels.npy']);
  const manifest = JSON.parse(readFileSync(join(corruptDir, 'corrupt.json'), 'utf8'));
  assert.equal([manifest.count, manifest.seed, manifest.batchSize, manifest.corruptions], [12, 5, 8, CORRUPT_SET]);
  // The same test subset, corrupted batch by batch with the same generators, read through the loader.
  const test = (await openDataset('mnist', { limitTest: 12, limitTrain: 1 })).test;
  const clean = await readRange(test, 0, 12);
  for (const name of CORRUPT_SET) {
    for (let s = 1; s <= 5; s++) {
      const ds = await loadCifar10C(corruptDir, name, s);
      assert.equal(Array.from(ds.labels), Array.from(clean.labels), `${name} ${s} labels`);
      const got = (await readAll(ds)).images;
      await ds.close();
      const ctx = contextFor(corruptionGenerator(5, name as never, s), 32, 32, { seed: 5 });
      for (const [start, count] of [[0, 8], [8, 4]]) {
        const want = await corruptToBytes(clean.images.subarray(start * 3072, (start + count) * 3072), [count, 32, 32, 3], name as never, s, ctx);
        sameBytes(got.subarray(start * 3072, (start + count) * 3072), want, `${name} severity ${s} images ${start}..`);
      }
      if (name === 'contrast') assert.ok(got.some((v, i) => v !== clean.images[i]), 'contrast changed the images');
    }
  }
  // Resume: complete files are skipped; a deleted and a truncated one are made again, identically.
  const before = readFileSync(join(corruptDir, 'gaussian_noise.npy'));
  const contrastTime = statSync(join(corruptDir, 'contrast.npy')).mtimeMs;
  rmSync(join(corruptDir, 'gaussian_noise.npy'));
  truncateSync(join(corruptDir, 'jpeg_compression.npy'), 1000);
  const again = await quiet(() => corruptCommand(argv));
  assert.match(again.out, /contrast: contrast\.npy is complete, skipped/);
  assert.not.match(again.out, /gaussian_noise: .* skipped/);
  assert.is(statSync(join(corruptDir, 'contrast.npy')).mtimeMs, contrastTime);
  sameBytes(new Uint8Array(readFileSync(join(corruptDir, 'gaussian_noise.npy'))), new Uint8Array(before), 'regenerated file');
  assert.is(statSync(join(corruptDir, 'jpeg_compression.npy')).size, before.length);
  assert.ok(!readdirSync(corruptDir).some((f) => f.includes('.tmp-')), 'no temporaries left');
  // Some severities, in another order: rows follow the order given (recorded in corrupt.json), and
  // each (corruption, severity) has its own random stream, so the images equal the full set's.
  const sub = join(corruptDir, '..', 'sub');
  await quiet(() => corruptCommand(['--data', 'mnist', '--out', sub, '--limit', '12', '--corruptions', 'gaussian_noise', '--severities', '4,2', '--batch-size', '8', '--seed', '5']));
  assert.is(statSync(join(sub, 'gaussian_noise.npy')).size, 128 + 2 * 12 * 3072);
  for (const s of [2, 4]) {
    const [a, b] = [await loadCifar10C(sub, 'gaussian_noise', s), await loadCifar10C(corruptDir, 'gaussian_noise', s)];
    sameBytes((await readAll(a)).images, (await readAll(b)).images, `subset severity ${s}`);
    await Promise.all([a.close(), b.close()]);
  }
  await rejects(() => loadCifar10C(sub, 'gaussian_noise', 3), /holds severities 4, 2 \(per .*corrupt\.json\), not 3/, 'severity not written');
  // Other settings in the same directory are refused, naming the difference.
  await rejects(() => quiet(() => corruptCommand([...argv.slice(0, -2), '--seed', '6'])), /other settings \(seed: 5 there vs 6 now\)/, 'seed change');
  await rejects(() => quiet(() => corruptCommand(['--data', 'mnist', '--out', corruptDir, '--corruptions', 'fogg'])), /unknown corruption 'fogg'; valid names: gaussian_noise/, 'bad name');
  // 64×64 Tiny ImageNet (its val split) with the Tiny-ImageNet-C parameters, in the same layout.
  const tin = writeTinyImageNetFixture(scratch('corrupt-tin')).dir;
  const tinOut = join(tin, 'c');
  await quiet(() => corruptCommand(['--data', 'tinyimagenet', '--data-dir', tin, '--out', tinOut, '--corruptions', 'pixelate', '--severities', '1,5']));
  assert.equal([JSON.parse(readFileSync(join(tinOut, 'corrupt.json'), 'utf8')).parameters, statSync(join(tinOut, 'pixelate.npy')).size], ['tinyimagenet', 128 + 2 * 3 * 12288]);
  const px = await loadCifar10C(tinOut, 'pixelate', 5);
  assert.equal([px.size, px.height, px.width, px.numClasses, Array.from(px.labels)], [3, 64, 64, 200, [2, 0, 1]]);
  await px.close();
});

test('eval-corruptions: generated on the fly = read from the written set; CSV, JSON and SVG', async () => {
  const dir = scratch('evalc');
  const model = createModel({ model: 'resnet20', dataset: 'mnist', numClasses: 10, shortcut: 'A' }, new Generator(3));
  const ckpt = join(dir, 'model.safetensors');
  writeFileSync(ckpt, await encodeCheckpoint(model, null, null, { model: 'resnet20', data: 'mnist', numClasses: 10, shortcut: 'A', alpha: 0 }));
  model.dispose();
  const common = ['--checkpoint', ckpt, '--limit-test', '12', '--batch-size', '8', '--corruptions', CORRUPT_SET.join(',')];
  const generated = await quiet(() => evalCorruptionsCommand([...common, '--seed', '5']));
  assert.match(generated.out, /clean accuracy/);
  const json = JSON.parse(readFileSync(join(dir, 'corruptions.json'), 'utf8'));
  for (const key of ['clean', 'perCorruption', 'meanPerSeverity', 'mCA', 'mCA19', 'relative']) assert.ok(key in json, `corruptions.json has ${key}`);
  assert.equal(Object.keys(json.perCorruption), CORRUPT_SET);
  for (const row of Object.values(json.perCorruption) as number[][]) {
    assert.is(row.length, 5);
    for (const v of row) assert.ok(v >= 0 && v <= 1 && Math.round(v * 12) === v * 12, `accuracy ${v} is k/12`);
  }
  assert.is(json.samples, 12);
  assert.is(json.meanPerSeverity.length, 5);
  const csv = readFileSync(join(dir, 'corruptions.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
  assert.equal(csv[0], ['corruption', 'group', 's1', 's2', 's3', 's4', 's5', 'mean', 'relative_to_clean', 'drop_from_clean', 'seen_in_training']);
  assert.equal(csv.slice(1).map((r) => r[0]), [...CORRUPT_SET, 'mean_benchmark', 'mean_all', 'clean']);
  assert.equal(csv.slice(1).map((r) => r[1]), ['benchmark', 'benchmark', 'benchmark', 'mean', 'mean', 'clean']);
  csv.forEach((r) => assert.is(r.length, 11));
  assert.equal(csv.slice(1).map((r) => r[10]), ['false', 'false', 'false', '', '', '']);
  assert.equal(json.trainedOn, []);
  assert.ok(Math.abs(Number(csv[6][7]) - json.clean) < 1e-6);
  const svg = readFileSync(join(dir, 'corruptions.svg'), 'utf8');
  const tags = checkXml(svg, 'corruptions.svg');
  assert.ok(tags.filter((t) => t === 'polyline').length >= 5, 'a line per corruption, the mean and clean');
  assert.match(svg, /dashed: clean/);

  // The set `corrupt` wrote (same subset, seed and batch size) gives exactly the same accuracies.
  const fromDir = join(dir, 'from-dir');
  await quiet(() => evalCorruptionsCommand([...common, '--source', corruptDir, '--out', fromDir]));
  const json2 = JSON.parse(readFileSync(join(fromDir, 'corruptions.json'), 'utf8'));
  assert.equal(json2.perCorruption, json.perCorruption);
  assert.is(json2.clean, json.clean);
  assert.is(json2.source, corruptDir);
  await rejects(() => quiet(() => evalCorruptionsCommand([...common.slice(0, -2), '--source', corruptDir, '--corruptions', 'fog', '--out', fromDir])), /holds neither fog\.npy .*corruptions present: contrast, gaussian_noise, jpeg_compression/, 'fog not written');
});

test('corruption-gallery: a decodable PNG with labelled 3× tiles, and a well-formed SVG', async () => {
  const dir = scratch('gallery');
  const png = join(dir, 'g.png');
  await quiet(() => galleryCommand(['--data', 'mnist', '--out', png, '--index', '3', '--corruptions', 'fog,pixelate,brightness']));
  const img = decodePngForTest(new Uint8Array(readFileSync(png)));
  assert.ok(img.width >= 6 * 96 && img.height >= 3 * 96 && img.height < 3 * 96 + 200, `${img.width}×${img.height}`);
  const svgPath = join(dir, 'g.svg');
  await quiet(() => galleryCommand(['--data', 'mnist', '--out', svgPath, '--index', '3', '--corruptions', 'fog,pixelate', '--severities', '1,5']));
  const svg = readFileSync(svgPath, 'utf8');
  assert.is(checkXml(svg, 'gallery.svg').filter((t) => t === 'image').length, 2 * 3);
  assert.match(svg, />pixelate</);
  await rejects(() => quiet(() => galleryCommand(['--data', 'mnist', '--out', join(dir, 'g.gif')])), /must end in \.png or \.svg/, 'format');
  assert.not.ok(existsSync(join(dir, 'g.gif')));
});

test('the CLI lists the three commands and answers --help without a GPU', async () => {
  const list = await runCli(['--help']);
  for (const name of ['corrupt', 'eval-corruptions', 'corruption-gallery']) assert.match(list.out, new RegExp(`\\n  ${name} `));
  const help = await runCli(['eval-corruptions', '--help']);
  assert.is(help.code, 0);
  assert.match(help.out, /--source generated\|DIR/);
});

test.run();
