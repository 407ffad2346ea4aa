import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { augmentImages, imagesToFloat, uploadImagesU8 } from '../engine/ops/augment.js';
import { Generator } from '../engine/ops/random.js';
import { tensor } from '../engine/tensor.js';
import { rng, setupGpu } from './helpers.js';
import { augmentDrawsRef, augmentRef, byteToFloat, type AugmentDraw } from './reference/augment.js';

test.before(setupGpu);

const randomBytes = (n: number, seed: number) => {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
};

// Odd sizes put images across word boundaries of the packed upload (e.g. 3·5·5·3 = 225 bytes).
const cases: { shape: [number, number, number, number]; padding: number; flip: boolean; crop: boolean }[] = [
  { shape: [3, 5, 5, 3], padding: 2, flip: true, crop: true },
  { shape: [16, 8, 8, 3], padding: 4, flip: true, crop: true },
  { shape: [7, 6, 9, 1], padding: 3, flip: false, crop: true },
  { shape: [5, 4, 7, 2], padding: 1, flip: true, crop: false },
  { shape: [2, 3, 3, 5], padding: 5, flip: true, crop: true }, // padding wider than the image
];

for (const { shape, padding, flip, crop } of cases) {
  test(`augmentImages equals the CPU reference exactly [${shape}] padding ${padding} flip ${flip} crop ${crop}`, async () => {
    const bytes = randomBytes(shape.reduce((a, b) => a * b), shape[0] + padding);
    const gen = new Generator(1234, { offset: 0xffff_fffen, stream: 5 }); // the samples straddle a counter carry
    const start = gen.getState();
    const out = await augmentImages(uploadImagesU8(bytes, shape), shape, { padding, flip, crop, generator: gen }).toArray();
    const draws = augmentDrawsRef(BigInt(start.seed), BigInt(start.offset), start.stream, shape[0], padding, crop, flip);
    assert.equal(Array.from(out), Array.from(augmentRef(bytes, shape, padding, draws)));
    assert.is(gen.offset, BigInt(start.offset) + BigInt(shape[0]), 'one block per sample');
  });
}

test('imagesToFloat is x·fl(1/255): exact per byte value, relative error < 2^-23 from x/255, 255 → 1', async () => {
  const bytes = Uint8Array.from({ length: 256 + 7 }, (_, i) => i % 256); // 263 bytes: a partial last word
  const out = await imagesToFloat(uploadImagesU8(bytes, [263]), [263]).toArray();
  bytes.forEach((b, i) => {
    assert.is(out[i], byteToFloat(b), `byte ${b}`);
    // fl(1/255) and the product each round by at most u = 2^-24 relative.
    assert.ok(Math.abs(out[i] - b / 255) <= 2 ** -23 * (b / 255), `byte ${b}: ${out[i]} vs ${b / 255}`);
  });
  assert.is(out[255], 1);
});

test('no padding and no flip (or no crop and no flip) is the plain ÷255 conversion and draws nothing', async () => {
  const shape = [3, 5, 5, 3];
  const bytes = randomBytes(225, 9);
  const packed = uploadImagesU8(bytes, shape);
  const expected = Array.from(bytes, byteToFloat);
  for (const options of [{ padding: 0, flip: false }, { padding: 3, crop: false, flip: false }, { padding: 0, crop: true, flip: false }]) {
    const gen = new Generator(3);
    const out = augmentImages(packed, shape, { ...options, generator: gen });
    assert.equal([...out.shape], shape);
    assert.equal(Array.from(await out.toArray()), expected, JSON.stringify(options));
    assert.is(gen.offset, 0n);
  }
});

/** Recovers each sample's offsets and flip from the output of images whose pixel values encode (y, x). */
function inferDraws(out: ArrayLike<number>, N: number, H: number, W: number, padding: number): AugmentDraw[] {
  const draws: AugmentDraw[] = [];
  for (let n = 0; n < N; n++) {
    const at = (y: number, x: number) => Math.round(out[(n * H + y) * W + x] * 255) - 1; // −1: padding
    let found: AugmentDraw | null = null;
    for (let y = 0; y < H && !found; y++) {
      for (let x = 0; x + 1 < W && !found; x++) {
        const a = at(y, x);
        const b = at(y, x + 1);
        if (a < 0 || b < 0) continue;
        const flip = b % W < a % W;
        found = { ox: (a % W) + padding - (flip ? W - 1 - x : x), oy: Math.floor(a / W) + padding - y, flip };
      }
    }
    assert.ok(found, `sample ${n}: no two adjacent image pixels in the output`);
    draws.push(found!);
  }
  return draws;
}

test('over many samples both flips occur and crop offsets cover [0, 2p]', async () => {
  const [N, H, W, C, padding] = [400, 8, 8, 1, 2];
  const image = Uint8Array.from({ length: H * W }, (_, i) => i + 1);
  const bytes = new Uint8Array(N * H * W);
  for (let n = 0; n < N; n++) bytes.set(image, n * H * W);
  const gen = new Generator(77);
  const out = await augmentImages(uploadImagesU8(bytes, [N, H, W, C]), [N, H, W, C], { padding, flip: true, crop: true, generator: gen }).toArray();
  const draws = inferDraws(out, N, H, W, padding);
  const span = 2 * padding + 1;
  const xs = new Array<number>(span).fill(0);
  const ys = new Array<number>(span).fill(0);
  let flips = 0;
  for (const d of draws) {
    assert.ok(Number.isInteger(d.ox) && d.ox >= 0 && d.ox <= 2 * padding && d.oy >= 0 && d.oy <= 2 * padding, `offsets ${d.ox}, ${d.oy}`);
    xs[d.ox]++;
    ys[d.oy]++;
    flips += d.flip ? 1 : 0;
  }
  // Each offset has probability 1/5 and a flip 1/2: counts within 6σ of N·p (binomial).
  const within = (count: number, p: number) => Math.abs(count - N * p) <= 6 * Math.sqrt(N * p * (1 - p));
  assert.ok(xs.every((c) => c > 0 && within(c, 1 / span)), `x offsets ${xs}`);
  assert.ok(ys.every((c) => c > 0 && within(c, 1 / span)), `y offsets ${ys}`);
  assert.ok(flips > 0 && flips < N && within(flips, 0.5), `${flips} flips of ${N}`);
  // What the output shows is what the reference draws from the CPU Philox stream.
  assert.equal(draws, augmentDrawsRef(77n, 0n, 0, N, padding, true, true));
});

test('augmentation is deterministic per generator state and differs between calls', async () => {
  const shape = [4, 6, 6, 3];
  const packed = uploadImagesU8(randomBytes(432, 21), shape);
  const gen = new Generator(8);
  const state = gen.getState();
  const a = await augmentImages(packed, shape, { padding: 3, flip: true, generator: gen }).toArray();
  const b = await augmentImages(packed, shape, { padding: 3, flip: true, generator: gen }).toArray();
  const again = await augmentImages(packed, shape, { padding: 3, flip: true, generator: new Generator().setState(state) }).toArray();
  assert.equal(Array.from(again), Array.from(a));
  assert.not.equal(Array.from(b), Array.from(a));
});

test('image ops reject mismatched byte counts, bad padding and wrong dtypes', () => {
  assert.throws(() => uploadImagesU8(new Uint8Array(10), [1, 2, 2, 3]), /10 bytes do not fill shape \[1,2,2,3\]/);
  const packed = uploadImagesU8(new Uint8Array(12), [1, 2, 2, 3]);
  assert.throws(() => augmentImages(packed, [2, 2, 2, 3], { padding: 1 }), /needs 24 \(6 words\)/);
  assert.throws(() => imagesToFloat(packed, [1, 4, 4, 3]), /needs 48/);
  assert.throws(() => augmentImages(packed, [1, 2, 2, 3], { padding: -1 }), /padding must be a non-negative integer/);
  assert.throws(() => augmentImages(packed, [1, 2, 2, 3], { padding: 1.5 }), /padding must be a non-negative integer/);
  assert.throws(() => augmentImages(packed, [4, 3], { padding: 1 }), /shape must be \[N, H, W, C\]/);
  assert.throws(() => augmentImages(tensor(new Float32Array(3)), [1, 2, 2, 3]), /expected packed bytes in a u32 tensor/);
});

test.run();
