// Seeded fuzzing of every loader over valid files of each published format (test/fuzz/): hundreds of
// truncations, bit flips, edited headers, wrong dtypes and shapes, NaN/Inf payloads and damaged
// JPEGs. Each mutated file must load as valid data (content checked against an independent
// reader) or be refused with an error naming it; never a crash, a hang, NaN, or partial output.
// FUZZ_SEED picks another seed, FUZZ_BUDGET_MS another time budget (default 60 s).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const seed = Number(process.env.FUZZ_SEED ?? 16);
const budgetMs = Number(process.env.FUZZ_BUDGET_MS ?? 60_000);

test(`loaders under fuzzing (seed ${seed})`, async () => {
  const work = mkdtempSync(join(tmpdir(), 'fuzz-'));
  const child = spawn(process.execPath, ['dist/test/fuzz/run.js', String(seed), String(budgetMs), join(work, 'w')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  // A hang is a failure too: the process is killed a minute after its budget.
  const timer = setTimeout(() => child.kill('SIGKILL'), budgetMs + 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  rmSync(work, { recursive: true, force: true });
  const lastCase = [...out.matchAll(/^CASE (.*)$/gm)].pop()?.[1] ?? '(none)';
  const result = /^RESULT (.*)$/m.exec(out);
  assert.ok(code === 0 && result, `the fuzz process ended with ${signal ?? `exit ${code}`} during case ${lastCase}\n${err.split('\n').filter((l) => !l.startsWith('Warning: ')).slice(-20).join('\n')}`);
  const r = JSON.parse(result![1]) as { seconds: number; stoppedEarly: boolean; planned: number; formats: Record<string, { cases: number; loaded: number; rejected: number; failures: string[] }> };
  const failures = Object.entries(r.formats).flatMap(([f, s]) => s.failures.map((x) => `${f}: ${x}`));
  const total = Object.values(r.formats).reduce((n, s) => n + s.cases, 0);
  console.log(`  fuzz: ${total}/${r.planned} cases in ${r.seconds.toFixed(1)} s${r.stoppedEarly ? ' (time budget reached)' : ''}: ${Object.entries(r.formats).map(([f, s]) => `${f} ${s.cases} (${s.loaded} loaded, ${s.rejected} refused)`).join('; ')}`);
  assert.equal(failures, [], `${failures.length} failing case(s):\n  ${failures.join('\n  ')}`);
  for (const [f, s] of Object.entries(r.formats)) assert.ok(s.cases >= 20, `${f}: only ${s.cases} cases ran`);
});

test.run();
