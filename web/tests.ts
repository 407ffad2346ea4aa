// The page's test mode (?tests): the shared shader-versus-CPU-reference cases of test/cases, run on
// this browser's WebGPU device. Results are shown in a table and published on `window.kernelTests`
// (outputs included, base64 float64) so a test driver can compare them with Node's.
import { caseId, Checker, kernelCases } from '../test/cases/index.js';
import { h } from './images.js';

// Cases that take down Chromium's GPU process when WebGPU runs on SwiftShader (Chromium's built-in CPU
// Vulkan): the convolution kernels' scalar paths (channel counts that are not multiples of 4) never
// finish there, and the GPU process dies after about two minutes, taking the device and every later
// case with it. They run everywhere else (including ?adapter=compatibility on the same machine), and
// always in Node.
export const SWIFTSHADER_SKIPS: readonly string[] = [
  'conv / conv2d forward / data-grad / weight-grad [1,1,1,1]→1 k1x1 s1 p0 d1',
  'conv / conv2d forward / data-grad / weight-grad [2,5,5,3]→16 k3x3 s1 p1 d1',
];

export interface PageCaseResult {
  id: string;
  suite: string;
  name: string;
  passed: boolean;
  /** Not run on this adapter (see SWIFTSHADER_SKIPS); the reason is in `error`. */
  skipped?: boolean;
  error?: string;
  milliseconds: number;
  outputs: { label: string; actual: string }[];
}

export interface KernelTestReport {
  done: boolean;
  adapter: string;
  results: PageCaseResult[];
  passed: number;
  failed: number;
  skipped: number;
  milliseconds: number;
}

function base64(values: Float64Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export async function runKernelTests(root: HTMLElement, adapter: string, architecture: string, filter?: string): Promise<KernelTestReport> {
  const report: KernelTestReport = { done: false, adapter, results: [], passed: 0, failed: 0, skipped: 0, milliseconds: 0 };
  (globalThis as { kernelTests?: KernelTestReport }).kernelTests = report;
  const cases = kernelCases.filter((c) => !filter || caseId(c).includes(filter));
  const summary = h('p', { id: 'test-summary', class: 'summary' }, `running ${cases.length} cases on ${adapter} …`);
  const tbody = h('tbody');
  root.append(
    h('section', { class: 'card wide' },
      h('h2', {}, 'Kernel tests in this browser'),
      h('p', { class: 'hint' }, 'The same shader-versus-CPU-reference cases as ', h('code', {}, 'npm test'), ' (test/cases/*.ts), on this page\u2019s WebGPU device.'),
      summary,
      h('table', { class: 'tests' }, h('thead', {}, h('tr', {}, h('th', {}, 'suite'), h('th', {}, 'case'), h('th', {}, 'result'), h('th', { class: 'num' }, 'ms'))), tbody)),
  );
  const started = performance.now();
  for (const c of cases) {
    const row = h('tr', { class: 'running' }, h('td', {}, c.suite), h('td', {}, c.name), h('td', {}, '…'), h('td', { class: 'num' }, ''));
    tbody.append(row);
    if (architecture === 'swiftshader' && SWIFTSHADER_SKIPS.includes(caseId(c))) {
      const reason = 'skipped on SwiftShader: this pipeline crashes its GPU process (see SWIFTSHADER_SKIPS in web/tests.ts)';
      report.results.push({ id: caseId(c), suite: c.suite, name: c.name, passed: false, skipped: true, error: reason, milliseconds: 0, outputs: [] });
      report.skipped++;
      row.className = 'skip';
      row.children[2].textContent = reason;
      continue;
    }
    const t0 = performance.now();
    const check = new Checker();
    let error: string | undefined;
    try {
      await c.run(check);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const result: PageCaseResult = {
      id: caseId(c), suite: c.suite, name: c.name, passed: error === undefined, error, milliseconds: performance.now() - t0,
      outputs: check.outputs.map((o) => ({ label: o.label, actual: base64(o.actual) })),
    };
    report.results.push(result);
    if (result.passed) report.passed++;
    else report.failed++;
    row.className = result.passed ? 'pass' : 'fail';
    row.children[2].textContent = result.passed ? 'pass' : `FAIL: ${error}`;
    row.children[3].textContent = result.milliseconds.toFixed(0);
    summary.textContent = `${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ''} (${report.results.length}/${cases.length})`;
  }
  report.milliseconds = performance.now() - started;
  summary.textContent = `${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ''} in ${(report.milliseconds / 1000).toFixed(1)} s on ${adapter}`;
  summary.classList.add(report.failed ? 'bad' : 'good');
  report.done = true;
  return report;
}
