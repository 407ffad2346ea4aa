// Figures of an attack run: accuracy vs ε as a line chart, and clean / perturbation / adversarial
// triples as an SVG of embedded PNG tiles with text labels. Platform-neutral (the PNG encoder is
// passed in; the default stores its data uncompressed).
import type { AttackExamples, RobustnessCurve } from '../attacks.js';
import { encodePng, pngDataUri } from '../io/png.js';
import { escapeXml, lineChart } from './svg.js';

export type EncodePng = (rgb: Uint8Array, width: number, height: number) => Uint8Array;

const NORM_LABEL = { linf: 'L∞', l2: 'L2' } as const;

export function attackTitle(curve: RobustnessCurve): string {
  const a = curve.attacks[0];
  return a.method === 'fgsm' ? `FGSM ${NORM_LABEL[a.norm]}` : `PGD-${a.steps} ${NORM_LABEL[a.norm]}${a.restarts > 1 ? ` × ${a.restarts} restarts` : ''}`;
}

/** Accuracy vs ε; L∞ ε is shown in units of 1/255 (the grid is usually k/255). */
export function accuracyChart(curve: RobustnessCurve, title: string): string {
  const norm = curve.attacks[0].norm;
  const unit = norm === 'linf' ? 255 : 1;
  return lineChart({
    title,
    subtitle: `${curve.samples} test images; clean ${(100 * curve.cleanAccuracy).toFixed(1)}%; AUC ${curve.auc.toPrecision(4)} (normalised ${curve.aucNormalized.toFixed(3)})`,
    xLabel: norm === 'linf' ? 'ε (L∞, units of 1/255)' : 'ε (L2, pixel units in [0, 1])',
    yLabel: 'robust accuracy',
    yRange: [0, 1],
    series: [{ name: attackTitle(curve), points: curve.points.map((p) => [p.eps * unit, p.accuracy]) }],
  });
}

const toByte = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

function tile(pixels: ArrayLike<number>, offset: number, count: number, map: (v: number, i: number) => number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = toByte(map(pixels[offset + i], offset + i));
  return out;
}

/**
 * Rows of clean image, perturbation (adversarial − clean, amplified per row so the largest |δ| maps
 * to black or white; mid-grey is 0) and adversarial image, each captioned with the predicted class.
 */
export function examplesSvg(ex: AttackExamples, title: string, encode: EncodePng = encodePng): string {
  const { height: H, width: W } = ex;
  const rows = ex.labels.length;
  const size = H * W * 3;
  const px = Math.max(96, Math.min(160, 3 * Math.max(H, W)));
  const tileH = Math.round((px * H) / Math.max(H, W));
  const tileW = Math.round((px * W) / Math.max(H, W));
  const gap = 16;
  const caption = 30;
  const left = 16;
  const top = 64;
  const colW = Math.max(tileW, 220) + gap;
  const width = left + 3 * colW;
  const height = top + rows * (tileH + caption + gap);
  const name = (k: number) => ex.classNames?.[k] ?? String(k);
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...['clean', 'perturbation (amplified, grey = 0)', 'adversarial'].map((h, c) => `<text x="${left + c * colW}" y="${top - 10}" font-weight="bold">${escapeXml(h)}</text>`),
  ];
  const image = (rgb: Uint8Array, x: number, y: number) =>
    `<image x="${x}" y="${y}" width="${tileW}" height="${tileH}" style="image-rendering:pixelated" preserveAspectRatio="none" href="${pngDataUri(encode(rgb, W, H))}"/>`;
  for (let r = 0; r < rows; r++) {
    const y = top + r * (tileH + caption + gap);
    const o = r * size;
    let maxAbs = 0;
    let sq = 0;
    for (let i = 0; i < size; i++) {
      const d = ex.adversarial[o + i] - ex.clean[o + i];
      maxAbs = Math.max(maxAbs, Math.abs(d));
      sq += d * d;
    }
    const gain = maxAbs > 0 ? 0.5 / maxAbs : 0;
    const fooled = ex.adversarialPredicted[r] !== ex.labels[r];
    svg.push(image(tile(ex.clean, o, size, (v) => v), left, y));
    svg.push(image(tile(ex.adversarial, o, size, (v, i) => 0.5 + gain * (v - ex.clean[i])), left + colW, y));
    svg.push(image(tile(ex.adversarial, o, size, (v) => v), left + 2 * colW, y));
    const ty = y + tileH + 14;
    svg.push(`<text x="${left}" y="${ty}">${escapeXml(`label ${name(ex.labels[r])} · predicted ${name(ex.cleanPredicted[r])}`)}</text>`);
    svg.push(`<text x="${left + colW}" y="${ty}">${escapeXml(`‖δ‖∞ ${maxAbs.toFixed(4)} · ‖δ‖₂ ${Math.sqrt(sq).toFixed(3)}`)}</text>`);
    svg.push(`<text x="${left + colW}" y="${ty + 14}" fill="#555">${escapeXml(gain > 0 ? `shown ×${gain.toPrecision(3)}` : 'no change')}</text>`);
    svg.push(`<text x="${left + 2 * colW}" y="${ty}" fill="${fooled ? '#d62728' : '#2ca02c'}">${escapeXml(`predicted ${name(ex.adversarialPredicted[r])}${fooled ? ' (fooled)' : ''}`)}</text>`);
  }
  return svg.join('\n') + '\n</svg>\n';
}
