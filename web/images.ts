// Drawing images on canvases: uint8 or [0, 1] float NHWC pixels, scaled up without smoothing.
export function imageCanvas(width: number, height: number, scale: number, title?: string): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.className = 'pixels';
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  if (title) canvas.title = title;
  return canvas;
}

/** Draws pixel values (uint8, or floats in [0, 1] when `float`) of one H×W×3 image. */
export function drawPixels(canvas: HTMLCanvasElement, pixels: ArrayLike<number>, float: boolean): void {
  const { width, height } = canvas;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[p * 3 + c];
      img.data[p * 4 + c] = float ? Math.round(Math.min(1, Math.max(0, v)) * 255) : v;
    }
    img.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export function u8ToFloat(pixels: Uint8Array): Float32Array {
  return Float32Array.from(pixels, (v) => v / 255);
}

/** Softmax of one row of logits. */
export function softmax(logits: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(logits));
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** A small element builder: h('div', {class: 'x'}, child, 'text'). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}
