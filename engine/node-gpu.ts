// Node-only side of device acquisition: loads Dawn (npm `webgpu`) and, when no adapter exists on a
// Linux machine, installs Mesa's software Vulkan driver (lavapipe). Imported dynamically by device.ts.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * llvmpipe runs 8-lane (256-bit) SIMD even on CPUs with AVX-512; 16 lanes measured faster on these
 * kernels (matmul 1024³ 39 → 41 GFLOPS, ResNet20 training step −5%), so ask for them where the CPU
 * has AVX-512 and the user has not chosen a width. It must be set before Dawn loads the driver.
 */
function preferWideLlvmpipe(): void {
  if (process.env.LP_NATIVE_VECTOR_WIDTH !== undefined || process.platform !== 'linux' || process.arch !== 'x64') return;
  try {
    if (/\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'))) process.env.LP_NATIVE_VECTOR_WIDTH = '512';
  } catch {
    // no /proc: keep llvmpipe's default
  }
}

export function prepareNodeEnvironment(): void {
  preferWideLlvmpipe();
  // Vulkan loaders and Mesa warn (and some fail) without a runtime directory.
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), `xdg-runtime-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
}

/**
 * V8's full garbage collection, or null where it cannot be had. Dawn's objects (bind groups,
 * command buffers, mapped buffers) hold native memory that V8 does not see, so without a hint it
 * collects their wrappers late: a training run's RSS then grows by tens of KiB a step.
 */
export async function garbageCollector(): Promise<(() => void) | null> {
  try {
    const [v8, vm] = await Promise.all([import('node:v8'), import('node:vm')]);
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

export async function createNodeGpu(): Promise<GPU> {
  const webgpu = await import('webgpu');
  // GPUBufferUsage, GPUMapMode, ... are globals in browsers; Dawn ships them separately.
  Object.assign(globalThis, webgpu.globals);
  return webgpu.create([]);
}

// Bookworm's own Mesa (22.3) is rejected by Dawn; Mesa 25 from bookworm-backports works.
const BACKPORTS_SOURCE = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

function canInstall(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && isDebianBookworm();
}

function isDebianBookworm(): boolean {
  try {
    return /VERSION_CODENAME=bookworm/.test(execFileSync('cat', ['/etc/os-release'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
}

/** Installs lavapipe from bookworm-backports. Returns true when it ran; throws when it failed. */
export function installSoftwareVulkan(log: (line: string) => void = (l) => console.error(l)): boolean {
  if (!canInstall()) return false;
  log('webgpu: no GPU adapter found; installing Mesa\'s software Vulkan driver (lavapipe) from bookworm-backports ...');
  const source = '/etc/apt/sources.list.d/bookworm-backports.sources';
  if (!existsSync(source)) writeFileSync(source, BACKPORTS_SOURCE);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '-t', 'bookworm-backports', 'mesa-vulkan-drivers', 'libvulkan1'], { stdio: 'ignore', env });
  log('webgpu: installed mesa-vulkan-drivers from bookworm-backports (adapter "llvmpipe", runs on the CPU)');
  return true;
}

export function missingAdapterHelp(): string {
  return [
    'No WebGPU adapter found by Dawn (npm package `webgpu`).',
    'On a machine without a GPU, install Mesa\'s software Vulkan driver (lavapipe). On Debian bookworm, as root:',
    `  printf '${BACKPORTS_SOURCE.replace(/\n/g, '\\n')}' > /etc/apt/sources.list.d/bookworm-backports.sources`,
    '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1',
    'With a GPU, install its Vulkan driver (e.g. nvidia-driver or mesa-vulkan-drivers) and libvulkan1.',
    'Check with: vulkaninfo --summary (package vulkan-tools).',
  ].join('\n');
}

/** `node dist/engine/node-gpu.js`: make sure an adapter exists, installing lavapipe if needed (CI). */
if (import.meta.url === `file://${process.argv[1]}`) {
  prepareNodeEnvironment();
  const instance = await createNodeGpu();
  let adapter = await instance.requestAdapter();
  if (!adapter && installSoftwareVulkan()) adapter = await (await createNodeGpu()).requestAdapter();
  if (!adapter) {
    console.error(missingAdapterHelp());
    process.exit(1);
  }
  console.log(`webgpu adapter: ${adapter.info.description || adapter.info.vendor || 'unknown'}`);
  process.exit(0);
}
