// GPU buffer pool: buffers are recycled by size class so a training loop that allocates the same
// shapes every step reaches a steady state and stops creating buffers.

const MIN_BYTES = 256;
const STEPS_PER_DOUBLING = 4; // size classes 2^k·(1, 1.25, 1.5, 1.75): at most 25% slack

export function sizeClass(bytes: number): number {
  if (bytes <= MIN_BYTES) return MIN_BYTES;
  const power = 2 ** Math.floor(Math.log2(bytes));
  const step = power / STEPS_PER_DOUBLING;
  return Math.ceil(bytes / step) * step;
}

export interface PoolStats {
  /** Bytes of every GPU buffer the pool has created and not destroyed. */
  allocatedBytes: number;
  /** Bytes of buffers currently handed out. */
  inUseBytes: number;
  peakInUseBytes: number;
  buffersCreated: number;
  liveBuffers: number;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Buffers this pool created: a tensor of a lost device, disposed later, must not enter the new device's pool. */
  private owned = new WeakSet<GPUBuffer>();
  private stats: PoolStats = { allocatedBytes: 0, inUseBytes: 0, peakInUseBytes: 0, buffersCreated: 0, liveBuffers: 0 };


  constructor(private device: GPUDevice, private maxBufferSize: number) {}

  acquire(bytes: number, label = 'tensor'): GPUBuffer {
    const size = sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new RangeError(`${label}: needs a ${formatBytes(bytes)} buffer but the adapter allows at most ${formatBytes(this.maxBufferSize)} per buffer`);
    }
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label });
      this.owned.add(buffer);
      this.stats.allocatedBytes += size;
      this.stats.buffersCreated++;
      this.stats.liveBuffers++;
    }
    this.stats.inUseBytes += size;
    this.stats.peakInUseBytes = Math.max(this.stats.peakInUseBytes, this.stats.inUseBytes);
    return buffer;
  }

  /**
   * Returns a buffer for reuse. Safe even while earlier recorded commands still read it: all our
   * GPU work runs in queue order, so a later writer runs after every earlier reader.
   */
  release(buffer: GPUBuffer): void {
    if (!this.owned.has(buffer)) return;
    const size = buffer.size;
    this.stats.inUseBytes -= size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buffer);
  }

  /** Destroys every buffer not in use (e.g. between experiments). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.stats.allocatedBytes -= buffer.size;
        this.stats.liveBuffers--;
        buffer.destroy();
      }
    }
    this.free.clear();
  }

  snapshot(): PoolStats {
    return { ...this.stats };
  }

  resetPeak(): void {
    this.stats.peakInUseBytes = this.stats.inUseBytes;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
