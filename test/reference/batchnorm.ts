// Batch norm over the last axis in float64 (PyTorch semantics).
export interface BatchNormRef {
  y: Float64Array;
  xhat: Float64Array;
  mean: Float64Array;
  invstd: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
}

export function batchNormRef(x: ArrayLike<number>, C: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, runningMean: ArrayLike<number>, runningVar: ArrayLike<number>, training: boolean, momentum = 0.1, eps = 1e-5): BatchNormRef {
  const R = x.length / C;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  const rm = Float64Array.from(runningMean);
  const rv = Float64Array.from(runningVar);
  if (training) {
    for (let i = 0; i < x.length; i++) mean[i % C] += x[i] / R;
    for (let i = 0; i < x.length; i++) variance[i % C] += (x[i] - mean[i % C]) ** 2 / R;
    for (let c = 0; c < C; c++) {
      rm[c] = (1 - momentum) * rm[c] + momentum * mean[c];
      rv[c] = (1 - momentum) * rv[c] + momentum * variance[c] * R / (R - 1);
    }
  } else {
    mean.set(Array.from(runningMean));
    variance.set(Array.from(runningVar));
  }
  const invstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const xhat = new Float64Array(x.length);
  const y = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    xhat[i] = (x[i] - mean[c]) * invstd[c];
    y[i] = xhat[i] * gamma[c] + beta[c];
  }
  return { y, xhat, mean, invstd, runningMean: rm, runningVar: rv };
}

/** Training-mode gradients: dx, dγ, dβ. */
export function batchNormBackwardRef(dy: ArrayLike<number>, ref: BatchNormRef, gamma: ArrayLike<number>, C: number): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const R = dy.length / C;
  const dgamma = new Float64Array(C);
  const dbeta = new Float64Array(C);
  for (let i = 0; i < dy.length; i++) {
    dbeta[i % C] += dy[i];
    dgamma[i % C] += dy[i] * ref.xhat[i];
  }
  const dx = new Float64Array(dy.length);
  for (let i = 0; i < dy.length; i++) {
    const c = i % C;
    dx[i] = gamma[c] * ref.invstd[c] * (dy[i] - dbeta[c] / R - ref.xhat[i] * dgamma[c] / R);
  }
  return { dx, dgamma, dbeta };
}
