// Progress on long work: a one-line bar with it/s, losses and ETA on a terminal;
// plain periodic lines when output is not a TTY (CI, logs).

export class Progress {
  private readonly tty: boolean;
  private readonly started = Date.now();
  private lastPrint = 0;
  private readonly startIter: number;

  constructor(private readonly total: number, startIter: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY) && process.env.CI === undefined;
    this.startIter = startIter;
  }

  /** Call after each iteration; prints at most every 200 ms on a TTY, every ~10% or 30 s otherwise. */
  update(iter: number, fields: Record<string, number>): void {
    const now = Date.now();
    const done = iter - this.startIter;
    const rate = done / Math.max(1e-9, (now - this.started) / 1000);
    const eta = rate > 0 ? (this.total - iter) / rate : Infinity;
    const stats = Object.entries(fields)
      .map(([k, v]) => `${k} ${Number.isFinite(v) ? v.toFixed(4) : String(v)}`)
      .join('  ');
    const text = `${iter}/${this.total}  ${rate.toFixed(2)} it/s  ETA ${formatDuration(eta)}  ${stats}`;
    if (this.tty) {
      if (now - this.lastPrint < 200 && iter < this.total) return;
      const width = 24;
      const filled = Math.round((iter / this.total) * width);
      this.out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\x1b[K`);
      if (iter >= this.total) this.out.write('\n');
    } else {
      const step = Math.max(1, Math.round(this.total / 10));
      if (iter % step !== 0 && iter < this.total && now - this.lastPrint < 30_000) return;
      this.out.write(`${text}\n`);
    }
    this.lastPrint = now;
  }

  /** Prints a message without breaking the bar. */
  log(message: string): void {
    if (this.tty) this.out.write(`\r\x1b[K${message}\n`);
    else this.out.write(`${message}\n`);
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}
