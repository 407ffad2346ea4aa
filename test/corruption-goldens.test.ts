// Our GPU corruptions against outputs of the published CIFAR-10-C and Tiny-ImageNet-C generator
// code (test/fixtures/corruption-goldens: made by its regenerate.py from make_cifar_c.py and
// make_tinyimagenet_c.py; README.md there lists the library versions). Three comparisons:
//  - deterministic corruptions, pixel by pixel: within ±1 uint8 level;
//  - random corruptions whose randomness ours can take as input (motion blur's angle, snow's and
//    spatter's noise, fog's fractal, frost's texture and crop, elastic's jitter and fields), fed the
//    published draws, pixel by pixel;
//  - every random corruption in distribution: per image, the mean and standard deviation of
//    corrupted − clean over many draws, ours against the published.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator } from '../engine/ops/random.js';
import { tensor, type Tensor } from '../engine/tensor.js';
import { motionBlurWithAngles } from '../experiments/corruptions/blur.js';
import { elasticWithRandom } from '../experiments/corruptions/digital.js';
import { frostWithDraws } from '../experiments/corruptions/frost.js';
import { loadFrostTextures } from '../experiments/corruptions/frost-node.js';
import { corrupt } from '../experiments/corruptions/index.js';
import { roundHalfEven } from '../experiments/corruptions/ops.js';
import { parameterTable } from '../experiments/corruptions/parameters.js';
import { fromUint8, toUint8 } from '../experiments/corruptions/quantize.js';
import { spatterWithNoise } from '../experiments/corruptions/spatter.js';
import type { CorruptionName, ParameterSet } from '../experiments/corruptions/types.js';
import { fogWithFractal, snowWithNoise } from '../experiments/corruptions/weather.js';
import { readNpyFile } from '../experiments/io/npy-node.js';
import type { NpyDType, NpyArrayMap } from '../experiments/io/npy.js';
import { setupGpu } from './helpers.js';

test.before(setupGpu);

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'test', 'fixtures', 'corruption-goldens');
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as {
  sets: Record<ParameterSet, { size: number; images: number }>;
  corruptions: CorruptionName[];
  random: CorruptionName[];
  draws: number;
};
const SETS = Object.keys(manifest.sets) as ParameterSet[];
const SEVERITIES = [1, 2, 3, 4, 5];

async function load<D extends NpyDType>(set: ParameterSet, file: string, dtype: D): Promise<{ data: NpyArrayMap[D]; shape: number[] }> {
  const a = await readNpyFile(join(DIR, set, file), { dtype });
  return { data: a.data as NpyArrayMap[D], shape: a.shape };
}

/** Severity s's slice of a [5, ...] array. */
function atSeverity<T extends { subarray(a: number, b: number): T; length: number }>(a: T, s: number): T {
  const per = a.length / 5;
  return a.subarray((s - 1) * per, s * per);
}

let frostTextures: Tensor[] | null = null;
const texturesFor = async () => (frostTextures ??= (await loadFrostTextures(join(ROOT, 'data', 'frost'))).map((t) => t.keep()));

/** Per-pixel comparison of uint8 outputs: the largest |difference| and how many values differ at all. */
function compare(ours: Uint8Array, golden: Uint8Array): { max: number; off: number } {
  assert.is(ours.length, golden.length);
  let max = 0;
  let off = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - golden[i]);
    if (d > 0) off++;
    if (d > max) max = d;
  }
  return { max, off };
}

/** Worst deviation per corruption over both sets and all severities, printed at the end. */
const summary = new Map<string, { max: number; off: number; total: number }>();
function record(name: string, r: { max: number; off: number }, total: number): void {
  const s = summary.get(name) ?? { max: 0, off: 0, total: 0 };
  summary.set(name, { max: Math.max(s.max, r.max), off: s.off + r.off, total: s.total + total });
}

/** Ours within ±`allowed` levels of the golden everywhere, and different at all on at most `fraction` of the values. */
async function checkPixels(set: ParameterSet, name: string, s: number, ours: Tensor, golden: Uint8Array, allowed: number, fraction = 1): Promise<void> {
  const bytes = await toUint8(ours);
  ours.dispose();
  const r = compare(bytes, golden);
  record(name, r, golden.length);
  assert.ok(r.max <= allowed, `${set} ${name} severity ${s}: a pixel is ${r.max} levels from the published output (${r.off} of ${golden.length} values differ; allowed ±${allowed})`);
  assert.ok(r.off <= fraction * golden.length, `${set} ${name} severity ${s}: ${r.off} of ${golden.length} values differ from the published output (allowed: ${100 * fraction}%)`);
}

// ---- deterministic corruptions ----------------------------------------------------------------------

// Both sides compute in floating point and truncate to uint8; float64 (published) and f32 (ours)
// can put a value that is a whole level in exact arithmetic on either side of it, so one level of
// difference is allowed and nothing more.
const DETERMINISTIC = manifest.corruptions.filter((n) => !manifest.random.includes(n));

for (const set of SETS) {
  test(`deterministic corruptions (${set}): within ±1 level of the published code`, async () => {
    const clean = await load(set, 'clean.npy', 'uint8');
    const x = fromUint8(clean.data, clean.shape);
    const ctx = { generator: new Generator(1), parameters: set };
    for (const name of DETERMINISTIC) {
      const golden = await load(set, `${name}.npy`, 'uint8');
      for (const s of SEVERITIES) await checkPixels(set, name, s, await corrupt(x, name, s, ctx), atSeverity(golden.data, s), 1);
    }
    x.dispose();
  });
}

// ---- random corruptions fed the published draws -----------------------------------------------------

/**
 * Given the same draws, the share of values one level apart (measured: ≤ 7.1%, Tiny-ImageNet-C
 * frost at severity 5, where OpenCV resizes the uint8 texture in 11-bit fixed point and ours in
 * float, so 12% of resized texels differ by one level; motion blur, snow, fog and elastic ≤ 0.7%).
 */
const F = 0.08;

/** u32 draws that make the frost kernel's multiply-shift reductions (⌊d·R/2³²⌋) return the values v. */
const drawFor = (v: number, range: number) => Math.ceil((v * 2 ** 32) / range);

/** Each random corruption rebuilt from the draws the published run consumed (replay/*.npy). */
const REPLAYS: Partial<Record<CorruptionName, (x: Tensor, set: ParameterSet, s: number) => Promise<Tensor>>> = {
  motion_blur: async (x, set, s) => {
    const angles = atSeverity((await load(set, 'replay/motion_blur.angle.npy', 'float64')).data, s);
    return motionBlurWithAngles(x, tensor(Float32Array.from(angles)), ...parameterTable(set).motion_blur[s - 1]);
  },
  snow: async (x, set, s) => {
    const [N, H, W] = x.shape;
    const noise = atSeverity((await load(set, 'replay/snow.noise.npy', 'float32')).data, s);
    const angles = atSeverity((await load(set, 'replay/snow.angle.npy', 'float64')).data, s);
    return snowWithNoise(x, tensor(noise.slice(), [N, H, W]), tensor(Float32Array.from(angles)), parameterTable(set).snow[s - 1]);
  },
  spatter: async (x, set, s) => {
    const [N, H, W] = x.shape;
    const noise = atSeverity((await load(set, 'replay/spatter.noise.npy', 'float32')).data, s);
    return spatterWithNoise(x, tensor(noise.slice(), [N, H, W]), parameterTable(set).spatter[s - 1]);
  },
  fog: async (x, set, s) => {
    const f = await load(set, 'replay/fog.fractal.npy', 'float32');
    const M = f.shape[2];
    return fogWithFractal(x, tensor(atSeverity(f.data, s).slice(), [x.shape[0], M, M]), parameterTable(set).fog[s - 1][0]);
  },
  frost: async (x, set, s) => {
    const [N, H, W] = x.shape;
    const table = parameterTable(set);
    const choice = atSeverity((await load(set, 'replay/frost.choice.npy', 'int32')).data, s);
    const textures = await texturesFor();
    const draws = new Uint32Array(4 * N);
    for (let n = 0; n < N; n++) {
      const [k, top, left] = choice.subarray(3 * n, 3 * n + 3);
      // The published crop range: randint(0, resized − size), as frostWithDraws reduces it.
      const [h, w] = textures[k].shape;
      const th = roundHalfEven(h * table.frostScale);
      const tw = roundHalfEven(w * table.frostScale);
      draws.set([drawFor(k, 5), drawFor(top, th - H), drawFor(left, tw - W), 0], 4 * n);
    }
    return frostWithDraws(x, textures, tensor(draws, [N, 4], 'u32'), ...table.frost[s - 1], table.frostScale);
  },
  elastic_transform: async (x, set, s) => {
    const [N, H, W] = x.shape;
    const jitter = atSeverity((await load(set, 'replay/elastic_transform.jitter.npy', 'float32')).data, s);
    const field = atSeverity((await load(set, 'replay/elastic_transform.field.npy', 'float32')).data, s);
    // The published IMSIZE·fraction, in float64 as there.
    const [alpha, sigma] = parameterTable(set).elastic_transform[s - 1].map((f) => f * manifest.sets[set].size);
    return elasticWithRandom(x, tensor(jitter.slice(), [N, 6]), tensor(field.slice(), [N, H, W, 2]), alpha, sigma);
  },
};

for (const set of SETS) {
  test(`random corruptions given the published draws (${set}): within ±1 level of the published code`, async () => {
    const clean = await load(set, 'clean.npy', 'uint8');
    const x = fromUint8(clean.data, clean.shape);
    for (const [name, replay] of Object.entries(REPLAYS)) {
      const golden = await load(set, `${name}.npy`, 'uint8');
      for (const s of SEVERITIES) await checkPixels(set, `${name} (replayed)`, s, await replay(x, set, s), atSeverity(golden.data, s), 1, F);
    }
    x.dispose();
  });
}

// ---- random corruptions in distribution -------------------------------------------------------------

/** Our draws per image (the published side has manifest.draws, from stats.npy). */
const OUR_DRAWS = 24;
/**
 * z for each comparison of means: |ours − published| ≤ Z·√(var_ours/R_ours + var_pub/R_pub) + slack.
 * 2 statistics × 2 images × 5 severities × 11 corruptions × 2 sets = 440 comparisons; at z = 5 a
 * normal statistic exceeds the bound with probability 6e-7 (t with ≥ 30 degrees of freedom: 2e-5),
 * so a failure means a real difference, not bad luck.
 */
const Z = 5;
/**
 * Arithmetic (not randomness) may move a value one level: given the same draws, at most a fraction F
 * of the values differ (asserted above), by one level. Such differences shift a mean by ≤ F levels
 * and a standard deviation by ≤ their root mean square, √F levels.
 */
const SLACK = { mean: F, std: Math.sqrt(F) };

/** Mean and standard deviation (levels) of corrupted − clean, per image of a batch. */
function changeStats(corrupted: Uint8Array, clean: Uint8Array, images: number): { mean: number; std: number }[] {
  const per = corrupted.length / images;
  return Array.from({ length: images }, (_, n) => {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < per; i++) {
      const d = corrupted[n * per + i] - clean[(n * per + i) % clean.length];
      s += d;
      s2 += d * d;
    }
    const mean = s / per;
    return { mean, std: Math.sqrt(Math.max(0, s2 / per - mean * mean)) };
  });
}

/** The largest |ours − published|/bound per corruption and statistic, printed at the end. */
const closest = new Map<string, number>();

const meanVar = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { m, v: v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1) };
};

for (const set of SETS) {
  test(`random corruptions (${set}): mean and spread of the change match the published code in distribution`, async () => {
    const clean = await load(set, 'clean.npy', 'uint8');
    const stats = await load(set, 'stats.npy', 'float64');
    const images = manifest.sets[set].images;
    const R = manifest.draws;
    assert.equal(stats.shape, [manifest.random.length, 5, images, R, 2]);
    // OUR_DRAWS copies of the images in one batch: image n of copy r is batch entry r·images + n.
    const batch = new Uint8Array(clean.data.length * OUR_DRAWS);
    for (let r = 0; r < OUR_DRAWS; r++) batch.set(clean.data, r * clean.data.length);
    const x = fromUint8(batch, [images * OUR_DRAWS, ...clean.shape.slice(1)]);
    for (const [c, name] of manifest.random.entries()) {
      for (const s of SEVERITIES) {
        const ctx = { generator: new Generator(1000 * c + s), parameters: set, frostTextures: await texturesFor() };
        const y = await corrupt(x, name, s, ctx);
        const ours = changeStats(await toUint8(y), clean.data, images * OUR_DRAWS);
        y.dispose();
        for (let n = 0; n < images; n++)
          for (const [q, key] of (['mean', 'std'] as const).entries()) {
            const o = meanVar(Array.from({ length: OUR_DRAWS }, (_, r) => ours[r * images + n][key]));
            const at = (((c * 5 + s - 1) * images + n) * R) * 2;
            const p = meanVar(Array.from({ length: R }, (_, d) => stats.data[at + 2 * d + q]));
            const bound = Z * Math.sqrt(o.v / OUR_DRAWS + p.v / R) + SLACK[key];
            const label = `${set} ${name} severity ${s} image ${n}: ${key} of the change`;
            assert.ok(Math.abs(o.m - p.m) <= bound, `${label}: ours ${o.m.toFixed(3)} ± ${Math.sqrt(o.v).toFixed(3)}, published ${p.m.toFixed(3)} ± ${Math.sqrt(p.v).toFixed(3)} levels (|difference| > bound ${bound.toFixed(3)})`);
            const worst = closest.get(`${name} ${key}`) ?? 0;
            closest.set(`${name} ${key}`, Math.max(worst, Math.abs(o.m - p.m) / bound));
          }
      }
    }
    x.dispose();
  });
}

test.after(() => {
  if (!process.env.GOLDEN_REPORT) return;
  for (const [name, r] of summary) console.log(`${name}: max ${r.max} levels, ${((100 * r.off) / r.total).toFixed(2)}% of values differ`);
  for (const [name, ratio] of closest) console.log(`${name} in distribution: largest |difference| ${ratio.toFixed(2)} of its bound`);
});

test.run();
