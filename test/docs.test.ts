// The documentation cannot drift from the code: docs/method.md's parameter tables and corruption
// lists equal the code's, every "docs/method.md §N" citation in the repository names a section that
// exists, nothing points outside the repository for its definitions, and the `ts runnable` blocks of
// docs/api.md type-check against the package's entry points and run.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { transform } from 'esbuild';
import ts from 'typescript';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CIFAR10_C, TINY_IMAGENET_C, type CorruptionParameters } from '../experiments/corruptions/parameters.js';
import { BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES } from '../experiments/corruptions/types.js';
import { setupGpu } from './helpers.js';

const ROOT = resolve('.');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const method = read('docs/method.md');

/** Section numbers ("3", "6.2") of a markdown file's numbered headings, with their GitHub anchors. */
function sections(markdown: string): { numbers: Set<string>; anchors: Set<string> } {
  const numbers = new Set<string>();
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,4} (.+)$/gm)) {
    const number = /^(\d+(?:\.\d+)*)\.? /.exec(m[1]);
    if (number) numbers.add(number[1]);
    anchors.add(m[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return { numbers, anchors };
}

/** The body of the section whose heading starts with `number` (up to the next heading of any level). */
function sectionBody(markdown: string, number: string): string {
  const start = markdown.search(new RegExp(`^#{2,4} ${number.replace('.', '\\.')}\\.? `, 'm'));
  assert.ok(start >= 0, `docs/method.md has no section ${number}`);
  const rest = markdown.slice(start);
  const firstLine = rest.indexOf('\n') + 1;
  const next = rest.slice(firstLine).search(/^#{2,4} /m);
  return next < 0 ? rest : rest.slice(0, firstLine + next);
}

function parseCell(cell: string): number | number[] {
  const t = cell.trim();
  return t.startsWith('(') ? t.slice(1, -1).split(',').map(Number) : Number(t);
}

test('method.md: both parameter tables equal the code', () => {
  for (const [number, table, scale] of [['6.3', CIFAR10_C, 0.2], ['6.4', TINY_IMAGENET_C, 0.3]] as const) {
    const body = sectionBody(method, number);
    const rows = new Map<string, (number | number[])[]>();
    for (const m of body.matchAll(/^\| `(\w+)` \|(.+)\|$/gm)) rows.set(m[1], m[2].split('|').map(parseCell));
    assert.equal([...rows.keys()], [...CORRUPTION_NAMES], `§${number}: one row per corruption, in order`);
    for (const name of CORRUPTION_NAMES) {
      const expected = (table as CorruptionParameters)[name] as readonly (number | readonly number[])[];
      assert.equal(rows.get(name), expected.map((v) => (typeof v === 'number' ? v : [...v])), `§${number} ${name}`);
    }
    assert.ok(body.includes(`Frost textures are scaled by ${scale} before the crop.`), `§${number}: frost scale ${scale}`);
    assert.is(table.frostScale, scale);
  }
});

test('method.md: the 15 benchmark and 4 extra corruptions are the code\'s', () => {
  const names = (label: string) => {
    const line = new RegExp(`\\*\\*${label}\\*\\*[^:]*:([\\s\\S]*?)(?:\\n- |\\n\\n)`).exec(sectionBody(method, '6.2'));
    assert.ok(line, `§6.2 lists the ${label}`);
    return [...line![1].matchAll(/`(\w+)`/g)].map((m) => m[1]);
  };
  assert.equal(names('15 benchmark corruptions'), [...BENCHMARK_CORRUPTIONS]);
  assert.equal(names('4 extra corruptions').sort(), CORRUPTION_NAMES.filter((n) => !BENCHMARK_CORRUPTIONS.includes(n)).sort());
});

/** Source and documentation files of the repository (not dependencies, not build output). */
function repositoryFiles(): string[] {
  const out: string[] = ['README.md'];
  const walk = (dir: string) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      const path = join(dir, name);
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (/\.(ts|mjs|md|html)$/.test(name)) out.push(path);
    }
  };
  for (const dir of ['docs', 'engine', 'shaders', 'models', 'experiments', 'scripts', 'test', 'web', 'data', '.ci']) if (existsSync(join(ROOT, dir))) walk(dir);
  return out;
}

test('every citation of docs/method.md names an existing section or anchor', () => {
  const { numbers, anchors } = sections(method);
  const bad: string[] = [];
  let citations = 0;
  for (const file of repositoryFiles()) {
    const text = read(file);
    for (const m of text.matchAll(/method\.md(#[\w-]+)?\)? §(\d+(?:\.\d+)?)(?:[–-](\d+(?:\.\d+)?))?/g)) {
      citations++;
      for (const n of [m[2], m[3]]) if (n && !numbers.has(n)) bad.push(`${file}: §${n}`);
      if (m[1] && !anchors.has(m[1].slice(1))) bad.push(`${file}: ${m[1]}`);
    }
  }
  assert.equal(bad, []);
  assert.ok(citations >= 20, `only ${citations} citations found`);
});

test('no file points outside the repository for its definitions', () => {
  const outside = new RegExp(['SP' + 'EC §', '\\.\\./sha' + 'red/'].join('|'));
  assert.equal(repositoryFiles().filter((f) => outside.test(read(f))), []);
});

// ---- docs/api.md -----------------------------------------------------------------------------------

interface Block {
  line: number;
  code: string;
}

const api = read('docs/api.md');
const runnable: Block[] = [...api.matchAll(/^```ts runnable\n([\s\S]*?)^```$/gm)].map((m) => ({ line: api.slice(0, m.index).split('\n').length + 1, code: m[1] }));

/** Where the package's entry points are: tsconfig.json's `paths`, or the engine alone. */
function entryPoints(): Map<string, string> {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config as { compilerOptions?: { paths?: Record<string, string[]> } };
  const map = new Map<string, string>([['selectivity-webgpu', 'engine/index.ts']]);
  for (const [name, [target]] of Object.entries(config.compilerOptions?.paths ?? {})) map.set(name, target.replace(/^\.\//, ''));
  return map;
}

const importsOf = (code: string) => [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1]);

test('api.md: the runnable blocks type-check against the entry points', () => {
  assert.ok(runnable.length >= 6, `runnable blocks: ${runnable.length}`);
  const entries = entryPoints();
  const dir = join(ROOT, 'dist', 'docs-snippets');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const checked = runnable.filter((b) => importsOf(b.code).every((s) => !s.startsWith('selectivity-webgpu') || entries.has(s)));
  const skipped = runnable.filter((b) => !checked.includes(b));
  // Until every entry point exists, a block that needs a missing one is named here, not hidden.
  for (const b of skipped) console.log(`    api.md line ${b.line}: not checked (${importsOf(b.code).filter((s) => !entries.has(s) && s.startsWith('selectivity-webgpu')).join(', ')} is not an entry point here)`);
  assert.ok(skipped.length <= 1, `${skipped.length} blocks need entry points that do not exist`);
  const files = checked.map((b, i) => {
    const file = join(dir, `block-${i}.ts`);
    writeFileSync(file, b.code);
    return file;
  });
  const parsed = ts.parseJsonConfigFileContent(ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, ROOT);
  const paths = Object.fromEntries([...entries].map(([name, target]) => [name, [`./${target}`]]));
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, baseUrl: ROOT, paths, noUnusedLocals: false });
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace(ROOT + '/', '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  const blockLines = checked.map((b, i) => `block-${i}.ts = api.md line ${b.line}`).join('; ');
  assert.equal(errors, [], blockLines);
});

test('api.md: the runnable blocks run', async () => {
  await setupGpu();
  const entries = entryPoints();
  const cwd = process.cwd();
  const work = mkdtempSync(join(tmpdir(), 'api-md-'));
  const outDir = join(ROOT, 'dist', 'docs-snippets');
  mkdirSync(outDir, { recursive: true });
  // Blocks write files (checkpoints) into the working directory: a scratch one.
  process.chdir(work);
  try {
    for (const [i, b] of runnable.entries()) {
      if (!importsOf(b.code).every((s) => !s.startsWith('selectivity-webgpu') || entries.has(s))) continue;
      let { code } = await transform(b.code, { loader: 'ts', format: 'esm', target: 'es2022' });
      for (const [name, target] of entries) {
        const url = pathToFileURL(join(ROOT, 'dist', target.replace(/\.ts$/, '.js'))).href;
        code = code.replaceAll(`from "${name}"`, `from ${JSON.stringify(url)}`);
      }
      const file = join(outDir, `run-${i}.mjs`);
      writeFileSync(file, code);
      // What a block prints is shown only when it fails.
      const printed: string[] = [];
      const log = console.log;
      console.log = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
      try {
        await import(pathToFileURL(file).href);
      } catch (e) {
        console.log = log;
        assert.unreachable(`api.md block at line ${b.line} failed: ${(e as Error).message}\n${printed.join('\n')}`);
      } finally {
        console.log = log;
      }
    }
  } finally {
    process.chdir(cwd);
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
