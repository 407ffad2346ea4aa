// Claims: at most one worker at a time does a named unit of work (a training run, a measurement of a
// run, ...) among any number of workers, on any machines, that share a directory. Nothing else is
// shared: no server, no locks held by a kernel.
//
// A claim is the file `<dir>/<name>.claim`, a JSON record of who holds it: host (io/host.ts), PID,
// start time and a random token; its modification time is the holder's heartbeat.
//   - Acquiring creates the file atomically (a complete temp file hard-linked into place: the link
//     fails if the name exists, on local and network file systems; O_EXCL where links are not
//     supported). Exactly one of several racing workers succeeds.
//   - Every `heartbeatMs` the holder checks the file still holds its token and sets the file's
//     modification time to its clock (utimes). The record is never rewritten, so a late heartbeat
//     can never overwrite another worker's claim. If the token is gone, or its own monotonic timer
//     shows it was paused for longer than `staleAfterMs` (another worker may already have taken
//     over), it stops heartbeating and aborts `claim.signal`: the work must stop, writing nothing more.
//   - Releasing removes the file (only while it still holds the holder's token).
//   - A claim is taken over only when it is provably stale:
//       * its process ran on this host (same host name and PID namespace) and has exited, or it
//         names this very process but was not made by it (a container restarted with the same
//         host name and PID);
//       * or its heartbeat (modification time) is older than `staleAfterMs` by this worker's clock
//         (host clocks must agree to well within that timeout; the default is 10 minutes,
//         heartbeat 30 s). This also covers a file that cannot be parsed (a holder that died while
//         creating it without hard links).
//     Takeover runs under a second exclusive file, `<name>.claim.takeover`, so two workers never take
//     over the same claim; the winner checks the claim is still the stale one it judged, then
//     renames its own record over it. A worker that loses any of these races gets "held".
// A holder paused for longer than `staleAfterMs` (a suspended VM, say) may be taken over and then
// run until its next heartbeat notices; choose `staleAfterMs` far above any pause you expect.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createFileExclusive, writeFileAtomic } from './io/atomic.js';
import { hostId, provablyGone } from './io/host.js';

export const CLAIM_FORMAT = 'selectivity-webgpu/claim@1';
const DEFAULT_STALE_AFTER_MS = 10 * 60_000;
const DEFAULT_HEARTBEAT_MS = 30_000;

export interface ClaimRecord {
  format: typeof CLAIM_FORMAT;
  name: string;
  host: string;
  pid: number;
  /** ISO time the claim was made (the heartbeat is the file's modification time). */
  started: string;
  token: string;
  /** What the holder is doing (for people reading the file). */
  note?: string;
}

export interface ClaimOptions {
  /** A claim whose heartbeat is older than this is stale (default 10 minutes). */
  staleAfterMs?: number;
  /** How often the holder refreshes its heartbeat (default 30 s; at most a third of staleAfterMs). */
  heartbeatMs?: number;
  note?: string;
}

export type ClaimAttempt =
  | { acquired: true; claim: Claim; /** The stale claim this one replaced, and why it was stale. */ tookOver?: { previous: ClaimRecord | null; reason: string } }
  | { acquired: false; holder: ClaimRecord | null; reason: string };

/** Tokens of the claims this process holds (a record with our host and PID but another token is stale). */
const held = new Set<string>();

/** A held claim; see the module comment. */
export class Claim {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setInterval>;
  private beating: Promise<void> = Promise.resolve();
  private lastBeat = performance.now();
  private released = false;

  constructor(
    readonly path: string,
    private readonly record: ClaimRecord,
    private readonly staleAfterMs: number,
    heartbeatMs: number,
  ) {
    held.add(record.token);
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat());
    }, heartbeatMs);
    this.timer.unref?.();
  }

  get name(): string {
    return this.record.name;
  }

  /** Aborted (with an Error naming why) when the claim is lost; the work must stop. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Throws the reason the claim was lost, if it was. */
  throwIfLost(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  private lose(reason: string): void {
    clearInterval(this.timer);
    held.delete(this.record.token);
    if (!this.signal.aborted) this.controller.abort(new Error(`claim ${this.path} lost: ${reason}; stopping this unit of work`));
  }

  private async beat(): Promise<void> {
    if (this.released || this.signal.aborted) return;
    if (performance.now() - this.lastBeat > this.staleAfterMs) return this.lose(`this process went ${((performance.now() - this.lastBeat) / 1000).toFixed(0)} s without a heartbeat, so another worker may have taken over`);
    const current = await readClaim(this.path).catch(() => null);
    if (current?.token !== this.record.token) return this.lose(current ? `taken over by ${current.host} pid ${current.pid}` : 'the claim file was removed');
    try {
      const now = new Date();
      await fsp.utimes(this.path, now, now);
      this.lastBeat = performance.now();
    } catch {
      // A transient failure: the next beat retries; a long outage ends in the pause check above.
    }
  }

  /** Stops the heartbeat and removes the claim file if it is still ours. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    await this.beating;
    held.delete(this.record.token);
    const current = await readClaim(this.path).catch(() => null);
    if (current?.token === this.record.token) await fsp.rm(this.path, { force: true });
  }
}

export function claimPath(dir: string, name: string): string {
  if (!/^[A-Za-z0-9._=,+@-]+$/.test(name) || name.startsWith('.')) throw new Error(`claim: '${name}' is not a usable claim name (letters, digits and . _ = , + @ - only)`);
  return join(dir, `${name}.claim`);
}

/** The record in a claim file; null when there is none; throws when it exists but cannot be parsed. */
export async function readClaim(path: string): Promise<ClaimRecord | null> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const record = JSON.parse(text) as ClaimRecord;
  if (record.format !== CLAIM_FORMAT || typeof record.host !== 'string' || !Number.isInteger(record.pid) || typeof record.token !== 'string') throw new Error(`${path}: not a claim record`);
  return record;
}

/** Why the claim file at `path` is stale, or null when it may still be held. */
async function staleness(path: string, staleAfterMs: number): Promise<{ record: ClaimRecord | null; stale: string | null } | 'gone'> {
  const stat = await fsp.stat(path).catch(() => null);
  if (!stat) return 'gone';
  const silent = Date.now() - stat.mtimeMs;
  let record: ClaimRecord | null;
  try {
    record = await readClaim(path);
  } catch {
    return { record: null, stale: silent > staleAfterMs ? `unreadable claim file untouched for ${(silent / 1000).toFixed(0)} s` : null };
  }
  if (!record) return 'gone';
  if (record.host === hostId() && record.pid === process.pid && !held.has(record.token)) return { record, stale: `left by an earlier process with this PID (${record.pid}) on this host` };
  if (provablyGone(record.host, record.pid)) return { record, stale: `its process (pid ${record.pid} on this host) has exited` };
  if (silent > staleAfterMs) return { record, stale: `no heartbeat from ${record.host} pid ${record.pid} for ${(silent / 1000).toFixed(0)} s` };
  return { record, stale: null };
}

/**
 * Tries to claim `name` in `dir` (created if needed). Never waits for a live holder: it returns
 * { acquired: false } with the holder instead. See the module comment for when a claim is stale.
 */
export async function tryClaim(dir: string, name: string, options: ClaimOptions = {}): Promise<ClaimAttempt> {
  const path = claimPath(dir, name);
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const heartbeatMs = Math.min(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, staleAfterMs / 3);
  const record: ClaimRecord = { format: CLAIM_FORMAT, name, host: hostId(), pid: process.pid, started: new Date().toISOString(), token: randomBytes(12).toString('hex'), ...(options.note ? { note: options.note } : {}) };
  const text = JSON.stringify(record) + '\n';
  // Ours from the moment it may appear on disk, so this process never judges it stale.
  held.add(record.token);
  const attempt = await claimOnce(path, record, text, staleAfterMs, heartbeatMs);
  if (!attempt.acquired) held.delete(record.token);
  return attempt;
}

async function claimOnce(path: string, record: ClaimRecord, text: string, staleAfterMs: number, heartbeatMs: number): Promise<ClaimAttempt> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createFileExclusive(path, text)) return { acquired: true, claim: new Claim(path, record, staleAfterMs, heartbeatMs) };
    const judged = await staleness(path, staleAfterMs);
    if (judged === 'gone') continue; // released between our attempt and our look: try again
    if (!judged.stale) return { acquired: false, holder: judged.record, reason: judged.record ? `held by ${judged.record.host} pid ${judged.record.pid} since ${judged.record.started}` : 'held (its claim file is being written)' };
    const outcome = await takeOver(path, judged.record, text, staleAfterMs);
    if (outcome === 'taken') return { acquired: true, claim: new Claim(path, record, staleAfterMs, heartbeatMs), tookOver: { previous: judged.record, reason: judged.stale } };
    if (outcome !== 'changed') return { acquired: false, holder: judged.record, reason: outcome };
  }
  return { acquired: false, holder: null, reason: 'the claim kept changing hands; try again later' };
}

/** Replaces the stale claim `previous` with `text` under the takeover lock. */
async function takeOver(path: string, previous: ClaimRecord | null, text: string, staleAfterMs: number): Promise<'taken' | 'changed' | string> {
  const lock = `${path}.takeover`;
  if (!(await createFileExclusive(lock, text))) {
    // A worker that died while taking over leaves the lock behind; it is stale by the same rules.
    const judged = await staleness(lock, staleAfterMs);
    if (judged !== 'gone' && !judged.stale) return 'another worker is taking the stale claim over';
    await fsp.rm(lock, { force: true });
    if (!(await createFileExclusive(lock, text))) return 'another worker is taking the stale claim over';
  }
  try {
    let current: ClaimRecord | null;
    try {
      current = await readClaim(path);
    } catch {
      current = null;
    }
    const unchanged = previous ? current?.token === previous.token : current === null && (await fsp.stat(path).catch(() => null)) !== null;
    if (!unchanged) return 'changed';
    await writeFileAtomic(path, text);
    return 'taken';
  } finally {
    await fsp.rm(lock, { force: true });
  }
}
