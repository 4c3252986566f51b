/**
 * @module cli/progress
 * Progress reports of long CLI work (reading files, adding, training, searching) on stderr.
 *
 * On a terminal: one bar redrawn in place (at most every 100 ms), replaced by a summary line when the
 * work ends. Elsewhere (a pipe, a log file, CI): a few plain lines, at 25, 50 and 75 %, then the
 * summary. `quiet` prints nothing.
 */

/** Where progress goes: stderr, or a stand-in in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  quiet?: boolean;
  stream?: ProgressStream;
}

/** One task's progress. */
export interface Progress {
  /** `done` of `total` units are done. */
  update(done: number, total: number): void;
  /** The task is over: prints the summary line (`note` appended). */
  finish(note?: string): void;
}

/** A factory of progress reports that share options (what the commands receive). */
export interface ProgressReporter {
  start(label: string, unit?: string): Progress;
  /** A plain message line (unless quiet). */
  log(message: string): void;
}

const REDRAW_MS = 100;
const MARKS = [0.25, 0.5, 0.75];

export function createReporter(opts: ProgressOptions = {}): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  const quiet = opts.quiet === true;
  return {
    start: (label, unit = '') => (quiet ? silent : stream.isTTY === true ? new TtyProgress(stream, label, unit) : new PlainProgress(stream, label, unit)),
    log: (message) => {
      if (!quiet) stream.write(message + '\n');
    },
  };
}

const silent: Progress = { update() {}, finish() {} };

abstract class BaseProgress implements Progress {
  protected readonly t0 = performance.now();
  protected done = 0;
  protected total = 0;

  constructor(
    protected readonly stream: ProgressStream,
    protected readonly label: string,
    protected readonly unit: string,
  ) {}

  abstract update(done: number, total: number): void;

  finish(note?: string): void {
    this.clear();
    const count = this.total > 0 ? ` ${formatCount(this.total)}${this.unit ? ' ' + this.unit : ''}` : '';
    this.stream.write(`${this.label}${count ? ':' + count : ''} in ${formatSeconds(this.elapsed())}${note ? ` (${note})` : ''}\n`);
  }

  protected clear(): void {}

  protected elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

class TtyProgress extends BaseProgress {
  private last = 0;
  private drawn = false;

  update(done: number, total: number): void {
    this.done = done;
    this.total = total;
    const t = performance.now();
    if (t - this.last < REDRAW_MS && done < total) return;
    this.last = t;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - this.label.length - 40));
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    const elapsed = this.elapsed();
    const eta = frac > 0 && frac < 1 ? `, ${formatSeconds((elapsed * (1 - frac)) / frac)} left` : '';
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    this.stream.write(`\r\x1b[K${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${formatCount(done)}/${formatCount(total)}${eta}`);
    this.drawn = true;
  }

  protected override clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}

class PlainProgress extends BaseProgress {
  private nextMark = 0;

  update(done: number, total: number): void {
    this.done = done;
    this.total = total;
    if (total <= 0) return;
    while (this.nextMark < MARKS.length && done / total >= MARKS[this.nextMark]! && done < total) {
      this.stream.write(`${this.label}: ${Math.round(MARKS[this.nextMark]! * 100)}% (${formatCount(done)}/${formatCount(total)})\n`);
      this.nextMark++;
    }
  }
}

/** 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds, with a precision that suits the magnitude: "0.012 s", "3.4 s", "2 min 05 s". */
export function formatSeconds(s: number): string {
  if (s < 1) return `${s.toFixed(3)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
}
