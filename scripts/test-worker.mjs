// One worker process of `npm test` (started by scripts/test.mjs). The parent hands it test files one
// at a time over IPC; it imports each uvu file, runs its tests, and reports the file's counts back.
// The files a worker runs share its process, so they share one GPU device.
//
// With TEST_FILE_END set (the parent runs several workers and prints each file's output as one
// block) every file's output ends with that marker on stdout, after everything the file printed.
//
// uvu alone loses errors thrown in a `before` hook (its runner returns from a `finally` block) and
// lets one thrown in an `after` hook end the whole run. Here both are printed with the file's name
// and counted as failures, and the next file still runs.
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';

globalThis.UVU_DEFER = 1; // uvu queues suites instead of running them on its own
const uvu = await import('uvu');

const fileEnd = process.env.TEST_FILE_END;
let current = '';
let hookFailures = [];
let afterFailures = 0;

/** Prints the failure with the top of its stack; returns the one-line form for the final summary. */
function report(what, error) {
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack ? error.stack.split('\n').slice(1, process.env.DEBUG ? undefined : 6).join('\n') : '';
  process.stdout.write(`\n  ✘ ${current}: ${what}: ${message}\n${stack}\n`);
  return `${current}: ${what}: ${message.split('\n')[0]}`;
}

function recordHookFailure(kind, error) {
  hookFailures.push(report(`${kind} hook failed`, error));
  if (kind === 'after') afterFailures++;
}

// Wrap the default suite's hooks; each handler remembers the file that registered it.
const registerBefore = uvu.test.before;
const registerAfter = uvu.test.after;
uvu.test.before = Object.assign((handler) => registerBefore(async (state) => {
  try {
    await handler(state);
  } catch (error) {
    recordHookFailure('before', error);
    throw error; // uvu then skips the file's tests, which count as failed
  }
}), registerBefore);
uvu.test.after = Object.assign((handler) => registerAfter(async (state) => {
  try {
    await handler(state);
  } catch (error) {
    recordHookFailure('after', error); // counted below; not rethrown, so the run goes on
  }
}), registerAfter);

let queued = 0; // files this process has put in uvu's queue
async function runFile(file) {
  current = relative(process.cwd(), file);
  hookFailures = [];
  afterFailures = 0;
  let loadFailed = false;
  const started = Date.now();
  const counts = { file: current, total: 0, passed: 0, skipped: 0, failed: 0, problems: [], seconds: 0 };
  process.stdout.write(`\n${current}\n`);
  const slot = queued++;
  globalThis.UVU_INDEX = slot;
  globalThis.UVU_QUEUE.push([current]);
  try {
    await import(pathToFileURL(file).href);
  } catch (error) {
    counts.problems.push(report('failed to load', error));
    loadFailed = true;
  }
  const [, ...suites] = globalThis.UVU_QUEUE[slot] ?? [];
  for (const run of suites) {
    const [errors, passed, skipped, total] = await run();
    counts.total += total;
    counts.passed += passed;
    counts.skipped += skipped;
    if (typeof errors === 'string') process.stdout.write(`\n${errors}\n`);
    // A hook of a suite other than the wrapped default one failed: uvu reports nothing, so say so.
    else if (passed < total && hookFailures.length === 0) counts.problems.push(`${current}: ${total - passed} of ${total} tests did not run (a hook failed)`);
  }
  counts.problems.push(...hookFailures);
  // Tests that failed or never ran (a failed before hook), after hooks that failed, a file that did not load.
  counts.failed = counts.total - counts.passed + afterFailures + (loadFailed ? 1 : 0);
  if (counts.total === 0 && counts.skipped === 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.problems.push(`${current}: registered no tests (or never called test.run())`);
  }
  counts.seconds = (Date.now() - started) / 1000;
  if (fileEnd) await new Promise((resolve) => process.stdout.write(fileEnd, resolve));
  process.send({ type: 'file', report: counts });
}

// The parent answers every 'ready' and 'file' message with the next file, or with 'stop'.
process.on('message', async (message) => {
  if (message.type === 'run') {
    await runFile(message.file);
  } else if (message.type === 'stop') {
    process.send({ type: 'done' });
    process.disconnect();
  }
});
process.send({ type: 'ready' });
