// The findings over synthetic networks whose relationships are known by construction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RunRecord } from '../experiments/report/report.js';
import { evaluateFindings, FINDING_IDS } from '../experiments/study/findings.js';

const layers = ['layer1.0', 'layer2.0'];

/** A network at (α, seed) whose measurements follow the paper's directions (sign = 1) or oppose them (sign = −1). */
function network(alpha: number, seed: number, sign: 1 | -1, options: { gradients?: boolean } = {}): RunRecord {
  const si = 0.3 + 0.05 * alpha + 0.001 * seed;
  const dim = (extra: number) => layers.map((layer) => ({ layer, components: 20 - sign * 5 * alpha + extra, participationRatio: 4 - sign * alpha + extra / 10 }));
  return {
    name: `alpha=${alpha}_seed=${seed}`, alpha, seed, testAccuracy: 0.9, missing: [],
    selectivity: { overall: si, layers: [si, si], layerNames: layers },
    corruptions: { clean: 0.9, perCorruption: {}, meanPerSeverity: [0.8, 0.7, 0.6, 0.5, 0.4], mCA: 0.6 - sign * 0.05 * alpha },
    attacks: { linf: { norm: 'linf', eps: [0, 0.1], accuracy: [0.9, 0.5], auc: 0.4 + sign * 0.05 * alpha }, l2: { norm: 'l2', eps: [0, 1], accuracy: [0.9, 0.6], auc: 0.5 + sign * 0.01 * alpha } },
    dimensionality: {
      layers,
      conditions: [
        { name: 'clean', kind: 'clean', perLayer: dim(0) },
        { name: 'fog:3', kind: 'corrupted', perLayer: dim(2) },
        { name: 'snow:3', kind: 'corrupted', perLayer: dim(4 + seed) },
        { name: 'pgd-linf:0.1', kind: 'adversarial', perLayer: dim(3 + sign * (5 + seed)) },
      ],
    },
    gradients: options.gradients === false ? undefined : { layers: layers.map((layer) => ({ layer, cvSamples: 0.2 + sign * 0.1 * alpha, cvUnits: 0.3 + sign * 0.1 * alpha, dirVarSamples: 0.5 + sign * 0.05 * alpha, dirVarUnits: 0.6 + sign * 0.05 * alpha, dirVarSamplesActive: 0.4 + sign * 0.05 * alpha, dirVarUnitsActive: null, silentFraction: 0.1 })) },
  };
}

const grid = (sign: 1 | -1, seeds = [0, 1, 2]) => [-2, -1, 0, 1, 2].flatMap((a) => seeds.map((s) => network(a, s, sign)));

test('networks built to follow the paper: every finding agrees, with n, p, CI and Holm-adjusted p', () => {
  const findings = evaluateFindings(grid(1), { permutations: 2000, bootstrap: 500 });
  assert.equal(findings.map((f) => f.id), FINDING_IDS);
  assert.equal(new Set(FINDING_IDS).size, FINDING_IDS.length);
  for (const f of findings) {
    if (f.id === 'F5-units-active') continue; // its measurement is null in every network
    assert.is(f.verdict, 'agrees', `${f.id}: ${JSON.stringify(f)}`);
    assert.is(f.n, 15);
    assert.ok(f.pValue! < 0.05);
    // A percentile interval need not contain the estimate (resamples repeat networks), but it is ordered and shares the sign.
    assert.ok(f.ci95[0]! <= f.ci95[1]! && Math.sign(f.ci95[0]!) === Math.sign(f.value!), `${f.id} CI ${f.ci95} vs ${f.value}`);
  }
  const f1 = findings.find((f) => f.id === 'F1')!;
  // ρ(α, SI): SI rises with α, and within an α with the seed, so the ranks agree except among tied α.
  assert.ok(f1.value! > 0.95);
  // F4b: Δ_adv − Δ_corr = (3 + 5 + s) − (2 + 4 + s)/2 − ... = 8 + s − (3 + s/2) = 5 + s/2 > 0 for all 15 → p = 2/2¹⁵.
  const f4b = findings.find((f) => f.id === 'F4b')!;
  assert.ok(Math.abs(f4b.pValue! - 2 / 2 ** 15) < 1e-12, `${f4b.pValue}`);
  assert.is(f4b.extra!.positive, 15);
  assert.ok(Math.abs(f4b.value! - 5.5) < 1e-12, `mean of 5 + s/2 over s = 0, 1, 2: ${f4b.value}`);
  assert.ok(Math.abs((f4b.extra!.medianDifference as number) - 5.5) < 1e-12, `median of 5 + s/2: ${f4b.extra!.medianDifference}`);
  // With an even count the median is the mean of the two middle differences: seeds 0, 1 → 5 and 5.5.
  const even = evaluateFindings(grid(1, [0, 1]), { permutations: 200, bootstrap: 50 }).find((f) => f.id === 'F4b')!;
  assert.ok(Math.abs((even.extra!.medianDifference as number) - 5.25) < 1e-12, `even n: ${even.extra!.medianDifference}`);
  // Holm: the primary family only; adjusted p ≥ raw p.
  for (const f of findings) {
    if (f.primary) assert.ok(f.pHolm! >= f.pValue! - 1e-15, f.id);
    else assert.is(f.pHolm, null, f.id);
  }
  const f2 = findings.find((f) => f.id === 'F2')!;
  // Relative drop (0.9 − mCA)/0.9 averaged over a grid symmetric in α: (0.9 − 0.6)/0.9.
  assert.ok(Math.abs((f2.extra!.meanRelativeDrop as number) - 1 / 3) < 1e-12);
});

test('networks built against the paper: the findings that depend on the direction disagree', () => {
  const findings = evaluateFindings(grid(-1), { permutations: 2000, bootstrap: 500 });
  for (const id of ['F2', 'F3', 'F4a', 'F4b', 'F5', 'F5-units']) assert.is(findings.find((f) => f.id === id)!.verdict, 'disagrees', id);
  assert.is(findings.find((f) => f.id === 'F1')!.verdict, 'agrees', 'F1 depends only on α and SI');
});

test('too few networks or missing measurements: inconclusive or undefined, with the reason', () => {
  const two = evaluateFindings([network(-1, 0, 1), network(1, 0, 1)], { permutations: 100, bootstrap: 100 });
  const f1 = two.find((f) => f.id === 'F1')!;
  assert.is(f1.value, 1);
  assert.is(f1.pValue, 1, 'two networks cannot reject anything');
  assert.is(f1.verdict, 'inconclusive');
  const noGradients = evaluateFindings([network(-1, 0, 1, { gradients: false }), network(0, 0, 1, { gradients: false }), network(1, 0, 1)], { permutations: 100, bootstrap: 100 });
  const f5 = noGradients.find((f) => f.id === 'F5')!;
  assert.is(f5.n, 1);
  assert.is(f5.verdict, 'undefined');
  assert.match(f5.note!, /at least 2 networks/);
  assert.match(f5.note!, /2 of 3 networks lack the measurement/);
  const nothing = noGradients.find((f) => f.id === 'F5-units-active')!;
  assert.is(nothing.value, null);
  assert.is(nothing.verdict, 'undefined');
  // Equal SI everywhere: ρ is undefined rather than 0 or NaN in the JSON.
  const flat = [-1, 0, 1].map((a) => ({ ...network(a, 0, 1), selectivity: { overall: 0.3, layers: [0.3, 0.3], layerNames: layers } }));
  const f2 = evaluateFindings(flat, { permutations: 100, bootstrap: 100 }).find((f) => f.id === 'F2')!;
  assert.is(f2.verdict, 'undefined');
  assert.match(f2.note!, /x is constant/);
  assert.is(JSON.parse(JSON.stringify(f2)).value, null);
});

test.run();
