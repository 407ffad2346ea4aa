// Who this process is, as other processes sharing a directory (over NFS, or a volume shared by
// containers) see it, and whether a process named that way is provably gone. A PID means something
// only on the machine, and inside the PID namespace, that issued it: a process on host B cannot
// tell whether PID 1234 of host A is alive, and two containers sharing a host name each have their
// own PID 1. So the identity is the host name plus, where the platform shows it, the PID
// namespace; liveness is decided only for identities equal to ours.
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

let cached: string | null = null;

/** The host name (characters outside [A-Za-z0-9._-] replaced by _), then ~<PID namespace> on Linux. */
export function hostId(): string {
  if (cached !== null) return cached;
  const name = hostname().replace(/[^A-Za-z0-9._-]/g, '_') || 'host';
  let namespace = '';
  try {
    namespace = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    // Not Linux, or /proc is not mounted: the host name alone.
  }
  cached = namespace ? `${name}~${namespace}` : name;
  return cached;
}

/** Whether a process with this PID exists here (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process (host, pid) has provably ended: it ran on this host (and PID namespace) and
 * no process with its PID exists. Another host's process is never provably gone by this test.
 */
export function provablyGone(host: string, pid: number): boolean {
  return host === hostId() && Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
}
