// Racing sweep workers, as a misconfigured array job starts them: real `sweep` processes on one
// directory with overlapping shards, after a worker was SIGKILLed mid-run. Each run must be trained
// by one worker at a time and exactly once (the killed one resumed from its checkpoint), every file
// must be whole, and merge must see each run once.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { checkFinite, decodeCheckpoint } from '../experiments/checkpoint.js';
import { planRuns } from '../experiments/sweep.js';
import { runCli, type CliResult } from './fixtures/cli.js';

const ALPHAS = [0, 1];
const SEEDS = [0, 1, 2];
const grid = ['--epochs', '1', '--batch-size', '16', '--lr', '0.05', '--limit-train', '64', '--limit-test', '16', '--eval-batch-size', '16', '--checkpoint-every', '1', '--log-every', '1', '--alphas', ALPHAS.join(','), '--seeds', SEEDS.join(',')];
const runs = planRuns(ALPHAS, SEEDS).map((r) => r.name);

/** What one worker did with each run of its shard, from its log. */
function outcomes(r: CliResult): Map<string, string> {
  const seen = new Map<string, string>();
  for (const m of r.stdout.matchAll(/^\[\d+\/\d+\] (\S+): (starting|resuming|finished, skipped|held by [^\n]*skipped)/gm)) {
    assert.not.ok(seen.has(m[1]), `${m[1]} handled twice by one worker:\n${r.stdout}`);
    seen.set(m[1], m[2].startsWith('held') ? 'held' : m[2]);
  }
  return seen;
}

test('three racing workers with overlapping shards, after a SIGKILLed one: each run trained once, whole files, merge sees each once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sweep-race-'));
  const t0 = performance.now();
  try {
    // A worker is killed mid-run, leaving a checkpoint and a claim whose process is gone.
    let killed: ChildProcess | undefined;
    const first = join(dir, 'runs', runs[0], 'checkpoint.safetensors');
    const victim = runCli(['sweep', ...grid, '--out', dir], { started: (c) => (killed = c) });
    let position: { batch: number } | null = null;
    for (let i = 0; i < 2400 && !position; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        position = existsSync(first) ? decodeCheckpoint(readFileSync(first), first).position : null;
      } catch {
        // a rename can race the read; try again
      }
    }
    killed!.kill('SIGKILL');
    const k = await victim;
    assert.is(k.signal, 'SIGKILL', `the worker finished before it could be killed:\n${k.out}`);
    assert.ok(existsSync(join(dir, 'claims', `${runs[0]}.claim`)), 'the killed worker left its claim');
    assert.not.ok(existsSync(join(dir, 'runs', runs[0], 'result.json')));

    // Three workers race: two on the whole grid, one on half of it.
    const shards = ['0/1', '0/1', '1/2'];
    const workers = await Promise.all(shards.map((shard) => runCli(['sweep', ...grid, '--out', dir, '--shard', shard])));
    workers.forEach((w, i) => assert.is(w.code, 0, `worker ${i} (shard ${shards[i]}):\n${w.out}`));
    const seconds = (performance.now() - t0) / 1000;

    // Every worker accounted for every run of its shard: trained it, or found it finished or held.
    const done = workers.map(outcomes);
    done.forEach((d, i) => assert.is(d.size, shards[i] === '0/1' ? runs.length : runs.length / 2, `worker ${i}: ${[...d.keys()].join(', ')}`));
    // Each run was trained by exactly one of them; the killed run was resumed from its checkpoint.
    for (const name of runs) {
      const trainers = done.filter((d) => d.get(name) === 'starting' || d.get(name) === 'resuming');
      assert.is(trainers.length, 1, `${name} trained by ${trainers.length} workers`);
      assert.is(trainers[0].get(name), name === runs[0] ? 'resuming' : 'starting', name);
    }
    const resumer = workers.find((w) => /^\[\d+\/\d+\] alpha=0_seed=0: resuming/m.test(w.stdout))!;
    assert.match(resumer.stdout, /alpha=0_seed=0: took over a stale claim \(its process \(pid \d+ on this host\) has exited\)/);
    assert.ok(done.some((d) => [...d.values()].includes('held')) || done.every((d) => [...d.values()].includes('finished, skipped')), 'overlapping shards met');

    // Whole files only: every run decodes and is finite, no temp files, no claims left behind.
    for (const name of runs) {
      const run = join(dir, 'runs', name);
      assert.equal(readdirSync(run).sort(), ['checkpoint.safetensors', 'config.json', 'metrics.csv', 'model.safetensors', 'result.json', 'selectivity.json'], name);
      const model = decodeCheckpoint(readFileSync(join(run, 'model.safetensors')), name);
      checkFinite(model.tensors, name);
      assert.is(model.config?.alpha, Number(/alpha=(-?[\d.]+)/.exec(name)![1]));
      const result = JSON.parse(readFileSync(join(run, 'result.json'), 'utf8'));
      assert.is(result.steps, 4, `${name}: 4 steps, none repeated or lost`);
      assert.is(readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n').length, 2, `${name}: one epoch row`);
      JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    }
    assert.equal(readdirSync(join(dir, 'claims')), [], 'every claim released');

    const merged = await runCli(['merge', dir], { noGpu: true });
    assert.is(merged.code, 0, merged.out);
    const rows = readFileSync(join(dir, 'merged.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',')[2]);
    assert.equal(rows.sort(), [...runs].sort(), 'each run exactly once');
    const count = (what: string) => done.reduce((n, d) => n + [...d.values()].filter((v) => v === what).length, 0);
    console.log(`  race: 1 killed + 3 racing workers, ${runs.length} runs (${count('held')} skipped as held, ${count('finished, skipped')} as finished), ${seconds.toFixed(0)} s wall`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
