// PyTorch's SGD (torch.optim.SGD) step in float64.
export function sgdRef(p: Float64Array, g: ArrayLike<number>, state: { buf?: Float64Array }, o: { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }): void {
  const d = Float64Array.from(g, (v, i) => v + o.weightDecay * p[i]);
  if (o.momentum > 0) {
    if (!state.buf) state.buf = d.slice();
    else for (let i = 0; i < d.length; i++) state.buf[i] = o.momentum * state.buf[i] + (1 - o.dampening) * d[i];
    for (let i = 0; i < d.length; i++) d[i] = o.nesterov ? d[i] + o.momentum * state.buf[i] : state.buf[i];
  }
  for (let i = 0; i < p.length; i++) p[i] -= o.lr * d[i];
}
