// Progress on stderr: the ETA arithmetic, and what a log (not a terminal) gets.
import { describe, expect, it } from 'vitest';
import { formatDuration, LINE_INTERVAL_MS, Progress, progressMode, remainingMs } from '../src/progress.js';

/** A non-TTY stream that keeps what is written. */
function sink(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

describe('progress', () => {
  it('estimates the time left from the pace so far, or from the expected cost of a unit', () => {
    expect(remainingMs(10_000, 25, 100)).toBe(30_000);
    expect(remainingMs(0, 0, 80_000, 1)).toBe(80_000);
    expect(remainingMs(0, 0, 12)).toBeUndefined();
    expect(remainingMs(5_000, 12, 12)).toBe(0);
    expect(formatDuration(8_400)).toBe('8 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
    expect(formatDuration(undefined)).toBe('?');
  });

  it('picks a bar on a terminal, lines otherwise, nothing with --quiet', () => {
    expect(progressMode(false, { isTTY: true } as NodeJS.WriteStream)).toBe('bar');
    expect(progressMode(false, { isTTY: false } as NodeJS.WriteStream)).toBe('lines');
    expect(progressMode(true, { isTTY: true } as NodeJS.WriteStream)).toBe('off');
  });

  it('writes plain lines to a log: the stage with its ETA, one line per row, and the pace every so often', () => {
    const { stream, text } = sink();
    let now = 0;
    const progress = new Progress('lines', stream, () => now);
    progress.stage('size 16M (7/7): timing', 80_000, { unitsAreMs: true });
    progress.detail('wasm-simd: settled after 2 rounds');
    now = 1_000;
    progress.advance(1_000, 'repetition 1/9: wasm-simd'); // too soon for a line
    now = LINE_INTERVAL_MS + 1;
    progress.advance(20_000, 'repetition 3/9: torch foreach');
    progress.end();
    expect(text()).toBe(
      'adamw-bench: size 16M (7/7): timing, about 1 min 20 s\n' +
        'adamw-bench:   wasm-simd: settled after 2 rounds\n' +
        'adamw-bench: size 16M (7/7): timing: 25%, about 30 s left (repetition 3/9: torch foreach)\n',
    );
  });

  it('writes nothing when off', () => {
    const { stream, text } = sink();
    const progress = new Progress('off', stream);
    progress.stage('x', 1);
    progress.advance(1, 'y');
    progress.detail('z');
    progress.log('w');
    expect(text()).toBe('');
  });
});
