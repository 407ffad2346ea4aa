// The regime comparison on synthetic networks: pairing by (α, seed), the exact tests' p-values, Holm
// over the primary questions, verdict lines; regime lists, the sharding across regimes, the report
// section, and that each protocol's regime options are accepted by `train`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs } from '../experiments/cli/args.js';
import { trainConfigFrom, trainOptions } from '../experiments/cli/train.js';
import { regimeReport } from '../experiments/report/regimes.js';
import type { RunRecord } from '../experiments/report/report.js';
import { PROTOCOLS, regimeTrainOptions } from '../experiments/study/protocol.js';
import { compareRegimes, parseRegimes, REGIME_NAMES, regimeSentence, regimeShard, summarizeRegimes, type RegimeRuns } from '../experiments/study/regimes.js';
import { holm, signTest, wilcoxonSignedRank } from '../experiments/study/statistics.js';
import { planRuns, shardOf } from '../experiments/sweep.js';
import { validateConfig } from '../experiments/train.js';

const ALPHAS = [-3, -1, 0, 1, 3];
const SEEDS = [0, 1, 2];

interface Values {
  si: number;
  pc95: number;
  pr: number;
  mca: number;
  auc: number;
}

function record(alpha: number, seed: number, v: Values): RunRecord {
  return {
    name: `alpha=${alpha}_seed=${seed}`, alpha, seed, testAccuracy: 0.9, missing: [],
    selectivity: { overall: v.si, layers: [v.si], layerNames: ['block1'] },
    corruptions: { clean: 0.9, perCorruption: { fog: [v.mca] }, meanPerSeverity: [v.mca], mCA: v.mca },
    attacks: { linf: { norm: 'linf', eps: [0, 0.1], accuracy: [0.9, 0.5], auc: v.auc } },
    dimensionality: { layers: ['block1', 'block2'], conditions: [{ name: 'clean', kind: 'clean', perLayer: [{ layer: 'block1', components: v.pc95, participationRatio: v.pr }, { layer: 'block2', components: 99, participationRatio: 99 }] }] },
  };
}

/** Standard networks with values that vary over α and seed, so only the pairing makes the differences exact. */
const base = (alpha: number, seed: number): Values => ({ si: 0.3 + 0.02 * alpha + 0.01 * seed, pc95: 20 - alpha + seed, pr: 8 + seed, mca: 0.6 + 0.01 * alpha, auc: 0.2 + 0.01 * seed });
const keys = SEEDS.flatMap((seed) => ALPHAS.map((alpha) => ({ alpha, seed })));
/** A distinct, non-zero amount per pair: k-th pair gets (k+1)/100. */
const amount = (k: number) => (k + 1) / 100;

function groups(robust: (alpha: number, seed: number, k: number) => Values, drop?: { alpha: number; seed: number }): RegimeRuns[] {
  const standard = keys.map(({ alpha, seed }) => record(alpha, seed, base(alpha, seed)));
  // Reversed, so pairs can only be matched by (α, seed), never by position.
  const adv = keys.map(({ alpha, seed }, k) => record(alpha, seed, robust(alpha, seed, k))).filter((r) => !(drop && r.alpha === drop.alpha && r.seed === drop.seed)).reverse();
  return [{ regime: 'standard', runs: standard }, { regime: 'adversarial', runs: adv }];
}

const OPTIONS = { bootstrap: 400 };

test('paired by (α, seed): differences, exact Wilcoxon and sign-test p-values, and the verdicts raises / lowers / inconclusive / undefined', () => {
  const sign = (k: number) => (k % 2 ? 1 : -1);
  const results = compareRegimes(groups((alpha, seed, k) => {
    const b = base(alpha, seed);
    return { si: b.si + amount(k), pc95: b.pc95 - 10 * amount(k), pr: b.pr + sign(k) * amount(k), mca: b.mca, auc: b.auc + amount(k) };
  }), OPTIONS);
  const by = (measure: string) => results.find((c) => c.measure === measure)!;
  const si = by('SI');
  const deltas = keys.map((_, k) => amount(k));
  assert.is(si.n, 15);
  assert.ok(Math.abs(si.value! - deltas.reduce((a, b) => a + b, 0) / 15) < 1e-12, 'mean paired difference');
  // All 15 differences positive: the exact two-sided p of both tests is 2 / 2^15.
  assert.ok(Math.abs(si.pValue! - 2 / 2 ** 15) < 1e-15, `Wilcoxon p ${si.pValue}`);
  assert.ok(Math.abs(si.signTestP! - 2 / 2 ** 15) < 1e-15, `sign test p ${si.signTestP}`);
  assert.is(si.positive, 15);
  assert.is(si.negative, 0);
  assert.ok(Math.abs(si.medianDifference! - amount(7)) < 1e-12);
  assert.is(si.verdict, 'raises');
  assert.ok(si.ci95[0]! > 0 && si.ci95[1]! > si.ci95[0]!, 'bootstrap CI of a positive shift is positive');
  assert.is(by('PC95').verdict, 'lowers');
  assert.is(by('AUC-Linf').verdict, 'raises');
  // Alternating signs: the exact p-values are those of the statistics module on the same differences.
  const pr = by('PR');
  const prDiffs = keys.map((_, k) => sign(k) * amount(k));
  assert.ok(Math.abs(pr.pValue! - wilcoxonSignedRank(prDiffs).pValue) < 1e-12);
  assert.ok(Math.abs(pr.signTestP! - signTest(prDiffs).pValue) < 1e-12);
  assert.is(pr.verdict, 'inconclusive');
  const mca = by('mCA');
  assert.is(mca.verdict, 'undefined');
  assert.is(mca.pValue, null);
  assert.match(mca.note!, /every difference is 0/);
});

test('Holm covers the primary questions (SI, early-layer PC95) of every robust regime; the others carry none', () => {
  const g = groups((alpha, seed, k) => ({ ...base(alpha, seed), si: base(alpha, seed).si + (k % 3 ? amount(k) : -amount(k)), pc95: base(alpha, seed).pc95 + 1 }));
  g.push({ regime: 'corruption-aug', runs: g[1].runs.map((r) => ({ ...r, selectivity: { ...r.selectivity!, overall: r.selectivity!.overall - 0.05 } })) });
  const results = compareRegimes(g, OPTIONS);
  const primary = results.filter((c) => c.primary);
  assert.equal(primary.map((c) => c.id), ['adversarial:SI', 'adversarial:PC95', 'corruption-aug:SI', 'corruption-aug:PC95']);
  const expected = holm(primary.map((c) => c.pValue!));
  primary.forEach((c, i) => assert.ok(Math.abs(c.pHolm! - expected[i]) < 1e-15, c.id));
  assert.ok(results.filter((c) => !c.primary).every((c) => c.pHolm === null));
  assert.is(results.find((c) => c.id === 'corruption-aug:PC95')!.verdict, 'raises');
});

test('a network without a partner or without the measurement is left out, and the note says so', () => {
  const g = groups((alpha, seed, k) => ({ ...base(alpha, seed), si: base(alpha, seed).si + amount(k) }), { alpha: 1, seed: 2 });
  g[1].runs[0].selectivity = undefined;
  const si = compareRegimes(g, OPTIONS).find((c) => c.measure === 'SI')!;
  assert.is(si.n, 13);
  assert.match(si.note!, /2 network\(s\) without a measured partner left out/);
  assert.throws(() => compareRegimes([g[1]]), /standard regime's networks are needed/);
});

test('verdict lines name the comparison, the mean difference, CI, both p-values, the pairs and the verdict', () => {
  const si = compareRegimes(groups((alpha, seed, k) => ({ ...base(alpha, seed), si: base(alpha, seed).si - amount(k) })), OPTIONS).find((c) => c.measure === 'SI')!;
  assert.is(si.question, 'Does adversarial training change class selectivity (mean SI over block outputs, test set)?');
  assert.match(regimeSentence(si), /^adversarial:SI: mean SI adversarial − standard, mean paired difference -0\.080 \(95% CI -0\.\d{3} to -0\.\d{3}\), Wilcoxon p < 0\.0001, Holm-adjusted p < 0\.0001, sign test p < 0\.0001, 15 pairs \(0 up, 15 down\): lowers\.$/);
});

test('summaries: mean ± sd per regime overall and per α over seeds', () => {
  const s = summarizeRegimes(groups((alpha, seed) => base(alpha, seed)));
  const at = (alpha: number | null) => s.find((x) => x.regime === 'standard' && x.measure === 'PC95' && x.alpha === alpha)!;
  // PC95 = 20 − α + seed: at α = 1 over seeds 0, 1, 2 it is 19, 20, 21; over all networks the mean is 21.
  assert.equal([at(1).mean, at(1).sd, at(1).n], [20, 1, 3]);
  assert.is(at(null).n, 15);
  const single = summarizeRegimes([{ regime: 'standard', runs: [record(0, 0, base(0, 0))] }]).find((x) => x.measure === 'SI' && x.alpha === null)!;
  assert.equal([single.n, single.sd], [1, null], 'one network has no standard deviation');
  assert.ok(Math.abs(at(null).mean! - 21) < 1e-12);
});

test('--regimes: the fixed order, standard required, unknown and repeated names refused', () => {
  assert.equal(parseRegimes('corruption-aug, standard,adversarial'), ['standard', 'adversarial', 'corruption-aug']);
  assert.equal(parseRegimes('standard'), ['standard']);
  assert.throws(() => parseRegimes('adversarial'), /include standard/);
  assert.throws(() => parseRegimes('standard,robust'), /'robust' is not a regime; expected some of standard, adversarial, corruption-aug/);
  assert.throws(() => parseRegimes('standard,standard'), /listed twice/);
  assert.throws(() => parseRegimes(' , '), /comma-separated list/);
});

test('sharding across regimes: network k of regime r is study network r·N + k, and the standard regime shards as before', () => {
  const runs = planRuns(ALPHAS, SEEDS);
  const N = runs.length;
  for (const count of [1, 2, 4, 7]) {
    for (let index = 0; index < count; index++) {
      assert.equal(regimeShard({ index, count }, 'standard', N), { index, count });
      REGIME_NAMES.forEach((regime, r) => {
        const mine = shardOf(runs, regimeShard({ index, count }, regime, N)).map((x) => runs.indexOf(x));
        assert.equal(mine, runs.map((_, k) => k).filter((k) => (r * N + k) % count === index), `${regime} shard ${index}/${count}`);
      });
    }
  }
});

test('the report section: verdict table, summary table, one figure per measure, and benchmark corruptions seen in training marked', () => {
  const g = groups((alpha, seed, k) => ({ ...base(alpha, seed), si: base(alpha, seed).si + amount(k) }));
  g[1].runs[3].trainedOnCorruptions = ['fog'];
  const { record: rec, section } = regimeReport(g, { trainFlags: { standard: {}, adversarial: { adversarial: 'pgd:linf:0.2:steps=7' } } });
  assert.is(section.title, 'Robust training vs selectivity');
  assert.match(section.html, /<td class="verdict raises">raises<\/td>/);
  assert.match(section.html, /--adversarial pgd:linf:0\.2:steps=7/);
  assert.match(section.html, /class="warn">Trained on corruptions the evaluation measures[^<]*adversarial: fog/);
  assert.is((section.html.match(/<figure /g) ?? []).length, 5);
  assert.equal(rec.names, ['standard', 'adversarial']);
  assert.is(rec.comparisons.length, 6);
  assert.equal(rec.trainedOnCorruptions, { adversarial: ['fog'] });
  g[1].runs[3].trainedOnCorruptions = [];
  assert.not.match(regimeReport(g).section.html, /class="warn"/);
});

test('each protocol\'s regime options are accepted by train', () => {
  for (const [data, protocol] of Object.entries(PROTOCOLS)) {
    for (const regime of REGIME_NAMES) {
      const flags = Object.entries({ ...protocol.train, ...regimeTrainOptions(protocol, regime) }).flatMap(([k, v]) => [`--${k}`, String(v)]);
      const args = parseArgs('train', '', trainOptions, [...flags, '--data', data, '--out', 'x'])!;
      const config = trainConfigFrom(args, { padding: 0, flip: false });
      validateConfig(config);
      assert.is(config.adversarial === null, regime !== 'adversarial', `${data} ${regime}`);
      assert.is(config.augmentCorruptions === null, regime !== 'corruption-aug', `${data} ${regime}`);
    }
  }
  assert.is(trainConfigFrom(parseArgs('train', '', trainOptions, ['--adversarial', PROTOCOLS.cifar10.regimes.adversarial.adversarial as string, '--out', 'x'])!, { padding: 0, flip: false }).adversarial!.stepSize, 2 / 255);
});

test.run();
