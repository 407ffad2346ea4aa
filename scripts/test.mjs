// `npm test`: build, type-check (full runs only), run every dist/test/**/*.test.js with uvu, and end
// with the line "N passed, N failed" that CI reads. The exit status is 0 only when something passed
// and nothing failed.
//
//   node scripts/test.mjs [PATTERN] [--no-build] [--dir DIR]
//
// PATTERN is a case-insensitive regular expression on the path inside DIR (default dist/test) of
// the *.test.js files to run; with a pattern the type-check is left out, so running a few files stays quick.
// Files run in one worker process (scripts/test-worker.mjs), so they share one GPU device. A file
// that ends without its summary (the process crashed or exited) counts as failed, and a new worker
// runs the files after it.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const argv = process.argv.slice(2);
const flag = (name) => {
  const i = argv.indexOf(name);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
};
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = argv.splice(i, 2);
  return value;
};
const build = !flag('--no-build');
const dir = option('--dir', 'dist/test');
const pattern = argv[0];
const failures = [];
let passed = 0;
let failed = 0;
let skipped = 0;
function fail(problem) {
  failures.push(problem);
  failed++;
}

function summary(passed, failed, skipped = 0) {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(passed > 0 && failed === 0 ? 0 : 1);
}

function exec(args, options = {}) {
  return new Promise((resolve) => spawn(process.execPath, args, { stdio: 'inherit', ...options }).on('exit', (code, signal) => resolve(signal ?? code)));
}

if (build && (await exec(['scripts/build.mjs', '--quiet'])) !== 0) {
  console.log('\nthe build failed (above)');
  summary(0, 1);
}
if (!pattern) {
  const tsc = await exec(['node_modules/typescript/bin/tsc', '-p', '.']);
  if (tsc !== 0) fail('typecheck: `tsc -p .` found type errors (above)');
  else console.log('typecheck: clean');
}

function listFiles(root, regex) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (name === 'node_modules') continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.test.js') && (!regex || regex.test(relative(root, path)))) found.push(path);
    }
  };
  walk(root);
  return found;
}

let files;
try {
  files = listFiles(dir, pattern ? new RegExp(pattern, 'i') : null);
} catch (e) {
  console.log(`${dir}: cannot list test files (${e.code ?? e.message})`);
  summary(0, 1);
}
if (files.length === 0) fail(`no test file in ${dir} matches ${pattern ? `'${pattern}'` : '*.test.js'}`);

const slow = [];
/** Runs `queue` in a worker; returns the files it did not get to. */
function runWorker(queue) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['scripts/test-worker.mjs', ...queue], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, FORCE_COLOR: '0' } });
    let reported = 0;
    let exitTimer = null;
    child.on('message', (message) => {
      if (message.type === 'file') {
        const r = message.report;
        reported++;
        passed += r.passed;
        failed += r.failed;
        skipped += r.skipped;
        failures.push(...r.problems);
        if (r.failed > 0 && r.problems.length === 0) failures.push(`${r.file}: ${r.failed} of ${r.total} tests failed`);
        slow.push([r.file, r.seconds]);
      } else if (message.type === 'done') {
        // Everything ran; a handle left open must not hang the run.
        exitTimer = setTimeout(() => {
          console.log('test worker: still running 60 s after its last file (an open handle?); stopping it');
          child.kill('SIGKILL');
        }, 60_000);
      }
    });
    child.on('exit', (code, signal) => {
      if (exitTimer) clearTimeout(exitTimer);
      if (reported < queue.length) {
        const file = relative(process.cwd(), queue[reported]);
        fail(`${file}: ended without uvu's summary (worker ${signal ? `killed by ${signal}` : `exited with code ${code}`})`);
        console.log(`\n  ✘ ${file}: ended without uvu's summary; the remaining files run in a new worker`);
        resolve(queue.slice(reported + 1));
      } else {
        resolve([]);
      }
    });
  });
}

let queue = files;
while (queue.length > 0) queue = await runWorker(queue);

if (!pattern && slow.length > 1) {
  const top = slow.sort((a, b) => b[1] - a[1]).slice(0, 5).map(([f, s]) => `${f.replace(/^.*[\\/]/, '')} ${s.toFixed(0)} s`);
  console.log(`\nslowest files: ${top.join(', ')}`);
}
if (failures.length > 0) console.log(`\nFailures:\n${failures.map((f) => `  ✘ ${f}`).join('\n')}\n`);
summary(passed, failed, skipped);
