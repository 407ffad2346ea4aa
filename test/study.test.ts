// The study command end to end on a tiny grid: every network trained and measured, the findings
// tested, study.json and report.html written; a second invocation skips what is done; a third adds
// the adversarial regime to the same study.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveProtocol } from '../experiments/cli/study.js';
import { measurementsFor, PROTOCOLS } from '../experiments/study/protocol.js';

const cli = (args: string[]) => spawnSync(process.execPath, ['dist/experiments/cli.js', ...args], { encoding: 'utf8' });

test('protocol overrides: --epochs and limits replace the defaults, and a smaller test subset scales the measurements', () => {
  const p = resolveProtocol({ data: 'mnist', epochs: 1, 'limit-train': 64, 'limit-test': 250, alphas: [-1, 1] });
  assert.is(p.train.epochs, 1);
  assert.is(p.train['limit-train'], 64);
  assert.equal(p.alphas, [-1, 1]);
  assert.equal(p.seeds, PROTOCOLS.mnist.seeds);
  // 250 of the protocol's 500 test images: every measurement at half its size.
  const m = PROTOCOLS.mnist;
  assert.is(p.corruptions.images, m.corruptions.images / 2);
  assert.ok(p.attacks.every((a, i) => a.images === m.attacks[i].images / 2));
  assert.is(p.dimensionality.samples, m.dimensionality.samples / 2);
  assert.is(p.gradients.samples, m.gradients.samples / 2);
  assert.equal(resolveProtocol({ data: 'mnist', 'limit-test': 5000 }).corruptions, m.corruptions, 'never scaled up');
  assert.throws(() => resolveProtocol({ data: 'mnist', epochs: 0 }), /--epochs: expected an integer ≥ 1, got 0/);
  assert.throws(() => resolveProtocol({ data: 'mnist', seeds: [0.5] }), /--seeds: 0.5/);
  const argv = measurementsFor('RUN/model.safetensors', { protocol: p, corruptionSource: '/data/CIFAR-10-C' });
  assert.equal(argv.map((m) => m.file), ['corruptions.json', 'attack-linf.json', 'attack-l2.json', 'dimensionality.json', 'gradients.json']);
  assert.ok(argv[0].argv.includes('/data/CIFAR-10-C'));
});

test('study: refuses bad settings before touching the directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'study-bad-'));
  try {
    const r = cli(['study', '--out', join(dir, 's'), '--data', 'cifar10']);
    assert.is(r.status, 2);
    assert.match(r.stderr, /--data cifar10: give --data-dir/);
    assert.match(cli(['study', '--out', join(dir, 's'), '--alphas', '1,1']).stderr, /α 1 is listed twice/);
    assert.match(cli(['study', '--out', join(dir, 's'), '--regimes', 'adversarial']).stderr, /--regimes: include standard/);
    assert.not.ok(existsSync(join(dir, 's')), 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The tiny study of the next tests: standard networks first, then the adversarial regime added to it. */
const tiny = mkdtempSync(join(tmpdir(), 'study-'));
const tinyArgs = ['study', '--alphas', '-1,1', '--seeds', '0', '--epochs', '1', '--limit-train', '64', '--limit-test', '16', '--out', tiny];
test.after(() => rmSync(tiny, { recursive: true, force: true }));

test('study on a tiny grid writes every finding with value, CI, p, n and verdict; a rerun skips finished work', () => {
  const first = cli(tinyArgs);
  assert.is(first.status, 0, first.stderr + first.stdout);
  const study = JSON.parse(readFileSync(join(tiny, 'study.json'), 'utf8'));
  assert.is(study.runs, 2);
  for (const id of ['F1', 'F2', 'F3', 'F4a', 'F4b', 'F5']) {
    const f = study.findings.find((x: { id: string }) => x.id === id);
    assert.ok(f, `${id} missing`);
    for (const key of ['value', 'ci95', 'pValue', 'n', 'verdict']) assert.ok(key in f, `${id}.${key}`);
    assert.is(f.n, 2);
    assert.ok(['agrees', 'disagrees', 'inconclusive', 'undefined'].includes(f.verdict));
  }
  const html = readFileSync(join(tiny, 'report.html'), 'utf8');
  assert.ok(html.indexOf('class="findings"') < html.indexOf('<figure>'), 'the verdict table comes before the figures');
  const measured = statSync(join(tiny, 'runs', 'alpha=1_seed=0', 'gradients.json')).mtimeMs;
  const second = cli(tinyArgs);
  assert.is(second.status, 0, second.stderr);
  assert.match(second.stdout, /finished, skipped/);
  assert.is(statSync(join(tiny, 'runs', 'alpha=1_seed=0', 'gradients.json')).mtimeMs, measured, 'measurements are not repeated');
  assert.match(second.stdout, /F1 +ρ/);
});

test('study --regimes standard,adversarial adds adversarially trained twins to the same study and compares them pair by pair', () => {
  const runDir = (regime: string) => join(tiny, ...(regime === 'standard' ? [] : ['regimes', regime]), 'runs', 'alpha=1_seed=0');
  const record = readFileSync(join(tiny, 'study-config.json'), 'utf8');
  const measured = statSync(join(runDir('standard'), 'gradients.json')).mtimeMs;
  const r = cli([...tinyArgs, '--regimes', 'standard,adversarial']);
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.is(readFileSync(join(tiny, 'study-config.json'), 'utf8'), record, 'the standard study\'s record is unchanged');
  assert.is(statSync(join(runDir('standard'), 'gradients.json')).mtimeMs, measured, 'the standard networks are neither retrained nor remeasured');
  const config = JSON.parse(readFileSync(join(runDir('adversarial'), 'config.json'), 'utf8')).config;
  assert.equal([config.adversarial.method, config.adversarial.norm, config.adversarial.eps, config.adversarial.steps, config.adversarial.warmupEpochs], ['pgd', 'linf', 0.2, 7, 1]);
  for (const file of ['corruptions.json', 'attack-linf.json', 'attack-l2.json', 'dimensionality.json', 'gradients.json']) assert.ok(existsSync(join(runDir('adversarial'), file)), file);
  const study = JSON.parse(readFileSync(join(tiny, 'study.json'), 'utf8'));
  assert.is(study.runs, 2, 'the findings stay those of the standard networks');
  assert.equal(study.regimes.names, ['standard', 'adversarial']);
  assert.equal(study.regimes.networks, { standard: 2, adversarial: 2 });
  for (const measure of ['SI', 'PC95', 'PR', 'mCA', 'AUC-Linf']) {
    const c = study.regimes.comparisons.find((x: { id: string }) => x.id === `adversarial:${measure}`);
    assert.ok(c, measure);
    assert.is(c.n, 2);
    assert.ok(['raises', 'lowers', 'inconclusive', 'undefined'].includes(c.verdict));
  }
  assert.match(r.stdout, /Does adversarial training change class selectivity[^\n]*\n  adversarial:SI: mean SI adversarial − standard/);
  const html = readFileSync(join(tiny, 'report.html'), 'utf8');
  assert.match(html, /<h2 id="robust-training">Robust training vs selectivity<\/h2>/);
  assert.match(html, /<figure id="regimes-SI">/);
  // `report` on the study directory finds the regimes, and study.json supplies their train options.
  const again = cli(['report', tiny, '--out', join(tiny, 'again.html')]);
  assert.is(again.status, 0, again.stderr);
  assert.match(readFileSync(join(tiny, 'again.html'), 'utf8'), /<b>adversarial<\/b>: 2 networks, <code>--adversarial pgd:linf:0\.2:steps=7 --adversarial-warmup 1<\/code>/);
});

test.run();
