/** A progress bar on stderr for work that takes more than a moment; silent when stderr is not a terminal. */
export class Progress {
  private readonly start = Date.now();
  private lastDraw = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: { isTTY?: boolean; write(s: string): unknown } = process.stderr,
  ) {}

  update(done: number): void {
    if (!this.out.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const width = 30;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(frac * width);
    const rate = done / Math.max(0.001, (now - this.start) / 1000);
    this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ${rate.toFixed(1)}/s`);
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}

/** For work of unknown length (opening a long file builds its frame index): elapsed seconds on a terminal. Returns stop(). */
export function busy(label: string, out: { isTTY?: boolean; write(s: string): unknown } = process.stderr): () => void {
  if (!out.isTTY) return () => undefined;
  const start = Date.now();
  const timer = setInterval(() => out.write(`\r${label} ${((Date.now() - start) / 1000).toFixed(0)} s`), 250);
  return () => {
    clearInterval(timer);
    if (Date.now() - start >= 250) out.write(`\r${' '.repeat(label.length + 8)}\r`);
  };
}
