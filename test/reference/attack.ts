// Attack steps in float64, the oracle for shaders/attack.ts: samples are the first axis of
// row-major data, D values each.

export function sampleNormsRef(x: ArrayLike<number>, N: number): Float64Array {
  const D = N === 0 ? 0 : x.length / N;
  const out = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let s = 0;
    for (let i = n * D; i < (n + 1) * D; i++) s += x[i] * x[i];
    out[n] = Math.sqrt(s);
  }
  return out;
}

export interface StepRefOptions {
  norm: 'linf' | 'l2';
  eps: number;
  stepSize: number;
  mode: 'sign' | 'unit' | 'raw';
  scale?: ArrayLike<number>;
}

/** clamp(clean + P(origin + stepSize·dir(direction) − clean), 0, 1) per sample. */
export function projectedStepRef(origin: ArrayLike<number>, direction: ArrayLike<number>, clean: ArrayLike<number>, N: number, o: StepRefOptions): Float64Array {
  const D = clean.length / N;
  const out = new Float64Array(clean.length);
  const dirNorms = sampleNormsRef(direction, N);
  for (let n = 0; n < N; n++) {
    const delta = new Float64Array(D);
    const unit = dirNorms[n] > 0 ? (o.scale?.[n] ?? 1) / dirNorms[n] : 0;
    for (let j = 0; j < D; j++) {
      const i = n * D + j;
      const dir = o.mode === 'sign' ? Math.sign(direction[i]) : o.mode === 'unit' ? direction[i] * unit : direction[i];
      delta[j] = origin[i] + o.stepSize * dir - clean[i];
    }
    let factor = 1;
    if (o.norm === 'l2') {
      const norm = sampleNormsRef(delta, 1)[0];
      if (norm > o.eps) factor = o.eps / norm;
    }
    for (let j = 0; j < D; j++) {
      const i = n * D + j;
      const p = o.norm === 'linf' ? Math.min(o.eps, Math.max(-o.eps, delta[j])) : delta[j] * factor;
      out[i] = Math.min(1, Math.max(0, clean[i] + p));
    }
  }
  return out;
}
