// Builds the project with esbuild:
//  - dist/**: every TypeScript source transpiled file by file (what tests and the CLI run in Node)
//  - dist/bundle/node/{engine,models,experiments,cli}.js and dist/bundle/browser/{engine,models}.js: the
//    package's entry points (package.json "exports" and "bin"), bundled per platform with shared chunks,
//    so `selectivity-webgpu` and `selectivity-webgpu/models` share one engine (one device, one runtime)
//  - dist/web/main.js: the page (web/main.ts) bundled for the browser, where any Node-only import is an
//    error; dist/web/mozjpeg_dec.wasm, its JPEG decoder; and dist/web/mnist-sample.bin, the digits the
//    page trains on (written when missing)
//  - dist/web/examples/mnist-page.js: the page example (docs/examples/mnist-page.ts), which imports the
//    engine by the package's name and so is bundled from the browser entry point above
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const roots = ['engine', 'shaders', 'models', 'experiments', 'test', 'web', 'scripts', 'docs/examples'];
const sources = [];
function collect(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) sources.push(path);
  }
}
roots.forEach(collect);

const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
const common = { logLevel: 'warning', target: 'es2022', format: 'esm', define: { __PACKAGE_VERSION__: JSON.stringify(version) } };
const quiet = process.argv.includes('--quiet');
const t0 = Date.now();
await build({ ...common, entryPoints: sources, outdir: 'dist', outbase: '.', platform: 'node', sourcemap: 'inline' });
// Browser bundles: nothing is external, so a module that reaches fs, path, the `webgpu` package or
// any other Node built-in fails the build. The one Node-only module the engine names,
// engine/node-gpu.ts (loaded by device.ts only when there is no navigator.gpu), becomes an empty module.
const nodeGpuStub = {
  name: 'node-gpu-stub',
  setup(b) {
    b.onResolve({ filter: /[\\/]node-gpu\.js$/ }, (args) => ({ path: args.path, namespace: 'node-only' }));
    b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: '// Node only: never loaded in a page.\nexport {};\n', loader: 'js' }));
  },
};
const browser = { ...common, bundle: true, platform: 'browser', plugins: [nodeGpuStub], sourcemap: true };
const entries = { engine: 'engine/index.ts', models: 'models/index.ts' };
const split = { splitting: true, chunkNames: 'chunks/[name]-[hash]' };
rmSync('dist/bundle', { recursive: true, force: true }); // no stale chunks in the package
await build({ ...common, ...split, bundle: true, sourcemap: true, entryPoints: { ...entries, experiments: 'experiments/index.ts', cli: 'experiments/cli.ts' }, platform: 'node', packages: 'external', outdir: 'dist/bundle/node' });
await build({ ...browser, ...split, entryPoints: entries, outdir: 'dist/bundle/browser' });
if (existsSync('web/main.ts')) {
  await build({ ...browser, entryPoints: ['web/main.ts'], outfile: 'dist/web/main.js' });
  // The page example imports the package by name: bundled from its browser entry point, as a user's bundler would.
  await build({ ...browser, entryPoints: ['docs/examples/mnist-page.ts'], alias: { 'selectivity-webgpu': './dist/bundle/browser/engine.js' }, outfile: 'dist/web/examples/mnist-page.js' });
  // The page's JPEG decoder (libjpeg-turbo as WebAssembly) is fetched from beside the bundle.
  copyFileSync(createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'), 'dist/web/mozjpeg_dec.wasm');
  if (!existsSync('dist/web/mnist-sample.bin')) {
    const sample = spawnSync(process.execPath, ['dist/scripts/mnist-sample.js', 'dist/web/mnist-sample.bin'], { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
    if (sample.status !== 0) throw new Error('build: writing dist/web/mnist-sample.bin failed');
  }
}
if (!quiet) console.log(`build: ${sources.length} modules and bundles in ${Date.now() - t0} ms`);
