// Average / max pooling over NHWC in float64.
export function poolRef(kind: 'avg' | 'max', x: ArrayLike<number>, [N, H, W, C]: number[], k: number, s: number, p: number) {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const Wo = Math.floor((W + 2 * p - k) / s) + 1;
  const y = new Float64Array(N * Ho * Wo * C);
  const argmax = new Int32Array(y.length).fill(-1);
  for (let n = 0; n < N; n++)
    for (let ho = 0; ho < Ho; ho++)
      for (let wo = 0; wo < Wo; wo++)
        for (let c = 0; c < C; c++) {
          const o = ((n * Ho + ho) * Wo + wo) * C + c;
          let acc = kind === 'max' ? -Infinity : 0;
          for (let kh = 0; kh < k; kh++)
            for (let kw = 0; kw < k; kw++) {
              const h = ho * s - p + kh;
              const w = wo * s - p + kw;
              if (h < 0 || h >= H || w < 0 || w >= W) continue;
              const i = ((n * H + h) * W + w) * C + c;
              if (kind === 'max') {
                if (x[i] > acc) {
                  acc = x[i];
                  argmax[o] = i;
                }
              } else acc += x[i];
            }
          y[o] = kind === 'max' ? acc : acc / (k * k);
        }
  return { y, argmax, shape: [N, Ho, Wo, C] };
}

/** dx for pooling given dy (max routes each dy to its argmax). */
export function poolBackwardRef(kind: 'avg' | 'max', dy: ArrayLike<number>, xShape: number[], k: number, s: number, p: number, argmax: Int32Array): Float64Array {
  const [N, H, W, C] = xShape;
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const Wo = Math.floor((W + 2 * p - k) / s) + 1;
  const dx = new Float64Array(N * H * W * C);
  for (let n = 0; n < N; n++)
    for (let ho = 0; ho < Ho; ho++)
      for (let wo = 0; wo < Wo; wo++)
        for (let c = 0; c < C; c++) {
          const o = ((n * Ho + ho) * Wo + wo) * C + c;
          if (kind === 'max') {
            dx[argmax[o]] += dy[o];
            continue;
          }
          for (let kh = 0; kh < k; kh++)
            for (let kw = 0; kw < k; kw++) {
              const h = ho * s - p + kh;
              const w = wo * s - p + kw;
              if (h >= 0 && h < H && w >= 0 && w < W) dx[((n * H + h) * W + w) * C + c] += dy[o] / (k * k);
            }
        }
  return dx;
}
