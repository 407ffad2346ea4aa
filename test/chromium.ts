// The browser the page tests drive: Debian's Chromium, found or installed the way the engine installs
// lavapipe. As root on Debian with apt it installs the `chromium` package and says so; otherwise it
// stops with the exact command to run. CHROMIUM=/path chooses another Chromium or Chrome binary
// (then nothing is installed).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';
export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

/** What decides between using, installing and asking: the real machine, or a test's stand-in. */
export interface ChromiumHost {
  env: Record<string, string | undefined>;
  exists(path: string): boolean;
  isRoot: boolean;
  hasApt: boolean;
  isDebian: boolean;
  /** Installs Debian's chromium package; throws with apt's message when it fails. */
  install(): void;
  log(line: string): void;
}

export class MissingBrowserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingBrowserError';
  }
}

/** Returns the browser's path, installing Debian's Chromium when it is missing and that is possible. */
export function ensureChromium(host: ChromiumHost = systemHost()): string {
  const chosen = host.env.CHROMIUM;
  if (chosen) {
    if (host.exists(chosen)) return chosen;
    throw new MissingBrowserError(`browser tests: CHROMIUM=${chosen} does not exist. Point CHROMIUM at a Chromium or Chrome binary, or unset it to use Debian's chromium (${DEBIAN_CHROMIUM}).`);
  }
  if (host.exists(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  if (host.isDebian && host.hasApt && host.isRoot) {
    host.log(`browser tests: ${DEBIAN_CHROMIUM} is missing; installing Debian's chromium package (${INSTALL_COMMAND}) ...`);
    host.install();
    if (!host.exists(DEBIAN_CHROMIUM)) throw new MissingBrowserError(`browser tests: apt installed chromium but ${DEBIAN_CHROMIUM} is still missing`);
    host.log(`browser tests: installed chromium (${DEBIAN_CHROMIUM})`);
    return DEBIAN_CHROMIUM;
  }
  const how = host.isDebian && host.hasApt
    ? `Install Debian's Chromium, as root:\n    sudo sh -c '${INSTALL_COMMAND}'`
    : 'Install Chromium or Google Chrome (any build with WebGPU), then point the tests at it:\n    CHROMIUM=/path/to/chromium npm test';
  throw new MissingBrowserError(`browser tests: no Chromium at ${DEBIAN_CHROMIUM}. ${how}`);
}

function systemHost(): ChromiumHost {
  return {
    env: process.env,
    exists: existsSync,
    isRoot: process.getuid?.() === 0,
    hasApt: existsSync('/usr/bin/apt-get'),
    isDebian: isDebian(),
    install: installDebianChromium,
    log: (line) => console.log(line),
  };
}

function isDebian(): boolean {
  try {
    return /^ID=("?)debian\1$/m.test(readFileSync('/etc/os-release', 'utf8'));
  } catch {
    return false;
  }
}

function installDebianChromium(): void {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'chromium']]) {
    try {
      execFileSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
    } catch (e) {
      const stderr = String((e as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-5).join('\n');
      throw new MissingBrowserError(`browser tests: apt-get ${args.join(' ')} failed: ${stderr || (e as Error).message}`);
    }
  }
}
