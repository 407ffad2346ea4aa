// `cli download` against a server on 127.0.0.1 started here, serving miniature archives in the
// published layouts (the expected checksums and counts are injected): each dataset unpacks to the
// same bytes; a truncated archive, a checksum mismatch, a tar member named `../evil` and a link are
// refused with a clear error and leave no dataset folder; a connection dropped mid-file resumes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CORRUPTION_NAMES } from '../experiments/corruptions/types.js';
import { downloadDataset, RECORD_FILE, type DatasetDownloadOptions } from '../experiments/download/dataset.js';
import { PUBLISHED, type PublishedArchive } from '../experiments/download/datasets.js';
import { extractTar } from '../experiments/download/tar.js';
import { memberPath } from '../experiments/download/target.js';
import { startArchiveServer, type ArchiveServer } from './fixtures/archive-server.js';
import { readTree, tarArchive, treeMembers, zipArchive, type ArchiveMember } from './fixtures/archives.js';
import { writeCifar10CFixture, writeTinyImageNetCFixture } from './fixtures/corrupted.js';
import { removeDir, tempDir, writeCifar10Fixture, writeTinyImageNetFixture } from './fixtures/datasets.js';

const work = tempDir('download');
let server: ArchiveServer;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A source folder and its archive for each dataset, with the catalog entry pointing at the server. */
interface Fixture {
  tree: Map<string, Buffer>;
  archive: Buffer;
  spec: PublishedArchive;
}
const fixtures: Record<string, Fixture> = {};

function fixture(name: keyof typeof PUBLISHED, source: string, pack: (members: ArchiveMember[]) => Buffer, layout: PublishedArchive['layout'], withMd5 = true): void {
  const published = PUBLISHED[name];
  const archive = pack(treeMembers(source, published.folder));
  server.route(`/${published.archive}`, { body: archive });
  fixtures[name] = {
    tree: readTree(source),
    archive,
    spec: { ...published, url: server.url(`/${published.archive}`), bytes: archive.length, md5: withMd5 ? md5(archive) : undefined, layout },
  };
}

const TIN_C_CORRUPTIONS = ['fog', 'frost'];

test.before(async () => {
  server = await startArchiveServer();
  const cifar = join(work, 'src-cifar');
  writeCifar10Fixture(cifar, { perTrainBatch: 3, test: 3 });
  fixture('cifar10', cifar, (m) => gzipSync(tarArchive(m)), { kind: 'cifar10', records: 3 });
  const cifarC = join(work, 'src-cifar-c');
  writeCifar10CFixture(cifarC, CORRUPTION_NAMES, 2);
  fixture('cifar10-c', cifarC, tarArchive, { kind: 'cifar10-c', corruptions: CORRUPTION_NAMES, perSeverity: 2 });
  const tin = join(work, 'src-tin');
  writeTinyImageNetFixture(tin);
  mkdirSync(join(tin, 'test', 'images'), { recursive: true });
  writeFileSync(join(tin, 'test', 'images', 'test_0.JPEG'), readFileSync(join(tin, 'val', 'images', 'val_0.JPEG')));
  fixture('tinyimagenet', tin, (m) => zipArchive(m, true), { kind: 'tinyimagenet', classes: 3, trainPerClass: 2, val: 3, test: 1 });
  const tinC = join(work, 'src-tin-c');
  for (const c of TIN_C_CORRUPTIONS) writeTinyImageNetCFixture(tinC, c);
  fixture('tinyimagenet-c', tinC, tarArchive, { kind: 'tinyimagenet-c', corruptions: TIN_C_CORRUPTIONS, classes: 3, perSeverity: 5 }, false);
});

test.after(async () => {
  await server?.close();
  removeDir(work);
});

let runs = 0;
function target(): string {
  return join(work, `to-${runs++}`);
}

function quiet(extra: Partial<DatasetDownloadOptions> = {}): DatasetDownloadOptions & { lines: string[] } {
  const lines: string[] = [];
  const progress = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  return { to: target(), log: (l) => lines.push(l), progress, http: { retryDelayMs: () => 0, idleTimeoutMs: 5000 }, lines, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the download to fail');
}

function assertMatch(text: string, pattern: RegExp): void {
  assert.ok(pattern.test(text), `expected ${pattern} in:\n${text}`);
}

/** Nothing but the given names is left in `dir` (no dataset folder, no temporary folder). */
function assertOnly(dir: string, names: string[]): void {
  assert.equal(existsSync(dir) ? readdirSync(dir).sort() : [], names.sort(), `contents of ${dir}`);
}

for (const name of ['cifar10', 'cifar10-c', 'tinyimagenet', 'tinyimagenet-c'] as const) {
  test(`${name}: downloaded, verified, unpacked to the same bytes, recorded, and recognised when run again`, async () => {
    const fx = fixtures[name];
    const options = quiet();
    const result = await downloadDataset(fx.spec, options);
    assert.is(result.path, join(options.to, fx.spec.folder));
    assert.ok(result.installed);
    const unpacked = readTree(result.path);
    const record = JSON.parse(unpacked.get(RECORD_FILE)!.toString());
    unpacked.delete(RECORD_FILE);
    assert.equal([...unpacked.keys()], [...fx.tree.keys()]);
    for (const [file, bytes] of fx.tree) assert.ok(bytes.equals(unpacked.get(file)!), `${file} differs`);
    assert.is(record.sha256, sha256(fx.archive));
    assert.is(record.md5, md5(fx.archive));
    assert.is(record.verified, fx.spec.md5 ? 'md5 and layout' : 'layout (no published checksum)');
    assertOnly(options.to, [fx.spec.folder]); // the archive is deleted, no temporary folder is left
    const progress = options.lines.join('');
    assertMatch(progress, /download 100% \(.*B\/.*B\)\s+rate .*B\/s\s+ETA/);
    assertMatch(progress, /extract 100%/);
    const again = await downloadDataset(fx.spec, { ...options, lines: [] } as DatasetDownloadOptions);
    assert.not.ok(again.installed);
  });
}

test('a connection dropped mid-file is resumed with a Range request', async () => {
  const fx = fixtures.cifar10;
  const half = Math.floor(fx.archive.length / 2);
  server.route('/dropped.tar.gz', { body: fx.archive, dropAfter: half });
  const options = quiet();
  const from = server.url('/dropped.tar.gz');
  server.requests.length = 0;
  await downloadDataset(fx.spec, { ...options, from });
  assert.is(server.requests.length, 2, server.requests.join('\n'));
  assert.is(server.requests[0], '/dropped.tar.gz');
  const resumedAt = Number(/^\/dropped\.tar\.gz bytes=(\d+)-$/.exec(server.requests[1])?.[1]);
  assert.ok(resumedAt > 0 && resumedAt <= half, `resumed at ${server.requests[1]}, the connection dropped after ${half} bytes`);
  assert.ok(options.lines.some((l) => l.includes(`download interrupted at byte ${resumedAt}`)), options.lines.join('\n'));
  assert.ok(readFileSync(join(options.to, 'cifar-10-batches-bin', 'test_batch.bin')).equals(fx.tree.get('test_batch.bin')!));
});

test('a download that gives up keeps its .part file, and the next run resumes it', async () => {
  const fx = fixtures.cifar10;
  const third = Math.floor(fx.archive.length / 3);
  server.route('/flaky.tar.gz', { body: fx.archive, dropAfter: third });
  const options = quiet({ http: { attempts: 1, retryDelayMs: () => 0 } });
  const from = server.url('/flaky.tar.gz');
  const message = await failure(downloadDataset(fx.spec, { ...options, from }));
  assertMatch(message, /run the same command again to resume/);
  assertOnly(options.to, [`${fx.spec.archive}.part`]);
  const kept = statSync(join(options.to, `${fx.spec.archive}.part`)).size;
  assert.ok(kept > 0 && kept <= third, `${kept} bytes kept`);
  server.requests.length = 0;
  await downloadDataset(fx.spec, { ...options, from });
  assert.equal(server.requests, [`/flaky.tar.gz bytes=${kept}-`]);
  assertOnly(options.to, [fx.spec.folder]);
});

test('a server without Range support: the download starts again and completes', async () => {
  const fx = fixtures.cifar10;
  server.route('/norange.tar.gz', { body: fx.archive, dropAfter: 1000, ignoreRange: true });
  const options = quiet();
  await downloadDataset(fx.spec, { ...options, from: server.url('/norange.tar.gz') });
  assert.ok(options.lines.some((l) => l.includes('does not resume downloads')), options.lines.join('\n'));
  assertOnly(options.to, [fx.spec.folder]);
});

test('a checksum mismatch is refused before extracting, and the bad download is deleted', async () => {
  const fx = fixtures.cifar10;
  const options = quiet();
  const message = await failure(downloadDataset({ ...fx.spec, md5: '0'.repeat(32) }, options));
  assertMatch(message, new RegExp(`MD5 ${md5(fx.archive)} does not match the published 0{32}`));
  assertMatch(message, /deleted, so the next run downloads it afresh/);
  assertOnly(options.to, []);
});

test('truncated archives: tar, tar.gz and zip each fail with a clear error and leave nothing', async () => {
  const cut = (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.6));
  const cases: [PublishedArchive, RegExp][] = [
    [{ ...fixtures['tinyimagenet-c'].spec, url: server.url('/cut.tar'), bytes: undefined }, /Tiny-ImageNet-C\.tar: truncated: the archive ends inside (a header|member ')/],
    [{ ...fixtures.cifar10.spec, url: server.url('/cut.tar.gz'), bytes: undefined, md5: undefined }, /cifar-10-binary\.tar\.gz: cannot decompress \(.*\): the archive is truncated or damaged/],
    [{ ...fixtures.tinyimagenet.spec, url: server.url('/cut.zip'), bytes: undefined, md5: undefined }, /tiny-imagenet-200\.zip: no end-of-central-directory record: the zip is truncated/],
  ];
  server.route('/cut.tar', { body: cut(fixtures['tinyimagenet-c'].archive) });
  server.route('/cut.tar.gz', { body: cut(fixtures.cifar10.archive) });
  server.route('/cut.zip', { body: cut(fixtures.tinyimagenet.archive) });
  for (const [spec, expected] of cases) {
    const options = quiet();
    const message = await failure(downloadDataset(spec, options));
    assertMatch(message, expected);
    assertMatch(message, /the downloaded archive was deleted/);
    assertOnly(options.to, []); // no dataset folder, no temporary folder, no useless archive
  }
});

test("a tar member named '../evil' (or a link) is refused and nothing is written outside", async () => {
  const good = treeMembers(join(work, 'src-tin-c'), 'Tiny-ImageNet-C');
  const spec = { ...fixtures['tinyimagenet-c'].spec, url: server.url('/evil.tar'), bytes: undefined };
  for (const [member, expected] of [
    [{ name: '../evil', data: Buffer.from('pwned') }, /member '\.\.\/evil' would be written outside the target folder/],
    [{ name: 'Tiny-ImageNet-C/link', type: '2' }, /member 'Tiny-ImageNet-C\/link' is a symbolic link/],
  ] as const) {
    server.route('/evil.tar', { body: tarArchive([...good.slice(0, 5), member, ...good.slice(5)]) });
    const options = quiet();
    assertMatch(await failure(downloadDataset(spec, options)), expected);
    assertOnly(options.to, []);
    assert.not.ok(existsSync(join(work, 'evil')));
  }
});

test('tar: long names from pax and GNU headers, and a corrupt header', async () => {
  const record = (key: string, value: string) => {
    const rest = ` ${key}=${value}\n`;
    let n = rest.length + 1;
    while (String(n).length + rest.length !== n) n = String(n).length + rest.length;
    return `${n}${rest}`;
  };
  const paxName = `a/${'p'.repeat(140)}.JPEG`;
  const gnuName = `a/${'g'.repeat(150)}.JPEG`;
  const archive = tarArchive([
    { name: 'PaxHeader', type: 'x', data: Buffer.from(record('path', paxName) + record('comment', 'x')) },
    { name: 'a/cut-name', data: Buffer.from('pax') },
    { name: '././@LongLink', type: 'L', data: Buffer.from(`${gnuName}\0`) },
    { name: 'a/cut-name-2', data: Buffer.from('gnu') },
  ]);
  const dir = join(work, 'long-names');
  mkdirSync(dir);
  await extractTar(Readable.from([archive]), dir, 'long.tar');
  assert.equal([...readTree(dir).entries()].map(([k, v]) => [k, v.toString()]), [[gnuName, 'gnu'], [paxName, 'pax']].sort());
  const damaged = Buffer.from(archive);
  damaged[1024 + 10] ^= 1; // the name of the second header (after the pax header and its records)
  assertMatch(await failure(extractTar(Readable.from([damaged]), join(work, 'damaged'), 'damaged.tar')), /damaged\.tar: corrupt header at byte 1024 \(checksum mismatch\)/);
});

test('member names that leave the folder are refused; ordinary ones map inside it', () => {
  for (const name of ['../evil', 'a/../../b', '/etc/passwd', 'C:/x', 'a\\..\\b', 'ok/../../..']) {
    assert.throws(() => memberPath('/tmp/root', name, 'x.tar'), /refusing to extract/, name);
  }
  assert.is(memberPath('/tmp/root', './a/./b.txt', 'x.tar'), '/tmp/root/a/b.txt');
  assert.is(memberPath('/tmp/root', './', 'x.tar'), null);
});

test('an archive already on disk (--from FILE) is verified and used in place', async () => {
  const fx = fixtures.tinyimagenet;
  const file = join(work, 'classic.zip');
  const classic = zipArchive(treeMembers(join(work, 'src-tin'), fx.spec.folder), false);
  writeFileSync(file, classic);
  const options = quiet();
  await downloadDataset({ ...fx.spec, md5: md5(classic), url: server.url('/never-used') }, { ...options, from: file });
  assert.ok(existsSync(file), 'the user\'s archive is kept');
  assert.ok(readFileSync(join(options.to, fx.spec.folder, 'wnids.txt')).equals(fx.tree.get('wnids.txt')!));
  assertMatch(await failure(downloadDataset(fx.spec, { ...quiet(), from: join(work, 'missing.zip') })), /--from .*missing\.zip: no such file/);
});

test('a folder that exists but is incomplete is not touched', async () => {
  const options = quiet();
  mkdirSync(join(options.to, 'Tiny-ImageNet-C', 'fog'), { recursive: true });
  assertMatch(await failure(downloadDataset(fixtures['tinyimagenet-c'].spec, options)), /Tiny-ImageNet-C exists but is not a complete Tiny-ImageNet-C.*: missing fog\/1\/; missing fog\/2\/.*Remove it and run again/);
});

test('cli download: --help lists the four datasets; the published MD5 rejects an archive from another source', async () => {
  const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['dist/experiments/cli.js', 'download', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('exit', (code) => resolve({ code, out }));
  });
  const help = await run(['--help']);
  assert.is(help.code, 0);
  for (const name of ['cifar10 ', 'cifar10-c ', 'tinyimagenet ', 'tinyimagenet-c ']) assert.ok(help.out.includes(`  ${name}`), help.out);
  assert.ok(help.out.includes('MD5 c32a1d4ab5d03f1284b67883e8d87530'), help.out);
  const to = target();
  const wrong = await run(['cifar10', '--to', to, '--from', fixtures.cifar10.spec.url]);
  assert.is(wrong.code, 1, wrong.out);
  assertMatch(wrong.out, /MD5 [0-9a-f]{32} does not match the published c32a1d4ab5d03f1284b67883e8d87530/);
  assertOnly(to, []);
  const unknown = await run(['mnist', '--to', to]);
  assert.is(unknown.code, 2);
  assertMatch(unknown.out, /unknown dataset 'mnist'; one of cifar10, cifar10-c, tinyimagenet, tinyimagenet-c/);
});

test.run();
