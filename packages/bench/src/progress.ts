import { SingleBar } from 'cli-progress';

/**
 * Progress on stderr, never stdout (stdout is the report). `bar`: a terminal, one cli-progress
 * bar redrawn in place; `lines`: CI logs and pipes, plain lines that read well in a log file;
 * `off`: --quiet.
 */
export type ProgressMode = 'bar' | 'lines' | 'off';

export const progressMode = (quiet: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode =>
  quiet ? 'off' : stream.isTTY === true ? 'bar' : 'lines';

/** In `lines` mode a stage's progress is printed at most this often (a 16M size runs ~80 s). */
export const LINE_INTERVAL_MS = 10_000;

/**
 * Time left in a stage, from the pace so far: `done` of `total` units in `elapsedMs`. Before
 * the first unit is done, `unitMs` (what one unit is expected to take, when known) stands in
 * for the pace. Undefined when there is nothing to go by.
 */
export function remainingMs(elapsedMs: number, done: number, total: number, unitMs?: number): number | undefined {
  if (done >= total) return 0;
  if (done > 0 && elapsedMs > 0) return ((total - done) * elapsedMs) / done;
  return unitMs === undefined ? undefined : (total - done) * unitMs;
}

/** "8 s", "2 min 05 s", or "?" when unknown. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.round(ms / 1e3));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

interface Stage {
  readonly title: string;
  readonly total: number;
  /** What one unit is expected to take, for an ETA before the first unit is done. */
  readonly unitMs: number | undefined;
  readonly showEta: boolean;
  readonly startedMs: number;
  done: number;
  label: string;
}

export interface StageOptions {
  /** The units are milliseconds of estimated work (so the ETA is known from the start). */
  readonly unitsAreMs?: boolean;
  /** Show no ETA: the units differ too much in cost (preparing peers: cargo, python). */
  readonly noEta?: boolean;
}

/**
 * A run is a sequence of stages (per size: preparing the backends, warming the rows up, timing
 * them), each with a known amount of work and an ETA from its pace so far.
 */
export class Progress {
  readonly #mode: ProgressMode;
  readonly #stream: NodeJS.WriteStream;
  readonly #now: () => number;
  readonly #bar: SingleBar | undefined;
  #stage: Stage | undefined;
  #barActive = false;
  #lastLineMs = -Infinity;

  constructor(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr, now: () => number = () => performance.now()) {
    this.#mode = mode;
    this.#stream = stream;
    this.#now = now;
    this.#bar =
      mode === 'bar'
        ? new SingleBar({
            stream,
            // Bar and ETA first: a narrow terminal cuts the line's end, the label.
            format: '[{bar}] {percentage}% ETA {remaining} | {title} | {label}',
            barsize: 16,
            // Cleared on every stop: a stage's bar gives way to the next one or to a log line.
            clearOnComplete: true,
            // A stage of no units (nothing to warm up) reads 0%, not 100%.
            emptyOnZero: true,
            // Leave the terminal's line wrapping alone (cli-progress then cuts the line to the
            // terminal's width instead): Ctrl-C mid-bar leaves no terminal state to restore.
            // (Its gracefulExit would restore it by catching SIGINT: Ctrl-C would then stop the
            // bar, not the run.)
            linewrap: true,
          })
        : undefined;
  }

  /** Starts a stage of `total` units; replaces the current one. */
  stage(title: string, total: number, options: StageOptions = {}): void {
    this.#stopBar();
    this.#stage = { title, total: Math.max(total, 0), unitMs: options.unitsAreMs ? 1 : undefined, showEta: options.noEta !== true, startedMs: this.#now(), done: 0, label: '' };
    this.#lastLineMs = this.#now();
    if (this.#mode === 'lines') {
      const eta = this.#eta();
      this.#line(`${title}${eta === undefined ? '' : `, about ${formatDuration(eta)}`}`);
    }
    if (this.#bar) this.#startBar();
  }

  /** `done` units of the current stage are done; `label` says what runs now. */
  advance(done: number, label: string): void {
    const stage = this.#stage;
    if (!stage) return;
    stage.done = Math.min(done, stage.total);
    stage.label = label;
    if (this.#bar && this.#barActive) {
      this.#bar.update(stage.done, this.#payload());
      // Redraw now: the next thing may be a synchronous repetition that blocks the event loop
      // (and with it cli-progress's redraw timer).
      this.#bar.render();
    } else if (this.#mode === 'lines' && this.#now() - this.#lastLineMs >= LINE_INTERVAL_MS) {
      this.#lastLineMs = this.#now();
      const percent = stage.total > 0 ? Math.floor((100 * stage.done) / stage.total) : 0;
      const eta = this.#eta();
      this.#line(`${stage.title}: ${percent}%${eta === undefined ? '' : `, about ${formatDuration(eta)} left`} (${label})`);
    }
  }

  /** A line about one row; only in `lines` mode, where it is all a log shows of the row. */
  detail(message: string): void {
    if (this.#mode === 'lines') this.#line(`  ${message}`);
  }

  /** A message on a line of its own (above the bar on a terminal). */
  log(message: string): void {
    if (this.#mode === 'off') return;
    if (!this.#bar) return void this.#stream.write(`${message}\n`);
    const wasActive = this.#barActive;
    this.#stopBar();
    this.#stream.write(`${message}\n`);
    if (wasActive) this.#startBar();
  }

  /** Ends the current stage (and removes the bar). */
  end(): void {
    this.#stopBar();
    this.#stage = undefined;
  }

  #eta(): number | undefined {
    const stage = this.#stage;
    if (!stage?.showEta) return undefined;
    return remainingMs(this.#now() - stage.startedMs, stage.done, stage.total, stage.unitMs);
  }

  #payload(): Record<string, string> {
    const stage = this.#stage;
    return { title: stage?.title ?? '', label: stage?.label ?? '', remaining: stage?.showEta ? formatDuration(this.#eta()) : '—' };
  }

  #line(message: string): void {
    this.#stream.write(`adamw-bench: ${message}\n`);
  }

  #startBar(): void {
    if (!this.#bar || !this.#stage) return;
    this.#bar.start(this.#stage.total, this.#stage.done, this.#payload());
    this.#barActive = true;
  }

  #stopBar(): void {
    if (!this.#bar || !this.#barActive) return;
    this.#bar.stop();
    this.#barActive = false;
  }
}
