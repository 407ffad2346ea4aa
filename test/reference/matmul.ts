// Plain TypeScript matrix product in float64, with Σ|a·b| per output for error bounds.
export interface RefResult {
  value: Float64Array;
  absSum: Float64Array;
}

/** C[b] = op(A[b])·op(B[b]); a batch of 1 broadcasts. Shapes as stored: [batch, rows, cols]. */
export function matmulRef(a: ArrayLike<number>, aShape: [number, number, number], b: ArrayLike<number>, bShape: [number, number, number], transA = false, transB = false): RefResult {
  const [ba, ra, ca] = aShape;
  const [bb, rb, cb] = bShape;
  const M = transA ? ca : ra;
  const K = transA ? ra : ca;
  const N = transB ? rb : cb;
  const batches = Math.max(ba, bb);
  const value = new Float64Array(batches * M * N);
  const absSum = new Float64Array(batches * M * N);
  for (let t = 0; t < batches; t++) {
    const ao = (ba === 1 ? 0 : t) * ra * ca;
    const bo = (bb === 1 ? 0 : t) * rb * cb;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        let abs = 0;
        for (let k = 0; k < K; k++) {
          const av = a[ao + (transA ? k * ca + m : m * ca + k)];
          const bv = b[bo + (transB ? n * cb + k : k * cb + n)];
          s += av * bv;
          abs += Math.abs(av * bv);
        }
        value[(t * M + m) * N + n] = s;
        absSum[(t * M + m) * N + n] = abs;
      }
    }
  }
  return { value, absSum };
}
