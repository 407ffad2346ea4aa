// scripts/test.mjs on small fixture test files: errors in hooks are printed with the file's name and
// counted, a file that ends without uvu's summary fails and the files after it still run (with one
// worker and with several), each file's output stays in one piece when workers run side by side, and
// a run in which nothing passed never exits 0.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

// Inside the project so that the fixtures resolve `uvu` from its node_modules.
mkdirSync('dist', { recursive: true });
const root = mkdtempSync(join('dist', 'runner-fixtures-'));

const FIXTURES: Record<string, string> = {
  'a-pass.test.js': `test('one', () => {}); test('two', () => {});`,
  'b-before.test.js': `test.before(() => { throw new Error('chromium is missing: run apt-get install -y chromium'); });
test('never runs 1', () => {}); test('never runs 2', () => {});`,
  'c-after.test.js': `test('passes', () => {}); test.after(() => { throw new Error('cleanup broke'); });`,
  'd-crash.test.js': `test('exits the process', () => { process.exit(0); });`,
  'e-empty.test.js': ``,
  'f-load.test.js': `throw new Error('top-level failure');`,
  'g-fail.test.js': `test('asserts', () => assert.is(1, 2, 'one is not two'));`,
  'h-after-crash.test.js': `test('still runs', () => {});`,
};

function write(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(dir, name), `import { test } from 'uvu';\nimport * as assert from 'uvu/assert';\n${body}\ntest.run();\n`);
  }
}

function runTests(dir: string, pattern?: string, jobs?: number): { code: number | null; out: string; last: string } {
  return runRunner(['--no-build', '--dir', dir, ...(jobs !== undefined ? ['--jobs', String(jobs)] : []), ...(pattern ? [pattern] : [])]);
}

function runRunner(args: readonly string[]): { code: number | null; out: string; last: string } {
  const r = spawnSync(process.execPath, ['scripts/test.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });
  const out = r.stdout + r.stderr;
  return { code: r.status, out, last: r.stdout.trim().split('\n').at(-1) ?? '' };
}

test.after(() => rmSync(root, { recursive: true, force: true }));

for (const jobs of [1, 3]) test(`hook errors, crashes, empty and failing files are each reported with their file and counted (${jobs} worker${jobs > 1 ? 's' : ''})`, () => {
  const dir = join(root, `mixed-${jobs}`);
  write(dir, FIXTURES);
  const { code, out, last } = runTests(dir, '\\.test\\.js$', jobs);
  assert.is(code, 1, out);
  // passed: a-pass 2, c-after 1, h-after-crash 1. failed: b 2 (not run), c 1 (after hook), d 1 (no
  // summary), e 1 (no tests), f 1 (load), g 1.
  assert.is(last, '4 passed, 7 failed', out);
  for (const expected of [
    'b-before.test.js: before hook failed: chromium is missing: run apt-get install -y chromium',
    'c-after.test.js: after hook failed: cleanup broke',
    "d-crash.test.js: ended without uvu's summary",
    'e-empty.test.js: registered no tests',
    'f-load.test.js: failed to load: top-level failure',
    'one is not two',
  ]) assert.ok(out.includes(expected), `missing '${expected}' in:\n${out}`);
});

test('with several workers each file\'s output is printed in one piece, and the files\' times are kept', () => {
  const dir = join(root, 'blocks');
  const files: Record<string, string> = {};
  for (const name of ['p', 'q', 'r', 's']) {
    files[`${name}.test.js`] = `test('${name}', async () => {
  for (let i = 0; i < 5; i++) { console.log('${name} line ' + i); await new Promise((r) => setTimeout(r, 30)); }
});`;
  }
  write(dir, files);
  const r = runTests(dir, '.', 2);
  assert.is(r.code, 0, r.out);
  assert.is(r.last, '4 passed, 0 failed', r.out);
  const lines = r.out.split('\n');
  for (const name of ['p', 'q', 'r', 's']) {
    const first = lines.indexOf(`${name} line 0`);
    assert.equal(lines.slice(first, first + 5), [0, 1, 2, 3, 4].map((i) => `${name} line ${i}`), r.out);
    assert.ok(lines.includes(`  … ${join(dir, `${name}.test.js`)} started (worker 1)`) || lines.includes(`  … ${join(dir, `${name}.test.js`)} started (worker 2)`), r.out);
  }
  const times = JSON.parse(readFileSync(join(dir, '.test-times.json'), 'utf8'));
  assert.equal(Object.keys(times).sort(), ['p.test.js', 'q.test.js', 'r.test.js', 's.test.js']);
  assert.ok(Object.values(times).every((t) => typeof t === 'number' && t >= 0.1), JSON.stringify(times));
});

test('--help prints the usage; an unknown option or a missing value is refused, naming it', () => {
  const help = runRunner(['--help']);
  assert.is(help.code, 0, help.out);
  assert.ok(help.out.startsWith('Usage: npm test'), help.out);
  const dir = join(root, 'options');
  write(dir, { 'ok.test.js': FIXTURES['a-pass.test.js'] });
  for (const [args, expected] of [[['--job', '2'], 'unknown option --job'], [['--jobs'], '--jobs: expected a value after it'], [['a', 'b'], "expected at most one PATTERN, got 'a', 'b'"]] as const) {
    const r = runRunner(['--no-build', '--dir', dir, ...args]);
    assert.is(r.code, 1, r.out);
    assert.ok(r.out.includes(expected), r.out);
    assert.is(r.last, '0 passed, 1 failed', r.out);
  }
});

test('--jobs must be a whole number of workers', () => {
  const dir = join(root, 'jobs');
  write(dir, { 'ok.test.js': FIXTURES['a-pass.test.js'] });
  const r = runTests(dir, 'ok', 0);
  assert.is(r.code, 1, r.out);
  assert.ok(r.out.includes("--jobs: expected a whole number of worker processes (1 or more), got '0'"), r.out);
  assert.is(r.last, '0 passed, 1 failed', r.out);
});

test('a run where nothing passes exits 1, never "0 passed, 0 failed"', () => {
  const dir = join(root, 'empty');
  write(dir, { 'only.test.js': '' });
  const empty = runTests(dir, 'only');
  assert.is(empty.code, 1, empty.out);
  assert.is(empty.last, '0 passed, 1 failed', empty.out);
  const none = runTests(dir, 'no-such-file');
  assert.is(none.code, 1, none.out);
  assert.is(none.last, '0 passed, 1 failed', none.out);
  assert.ok(none.out.includes("no test file in"), none.out);
});

test('a passing run exits 0', () => {
  const dir = join(root, 'pass');
  write(dir, { 'ok.test.js': FIXTURES['a-pass.test.js'] });
  const r = runTests(dir, 'ok');
  assert.is(r.code, 0, r.out);
  assert.is(r.last, '2 passed, 0 failed', r.out);
});

test.run();
