// `npm test`: build, run every test/*.test.ts with uvu in one process (one GPU device), and end with
// the line "N passed, N failed" that CI reads.
import { spawn } from 'node:child_process';

const build = spawn(process.execPath, ['scripts/build.mjs', '--quiet'], { stdio: 'inherit' });
const buildCode = await new Promise((resolve) => build.on('exit', resolve));
if (buildCode !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const pattern = process.argv[2] ?? '\\.test\\.js$';
const child = spawn(process.execPath, ['node_modules/uvu/bin.js', 'dist/test', pattern, '--color', 'false'], { stdio: ['inherit', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
let out = '';
child.stdout.on('data', (chunk) => {
  out += chunk;
  process.stdout.write(chunk);
});
const code = await new Promise((resolve) => child.on('exit', resolve));
const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
// A crash before uvu's summary counts as one failure so CI never reports a silent pass.
const failed = code === 0 ? total - passed - skipped : Math.max(1, total - passed - skipped);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(code === 0 && failed === 0 ? 0 : 1);
