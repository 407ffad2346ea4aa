// The runtime records dispatches into one command encoder and submits them together (one command
// buffer per training step), packs every dispatch's uniforms into one arena buffer, caches pipelines
// and bind groups, and turns WebGPU errors into exceptions at the next flush or read-back.
import { GpuError, gpu, type GpuContext } from './device.js';
import { BufferPool } from './pool.js';
import { PipelineCache, type Program } from './program.js';

/** A byte range of a GPU buffer: what a tensor binds. Offsets are multiples of 256, sizes of 4. */
export interface BufferRange {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

export type Workgroups = number | readonly [number, number, number];

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment of every adapter we know
const ARENA_BYTES = 2 << 20; // 8192 dispatches' uniforms per command buffer
const BIND_GROUP_CACHE_LIMIT = 8192;
/** Bind groups created between two garbage-collection hints (each holds a few KiB of native memory). */
const BIND_GROUPS_PER_COLLECTION = 4096;

/** GPU time of one profiled dispatch. */
export interface ProfileEntry {
  label: string;
  program: string;
  ms: number;
}

const PROFILE_QUERIES = 4096; // two timestamps per dispatch

export interface RuntimeCounters {
  dispatches: number;
  submits: number;
  uploads: number;
  readbacks: number;
  /** CPU milliseconds spent inside dispatch() recording commands. */
  encodeMs: number;
}

export class Runtime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly counters: RuntimeCounters = { dispatches: 0, submits: 0, uploads: 0, readbacks: 0, encodeMs: 0 };
  /** Flush after every dispatch so an error names exactly one op (slow; for debugging). */
  debugSync = false;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arena: GPUBuffer;
  private arenaBytes = new Uint8Array(ARENA_BYTES);
  private arenaView = new DataView(this.arenaBytes.buffer);
  private arenaUsed = 0;
  private batchOps: string[] = [];
  private bindGroups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  // Writes recorded so far into each buffer (dispatches that bind it writable, uploads, copies).
  private writes = new WeakMap<GPUBuffer, number>();
  private bindGroupsCreated = 0;
  private failure: GpuError | null = null;
  /** The ops of the last command buffer submitted, named when the device turns out lost. */
  private lastSubmitted: string[] = [];
  private scopeChecks: Promise<unknown> = Promise.resolve();
  private maxWorkgroupsPerDim: number;
  // Profiling: each dispatch gets its own pass with begin/end timestamps.
  private profiling = false;
  private querySet: GPUQuerySet | null = null;
  private queryLabels: { label: string; program: string }[] = [];
  private profileReadbacks: { buffer: GPUBuffer; labels: { label: string; program: string }[] }[] = [];

  constructor(private ctx: GpuContext) {
    this.device = ctx.device;
    this.pool = new BufferPool(this.device, this.device.limits.maxBufferSize);
    this.pipelines = new PipelineCache(this.device, ctx.hasFeature('shader-f16'));
    this.maxWorkgroupsPerDim = this.device.limits.maxComputeWorkgroupsPerDimension;
    this.arena = this.device.createBuffer({ size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'uniform arena' });
    this.device.addEventListener('uncapturederror', (event) => {
      this.fail(`uncaptured WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
    });
  }

  /** Records one dispatch. Buffers and uniform values are given by the names the program declares. */
  dispatch(program: Program, buffers: Readonly<Record<string, BufferRange>>, uniforms: Readonly<Record<string, number>>, workgroups: Workgroups, label: string): void {
    this.checkHealthy(`op ${label}`);
    const bindings = program.bindings.map((b) => {
      const range = buffers[b.name];
      if (!range) throw new GpuError(`${label}: program ${program.key} needs buffer '${b.name}'`);
      if (b.access !== 'read') this.wrote(range.buffer);
      return range;
    });
    const t0 = performance.now();
    if (this.arenaUsed + UNIFORM_SLOT > ARENA_BYTES || (this.profiling && this.queryLabels.length * 2 >= PROFILE_QUERIES)) this.flush();
    if (this.profiling) this.endPass();
    const pass = this.beginPass(this.profiling ? { label: label, program: program.key } : undefined);
    const compiled = this.pipelines.get(program);
    const slot = this.arenaUsed;
    program.uniforms.forEach((field, i) => {
      const value = uniforms[field.name];
      if (value === undefined || !Number.isFinite(value)) throw new GpuError(`${label}: uniform '${field.name}' of ${program.key} is ${value}`);
      const at = slot + i * 4;
      if (field.type === 'f32') this.arenaView.setFloat32(at, value, true);
      else if (field.type === 'i32') this.arenaView.setInt32(at, value, true);
      else this.arenaView.setUint32(at, value, true);
    });
    this.arenaUsed += Math.ceil(compiled.uniformBytes / UNIFORM_SLOT) * UNIFORM_SLOT;
    pass.setPipeline(compiled.pipeline);
    pass.setBindGroup(0, this.bindGroup(compiled.id, compiled.layout, compiled.uniformBytes, bindings), [slot]);
    const [x, y, z] = this.workgroupGrid(workgroups, label);
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.batchOps.push(label);
    this.counters.dispatches++;
    this.counters.encodeMs += performance.now() - t0;
    if (this.debugSync) this.flush();
  }

  /** Writes host data into a buffer, ordered after every command recorded so far. */
  upload(range: BufferRange, data: ArrayBufferView): void {
    this.checkHealthy(`an upload of ${data.byteLength} bytes`);
    // queue.writeBuffer runs before the commands still sitting in our encoder, so submit them first.
    if (this.encoder) this.flush();
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    if (bytes.byteLength > range.size) throw new GpuError(`upload: ${bytes.byteLength} bytes do not fit a ${range.size}-byte buffer range`);
    const padded = bytes.byteLength % 4 === 0 ? bytes : padTo4(bytes);
    this.device.queue.writeBuffer(range.buffer, range.offset, padded);
    this.wrote(range.buffer);
    this.counters.uploads++;
  }

  /** Copies between buffer ranges (outside any compute pass). */
  copy(src: BufferRange, dst: BufferRange, bytes: number): void {
    this.checkHealthy(`a copy of ${bytes} bytes`);
    this.beginPass();
    this.endPass();
    this.encoder!.copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, bytes);
    this.wrote(dst.buffer);
    this.batchOps.push(`copy ${bytes} B`);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    let resolved: GPUBuffer | null = null;
    if (this.queryLabels.length > 0 && this.querySet) {
      const bytes = this.queryLabels.length * 16;
      resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      const readback = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      this.encoder.resolveQuerySet(this.querySet, 0, this.queryLabels.length * 2, resolved, 0);
      this.encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
      this.profileReadbacks.push({ buffer: readback, labels: this.queryLabels });
      this.queryLabels = [];
    }
    if (this.arenaUsed > 0) this.device.queue.writeBuffer(this.arena, 0, this.arenaBytes, 0, this.arenaUsed);
    this.device.queue.submit([this.encoder.finish()]);
    resolved?.destroy(); // safe after submit: destruction waits for the work that uses it
    this.counters.submits++;
    this.encoder = null;
    this.arenaUsed = 0;
    const ops = this.batchOps;
    this.batchOps = [];
    this.lastSubmitted = ops;
    const oom = this.device.popErrorScope();
    const validation = this.device.popErrorScope();
    const check = Promise.all([validation, oom]).then(
      ([v, o]) => {
        const error = v ?? o;
        if (error) this.fail(`${error.message}\n  in a command buffer of ${ops.length} op(s): ${describeOps(ops)}`);
      },
      (e: Error) => this.fail(`error scopes could not be read (${e.message || e.name}) after a command buffer of ${ops.length} op(s): ${describeOps(ops)}`),
    );
    this.scopeChecks = Promise.all([this.scopeChecks, check]);
  }

  /** Waits until the GPU has finished all submitted work; throws any error it reported. */
  async sync(): Promise<void> {
    this.flush();
    await this.ctx.wait(this.device.queue.onSubmittedWorkDone());
    await this.drainScopeChecks();
  }

  /** Reads a buffer range back to the host (flushes pending work first); `what` names it in errors. */
  async read(range: BufferRange, bytes = range.size, what = `${bytes} bytes`): Promise<ArrayBuffer> {
    this.checkHealthy(`reading back ${what}`);
    this.flush();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'read-back' });
    const encoder = this.device.createCommandEncoder({ label: 'read-back' });
    encoder.copyBufferToBuffer(range.buffer, range.offset, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    this.counters.readbacks++;
    try {
      try {
        await this.ctx.wait(staging.mapAsync(GPUMapMode.READ));
      } catch (e) {
        // A lost device rejects the mapping, often with an empty message; its lost promise settles
        // at about the same time, so give it a moment to say why.
        await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 200))]);
        this.checkHealthy(`reading back ${what}`);
        throw new GpuError(`reading back ${what} failed (${(e as Error).message || (e as Error).name}) after a command buffer of ${this.lastSubmitted.length} op(s): ${describeOps(this.lastSubmitted)}`);
      }
      await this.drainScopeChecks();
      return staging.getMappedRange().slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  private wrote(buffer: GPUBuffer): void {
    this.writes.set(buffer, (this.writes.get(buffer) ?? 0) + 1);
  }

  /**
   * Names a range's buffer and how many writes to it have been recorded: equal stamps mean equal
   * contents, so values derived from a tensor can be kept until it is written again (any write to
   * the buffer counts). Every write goes through dispatch, upload or copy.
   */
  writeStamp(range: BufferRange): string {
    return `${this.bufferId(range.buffer)}+${range.offset}#${this.writes.get(range.buffer) ?? 0}`;
  }

  /** Stable small integer per GPUBuffer, for bind-group cache keys. */
  bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
  }

  private beginPass(profiled?: { label: string; program: string }): GPUComputePassEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      this.encoder = this.device.createCommandEncoder({ label: 'step' });
    }
    if (!this.pass) {
      if (profiled && this.querySet) {
        const index = this.queryLabels.length * 2;
        this.queryLabels.push(profiled);
        this.pass = this.encoder.beginComputePass({ timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 } });
      } else {
        this.pass = this.encoder.beginComputePass();
      }
    }
    return this.pass;
  }

  /**
   * Starts timing every dispatch on the GPU (timestamp queries; each dispatch then runs in its own
   * pass, so totals are slightly pessimistic). Throws if the adapter has no timestamp-query.
   */
  startProfile(): void {
    if (!this.device.features.has('timestamp-query')) throw new GpuError('profiling needs the adapter feature timestamp-query, which this adapter lacks');
    this.flush();
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES, label: 'profile' });
    this.profiling = true;
  }

  /** Stops profiling and returns the GPU time of every dispatch recorded since startProfile(). */
  async stopProfile(): Promise<ProfileEntry[]> {
    this.flush();
    this.profiling = false;
    await this.sync();
    const entries: ProfileEntry[] = [];
    for (const { buffer, labels } of this.profileReadbacks) {
      await this.ctx.wait(buffer.mapAsync(GPUMapMode.READ));
      const times = new BigUint64Array(buffer.getMappedRange());
      labels.forEach((l, i) => entries.push({ ...l, ms: Number(times[2 * i + 1] - times[2 * i]) / 1e6 }));
      buffer.unmap();
      buffer.destroy();
    }
    this.profileReadbacks = [];
    return entries;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private bindGroup(programId: number, layout: GPUBindGroupLayout, uniformSize: number, bindings: readonly BufferRange[]): GPUBindGroup {
    let key = `${programId}`;
    for (const b of bindings) key += `|${this.bufferId(b.buffer)}:${b.offset}:${b.size}`;
    let group = this.bindGroups.get(key);
    if (!group) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE_LIMIT) this.bindGroups.clear();
      // Dropped bind groups free their native memory only when V8 collects their wrappers.
      if (++this.bindGroupsCreated % BIND_GROUPS_PER_COLLECTION === 0) this.ctx.collectGarbage?.();
      group = this.device.createBindGroup({
        layout,
        entries: [
          { binding: 0, resource: { buffer: this.arena, offset: 0, size: uniformSize } },
          ...bindings.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset, size: b.size } })),
        ],
      });
      this.bindGroups.set(key, group);
    }
    return group;
  }

  /** Folds a linear workgroup count into a 2-D grid when it exceeds the per-dimension limit. */
  private workgroupGrid(workgroups: Workgroups, label: string): [number, number, number] {
    if (typeof workgroups !== 'number') return [workgroups[0], workgroups[1], workgroups[2]];
    const max = this.maxWorkgroupsPerDim;
    if (workgroups <= max) return [workgroups, 1, 1];
    const y = Math.ceil(workgroups / max);
    if (y > max) throw new GpuError(`${label}: ${workgroups} workgroups exceed the adapter's ${max}×${max} grid`);
    return [Math.ceil(workgroups / y), y, 1];
  }

  private fail(message: string): void {
    this.failure ??= new GpuError(message);
  }

  private checkHealthy(before = 'the next op'): void {
    if (this.ctx.lost) {
      const after = this.lastSubmitted.length ? `; the last command buffer submitted held ${this.lastSubmitted.length} op(s): ${describeOps(this.lastSubmitted, false)}` : '';
      throw new GpuError(`GPU device lost (${this.ctx.lost}) at ${before}${after}; nothing computed after the loss is used`);
    }
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      throw failure;
    }
  }

  private async drainScopeChecks(): Promise<void> {
    await this.scopeChecks;
    this.checkHealthy();
  }
}

function padTo4(bytes: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
  padded.set(bytes);
  return padded;
}

function describeOps(ops: string[], debugHint = true): string {
  if (ops.length <= 6) return ops.join('; ');
  return `${ops.slice(0, 3).join('; ')}; … ; ${ops.slice(-3).join('; ')}${debugHint ? ' (set ENGINE_DEBUG_SYNC=1 to name the failing op)' : ''}`;
}

let runtimeInstance: Runtime | null = null;

/** The process-wide runtime on the acquired device. */
export function runtime(): Runtime {
  const ctx = gpu();
  if (!runtimeInstance || runtimeInstance.device !== ctx.device) {
    runtimeInstance = new Runtime(ctx);
    const env = typeof process !== 'undefined' ? process.env : undefined;
    runtimeInstance.debugSync = env?.ENGINE_DEBUG_SYNC === '1';
  }
  return runtimeInstance;
}
