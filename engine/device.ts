// The one module that knows whether we run in Node (Dawn through the npm `webgpu` package) or in a
// browser (navigator.gpu). Everything else asks for `gpu()` and gets a GpuContext.

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export interface GpuInfo {
  /** Human-readable adapter description, e.g. "llvmpipe (LLVM 19.1.7, 256 bits)". */
  description: string;
  vendor: string;
  architecture: string;
  /** 'node' when driven through Dawn's Node bindings, 'browser' for navigator.gpu. */
  platform: 'node' | 'browser';
  features: string[];
  /**
   * The subgroup size kernels are built for, or null when they use no subgroups (the feature is
   * missing or withheld). It is the adapter's smallest size, so it also holds on adapters whose
   * subgroups vary between dispatches (Intel: 8 to 32): the kernels only need every subgroup to have
   * at least this many lanes (see shaders/gemm.ts).
   */
  subgroupSize: number | null;
  /**
   * A compatibility-mode device (asked for with featureLevel 'compatibility' and granted without
   * core features): WebGPU over OpenGL ES or Direct3D 11, with their limits and shader compilers.
   */
  compatibility: boolean;
  /**
   * The adapter runs on the CPU (Mesa's llvmpipe/lavapipe, SwiftShader, WARP, or one the browser
   * marks as a fallback). A few cores need far less parallelism than a GPU's thousands of lanes, so
   * GEMMs split K less there, and they write their tiles out in a loop, which LLVM compiles far
   * faster than straight-line stores (engine/ops/gemm.ts).
   */
  cpu: boolean;
}

/** Whether an adapter's self-description names a CPU implementation. */
export function isCpuAdapter(info: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean }): boolean {
  if (info.isFallbackAdapter) return true;
  const text = [info.description, info.device, info.vendor, info.architecture].join(' ');
  return /llvmpipe|lavapipe|swiftshader|basic render driver|\bwarp\b|\bsoftware\b/i.test(text);
}

export interface GpuContext {
  device: GPUDevice;
  info: GpuInfo;
  /** Why the device was lost ("reason: message"), once it has been; null while it is usable. */
  lost: string | null;
  /** Set by destroyGpu(): the destruction that follows is a shutdown, not a loss. */
  closed: boolean;
  /** A full garbage collection (Node), run now and then to free the native memory of dropped GPU objects. */
  collectGarbage: (() => void) | null;
  /** Resolves a promise that depends on GPU progress without busy-spinning a CPU core. */
  wait<T>(promise: Promise<T>): Promise<T>;
  hasFeature(name: GPUFeatureName): boolean;
}

export interface GpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Install Mesa's software Vulkan driver when Node finds no adapter (Linux, root, apt). Default true. */
  autoInstallDriver?: boolean;
  /** Ask for f16 storage support when the adapter offers it. Default true. */
  wantF16?: boolean;
  /**
   * 'compatibility' requests a compatibility-mode adapter: in headless Chromium without a GPU
   * (started with --use-webgpu-adapter=opengles) that is Dawn's OpenGL ES backend on the system's
   * Vulkan driver, where the default adapter would be SwiftShader.
   */
  featureLevel?: 'core' | 'compatibility';
  /**
   * Subgroups: true (default) uses them when the adapter has them; false withholds the feature, so
   * every kernel takes its subgroup-free path (as on adapters and browsers without subgroups); a
   * number builds the kernels for that many lanes (a power of two no larger than the adapter's
   * smallest size), which tests the case of subgroups wider than the kernels assume. In Node the
   * environment variable SELECTIVITY_SUBGROUPS (off, or a lane count) sets it when this is not given.
   */
  subgroups?: boolean | number;
}

/** The subgroups option from SELECTIVITY_SUBGROUPS (Node only), or undefined when it is unset. */
export function subgroupsFromEnvironment(value = typeof process !== 'undefined' ? process.env?.SELECTIVITY_SUBGROUPS : undefined): boolean | number | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(off|false|0|no)$/i.test(value)) return false;
  if (/^(on|true|yes)$/i.test(value)) return true;
  const lanes = Number(value);
  if (!Number.isInteger(lanes) || lanes < 1 || (lanes & (lanes - 1)) !== 0) throw new GpuError(`SELECTIVITY_SUBGROUPS=${value}: expected off, on, or a power-of-two lane count`);
  return lanes;
}

// A page (or any runtime exposing navigator.gpu) uses it; otherwise Node loads Dawn.
const hasNavigatorGpu = () => !!(globalThis as { navigator?: Navigator }).navigator?.gpu;
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

let pending: Promise<GpuContext> | null = null;
let current: GpuContext | null = null;
// dawn.node's instance must stay referenced while any device lives, or the process crashes.
let nodeInstance: GPU | null = null;

/**
 * Acquires the device once per process; later calls return the same context, except after the
 * device was lost, when a fresh device is acquired (work on the old one cannot continue, but a
 * process can resume from its last checkpoint).
 */
export function initGpu(options: GpuOptions = {}): Promise<GpuContext> {
  if (current?.lost) {
    current = null;
    pending = null;
  }
  if (!pending) {
    pending = acquire(options).then((ctx) => (current = ctx));
    pending.catch(() => (pending = null));
  }
  return pending;
}

/** The acquired context; throws if `initGpu()` has not completed. */
export function gpu(): GpuContext {
  if (!current) throw new GpuError('GPU not initialised: await initGpu() before creating tensors or running ops');
  return current;
}


async function acquire(options: GpuOptions): Promise<GpuContext> {
  const platform = hasNavigatorGpu() || !isNode ? 'browser' : 'node';
  let adapter: GPUAdapter | null;
  if (platform === 'browser') {
    if (!navigator.gpu) {
      throw new GpuError('This browser has no WebGPU (navigator.gpu is undefined). Use a recent Chrome/Edge, or Chromium with --enable-unsafe-webgpu.');
    }
    adapter = await navigator.gpu.requestAdapter({ powerPreference: options.powerPreference, ...(options.featureLevel ? { featureLevel: options.featureLevel } : {}) });
    if (!adapter) throw new GpuError('navigator.gpu.requestAdapter() returned null: WebGPU is present but no adapter is available (is hardware acceleration disabled?).');
  } else {
    adapter = await nodeAdapter(options);
  }
  return openDevice(adapter, platform, options);
}

let nodeCollector: (() => void) | null = null;

async function nodeAdapter(options: GpuOptions): Promise<GPUAdapter> {
  const { prepareNodeEnvironment, createNodeGpu, installSoftwareVulkan, missingAdapterHelp, garbageCollector } = await import('./node-gpu.js');
  nodeCollector ??= await garbageCollector();
  prepareNodeEnvironment();
  nodeInstance = await createNodeGpu();
  let adapter = await nodeInstance.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter && options.autoInstallDriver !== false && installSoftwareVulkan()) {
    nodeInstance = await createNodeGpu();
    adapter = await nodeInstance.requestAdapter({ powerPreference: options.powerPreference });
  }
  if (!adapter) throw new GpuError(missingAdapterHelp());
  return adapter;
}

async function openDevice(adapter: GPUAdapter, platform: 'node' | 'browser', options: GpuOptions): Promise<GpuContext> {
  const subgroups = options.subgroups ?? subgroupsFromEnvironment() ?? true;
  const wanted: GPUFeatureName[] = ['timestamp-query', ...(subgroups === false ? [] : ['subgroups' as GPUFeatureName])];
  if (options.wantF16 !== false) wanted.push('shader-f16');
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  // Ask for everything the adapter allows: large activations need big storage bindings.
  const limitNames = [
    'maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
    'maxStorageBuffersPerShaderStage', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupsPerDimension',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const name of limitNames) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'engine' });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const description = [info.description, info.device, info.vendor].find((s) => s && s.length > 0) ?? 'unknown adapter';
  const ctx: GpuContext = {
    device,
    info: {
      description,
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      platform,
      features: [...device.features].map(String).sort(),
      subgroupSize: kernelSubgroupSize(device, info, subgroups),
      compatibility: options.featureLevel === 'compatibility' && !device.features.has('core-features-and-limits'),
      cpu: isCpuAdapter(info),
    },
    wait: platform === 'node' ? waitWithoutSpin : (p) => p,
    hasFeature: (name) => device.features.has(name),
    lost: null,
    closed: false,
    collectGarbage: platform === 'node' ? nodeCollector : null,
  };
  // Any loss but our own shutdown counts, a destroy() from elsewhere included: the work it
  // interrupts is gone either way.
  device.lost.then((info) => {
    if (!ctx.closed) ctx.lost = `${info.reason}: ${info.message || 'no message'}`;
  });
  return ctx;
}

function kernelSubgroupSize(device: GPUDevice, info: GPUAdapterInfo, wanted: boolean | number): number | null {
  if (!device.features.has('subgroups')) return null;
  const smallest = (info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize;
  if (!smallest) return null; // an adapter that does not say: subgroup-free kernels are the safe choice
  if (typeof wanted !== 'number') return smallest;
  if (wanted > smallest) throw new GpuError(`subgroups: ${wanted} lanes asked for, but this adapter's subgroups can be as small as ${smallest} lanes`);
  return wanted;
}

// While a mapAsync/onSubmittedWorkDone is pending, dawn.node polls its event queue by calling the
// global `setImmediate` over and over, which keeps one CPU core busy. On a software rasteriser that
// core is needed by the GPU work itself, so while we wait we hand dawn.node a timer-based
// `setImmediate` instead (it looks the global up on every tick). Measured 1.7-1.9x faster on lavapipe.
const POLL_INTERVAL_MS = 1;
let waiting = 0;
let realSetImmediate: typeof setImmediate | null = null;

async function waitWithoutSpin<T>(promise: Promise<T>): Promise<T> {
  if (waiting++ === 0) {
    realSetImmediate = globalThis.setImmediate;
    const polled = ((fn: (...args: unknown[]) => void, ...args: unknown[]) =>
      setTimeout(fn, POLL_INTERVAL_MS, ...args)) as unknown as typeof setImmediate;
    globalThis.setImmediate = polled;
  }
  try {
    return await promise;
  } finally {
    if (--waiting === 0 && realSetImmediate) {
      globalThis.setImmediate = realSetImmediate;
      realSetImmediate = null;
    }
  }
}

/** Destroys the device (tests and CLIs call this before exiting so Dawn shuts down cleanly). */
export function destroyGpu(): void {
  if (current) current.closed = true;
  current?.device.destroy();
  current = null;
  pending = null;
}

/** Keeps the Node instance reachable for the life of the module (see `nodeInstance`). */
export function nodeGpuInstance(): GPU | null {
  return nodeInstance;
}
