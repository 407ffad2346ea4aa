import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectSweep } from '../experiments/report/collect.js';
import { buildReport, formatP } from '../experiments/report/report.js';
import { lineChart, niceTicks } from '../experiments/report/svg.js';
import { pearson, ranks, spearman } from '../experiments/report/stats.js';
import { checkXml } from './reference/xml.js';

const layers = ['layer1.0', 'layer2.0', 'layer3.0'];

/** A synthetic sweep in which lower α means lower SI, higher mCA and lower PGD AUC (the paper's direction). */
function writeSweep(dir: string): void {
  const write = (run: string, file: string, value: unknown) => {
    mkdirSync(join(dir, 'runs', run), { recursive: true });
    writeFileSync(join(dir, 'runs', run, file), JSON.stringify(value));
  };
  for (const alpha of [-1, 0, 1]) {
    for (const seed of [0, 1]) {
      const run = `alpha=${alpha}_seed=${seed}`;
      const si = 0.3 + 0.1 * alpha + 0.01 * seed;
      write(run, 'config.json', { config: { alpha, seed } });
      write(run, 'result.json', { testAccuracy: 0.9 - 0.01 * Math.abs(alpha) });
      write(run, 'selectivity.json', { overall: si, layers: layers.map((_, i) => si + 0.01 * i), layerNames: layers });
      write(run, 'corruptions.json', { clean: 0.9, perCorruption: { fog: [0.8, 0.7, 0.6, 0.5, 0.4] }, meanPerSeverity: [0.8, 0.7, 0.6, 0.5, 0.4].map((v) => v - 0.05 * alpha), mCA: 0.6 - 0.05 * alpha - 0.001 * seed });
      write(run, 'attack-linf.json', { norm: 'linf', eps: [0, 1 / 255, 2 / 255], accuracy: [0.9, 0.5 + 0.1 * alpha, 0.2 + 0.1 * alpha], aucNormalized: 0.4 + 0.1 * alpha + 0.001 * seed });
      write(run, 'dimensionality.json', {
        layers,
        conditions: [
          { name: 'clean', kind: 'clean', perLayer: layers.map((layer) => ({ layer, components: 20 - 5 * alpha + seed, participationRatio: 5 })) },
          { name: 'fog:3', kind: 'corrupted', perLayer: layers.map((layer) => ({ layer, components: 22 - 5 * alpha, participationRatio: 5 })) },
          { name: 'pgd-linf:2/255', kind: 'adversarial', perLayer: layers.map((layer) => ({ layer, components: 30 - 5 * alpha, participationRatio: 6 })) },
        ],
      });
      if (!(alpha === 1 && seed === 1)) write(run, 'gradients.json', { layers: layers.map((layer) => ({ layer, cvSamples: 0.2 + 0.1 * alpha + 0.01 * seed, cvUnits: 0.3, dirVarSamples: 0.5, dirVarUnits: 0.6 })) });
    }
  }
  write('alpha=2_seed=0', 'config.json', { config: { alpha: 2, seed: 0 } }); // unfinished
}

test('p-values print with two significant digits, tiny ones as < 0.0001, undefined ones as a dash', () => {
  assert.is(formatP(0.04321), '0.043');
  assert.is(formatP(0.00002), '< 0.0001');
  assert.is(formatP(1), '1.0');
  assert.is(formatP(null), '–');
  assert.is(formatP(NaN), '–');
});

test('charts of values that differ only by rounding end (no tick loop that never advances)', () => {
  assert.equal(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.ok(niceTicks(0.5, 0.5 + 1e-16).length <= 21);
  const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[0, 0.5], [1, 0.5 + 1e-16, 1e-17]] }] });
  assert.is(checkXml(svg), null);
});

test('statistics helpers', () => {
  assert.ok(Math.abs(pearson([1, 2, 3, 4], [2, 4, 6, 8]) - 1) < 1e-12);
  assert.equal(ranks([10, 20, 20, 5]), [2, 3.5, 3.5, 1]);
  assert.ok(Math.abs(spearman([1, 2, 3, 4], [1, 8, 27, 64]) - 1) < 1e-12);
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
});

test('the report renders every figure as valid SVG with the expected series, and reports missing results', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  try {
    writeSweep(dir);
    const { runs, unfinished } = await collectSweep(dir);
    assert.is(runs.length, 6);
    assert.equal(unfinished, ['alpha=2_seed=0']);
    const { html, figures } = buildReport(runs, { title: 'Test report', source: dir, generated: 'now' });
    const ids = figures.map((f) => f.id);
    for (const id of ['selectivity-vs-alpha', 'corruption-severity', 'mca-vs-alpha', 'si-vs-mca', 'attack-linf', 'si-vs-auc-linf', 'dimensionality-vs-alpha', 'dimensionality-per-layer', 'gradient-variability']) {
      assert.ok(ids.includes(id), `figure ${id} missing (have ${ids.join(', ')})`);
    }
    for (const f of figures) {
      const problem = checkXml(f.svg);
      assert.is(problem, null, `${f.id}: ${problem}`);
      assert.match(f.svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    const severity = figures.find((f) => f.id === 'corruption-severity')!.svg;
    for (const alpha of ['α = -1', 'α = 0', 'α = 1']) assert.match(severity, new RegExp(alpha));
    assert.is(figures.find((f) => f.id === 'si-vs-mca')!.agrees, true);
    assert.is(figures.find((f) => f.id === 'si-vs-auc-linf')!.agrees, true);
    assert.is(figures.find((f) => f.id === 'dimensionality-per-layer')!.agrees, true);
    assert.match(html, /alpha=1_seed=1 \(no gradients\)/);
    // The verdict table opens the report, before any figure, and each tested figure states its finding.
    assert.ok(html.indexOf('<table class="findings">') < html.indexOf('<figure>'));
    for (const id of ['F1', 'F2', 'F3', 'F4a', 'F4b', 'F5']) assert.match(html, new RegExp(`<td>${id}</td>`));
    assert.match(figures.find((f) => f.id === 'si-vs-mca')!.caption, /F2: ρ = -1\.00 \(95% CI .*\), p = .*, n = 6 networks: agrees\./);
    assert.match(html, /<table>/);
    for (const f of figures) assert.ok(html.includes(f.caption.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')), `caption of ${f.id}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report CLI: writes the HTML; refuses a sweep without finished runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-cli-'));
  try {
    writeSweep(dir);
    const ok = spawnSync(process.execPath, ['dist/experiments/cli.js', 'report', dir], { encoding: 'utf8' });
    assert.is(ok.status, 0, ok.stderr);
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<h1>Class selectivity vs average- and worst-case robustness<\/h1>/);
    const empty = mkdtempSync(join(tmpdir(), 'report-empty-'));
    mkdirSync(join(empty, 'runs', 'alpha=0_seed=0'), { recursive: true });
    const bad = spawnSync(process.execPath, ['dist/experiments/cli.js', 'report', empty], { encoding: 'utf8' });
    assert.is(bad.status, 2);
    assert.match(bad.stderr, /no finished runs to report on \(1 still running: alpha=0_seed=0\)/);
    const notSweep = spawnSync(process.execPath, ['dist/experiments/cli.js', 'report', join(empty, 'runs')], { encoding: 'utf8' });
    assert.match(notSweep.stderr, /no runs\/ directory/);
    rmSync(empty, { recursive: true, force: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
