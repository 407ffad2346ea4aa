// Terminal progress bars: redrawn in place on a TTY (at most 10 times a second), one line per
// 10% otherwise so logs stay readable.
export class ProgressBar {
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly tty: boolean;

  /** `formatCount` writes done/total (e.g. as bytes). */
  constructor(private label: string, private stream: NodeJS.WriteStream = process.stderr, private formatCount: (n: number) => string = String) {
    this.tty = !!stream.isTTY;
  }

  update(done: number, total: number, fields: Record<string, string> = {}, label = this.label): void {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const extras = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join('  ');
    if (this.tty) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && done < total) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(fraction * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const line = `${label} ${bar} ${this.formatCount(done)}/${this.formatCount(total)}  ${extras}`;
      this.stream.write(`\r\x1b[K${line.slice(0, (this.stream.columns ?? 160) - 1)}`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${label} ${(fraction * 100).toFixed(0)}% (${this.formatCount(done)}/${this.formatCount(total)})  ${extras}\n`);
    }
  }

  /** Ends the bar's line (TTY) so the next output starts cleanly. */
  done(): void {
    if (this.tty) this.stream.write('\n');
    this.lastDecile = -1;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
