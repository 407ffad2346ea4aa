// Reads a sweep directory into RunRecords for the report (Node: file access). Each run contributes
// whatever result files it has; a missing kind is listed, never fatal.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REGIME_NAMES, regimeSubdir, STANDARD, type RegimeName, type RegimeRuns } from '../study/regimes.js';
import { RUNS_DIR } from '../sweep.js';
import { CONFIG_FILE, RESULT_FILE, SELECTIVITY_FILE } from '../train.js';
import type { MergedRun } from '../sweep.js';
import type { AttackSummary, CorruptionSummary, DimensionalitySummary, GradientSummary, RunRecord } from './report.js';

export const RESULT_FILES = {
  corruptions: 'corruptions.json',
  attackLinf: 'attack-linf.json',
  attackL2: 'attack-l2.json',
  dimensionality: 'dimensionality.json',
  gradients: 'gradients.json',
} as const;

async function readJson(path: string): Promise<any> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot be read as JSON (${(e as Error).message})`);
  }
}

const optional = async (path: string) => (existsSync(path) ? readJson(path) : undefined);

export function toCorruptionSummary(j: any): CorruptionSummary {
  return { clean: j.clean, perCorruption: j.perCorruption, meanPerSeverity: j.meanPerSeverity, mCA: j.mCA };
}

export function toAttackSummary(j: any): AttackSummary {
  // attack-<norm>.json lists {eps, accuracy, …} points (experiments/cli/attack.ts).
  const eps: number[] = j.eps ?? j.points?.map((p: any) => p.eps);
  const accuracy: number[] = j.accuracy ?? j.points?.map((p: any) => p.accuracy);
  if (!Array.isArray(eps) || !Array.isArray(accuracy)) throw new Error('attack results without an ε grid');
  return { norm: j.norm, eps, accuracy, auc: j.aucNormalized ?? j.auc };
}

/** Every finished run (result.json present) of a sweep, with its optional analysis results. */
export async function collectSweep(dir: string): Promise<{ runs: RunRecord[]; unfinished: string[] }> {
  const runsDir = join(dir, RUNS_DIR);
  if (!existsSync(runsDir)) throw new Error(`${dir}: no ${RUNS_DIR}/ directory; expected a sweep directory (made by \`sweep --out ${dir}\`)`);
  const runs: RunRecord[] = [];
  const unfinished: string[] = [];
  for (const name of readdirSync(runsDir).sort()) {
    const runDir = join(runsDir, name);
    if (!existsSync(join(runDir, RESULT_FILE))) {
      unfinished.push(name);
      continue;
    }
    const config = (await readJson(join(runDir, CONFIG_FILE))).config;
    const result = await readJson(join(runDir, RESULT_FILE));
    const missing: string[] = [];
    const selectivity = await optional(join(runDir, SELECTIVITY_FILE));
    if (!selectivity) missing.push('selectivity');
    const corruptions = await optional(join(runDir, RESULT_FILES.corruptions));
    if (!corruptions) missing.push('corruptions');
    const attacks: Record<string, AttackSummary> = {};
    const linf = await optional(join(runDir, RESULT_FILES.attackLinf));
    const l2 = await optional(join(runDir, RESULT_FILES.attackL2));
    if (linf) attacks.linf = toAttackSummary(linf);
    if (l2) attacks.l2 = toAttackSummary(l2);
    if (!linf && !l2) missing.push('attacks');
    const dimensionality: DimensionalitySummary | undefined = await optional(join(runDir, RESULT_FILES.dimensionality));
    if (!dimensionality) missing.push('dimensionality');
    const gradients: GradientSummary | undefined = await optional(join(runDir, RESULT_FILES.gradients));
    if (!gradients) missing.push('gradients');
    runs.push({
      name, alpha: config.alpha, seed: config.seed, testAccuracy: result.testAccuracy, testLoss: result.testLoss,
      selectivity: selectivity && { overall: selectivity.overall, layers: selectivity.layers, layerNames: selectivity.layerNames },
      corruptions: corruptions && toCorruptionSummary(corruptions), attacks, dimensionality, gradients, missing,
      trainedOnCorruptions: Array.isArray(config.trainedOnCorruptions) ? config.trainedOnCorruptions : [],
    });
  }
  return { runs, unfinished };
}

/** One CSV row per run: every scalar result the run has (columns absent elsewhere stay empty). */
export function flattenRun(r: RunRecord): MergedRun {
  const values: Record<string, number | string> = { test_accuracy: r.testAccuracy };
  if (r.testLoss !== undefined) values.test_loss = r.testLoss;
  if (r.selectivity) {
    values.si_overall = r.selectivity.overall;
    r.selectivity.layerNames.forEach((layer, i) => (values[`si_${layer}`] = r.selectivity!.layers[i]));
  }
  if (r.corruptions) {
    values.clean_accuracy = r.corruptions.clean;
    values.mca = r.corruptions.mCA;
    r.corruptions.meanPerSeverity.forEach((v, i) => {
      if (v !== null) values[`corruption_s${i + 1}`] = v;
    });
  }
  for (const [norm, a] of Object.entries(r.attacks)) values[`pgd_${norm}_auc`] = a.auc;
  if (r.dimensionality) {
    const clean = r.dimensionality.conditions.find((c) => c.kind === 'clean');
    clean?.perLayer.forEach((l) => {
      values[`dim_clean_${l.layer}`] = l.components;
      values[`pr_clean_${l.layer}`] = l.participationRatio;
    });
  }
  if (r.gradients) {
    // Means over layers of the defined values (a layer without active pairs has no active-only variance).
    const columns = { grad_dirvar_samples: 'dirVarSamples', grad_dirvar_units: 'dirVarUnits', grad_dirvar_samples_active: 'dirVarSamplesActive', grad_dirvar_units_active: 'dirVarUnitsActive', grad_silent_fraction: 'silentFraction', grad_cv_samples: 'cvSamples', grad_cv_units: 'cvUnits' } as const;
    for (const [column, key] of Object.entries(columns)) {
      const vs = r.gradients.layers.map((l) => l[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (vs.length) values[column] = vs.reduce((a, b) => a + b, 0) / vs.length;
    }
  }
  return { alpha: r.alpha, seed: r.seed, run: r.name, values };
}

/** Each regime's finished networks, from its sweep directory under the study's. */
export async function collectRegimes(dir: string, regimes: readonly RegimeName[]): Promise<RegimeRuns[]> {
  const groups: RegimeRuns[] = [];
  for (const regime of regimes) groups.push({ regime, runs: (await collectSweep(join(dir, regimeSubdir(regime)))).runs });
  return groups;
}

/** The regimes present in a study directory: standard, and each robust regime with a sweep folder. */
export function regimesIn(dir: string): RegimeName[] {
  return REGIME_NAMES.filter((r) => r === STANDARD || existsSync(join(dir, regimeSubdir(r), RUNS_DIR)));
}
