// The engine as a package: `npm pack` makes a tarball that installs into a new project without the
// network (its dependencies come from the npm cache that `npm ci` filled), the Node example
// (docs/examples/mnist-node.ts) trains from the package name, its types check against the packed
// .d.ts files, and the `selectivity-webgpu` command runs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { transformSync } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve('.');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'package-'));
const app = join(work, 'app');
let tarball = '';
let packed: string[] = [];

function run(command: string, args: string[], cwd: string, timeout = 180_000): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, FORCE_COLOR: '0' } });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${r.status ?? r.signal}:\n${out}`);
  return r.stdout;
}

/** Newest modification time under `dir` of files ending in `suffix`. */
function newest(dir: string, suffix: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const s = statSync(path);
    t = Math.max(t, s.isDirectory() ? newest(path, suffix) : name.endsWith(suffix) ? s.mtimeMs : 0);
  }
  return t;
}

/**
 * A lockfile for the new project: the tarball plus the package's runtime dependencies exactly as
 * this repository's lockfile pins them (with their integrity), so `npm ci --offline` takes them from
 * the cache without asking the registry.
 */
function appLockfile(file: string): object {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { [pkg.name]: `file:${file}` } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: `file:${file}`, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean; devOptional?: boolean }>)) {
    if (path !== '' && !entry.dev && !entry.devOptional) packages[path] = entry;
  }
  return { name: 'app', lockfileVersion: 3, requires: true, packages };
}

test.before(() => {
  // npm test type-checks (emitting dist/types) before the tests; a run of this file alone may need it.
  const sources = Math.max(...['engine', 'shaders', 'models', 'experiments'].map((d) => newest(d, '.ts')));
  const types = join('dist', 'types', 'engine', 'index.d.ts');
  if (!existsSync(types) || statSync(types).mtimeMs < sources) run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], root);
  // The build ran before the tests, so the scripts (prepack) are not needed again.
  const [info] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], root));
  tarball = join(work, info.filename);
  packed = info.files.map((f: { path: string }) => f.path);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds every entry point, their types, the bin, the frost textures and the examples, and no tests', () => {
  const targets = (value: unknown): string[] => (typeof value === 'string' ? [value] : Object.values(value as object).flatMap(targets));
  for (const path of [...targets(pkg.exports), ...targets(pkg.bin)]) assert.ok(packed.includes(path.replace(/^\.\//, '')), `${path} is not in the tarball`);
  for (const path of ['data/frost/frost1.png', 'docs/examples/mnist-node.ts', 'docs/examples/mnist-page.ts', 'README.md']) assert.ok(packed.includes(path), `${path} is not in the tarball`);
  assert.equal(packed.filter((p) => /(^|\/)test\/|\.test\./.test(p)), []);
  assert.ok(readFileSync(join('dist', 'bundle', 'node', 'cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n'), 'the bin starts with a shebang');
});

test('installed offline into a new project, the Node example trains from the package name', () => {
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { [pkg.name]: `file:${tarball}` } }, null, 2));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(appLockfile(tarball), null, 2));
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  const example = readFileSync('docs/examples/mnist-node.ts', 'utf8');
  assert.ok(example.includes(`from '${pkg.name}'`) && !/from '\.{1,2}\//.test(example), 'the example imports the package by name only');
  writeFileSync(join(app, 'mnist-node.mjs'), transformSync(example, { loader: 'ts', format: 'esm', target: 'es2022' }).code);
  const out = run(process.execPath, ['mnist-node.mjs'], app);
  const m = /loss ([\d.]+) → ([\d.]+) .*test accuracy ([\d.]+)%/.exec(out);
  assert.ok(m, `unexpected output:\n${out}`);
  const [first, last, accuracy] = m!.slice(1).map(Number);
  console.log(`    example from the installed package: loss ${first} → ${last}, test accuracy ${accuracy}%`);
  assert.ok(last < first / 2, `the loss did not fall enough: ${first} → ${last}`);
  assert.ok(accuracy > 50, `accuracy ${accuracy}% is not well above chance (10%)`);
});

test('the example type-checks against the packed .d.ts files', () => {
  copyFileSync('docs/examples/mnist-node.ts', join(app, 'mnist-node.ts'));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'],
      // Node's types from this repository; WebGPU's come with the package's `webgpu` dependency.
      typeRoots: [join(root, 'node_modules', '@types'), join(app, 'node_modules', '@webgpu')], types: ['node', 'types'],
    },
    files: ['mnist-node.ts'],
  }));
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
});

test('the selectivity-webgpu command runs from node_modules/.bin', () => {
  const bin = join(app, 'node_modules', '.bin', 'selectivity-webgpu');
  const help = run(bin, ['--help'], app);
  assert.ok(help.includes('download') && help.includes('train'), help);
  assert.ok(run(bin, ['download', '--help'], app).includes('tinyimagenet-c'));
});

test.run();
