// `npm test`: build, type-check (full runs only), run every dist/test/**/*.test.js with uvu, and end
// with the line "N passed, N failed" that CI reads. The exit status is 0 only when something passed
// and nothing failed.
//
//   node scripts/test.mjs [PATTERN] [--no-build] [--dir DIR] [--jobs N]
//
// PATTERN is a case-insensitive regular expression on the path inside DIR (default dist/test) of
// the *.test.js files to run; with a pattern the type-check is left out, so running a few files stays quick.
// Files run in N worker processes (scripts/test-worker.mjs; default TEST_JOBS, else 2, or 1 on a
// one-core machine), each taking the next file when it finishes one; the files of one worker share
// its GPU device. A file that ends without its summary (the process crashed or exited) counts as
// failed, and a new worker goes on with the files left. Each file's time is kept in
// DIR/.test-times.json, and with several workers the longest files start first (test/durations.json
// gives the order where no run has been recorded).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
  if (value === undefined || value.startsWith('--')) {
    console.log(`${name}: expected a value after it\n\n${USAGE}\n`);
    summary(0, 1);
  }
  return value;
};
const USAGE = `Usage: npm test [-- PATTERN] [--no-build] [--dir DIR] [--jobs N]
       node scripts/test.mjs [PATTERN] [--no-build] [--dir DIR] [--jobs N]

Builds, type-checks (when no PATTERN is given) and runs the uvu test files, ending with the line
"N passed, N failed".

  PATTERN      a case-insensitive regular expression on the paths (inside DIR) of the files to run
  --no-build   run what dist/ holds now
  --dir DIR    where the built test files are (default dist/test)
  --jobs N     worker processes running files side by side (default TEST_JOBS, else 2, or 1 on a
               one-core machine)
  --help       show this help`;
if (flag('--help') || flag('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const build = !flag('--no-build');
const jobsOption = option('--jobs', undefined);
const jobCount = jobsOption === undefined ? undefined : parseJobs(jobsOption, '--jobs');
const DEFAULT_DIR = 'dist/test';
const dir = option('--dir', DEFAULT_DIR);
const unknown = argv.filter((a) => a.startsWith('-'));
if (unknown.length > 0 || argv.length > 1) {
  console.log(`${unknown.length > 0 ? `unknown option ${unknown[0]}` : `expected at most one PATTERN, got ${argv.map((a) => `'${a}'`).join(', ')}`}\n\n${USAGE}\n`);
  summary(0, 1);
}
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

// Parallel workers: llvmpipe compiles each shader on first use on one core, so on a machine whose
// shader cache is empty one worker leaves the other core idle for most of the run.
const jobs = Math.max(1, Math.min(files.length, jobCount ?? defaultJobs()));
// Ends each file's output on a worker's stdout (passed to the workers as TEST_FILE_END).
const FILE_END = '\u001etest-file-end\n';
const times = readTimes();
// The longest files first (as timed by the last run), so that no long file starts last.
const queue = jobs > 1 ? [...files].sort((a, b) => (times[key(b)] ?? 0) - (times[key(a)] ?? 0)) : [...files];
const slow = [];

function defaultJobs() {
  const env = process.env.TEST_JOBS;
  if (env !== undefined) return parseJobs(env, 'TEST_JOBS');
  return Math.min(2, availableParallelism());
}
function parseJobs(text, what) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.log(`${what}: expected a whole number of worker processes (1 or more), got '${text}'`);
    summary(0, 1);
  }
  return n;
}
function key(file) {
  return relative(dir, file);
}
/**
 * Seconds per file: this machine's last run (DIR/.test-times.json) over, for the default DIR, the
 * times of a first run on a 2-core machine with an empty shader cache (test/durations.json), so a
 * fresh clone also starts its longest files first.
 */
function readTimes() {
  const read = (path) => {
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8'));
      return parsed && typeof parsed === 'object' ? parsed : {};
    } catch {
      return {}; // none recorded yet, or unreadable: only the order depends on it
    }
  };
  return { ...(dir === DEFAULT_DIR ? read(join('test', 'durations.json')) : {}), ...read(join(dir, '.test-times.json')) };
}
function writeTimes() {
  const merged = { ...times };
  for (const [file, seconds] of slow) merged[key(file)] = Math.round(seconds * 10) / 10;
  const path = join(dir, '.test-times.json');
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(merged, null, 1)}\n`);
    renameSync(temporary, path);
  } catch {
    // Only the next run's order depends on it.
  }
}

/**
 * One worker slot: a worker process takes the next file from the queue each time it reports one.
 * A worker that exits in the middle of a file fails that file, and a new worker goes on with the queue.
 * With several slots each file's output is held and printed as one block when the file ends.
 */
function runSlot(slot) {
  return new Promise((resolveSlot) => {
    const start = () => {
      const child = spawn(process.execPath, ['scripts/test-worker.mjs'], {
        stdio: ['inherit', jobs > 1 ? 'pipe' : 'inherit', jobs > 1 ? 'pipe' : 'inherit', 'ipc'],
        env: { ...process.env, FORCE_COLOR: '0', TEST_FILE_END: jobs > 1 ? FILE_END : '' },
      });
      let current = null;
      let held = '';
      let exitTimer = null;
      if (jobs > 1) {
        const take = (chunk) => {
          held += chunk;
          for (let end = held.indexOf(FILE_END); end >= 0; end = held.indexOf(FILE_END)) {
            process.stdout.write(held.slice(0, end));
            held = held.slice(end + FILE_END.length);
          }
        };
        child.stdout.setEncoding('utf8').on('data', take);
        child.stderr.setEncoding('utf8').on('data', (chunk) => (held += chunk));
      }
      const next = () => {
        current = queue.shift() ?? null;
        if (current) {
          if (jobs > 1) console.log(`  … ${relative(process.cwd(), current)} started (worker ${slot + 1})`);
          child.send({ type: 'run', file: current });
        } else {
          child.send({ type: 'stop' });
        }
      };
      child.on('message', (message) => {
        if (message.type === 'ready') {
          next();
        } else if (message.type === 'file') {
          const r = message.report;
          passed += r.passed;
          failed += r.failed;
          skipped += r.skipped;
          failures.push(...r.problems);
          if (r.failed > 0 && r.problems.length === 0) failures.push(`${r.file}: ${r.failed} of ${r.total} tests failed`);
          slow.push([current, r.seconds]);
          next();
        } else if (message.type === 'done') {
          // Everything ran; a handle left open must not hang the run.
          exitTimer = setTimeout(() => {
            console.log(`test worker ${slot + 1}: still running 60 s after its last file (an open handle?); stopping it`);
            child.kill('SIGKILL');
          }, 60_000);
        }
      });
      // A send to a worker that has just died: its 'exit' below reports the file it was running.
      child.on('error', () => undefined);
      child.on('exit', (code, signal) => {
        if (exitTimer) clearTimeout(exitTimer);
        if (held) process.stdout.write(held);
        if (current) {
          const file = relative(process.cwd(), current);
          fail(`${file}: ended without uvu's summary (worker ${signal ? `killed by ${signal}` : `exited with code ${code}`})`);
          console.log(`\n  ✘ ${file}: ended without uvu's summary${queue.length > 0 ? '; a new worker goes on with the files left' : ''}`);
          if (queue.length > 0) return start();
        }
        resolveSlot();
      });
    };
    start();
  });
}

const runStarted = Date.now();
if (files.length > 0) await Promise.all(Array.from({ length: jobs }, (_, slot) => runSlot(slot)));
for (const file of queue) fail(`${relative(process.cwd(), file)}: not run (every test worker exited before taking it)`);
writeTimes();

if (!pattern && slow.length > 1) {
  const top = slow.sort((a, b) => b[1] - a[1]).slice(0, 5).map(([f, s]) => `${f.replace(/^.*[\\/]/, '')} ${s.toFixed(0)} s`);
  console.log(`\nslowest files: ${top.join(', ')}`);
  console.log(`${files.length} files in ${((Date.now() - runStarted) / 1000).toFixed(0)} s on ${jobs} worker${jobs > 1 ? 's' : ''}`);
}
if (failures.length > 0) console.log(`\nFailures:\n${failures.map((f) => `  ✘ ${f}`).join('\n')}\n`);
summary(passed, failed, skipped);
