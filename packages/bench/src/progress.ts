/**
 * Progress on stderr, never stdout. On a terminal: one bar redrawn in place; otherwise (CI
 * logs, pipes) a plain line per message and no bar.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #enabled: boolean;
  #shown = false;

  constructor(enabled: boolean, stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = enabled;
    this.#tty = enabled && stream.isTTY === true;
  }

  /** Redraws the bar: `fraction` of the whole run done, `label` says what runs now. */
  update(fraction: number, label: string): void {
    if (!this.#tty) return;
    const width = 28;
    const f = Math.min(1, Math.max(0, fraction));
    const filled = Math.round(f * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%`;
    const columns = this.#stream.columns ?? 100;
    const line = `${bar} ${label}`.slice(0, Math.max(10, columns - 1));
    this.#stream.write(`\r\x1b[K${line}`);
    this.#shown = true;
  }

  /** A message on a line of its own (above the bar on a terminal). */
  log(message: string): void {
    if (!this.#enabled) return;
    this.clear();
    this.#stream.write(`${message}\n`);
  }

  clear(): void {
    if (this.#shown) this.#stream.write('\r\x1b[K');
    this.#shown = false;
  }
}
