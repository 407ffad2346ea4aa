// Finding, installing or asking for the browser of the page tests, on stand-in machines; and the
// browser test itself with a missing browser: it must fail loudly, naming the file and the fix.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEBIAN_CHROMIUM, ensureChromium, INSTALL_COMMAND, type ChromiumHost } from './chromium.js';

function host(overrides: Partial<ChromiumHost> & { files?: string[] } = {}): ChromiumHost & { logged: string[]; installs: number } {
  const files = new Set(overrides.files ?? []);
  const h = {
    env: {},
    isRoot: false,
    hasApt: true,
    isDebian: true,
    logged: [] as string[],
    installs: 0,
    exists: (path: string) => files.has(path),
    install: () => {
      h.installs++;
      files.add(DEBIAN_CHROMIUM);
    },
    log: (line: string) => h.logged.push(line),
    ...overrides,
  };
  return h;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

test('an installed Debian chromium is used as it is', () => {
  const h = host({ files: [DEBIAN_CHROMIUM], isRoot: true });
  assert.is(ensureChromium(h), DEBIAN_CHROMIUM);
  assert.is(h.installs, 0);
});

test('as root on Debian with apt, a missing chromium is installed, and the log says so', () => {
  const h = host({ isRoot: true });
  assert.is(ensureChromium(h), DEBIAN_CHROMIUM);
  assert.is(h.installs, 1);
  assert.ok(h.logged.some((l) => l.includes('installing') && l.includes(INSTALL_COMMAND)), h.logged.join('\n'));
  assert.ok(h.logged.some((l) => l.includes('installed chromium')), h.logged.join('\n'));
});

test('without root, the error gives the exact command to run', () => {
  const h = host();
  const text = message(() => ensureChromium(h));
  assert.ok(text.includes(`sudo sh -c '${INSTALL_COMMAND}'`), text);
  assert.is(h.installs, 0);
});

test('off Debian, the error says to install Chromium or Chrome and set CHROMIUM', () => {
  const text = message(() => ensureChromium(host({ isDebian: false, isRoot: true })));
  assert.ok(text.includes('CHROMIUM=/path/to/chromium npm test'), text);
});

test('CHROMIUM chooses the binary, and a missing one is an error, not an install', () => {
  assert.is(ensureChromium(host({ env: { CHROMIUM: '/opt/chrome/chrome' }, files: ['/opt/chrome/chrome'] })), '/opt/chrome/chrome');
  const h = host({ env: { CHROMIUM: '/nowhere/chromium' }, isRoot: true });
  assert.ok(message(() => ensureChromium(h)).includes('CHROMIUM=/nowhere/chromium does not exist'));
  assert.is(h.installs, 0);
});

test('the browser test with a missing browser fails with the file name and the fix, not silently', () => {
  const r = spawnSync(process.execPath, ['scripts/test.mjs', '--no-build', '^browser\\.test\\.js$'], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, CHROMIUM: '/nowhere/chromium' },
  });
  const out = r.stdout + r.stderr;
  assert.is(r.status, 1, out);
  assert.ok(out.includes('browser.test.js: before hook failed: browser tests: CHROMIUM=/nowhere/chromium does not exist'), out);
  assert.match(r.stdout.trim().split('\n').at(-1) ?? '', /^0 passed, [1-9]\d* failed$/, out);
});

test.run();
