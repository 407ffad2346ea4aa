// The GPU is started by the commands that need it, once their arguments have been parsed and
// checked: a typo costs no adapter start-up, and commands that never touch the GPU (merge, report,
// --help) run on machines without one.
import { initGpu, type GpuContext } from '../../engine/device.js';
import { applyTunedTile } from '../autotune.js';

let tuned = false;

/**
 * Acquires the device (once per process) and, unless `tune` is false, applies the GEMM tile an
 * earlier `autotune` chose for this adapter.
 */
export async function startGpu(options: { tune?: boolean } = {}): Promise<GpuContext> {
  const ctx = await initGpu();
  if (options.tune !== false && !tuned) {
    await applyTunedTile();
    tuned = true;
  }
  return ctx;
}
