// Builds the project with esbuild:
//  - dist/**: every TypeScript source transpiled file by file (what tests and the CLI run in Node)
//  - dist/bundle/engine.node.js and dist/bundle/engine.browser.js: the same sources bundled for each platform
import { build } from 'esbuild';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['engine', 'shaders', 'models', 'experiments', 'test', 'web'];
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
const nodeOnly = ['webgpu', 'node:*', 'fs', 'path', 'os', 'child_process', 'url', 'jpeg-js', 'pngjs'];
await build({ ...common, entryPoints: ['engine/index.ts'], bundle: true, platform: 'node', external: nodeOnly, outfile: 'dist/bundle/engine.node.js', sourcemap: true });
await build({ ...common, entryPoints: ['engine/index.ts'], bundle: true, platform: 'browser', external: nodeOnly, outfile: 'dist/bundle/engine.browser.js', sourcemap: true });
if (existsSync('web/main.ts')) {
  await build({ ...common, entryPoints: ['web/main.ts'], bundle: true, platform: 'browser', external: nodeOnly, outfile: 'dist/web/main.js', sourcemap: true });
}
if (!quiet) console.log(`build: ${sources.length} modules and bundles in ${Date.now() - t0} ms`);
