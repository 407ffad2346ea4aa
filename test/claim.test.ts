// Shared-directory safety: claims (experiments/claim.ts), temp-file names that carry the host, stale
// temp removal that touches only provably dead writers, exclusive creation and writes of file sets.
import { promises as fsPromises, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLAIM_FORMAT, claimPath, readClaim, tryClaim, type ClaimRecord } from '../experiments/claim.js';
import { createFileExclusive, parseTempName, removeStaleTemps, tempPathFor, writeFilesAtomic } from '../experiments/io/atomic.js';
import { hostId, provablyGone } from '../experiments/io/host.js';

const dir = mkdtempSync(join(tmpdir(), 'claim-'));
const sub = (name: string) => join(dir, name);

/** A PID that is certainly not running here (beyond the kernel's maximum). */
const DEAD_PID = 4_194_304 + 17;

/** Polls `condition` until it holds or `ms` pass (timers run late on a loaded machine). */
async function waitFor(condition: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

function record(name: string, fields: Partial<ClaimRecord>): ClaimRecord {
  return { format: CLAIM_FORMAT, name, host: hostId(), pid: DEAD_PID, started: new Date().toISOString(), token: `t-${Math.random()}`, ...fields };
}

test('host identity and provable death', () => {
  assert.match(hostId(), /^[A-Za-z0-9._-]+(~\d+)?$/);
  assert.not.ok(provablyGone(hostId(), process.pid), 'this process is alive');
  assert.not.ok(provablyGone(hostId(), process.ppid), 'the parent is alive');
  assert.ok(provablyGone(hostId(), DEAD_PID));
  assert.not.ok(provablyGone('another-host', DEAD_PID), "another host's PID is never judged");
});

test('temp names carry host and PID; only this host\'s dead writers\' temps are removed', async () => {
  const d = sub('temps');
  await fsPromises.mkdir(d);
  const target = join(d, 'data.u8');
  assert.is(tempPathFor(target), `${target}.tmp-${hostId()}-${process.pid}`);
  assert.equal(parseTempName(`data.u8.tmp-${hostId()}-123`), { base: 'data.u8', host: hostId(), pid: 123 });
  assert.equal(parseTempName('node-7.example-b.tmp-node-7-9'), { base: 'node-7.example-b', host: 'node-7', pid: 9 });
  assert.is(parseTempName('data.u8.tmp-123'), null, 'an older temp name without host is not judged');
  const names = {
    dead: `data.u8.tmp-${hostId()}-${DEAD_PID}`,
    live: `data.u8.tmp-${hostId()}-${process.ppid}`,
    mine: `data.u8.tmp-${hostId()}-${process.pid}`,
    otherHost: `data.u8.tmp-node-b-${DEAD_PID}`,
    legacy: `data.u8.tmp-${DEAD_PID}`,
    otherBase: `labels.i32.tmp-${hostId()}-${DEAD_PID}`,
  };
  for (const n of Object.values(names)) writeFileSync(join(d, n), 'x');
  assert.equal(await removeStaleTemps(d, 'data.u8'), [names.dead]);
  assert.equal(await removeStaleTemps(d), [names.otherBase]);
  assert.equal(readdirSync(d).sort(), [names.live, names.mine, names.otherHost, names.legacy].sort());
});

test('createFileExclusive: one of many racing creators wins; the file is complete when it appears', async () => {
  const path = sub('exclusive/sweep.json');
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => createFileExclusive(path, `{"writer":${i}}`)));
  assert.is(results.filter(Boolean).length, 1);
  const winner = results.indexOf(true);
  assert.is(readFileSync(path, 'utf8'), `{"writer":${winner}}`);
  assert.equal(readdirSync(sub('exclusive')), ['sweep.json'], 'no temp files left');
});

test('writeFilesAtomic: all temps first, renames in order (JSON last); a failure leaves the old set whole', async () => {
  const d = sub('set');
  const paths = ['out.csv', 'out.svg', 'out.json'].map((n) => join(d, n));
  await writeFilesAtomic(paths.map((path, i) => ({ path, data: `v1 ${i}` })));
  const original = fsPromises.rename;
  const renamed: string[] = [];
  (fsPromises as { rename: unknown }).rename = async (from: string, to: string) => {
    // Every temp of the set exists before the first rename.
    if (renamed.length === 0) for (const p of paths) assert.ok(existsSync(tempPathFor(p)), `${p} staged before any rename`);
    renamed.push(to);
    return original(from, to);
  };
  try {
    await writeFilesAtomic(paths.map((path, i) => ({ path, data: `v2 ${i}` })));
  } finally {
    (fsPromises as { rename: unknown }).rename = original;
  }
  assert.equal(renamed, paths, 'renamed in the order given');
  // The second file cannot be staged (a folder is in the way of its temp): nothing changes.
  await fsPromises.mkdir(tempPathFor(paths[1]));
  try {
    await writeFilesAtomic(paths.map((path, i) => ({ path, data: `v3 ${i}` })));
    assert.unreachable('the set was written');
  } catch (e) {
    assert.match((e as Error).message, /out\.svg: atomic write failed/);
  }
  await fsPromises.rmdir(tempPathFor(paths[1]));
  assert.equal(paths.map((p) => readFileSync(p, 'utf8')), ['v2 0', 'v2 1', 'v2 2'], 'the previous set intact');
  assert.equal(readdirSync(d).sort(), ['out.csv', 'out.json', 'out.svg'], 'no temps left');
});

test('claims: exactly one of many concurrent claimants; held claims are reported; release frees the name', async () => {
  const d = sub('claims');
  const attempts = await Promise.all(Array.from({ length: 6 }, () => tryClaim(d, 'alpha=-0.1_seed=3')));
  const won = attempts.filter((a) => a.acquired);
  assert.is(won.length, 1);
  const held = attempts.find((a) => !a.acquired)!;
  assert.ok(!held.acquired && held.holder?.pid === process.pid);
  assert.match(!held.acquired ? held.reason : '', new RegExp(`^held by ${hostId()} pid ${process.pid} since `));
  const claim = won[0].acquired ? won[0].claim : null;
  const onDisk = await readClaim(claimPath(d, 'alpha=-0.1_seed=3'));
  assert.is(onDisk?.host, hostId());
  assert.is(onDisk?.pid, process.pid);
  await claim!.release();
  assert.not.ok(existsSync(claimPath(d, 'alpha=-0.1_seed=3')));
  const again = await tryClaim(d, 'alpha=-0.1_seed=3');
  assert.ok(again.acquired);
  if (again.acquired) await again.claim.release();
  assert.throws(() => claimPath(d, '../escape'), /not a usable claim name/);
});

test('claims: only provably stale claims are taken over', async () => {
  const d = sub('stale');
  const plant = (name: string, r: ClaimRecord | string, ageMs = 0) => {
    const path = claimPath(d, name);
    writeFileSync(path, typeof r === 'string' ? r : JSON.stringify(r));
    if (ageMs) utimesSync(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
  };
  await fsPromises.mkdir(d, { recursive: true });
  plant('dead-here', record('dead-here', {}));
  plant('live-here', record('live-here', { pid: process.ppid }));
  plant('other-fresh', record('other-fresh', { host: 'node-b' }));
  plant('other-silent', record('other-silent', { host: 'node-b' }), 3600_000);
  plant('restarted', record('restarted', { pid: process.pid }));
  plant('garbled-fresh', '{"format":');
  plant('garbled-old', '{"format":', 3600_000);
  const outcome: Record<string, string> = {};
  for (const name of ['dead-here', 'live-here', 'other-fresh', 'other-silent', 'restarted', 'garbled-fresh', 'garbled-old']) {
    const a = await tryClaim(d, name, { staleAfterMs: 60_000 });
    outcome[name] = a.acquired ? `taken: ${a.tookOver?.reason}` : `held: ${a.reason}`;
    if (a.acquired) {
      assert.is((await readClaim(claimPath(d, name)))?.pid, process.pid, `${name}: our record replaced the stale one`);
      await a.claim.release();
    }
  }
  assert.match(outcome['dead-here'], /^taken: its process \(pid \d+ on this host\) has exited/);
  assert.match(outcome['live-here'], /^held: held by .* pid \d+ since/);
  assert.match(outcome['other-fresh'], /^held: held by node-b pid/);
  assert.match(outcome['other-silent'], /^taken: no heartbeat from node-b pid \d+ for 3600 s/);
  assert.match(outcome.restarted, /^taken: left by an earlier process with this PID/);
  assert.match(outcome['garbled-fresh'], /^held: held \(its claim file is being written\)/);
  assert.match(outcome['garbled-old'], /^taken: unreadable claim file untouched for 3600 s/);
  assert.not.ok(readdirSync(d).some((f) => f.includes('.takeover') || f.includes('.tmp-')), 'no lock or temp files left');
});

test('claims: racing takeovers of one stale claim give it to exactly one worker', async () => {
  const d = sub('race');
  await fsPromises.mkdir(d, { recursive: true });
  writeFileSync(claimPath(d, 'run'), JSON.stringify(record('run', { host: 'node-b' })));
  utimesSync(claimPath(d, 'run'), new Date(0), new Date(0));
  const attempts = await Promise.all(Array.from({ length: 6 }, () => tryClaim(d, 'run', { staleAfterMs: 60_000 })));
  assert.is(attempts.filter((a) => a.acquired).length, 1, attempts.map((a) => (a.acquired ? 'acquired' : a.reason)).join('; '));
  for (const a of attempts) if (a.acquired) await a.claim.release();
});

test('claims: the holder heartbeats, and stops (signal aborted) when its claim is taken over', async () => {
  const d = sub('heartbeat');
  const a = await tryClaim(d, 'unit', { staleAfterMs: 3000, heartbeatMs: 40 });
  assert.ok(a.acquired);
  if (!a.acquired) return;
  utimesSync(claimPath(d, 'unit'), new Date(0), new Date(0));
  assert.ok(await waitFor(() => Date.now() - statSync(claimPath(d, 'unit')).mtimeMs < 5000), 'heartbeat refreshed');
  assert.not.ok(a.claim.signal.aborted);
  // Another worker (another host) takes it over, as it would after a long silence.
  writeFileSync(claimPath(d, 'unit'), JSON.stringify(record('unit', { host: 'node-b', pid: 42 })));
  assert.ok(await waitFor(() => a.claim.signal.aborted), 'the holder noticed');
  assert.match((a.claim.signal.reason as Error).message, /claim .*unit\.claim lost: taken over by node-b pid 42; stopping/);
  assert.throws(() => a.claim.throwIfLost(), /taken over by node-b/);
  await a.claim.release();
  assert.is((await readClaim(claimPath(d, 'unit')))?.host, 'node-b', "release leaves the new holder's claim alone");
});

test('claims: a holder paused longer than the stale timeout gives its claim up', async () => {
  const d = sub('paused');
  const a = await tryClaim(d, 'unit', { staleAfterMs: 150, heartbeatMs: 20 });
  assert.ok(a.acquired);
  if (!a.acquired) return;
  const until = Date.now() + 250;
  while (Date.now() < until) {
    // The event loop is blocked, as in a long synchronous stall or a suspended process.
  }
  assert.ok(await waitFor(() => a.claim.signal.aborted), 'the holder gave up');
  assert.match((a.claim.signal.reason as Error).message, /went \d+ s without a heartbeat/);
  await a.claim.release();
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
