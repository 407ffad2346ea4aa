// Builds the project with esbuild:
//  - dist/**: every TypeScript source transpiled file by file (what tests and the CLI run in Node)
//  - dist/bundle/engine.node.js and dist/bundle/engine.browser.js: the same sources bundled for each platform
//  - dist/web/main.js: the page (web/main.ts) bundled for the browser, where any Node-only import is an
//    error; dist/web/mozjpeg_dec.wasm, its JPEG decoder; and dist/web/mnist-sample.bin, the digits the
//    page trains on (written when missing)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const roots = ['engine', 'shaders', 'models', 'experiments', 'test', 'web', 'scripts'];
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
// Node-only modules are reached through dynamic imports guarded by platform checks, so the
// browser bundle can leave them external: they are never loaded in a page.
const nodeOnly = ['webgpu', 'node:*', 'fs', 'path', 'os', 'child_process', 'url', 'pngjs'];
await build({ ...common, entryPoints: ['engine/index.ts'], bundle: true, platform: 'node', external: nodeOnly, outfile: 'dist/bundle/engine.node.js', sourcemap: true });
await build({ ...common, entryPoints: ['engine/index.ts'], bundle: true, platform: 'browser', external: nodeOnly, outfile: 'dist/bundle/engine.browser.js', sourcemap: true });
if (existsSync('web/main.ts')) {
  // Nothing is external here: a module that reaches fs, path, the `webgpu` package or any other
  // Node built-in fails the build. The one Node-only module the engine names, engine/node-gpu.ts
  // (loaded by device.ts only when there is no navigator.gpu), becomes an empty module.
  const nodeGpuStub = {
    name: 'node-gpu-stub',
    setup(b) {
      b.onResolve({ filter: /[\\/]node-gpu\.js$/ }, (args) => ({ path: args.path, namespace: 'node-only' }));
      b.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: '// Node only: never loaded in a page.\nexport {};\n', loader: 'js' }));
    },
  };
  await build({ ...common, entryPoints: ['web/main.ts'], bundle: true, platform: 'browser', plugins: [nodeGpuStub], outfile: 'dist/web/main.js', sourcemap: true });
  // The page's JPEG decoder (libjpeg-turbo as WebAssembly) is fetched from beside the bundle.
  copyFileSync(createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm'), 'dist/web/mozjpeg_dec.wasm');
  if (!existsSync('dist/web/mnist-sample.bin')) {
    const sample = spawnSync(process.execPath, ['dist/scripts/mnist-sample.js', 'dist/web/mnist-sample.bin'], { stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
    if (sample.status !== 0) throw new Error('build: writing dist/web/mnist-sample.bin failed');
  }
}
if (!quiet) console.log(`build: ${sources.length} modules and bundles in ${Date.now() - t0} ms`);
