// Random tensors from the counter-based Philox4x32-10 generator (shaders/random.ts). A Generator is
// only a 64-bit seed, a 64-bit block counter and a stream id on the host: every call reserves the
// next ceil(n/4) blocks, so a sequence of calls is deterministic, never reuses random numbers, and
// its state is two integers (cheap to checkpoint). Outputs are constants: no autograd.
import { randomPrograms, randomWorkgroups, type Distribution } from '../../shaders/random.js';
import { empty, type DType, type Shape, type Tensor } from '../tensor.js';
import { run } from './run.js';

const U64 = 1n << 64n;
const U32_MASK = 0xffffffffn;

/** Seed of the process-wide generator until manualSeed(): fixed, so unseeded runs still repeat. */
export const DEFAULT_SEED = 67280421310721;

/** A seed or counter: a non-negative integer below 2^64 (numbers up to 2^53, or bigint/decimal string). */
export type U64Like = number | bigint | string;

/** Plain, JSON-able generator state (decimal strings: JSON has no 64-bit integers). */
export interface GeneratorState {
  seed: string;
  offset: string;
  stream: number;
}

/** The uniforms that address a reserved range of Philox blocks (see PHILOX_UNIFORMS). */
export interface PhiloxParams {
  key0: number;
  key1: number;
  ctrLo: number;
  ctrHi: number;
  stream: number;
}

function toU64(value: U64Like, what: string): bigint {
  let v: bigint | null = null;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= 2 ** 53) v = BigInt(value);
  else if (typeof value === 'string' && /^\d+$/.test(value)) v = BigInt(value);
  if (v === null || v < 0n || v >= U64) throw new Error(`${what} must be an integer in [0, 2^64) (numbers up to 2^53; bigint or a decimal string beyond), got ${String(value)}`);
  return v;
}

function toStream(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new Error(`Generator: stream must be an integer in [0, 2^32), got ${value}`);
  return value;
}

export class Generator {
  private key: bigint;
  private counter: bigint;
  private streamId: number;

  /**
   * `offset` is the first Philox block to use; `stream` selects an independent sequence for the same
   * seed (e.g. one per purpose or per worker).
   */
  constructor(seed: U64Like = DEFAULT_SEED, options: { offset?: U64Like; stream?: number } = {}) {
    this.key = toU64(seed, 'Generator: seed');
    this.counter = toU64(options.offset ?? 0, 'Generator: offset');
    this.streamId = toStream(options.stream ?? 0);
  }

  get seed(): bigint {
    return this.key;
  }

  /** The next unused block. */
  get offset(): bigint {
    return this.counter;
  }

  get stream(): number {
    return this.streamId;
  }

  /** Reseeds and restarts at block 0. */
  manualSeed(seed: U64Like): this {
    this.key = toU64(seed, 'manualSeed: seed');
    this.counter = 0n;
    return this;
  }

  getState(): GeneratorState {
    return { seed: this.key.toString(), offset: this.counter.toString(), stream: this.streamId };
  }

  /** Restores a state from getState() (a missing stream means stream 0). */
  setState(state: { seed: U64Like; offset: U64Like; stream?: number }): this {
    const key = toU64(state.seed, 'setState: seed');
    const counter = toU64(state.offset, 'setState: offset');
    this.streamId = toStream(state.stream ?? 0);
    this.key = key;
    this.counter = counter;
    return this;
  }

  /** Reserves the next `blocks` blocks (4 u32 each) and returns the uniforms addressing them. */
  reserve(blocks: number): PhiloxParams {
    if (!Number.isInteger(blocks) || blocks < 0) throw new Error(`Generator: cannot reserve ${blocks} blocks`);
    const start = this.counter;
    if (start + BigInt(blocks) > U64) throw new Error('Generator: the 64-bit counter is exhausted; reseed it');
    this.counter = start + BigInt(blocks);
    return {
      key0: Number(this.key & U32_MASK),
      key1: Number(this.key >> 32n),
      ctrLo: Number(start & U32_MASK),
      ctrHi: Number(start >> 32n),
      stream: this.streamId,
    };
  }
}

/** The process-wide generator that ops use when given none. */
export const defaultGenerator = new Generator();

/** Reseeds the process-wide generator (and restarts its counter). */
export function manualSeed(seed: U64Like): Generator {
  return defaultGenerator.manualSeed(seed);
}

export interface RandomOptions {
  generator?: Generator;
}

function generate(dist: Distribution, shape: Shape, dtype: DType, s: [number, number, number], generator: Generator | undefined, label: string): Tensor {
  const out = empty(shape, dtype);
  if (out.size === 0) return out;
  const blocks = Math.ceil(out.size / 4);
  const philox = (generator ?? defaultGenerator).reserve(blocks);
  run(randomPrograms[dist], { out }, { count: out.size, ...philox, s0: s[0], s1: s[1], s2: s[2] }, randomWorkgroups(blocks), `${label} [${shape}]`);
  return out;
}

const f32View = new DataView(new ArrayBuffer(4));

/** The largest normal f32 below x: subnormal bounds are avoided because GPUs may flush them to 0. */
function f32Below(x: number): number {
  if (x <= 2 ** -126 && x > -(2 ** -126)) return -(2 ** -126);
  f32View.setFloat32(0, x);
  const bits = f32View.getUint32(0);
  f32View.setUint32(0, x > 0 ? bits - 1 : bits + 1);
  return f32View.getFloat32(0);
}

/** Uniform on [lo, hi): lo + (hi − lo)·k·2^-24 for a uniform 24-bit k (default [0, 1)). */
export function rand(shape: Shape, options: RandomOptions & { lo?: number; hi?: number } = {}): Tensor {
  const lo = Math.fround(options.lo ?? 0);
  const hi = Math.fround(options.hi ?? 1);
  const scale = Math.fround(hi - lo);
  if (!(lo < hi) || !Number.isFinite(scale)) throw new Error(`rand: need finite lo < hi in f32, got lo=${options.lo ?? 0} hi=${options.hi ?? 1}`);
  return generate('uniform', shape, 'f32', [lo, scale, f32Below(hi)], options.generator, 'rand');
}

/** Normal with the given mean and standard deviation (Box–Muller). */
export function randn(shape: Shape, options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const { mean = 0, std = 1 } = options;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) throw new Error(`randn: need a finite mean and std ≥ 0, got mean=${mean} std=${std}`);
  return generate('normal', shape, 'f32', [mean, std, 0], options.generator, 'randn');
}

/** 1 with probability p, else 0 (f32). P(1) is p rounded up to a multiple of 2^-24. */
export function bernoulli(shape: Shape, p: number, options: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new Error(`bernoulli: p must be in [0, 1], got ${p}`);
  return generate('bernoulli', shape, 'f32', [p, 0, 0], options.generator, 'bernoulli');
}

/** Raw uniform 32-bit words (a u32 tensor), for integer sampling. */
export function randomBits(shape: Shape, options: RandomOptions = {}): Tensor {
  return generate('bits', shape, 'u32', [0, 0, 0], options.generator, 'randomBits');
}
