// Philox4x32-10 on the GPU against the CPU reference: raw bits bit for bit, uniform and Bernoulli
// transforms exactly, and normals within WGSL's accuracy bounds.
import { Generator, bernoulli, rand, randn, randomBits } from '../../engine/ops/random.js';
import { bernoulliRef, normalRef, philoxWords, uniformRef } from '../reference/philox.js';
import type { KernelCase } from './check.js';

// Seeds with both key words non-zero, counters whose low word carries into the high word within the
// call, and non-zero streams exercise every word of the counter layout.
const layouts: { seed: bigint; offset: bigint; stream: number }[] = [
  { seed: 0n, offset: 0n, stream: 0 },
  { seed: 0x299f31d0a4093822n, offset: 0xfffffff0n, stream: 7 },
  { seed: 123456789n, offset: 0x1_ffff_ffffn, stream: 0xffffffff },
];

export const randomCases: KernelCase[] = [
  ...[1, 3, 5, 1001].map((n): KernelCase => ({
    suite: 'random',
    name: `GPU random bits equal the CPU reference bit for bit (n = ${n})`,
    async run(check) {
      for (const { seed, offset, stream } of layouts) {
        const gen = new Generator(seed, { offset, stream });
        const bits = await randomBits([n], { generator: gen }).toArray();
        check.equal(bits, philoxWords(seed, offset, stream, n), `seed ${seed} offset ${offset} stream ${stream}`);
        check.ok(gen.offset === offset + BigInt(Math.ceil(n / 4)), `seed ${seed}: generator offset ${gen.offset}, expected ${offset + BigInt(Math.ceil(n / 4))}`);
      }
    },
  })),
  {
    suite: 'random',
    name: 'random bits across many workgroups and a 2^32 counter carry match the CPU reference',
    async run(check) {
      const n = 4 * 70000 + 2;
      const offset = 0x1_0000_0000n - 30000n;
      const bits = await randomBits([n], { generator: new Generator(99, { offset }) }).toArray();
      check.equal(bits, philoxWords(99n, offset, 0, n), 'bits');
    },
  },
  {
    suite: 'random',
    name: 'uniform [0, 1) and bernoulli equal the CPU transforms exactly',
    async run(check) {
      for (const n of [1, 3, 5, 1001]) {
        const state = { seed: '42', offset: '17', stream: 3 };
        const words = philoxWords(42n, 17n, 3, n);
        const u = await rand([n], { generator: new Generator().setState(state) }).toArray();
        check.equal(u, uniformRef(words, 0, 1), `uniform n=${n}`);
        const b = await bernoulli([n], 0.3, { generator: new Generator().setState(state) }).toArray();
        check.equal(b, bernoulliRef(words, 0.3), `bernoulli n=${n}`);
      }
    },
  },
  {
    suite: 'random',
    name: 'uniform [lo, hi) matches the CPU transform within its rounding',
    async run(check) {
      const n = 1001;
      const words = philoxWords(5n, 0n, 0, n);
      for (const [lo, hi] of [[-2, 3], [10, 10.5], [-1e-3, 0]]) {
        const u = await rand([n], { lo, hi, generator: new Generator(5) }).toArray();
        // lo + (hi−lo)·u rounds twice, or once if the GPU fuses it: at most 2 ulp of max(|lo|, |hi|) apart.
        const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(lo), Math.abs(hi)))) - 23);
        check.close(u, uniformRef(words, lo, hi), 2 * ulp, `uniform [${lo}, ${hi})`);
        for (const v of u) check.ok(v >= Math.fround(lo) && v < Math.fround(hi), `uniform [${lo}, ${hi}): ${v} out of range`);
      }
    },
  },
  {
    suite: 'random',
    name: 'normal samples match CPU Box–Muller within WGSL accuracy bounds',
    async run(check) {
      const n = 1001;
      const z = await randn([n], { generator: new Generator(77, { stream: 1 }) }).toArray();
      const ref = normalRef(philoxWords(77n, 0n, 1, 4 * Math.ceil(n / 4)), n);
      // WGSL allows log 2^-21 absolute error on [0.5, 2] and 3 ulp elsewhere; sqrt ~5 ulp; cos/sin
      // 2^-11 absolute on [-π, π]. With L = −ln u1 off by eL, |√(2L') − √(2L)| ≤ min(√(2eL), 2eL/r).
      const bound = (i: number) => {
        const r = ref.radius[i];
        const L = -Math.log(ref.u1[i]);
        const eL = ref.u1[i] >= 0.5 ? 2 ** -21 : 3 * 2 ** -23 * L;
        const dr = Math.min(Math.sqrt(2 * eL), r > 0 ? (2 * eL) / r : Infinity) + 5 * 2 ** -24 * r;
        return dr + r * (2 ** -11 + 2 ** -22 + 2 ** -23) + 1e-7;
      };
      check.close(z, ref.z, bound, 'randn');
    },
  },
];
