// A Program is one compute shader variant: its cache key, its storage bindings, its uniforms and its
// WGSL body. The runtime writes the binding and uniform declarations itself, so a program's source
// only says what it computes.

export type ScalarType = 'f32' | 'i32' | 'u32';
export type StorageElement = ScalarType | 'vec4<f32>' | 'vec4<i32>' | 'vec4<u32>' | 'vec2<u32>';

export interface StorageBinding {
  name: string;
  /** 'read' binds as read-only storage; 'read_write' for outputs. */
  access: 'read' | 'read_write';
  element: StorageElement;
  /** Holds an f16 tensor, two values per 32-bit word (element u32, vec2<u32> or vec4<u32>). */
  half?: boolean;
}

export interface UniformField {
  name: string;
  type: ScalarType;
}

export interface Program {
  /** Identifies the generated WGSL: programs with equal keys must generate identical source. */
  readonly key: string;
  readonly bindings: readonly StorageBinding[];
  readonly uniforms: readonly UniformField[];
  /** Threads per workgroup; the source's entry point must declare the same (see WORKGROUP_SIZE). */
  readonly workgroupSize: number;
  /** Set when the source uses f16 (needs the adapter's shader-f16 feature). */
  readonly f16?: boolean;
  /** Set when the source uses subgroup builtins (needs the adapter's subgroups feature). */
  readonly subgroups?: boolean;
  /** The shader body: helper functions and `fn main`. Declarations are prepended by the runtime. */
  source(): string;
}

/** Storage binding helpers, so programs read like their WGSL declarations. */
export const read = (name: string, element: StorageElement = 'f32'): StorageBinding => ({ name, access: 'read', element });
export const write = (name: string, element: StorageElement = 'f32'): StorageBinding => ({ name, access: 'read_write', element });
export const u32 = (name: string): UniformField => ({ name, type: 'u32' });
export const i32 = (name: string): UniformField => ({ name, type: 'i32' });
export const f32 = (name: string): UniformField => ({ name, type: 'f32' });

/** Four f16 values packed in a vec2<u32> (f16 storage) to and from f32 (core WGSL, no shader-f16). */
const HALF4 = `fn unpackHalf4(v: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(v.x), unpack2x16float(v.y)); }
fn packHalf4(v: vec4<f32>) -> vec2<u32> { return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw)); }`;

/**
 * Elements each thread of a per-element kernel takes (perElementLoopMain). On lavapipe a thread's
 * fixed cost is a good part of a light pass: an element-wise y = 2x moved 3.4–4.4 GB/s with one
 * element (vec4) per thread and 5.3–6.5 GB/s with four, and option-A shortcuts ran about 30% faster.
 */
export const ELEMENTS_PER_THREAD = 4;

/** Workgroups of a perElementLoopMain kernel over `count` elements. */
export const perElementWorkgroups = (count: number, workgroupSize: number) => Math.ceil(count / (workgroupSize * ELEMENTS_PER_THREAD));

/**
 * The entry point of a kernel whose threads take ELEMENTS_PER_THREAD elements each, grid-stride:
 * thread t of T runs `body` for i = t, t + T, … below params.count. On CPU adapters a thread's fixed
 * cost is then shared by several elements; on GPUs the accesses stay coalesced. Dispatch
 * perElementWorkgroups(count, workgroupSize) workgroups.
 */
export function perElementLoopMain(body: string, workgroupSize: number): string {
  return `@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let threads = nwg.x * nwg.y * WORKGROUP_SIZE;
  let first = workgroupIndex(wid, nwg) * WORKGROUP_SIZE + lidx;
  for (var r = 0u; r < ${ELEMENTS_PER_THREAD}u; r++) {
    let i = first + r * threads;
    if (i >= params.count) { break; }
    ${body.trim()}
  }
}`;
}

/** Bytes one dispatch's uniforms take: 4 per field, padded to 16 as WGSL requires of a uniform struct. */
export function uniformBytes(fields: readonly UniformField[]): number {
  return Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
}

/**
 * The full WGSL of a program: uniform struct at binding 0, storage buffers from binding 1, a
 * `workgroupIndex` helper that folds 2-D dispatches (used past 65535 workgroups) back to a line,
 * then the program's own body.
 */
export function assembleSource(program: Program, enableF16: boolean): string {
  const lines: string[] = [];
  if (enableF16) lines.push('enable f16;');
  if (program.subgroups) lines.push('enable subgroups;');
  const fields = program.uniforms.length > 0 ? program.uniforms : [{ name: '_unused', type: 'u32' as const }];
  lines.push(`struct Params {\n${fields.map((f) => `  ${f.name}: ${f.type},`).join('\n')}\n}`);
  lines.push('@group(0) @binding(0) var<uniform> params: Params;');
  program.bindings.forEach((b, i) => {
    lines.push(`@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.element}>;`);
  });
  lines.push(`const WORKGROUP_SIZE: u32 = ${program.workgroupSize}u;`);
  lines.push('fn workgroupIndex(wid: vec3u, nwg: vec3u) -> u32 { return wid.x + wid.y * nwg.x; }');
  if (program.bindings.some((b) => b.half)) lines.push(HALF4);
  lines.push(program.source());
  return lines.join('\n');
}

export interface CompiledProgram {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  uniformBytes: number;
  id: number;
  /** The program's binding and uniform names, to catch two programs that share a key. */
  names: string[];
}

const namesOf = (program: Program) => [...program.bindings.map((b) => b.name), '|', ...program.uniforms.map((u) => u.name)];

/** Whether `program` binds and sets what `compiled` was built for (a few string compares a dispatch). */
function sameInterface(compiled: CompiledProgram, program: Program): boolean {
  const { names } = compiled;
  const nb = program.bindings.length;
  if (names.length !== nb + 1 + program.uniforms.length) return false;
  for (let i = 0; i < nb; i++) if (names[i] !== program.bindings[i].name) return false;
  for (let i = 0; i < program.uniforms.length; i++) if (names[nb + 1 + i] !== program.uniforms[i].name) return false;
  return true;
}

/** Pipelines and bind-group layouts, created once per program key. */
export class PipelineCache {
  private cache = new Map<string, CompiledProgram>();
  private nextId = 1;
  compileMs = 0;

  constructor(private device: GPUDevice, private enableF16: boolean) {}

  get(program: Program): CompiledProgram {
    let compiled = this.cache.get(program.key);
    if (!compiled) {
      const t0 = performance.now();
      compiled = this.compile(program);
      this.compileMs += performance.now() - t0;
      this.cache.set(program.key, compiled);
    } else if (!sameInterface(compiled, program)) {
      // Two generators chose the same key: the cached pipeline would run with the other's layout.
      throw new Error(`program key '${program.key}' names two different programs: cached with [${compiled.names.join(' ')}], now [${namesOf(program).join(' ')}]`);
    }
    return compiled;
  }

  get size(): number {
    return this.cache.size;
  }

  private compile(program: Program): CompiledProgram {
    const code = assembleSource(program, this.enableF16 && !!program.f16);
    const module = this.device.createShaderModule({ code, label: program.key });
    const entries: GPUBindGroupLayoutEntry[] = [
      { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } },
      ...program.bindings.map((b, i) => ({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b.access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
      })),
    ];
    const layout = this.device.createBindGroupLayout({ entries, label: program.key });
    const pipeline = this.device.createComputePipeline({
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout], label: program.key }),
      compute: { module, entryPoint: 'main' },
      label: program.key,
    });
    return { pipeline, layout, uniformBytes: uniformBytes(program.uniforms), id: this.nextId++, names: namesOf(program) };
  }
}
