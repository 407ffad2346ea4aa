// Shared plumbing for ops: dispatch a program on tensors and describe shapes in error messages.
import type { Program } from '../program.js';
import { runtime, type BufferRange, type Workgroups } from '../runtime.js';
import type { Tensor } from '../tensor.js';

export function run(program: Program, tensors: Readonly<Record<string, Tensor>>, uniforms: Readonly<Record<string, number>>, workgroups: Workgroups, label: string): void {
  const buffers: Record<string, BufferRange> = {};
  for (const [name, t] of Object.entries(tensors)) {
    // Packed halves read as f32 (or the reverse) would be garbage, not an error: refuse here.
    const half = !!program.bindings.find((b) => b.name === name)?.half;
    if ((t.dtype === 'f16') !== half) throw new Error(`${label}: ${t.describe()} bound to '${name}', which holds ${half ? 'f16' : 'f32/i32/u32'} values`);
    buffers[name] = t.range;
  }
  runtime().dispatch(program, buffers, uniforms, workgroups, label);
}

export function shapes(...ts: Tensor[]): string {
  return ts.map((t) => `[${t.shape.join(',')}]`).join(' ');
}

/** Normalises a possibly negative axis for a tensor of the given rank. */
export function normAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}
