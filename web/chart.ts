// A small live line chart on a <canvas>: one series, axes with a few ticks, redrawn on every point.
export interface ChartOptions {
  title: string;
  color: string;
  /** Fixed y range (e.g. [0, 1] for accuracy); otherwise the data's range, padded. */
  yRange?: [number, number];
  format?: (v: number) => string;
}

export class LineChart {
  private points: [number, number][] = [];
  private readonly ctx: CanvasRenderingContext2D;
  readonly canvas: HTMLCanvasElement;

  constructor(parent: HTMLElement, readonly options: ChartOptions) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'chart';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', options.title);
    parent.append(this.canvas);
    this.ctx = this.canvas.getContext('2d')!;
    new ResizeObserver(() => this.draw()).observe(this.canvas);
    this.draw();
  }

  get values(): readonly [number, number][] {
    return this.points;
  }

  clear(): void {
    this.points = [];
    this.draw();
  }

  add(x: number, y: number): void {
    this.points.push([x, y]);
    this.draw();
  }

  draw(): void {
    const { canvas, ctx, options } = this;
    const dpr = globalThis.devicePixelRatio || 1;
    const width = Math.max(canvas.clientWidth, 200);
    const height = Math.max(canvas.clientHeight, 120);
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(canvas);
    const ink = style.getPropertyValue('--ink').trim() || '#222';
    const faint = style.getPropertyValue('--faint').trim() || '#ddd';
    const left = 46;
    const right = 10;
    const top = 24;
    const bottom = 22;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const fmt = options.format ?? ((v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2)));

    ctx.font = '600 12px system-ui, sans-serif';
    ctx.fillStyle = ink;
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(options.title, left, 15);
    const last = this.points[this.points.length - 1];
    if (last) {
      const text = fmt(last[1]);
      ctx.fillStyle = options.color;
      ctx.fillText(text, width - right - ctx.measureText(text).width, 15);
    }

    const finite = this.points.filter(([, y]) => Number.isFinite(y));
    let [y0, y1] = options.yRange ?? [Math.min(...finite.map((p) => p[1])), Math.max(...finite.map((p) => p[1]))];
    if (!Number.isFinite(y0) || !Number.isFinite(y1)) [y0, y1] = [0, 1];
    if (y1 - y0 < 1e-9) [y0, y1] = [y0 - 0.5, y1 + 0.5];
    if (!options.yRange) {
      const pad = 0.08 * (y1 - y0);
      [y0, y1] = [y0 - pad, y1 + pad];
    }
    const xMax = Math.max(1, ...this.points.map((p) => p[0]));
    const xMin = Math.min(xMax - 1, ...this.points.map((p) => p[0]));
    const px = (x: number) => left + ((x - xMin) / (xMax - xMin)) * plotW;
    const py = (y: number) => top + (1 - (y - y0) / (y1 - y0)) * plotH;

    ctx.font = '11px system-ui, sans-serif';
    ctx.strokeStyle = faint;
    ctx.lineWidth = 1;
    ctx.fillStyle = ink;
    for (let k = 0; k <= 4; k++) {
      const v = y0 + ((y1 - y0) * k) / 4;
      const y = Math.round(py(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + plotW, y);
      ctx.stroke();
      const label = fmt(v);
      ctx.fillText(label, left - 6 - ctx.measureText(label).width, y + 4);
    }
    ctx.fillText(`step ${Math.round(xMin)}`, left, height - 6);
    const endLabel = `${Math.round(xMax)}`;
    ctx.fillText(endLabel, left + plotW - ctx.measureText(endLabel).width, height - 6);

    if (finite.length === 0) {
      ctx.fillStyle = faint;
      ctx.fillText('no data yet', left + plotW / 2 - 28, top + plotH / 2);
      return;
    }
    ctx.strokeStyle = options.color;
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    finite.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(px(x), py(y)) : ctx.lineTo(px(x), py(y))));
    ctx.stroke();
    if (finite.length === 1) {
      ctx.fillStyle = options.color;
      ctx.beginPath();
      ctx.arc(px(finite[0][0]), py(finite[0][1]), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}
