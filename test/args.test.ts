// Command-line arguments: every malformed argument is a one-line error naming the option, with exit
// code 2, no stack trace, nothing written, and no GPU started.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseArgs, UsageError, type OptionSpec } from '../experiments/cli/args.js';
import { NO_GPU_MESSAGE } from './fixtures/no-gpu-hooks.js';
import { errorLines, runCli } from './fixtures/cli.js';

const specs: Record<string, OptionSpec> = {
  out: { type: 'string', description: 'output' },
  resume: { type: 'boolean', default: false, description: 'resume' },
  flip: { type: 'boolean', description: 'flip' },
  alpha: { type: 'number', default: 0, description: 'alpha' },
  alphas: { type: 'numbers', description: 'alphas' },
  eps: { type: 'numbers', allowEmpty: true, description: 'eps' },
  epochs: { type: 'number', integer: true, min: 1, default: 200, description: 'epochs' },
  severity: { type: 'number', integer: true, min: 1, max: 5, description: 'severity' },
  norm: { type: 'string', choices: ['linf', 'l2'], description: 'norm' },
};

const parse = (argv: string[], positionals?: string[]) => {
  const out = parseArgs('cmd', 'summary', specs, argv, { positionals });
  assert.ok(out, 'parsed');
  return out!;
};

function usage(argv: string[], pattern: RegExp, positionals?: string[]): void {
  try {
    parseArgs('cmd', 'summary', specs, argv, { positionals });
  } catch (e) {
    assert.instance(e, UsageError, `${argv.join(' ')}: ${(e as Error).message}`);
    assert.match((e as Error).message, pattern, argv.join(' '));
    assert.not.match((e as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable(`${JSON.stringify(argv)} was accepted`);
}

test('values: numbers, negative numbers, fractions, lists, switches and defaults', () => {
  const a = parse(['--out', 'run', '--alpha', '-1', '--alphas', '-100,-0.3,0,5', '--eps=0,8/255', '--flip', '--epochs', '3']);
  assert.equal(a, { _: [], out: 'run', alpha: -1, alphas: [-100, -0.3, 0, 5], eps: [0, 8 / 255], flip: true, epochs: 3, resume: false });
  assert.is(parse(['--no-flip']).flip, false);
  assert.is(parse(['--alpha=-.5']).alpha, -0.5);
  assert.is(parse(['--epochs', '1e3']).epochs, 1000);
  assert.equal(parse(['--eps', '']).eps, [], 'an empty list where the option allows one');
  assert.equal(parse(['--out=-odd-name']).out, '-odd-name', 'a value starting with - written with =');
  assert.equal(parse(['SWEEP'], ['SWEEP_DIR'])._, ['SWEEP']);
});

test('every malformed argument is a one-line UsageError naming the option', () => {
  usage(['--out', '--resume'], /cmd --out: needs a value, but the next argument is an option; .*--out=-/);
  usage(['--out', '-x'], /cmd --out: needs a value, but the next argument is an option/);
  usage(['--out'], /cmd --out: needs a value \(output\)/);
  usage(['--flip=off'], /cmd --flip: a switch takes no value; write --flip or --no-flip/);
  usage(['--flip=true'], /a switch takes no value/);
  usage(['--no-flip=1'], /cmd --no-flip: a switch takes no value; write --flip or --no-flip/);
  usage(['--out='], /cmd --out: the value is empty/);
  usage(['--alphas='], /cmd --alphas: the value is empty/);
  usage(['--out', 'a', '--out', 'b'], /cmd: --out is given twice; give it once/);
  usage(['--flip', '--no-flip'], /cmd: --flip is given twice \(--flip and --no-flip\)/);
  usage(['--alpha=1', '--alpha', '2'], /--alpha is given twice/);
  usage(['stray'], /cmd: unexpected argument 'stray'; this command takes only options/);
  usage(['a', 'b'], /cmd: unexpected argument 'b'; usage: cmd \[options\] SWEEP_DIR/, ['SWEEP_DIR']);
  usage(['--', '--out'], /unexpected argument '--out'/);
  usage(['--bogus'], /cmd: unknown option --bogus; valid options: --out, --resume/);
  usage(['-x'], /cmd: unknown option -x/);
  usage(['--epochs', '0'], /cmd --epochs: expected an integer ≥ 1, got 0/);
  usage(['--epochs', '2.5'], /cmd --epochs: expected an integer ≥ 1, got 2\.5/);
  usage(['--epochs', '1/3'], /expected an integer ≥ 1, got 0\.333/);
  usage(['--severity', '6'], /cmd --severity: expected an integer from 1 to 5, got 6/);
  usage(['--alpha', 'abc'], /cmd --alpha: 'abc' is not a number/);
  usage(['--alpha', 'Infinity'], /is not a number/);
  usage(['--alphas', '1,,2'], /cmd --alphas: '1,,2' has an empty item/);
  usage(['--alphas', '1,'], /has an empty item/);
  usage(['--norm', 'l3'], /cmd --norm: 'l3' is not one of linf, l2/);
});

test('--help prints the options with their constraints and parses nothing else', () => {
  const logged: string[] = [];
  const log = console.log;
  console.log = (line: string) => logged.push(line);
  try {
    assert.is(parseArgs('cmd', 'summary', specs, ['--bogus', '--help'], { positionals: ['SWEEP_DIR'] }), null);
  } finally {
    console.log = log;
  }
  assert.match(logged[0], /^Usage: cmd \[options\] SWEEP_DIR/);
  assert.match(logged[0], /--epochs N +epochs \(an integer ≥ 1; default 200\)/);
  assert.match(logged[0], /--severity N +severity \(an integer from 1 to 5\)/);
});

// ---------------------------------------------------------------------------------------------
// The command-line tool itself

const scratch = mkdtempSync(join(tmpdir(), 'args-'));

/** Asserts a one-line usage error (exit 2) matching `pattern`, with no GPU started. */
async function rejected(args: string[], pattern: RegExp): Promise<void> {
  const r = await runCli(args, { noGpu: true });
  const lines = errorLines(r);
  assert.is(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.out}`);
  assert.is(lines.length, 1, `${args.join(' ')}: one line, got\n${r.stderr}`);
  assert.match(lines[0], pattern, args.join(' '));
  assert.not.match(r.out, /\n\s+at /, 'no stack trace');
  assert.not.match(r.out, new RegExp(NO_GPU_MESSAGE), 'no GPU started');
}

test('the CLI rejects each malformed argument in one line (exit 2) before starting a GPU', async () => {
  const out = join(scratch, 'never');
  await rejected(['train', '--out', '--resume'], /^train --out: needs a value, but the next argument is an option/);
  await rejected(['train', '--out', out, '--flip=off'], /^train --flip: a switch takes no value; write --flip or --no-flip$/);
  await rejected(['train', '--out='], /^train --out: the value is empty/);
  await rejected(['train', '--out', out, '--lr', '0.1', '--lr', '0.2'], /^train: --lr is given twice; give it once$/);
  await rejected(['train', '--out', out, 'extra'], /^train: unexpected argument 'extra'/);
  await rejected(['train', '--out', out, '--limit-train', '0'], /^train --limit-train: expected an integer ≥ 1, got 0$/);
  await rejected(['train', '--out', out, '--log-every', '0'], /^train --log-every: expected an integer ≥ 1, got 0$/);
  await rejected(['train', '--out', out, '--batch-size', '1'], /^train --batch-size: expected an integer ≥ 2, got 1$/);
  await rejected(['train', '--out', out, '--epochs', '1.5'], /^train --epochs: expected an integer ≥ 1, got 1\.5$/);
  await rejected(['train', '--out', out, '--lr', '0'], /^train: --lr must be > 0, got 0$/);
  await rejected(['dimensionality', '--checkpoint', 'M', '--batch-size', '0'], /^dimensionality --batch-size: expected an integer ≥ 1, got 0$/);
  await rejected(['attack', '--checkpoint', 'M', '--steps', '0'], /^attack --steps: expected an integer ≥ 1, got 0$/);
  await rejected(['eval', '--checkpoint', 'M', '--limit-test', '2.5'], /^eval --limit-test: expected an integer ≥ 1, got 2\.5$/);
  await rejected(['merge', join(scratch, 'a'), join(scratch, 'b')], /^merge: unexpected argument '.*b'; usage: merge \[options\] SWEEP_DIR$/);
  assert.not.ok(existsSync(out), 'nothing written');
});

test('sweep validates every setting before it writes sweep.json; a corrected command is then accepted', async () => {
  const dir = join(scratch, 'sweep');
  await rejected(['sweep', '--out', dir, '--epochs', '0'], /^sweep --epochs: expected an integer ≥ 1, got 0$/);
  await rejected(['sweep', '--out', dir, '--seeds', '0,1.5'], /^sweep --seeds: expected an integer ≥ 0, got 1\.5$/);
  await rejected(['sweep', '--out', dir, '--lr', '-1'], /^sweep \(run alpha=[-\d.]+_seed=0\): --lr must be > 0, got -1$/);
  await rejected(['sweep', '--out', dir, '--alphas', '0,1e6'], /^sweep \(run alpha=1000000_seed=0\): --alpha must be a finite number with \|α\| ≤ 10000/);
  await rejected(['sweep', '--out', dir, '--limit-train', '10', '--batch-size', '64'], /^sweep: 10 training samples are fewer than one batch of 64$/);
  await rejected(['sweep', '--out', dir, '--shard', '2/2'], /--shard: '2\/2' is not of the form i\/n/);
  assert.not.ok(existsSync(join(dir, 'sweep.json')), 'no sweep.json from a rejected command');
  // The corrected command gets past every check and records its configuration (it stops where it
  // would start the GPU, which this test forbids).
  const corrected = await runCli(['sweep', '--out', dir, '--epochs', '1', '--limit-train', '64', '--batch-size', '32', '--limit-test', '16'], { noGpu: true });
  assert.match(corrected.stderr, new RegExp(NO_GPU_MESSAGE), corrected.out);
  assert.is(JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')).base.epochs, 1);
});

test('merge, report and --help run without a GPU', async () => {
  // A sweep directory holding one finished run, as far as merge and report read it.
  const dir = join(scratch, 'finished');
  const run = join(dir, 'runs', 'alpha=0_seed=0');
  mkdirSync(run, { recursive: true });
  writeFileSync(join(run, 'config.json'), JSON.stringify({ config: { alpha: 0, seed: 0 } }));
  writeFileSync(join(run, 'result.json'), JSON.stringify({ testAccuracy: 0.5, testLoss: 1.2 }));
  writeFileSync(join(run, 'selectivity.json'), JSON.stringify({ overall: 0.2, layers: [0.1, 0.3], layerNames: ['layer1.0', 'layer1.1'] }));
  const merged = await runCli(['merge', dir], { noGpu: true });
  assert.is(merged.code, 0, merged.out);
  assert.match(readFileSync(join(dir, 'merged.csv'), 'utf8'), /^alpha,seed,run,test_accuracy,test_loss,si_overall/);
  const report = await runCli(['report', dir], { noGpu: true });
  assert.is(report.code, 0, report.out);
  assert.ok(existsSync(join(dir, 'report.html')));
  const help = await runCli(['--help'], { noGpu: true });
  assert.is(help.code, 0, help.out);
  // The guard itself works: a command that needs the GPU is stopped by it.
  const tune = await runCli(['autotune'], { noGpu: true });
  assert.is(tune.code, 1);
  assert.match(tune.stderr, new RegExp(NO_GPU_MESSAGE));
});

test('every command: --help works without a GPU, and integer-valued options declare it', async () => {
  const listing = await runCli(['--help'], { noGpu: true });
  const commands = [...listing.stdout.matchAll(/^ {2}([a-z-]+) {2,}/gm)].map((m) => m[1]);
  assert.ok(commands.length >= 14, `commands listed: ${commands.join(', ')}`);
  // Options that count things: each must say it takes an integer (and its bounds) in its help line.
  const counts = /^--(batch-size|eval-batch-size|epochs|samples|units|steps|restarts|examples|limit|limit-train|limit-test|log-every|checkpoint-every|seed|seeds|index|scale|severities|iterations|warmup|augment-padding|jobs) /;
  for (const command of commands) {
    const r = await runCli([command, '--help'], { noGpu: true });
    assert.is(r.code, 0, `${command} --help: ${r.out}`);
    assert.match(r.stdout, new RegExp(`^Usage: ${command} `), command);
    for (const line of r.stdout.split('\n').map((l) => l.trim())) {
      if (counts.test(line)) assert.match(line, /an integer/, `${command}: ${line}`);
    }
  }
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
