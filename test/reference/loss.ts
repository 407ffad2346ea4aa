// Softmax cross-entropy and log-softmax in float64.
export function logSoftmaxRef(x: ArrayLike<number>, B: number, C: number): Float64Array {
  const y = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[b * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[b * C + c] - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < C; c++) y[b * C + c] = x[b * C + c] - lse;
  }
  return y;
}

export function crossEntropyRef(x: ArrayLike<number>, labels: ArrayLike<number>, B: number, C: number): { loss: Float64Array; grad: Float64Array } {
  const logp = logSoftmaxRef(x, B, C);
  const loss = new Float64Array(B);
  const grad = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    loss[b] = -logp[b * C + labels[b]];
    for (let c = 0; c < C; c++) grad[b * C + c] = Math.exp(logp[b * C + c]) - (c === labels[b] ? 1 : 0);
  }
  return { loss, grad };
}
