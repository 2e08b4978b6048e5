/**
 * Checkpoint files: saveStateToFile, loadStateFromFile and fromStateFile resume bit-identically,
 * fail with errors that name the path, and, above all, a process killed at any moment while
 * checkpointing leaves the previous checkpoint or the new one, whole, never a torn file.
 */
import { spawn } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdamW } from 'adamw-wasm';
import { fillVaried, firstBitDifference, varied } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'adamw-checkpoint-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const arraysOf = (opt: AdamW): Float32Array[] =>
  opt.groups.flatMap((g) => [g.params, ...Object.values(g.state)].map((a) => a.slice()));

function expectSameBits(a: AdamW, b: AdamW): void {
  expect(b.stepCount).toBe(a.stepCount);
  const [x, y] = [arraysOf(a), arraysOf(b)];
  expect(y.length).toBe(x.length);
  x.forEach((array, i) => expect(firstBitDifference(array, y[i]!), `array ${i}`).toBe(-1));
}

const train = (opt: AdamW, from: number, to: number): void => {
  for (let t = from; t < to; t++) {
    opt.groups.forEach((g, k) => fillVaried(g.grads, 100 * t + k));
    opt.step();
  }
};

const make = (): Promise<AdamW> =>
  AdamW.create([{ init: varied(1000, 1) }, { init: varied(4097, 2), amsgrad: true }], { clipGradNorm: 5, weightDecay: 0.1 });

/** The rejection of `promise`, for checks on its type and message. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('round trip', () => {
  it('saveStateToFile, then fromStateFile or loadStateFromFile, resumes bit-identically; overwriting works; no temporary files remain', async () => {
    const dir = await mkdtemp(join(root, 'round-trip-'));
    const path = join(dir, 'ckpt.adamw');
    const reference = await make();
    train(reference, 0, 6);

    const saved = await make();
    train(saved, 0, 1);
    await saved.saveStateToFile(path);
    train(saved, 1, 3);
    await saved.saveStateToFile(path); // over the step-1 checkpoint
    expect(await readdir(dir)).toEqual(['ckpt.adamw']);

    // Both resume from step 3, so the file holds the second save.
    const restored = await AdamW.fromStateFile(path);
    const loaded = await make();
    await loaded.loadStateFromFile(pathToFileURL(path));
    for (const resumed of [saved, restored, loaded]) {
      train(resumed, 3, 6);
      expectSameBits(reference, resumed);
    }

    // Options pass through: a state saved without params leaves the loader's own.
    await saved.saveStateToFile(path, { includeParams: false });
    const keepsParams = await make();
    await keepsParams.loadStateFromFile(path);
    expect(firstBitDifference(keepsParams.groups[0]!.params, varied(1000, 1))).toBe(-1);
    expect(firstBitDifference(keepsParams.groups[0]!.state.expAvg, saved.groups[0]!.state.expAvg)).toBe(-1);
    expect(await readdir(dir)).toEqual(['ckpt.adamw']);
    [reference, saved, restored, loaded, keepsParams].forEach((opt) => opt.dispose());
  });
});

describe('errors', () => {
  it('a path that is not a non-empty string or a file: URL is a TypeError naming path', async () => {
    const opt = await make();
    for (const bad of ['', 42, undefined, null, {}, new URL('https://example.com/ckpt.adamw')]) {
      for (const [name, call] of [
        ['saveStateToFile', () => opt.saveStateToFile(bad as never)],
        ['loadStateFromFile', () => opt.loadStateFromFile(bad as never)],
        ['fromStateFile', () => AdamW.fromStateFile(bad as never)],
      ] as const) {
        const error = await rejectionOf(call());
        expect(error, `${name}(${String(bad)})`).toBeInstanceOf(TypeError);
        expect(error.message).toMatch(new RegExp(`^AdamW\\.${name}: path must be a non-empty string or a file: URL \\(got `));
      }
    }
    opt.dispose();
  });

  it('writing into a missing directory, or over a directory, names the path and leaves no stray files', async () => {
    const dir = await mkdtemp(join(root, 'write-errors-'));
    const opt = await make();
    const missing = join(dir, 'no-such-dir', 'ckpt.adamw');
    const error = await rejectionOf(opt.saveStateToFile(missing));
    expect(error.message).toMatch(/^AdamW\.saveStateToFile: cannot write /);
    expect(error.message).toContain(`${missing} (ENOENT`);
    expect((error.cause as { code?: string }).code).toBe('ENOENT');

    // Here the temporary file is written, then the rename fails: it must be removed.
    const taken = join(dir, 'taken');
    await mkdir(taken);
    const overDirectory = await rejectionOf(opt.saveStateToFile(taken));
    expect(overDirectory.message).toMatch(/^AdamW\.saveStateToFile: cannot write /);
    expect(overDirectory.message).toContain(taken);
    expect(await readdir(dir)).toEqual(['taken']);
    expect(await readdir(taken)).toEqual([]);
    opt.dispose();
  });

  it('reading a missing file names it; a file that is not a state gets the decoder error, and the optimizer is untouched', async () => {
    const dir = await mkdtemp(join(root, 'read-errors-'));
    const opt = await make();
    train(opt, 0, 2);
    const before = arraysOf(opt);
    const missing = join(dir, 'missing.adamw');
    for (const [name, call] of [
      ['loadStateFromFile', () => opt.loadStateFromFile(missing)],
      ['fromStateFile', () => AdamW.fromStateFile(missing)],
    ] as const) {
      const error = await rejectionOf(call());
      expect(error.message).toBe(`AdamW.${name}: cannot read ${missing} (ENOENT: no such file or directory, open '${missing}')`);
      expect((error.cause as { code?: string }).code).toBe('ENOENT');
    }
    const junk = join(dir, 'junk.adamw');
    await writeFile(junk, 'not a checkpoint');
    // The method called, and the file, prefix the decoder's message.
    await expect(opt.loadStateFromFile(junk)).rejects.toThrow(`AdamW.loadStateFromFile: ${junk}: not an adamw-wasm state`);
    await expect(AdamW.fromStateFile(junk)).rejects.toThrow(`AdamW.fromStateFile: ${junk}: not an adamw-wasm state`);
    expect(opt.stepCount).toBe(2);
    arraysOf(opt).forEach((a, i) => expect(firstBitDifference(a, before[i]!), `array ${i}`).toBe(-1));
    opt.dispose();
  });
});

describe('crash safety', () => {
  // 2M parameters: params, expAvg and expAvgSq make a 24 MB checkpoint, long enough to write
  // that random kills land inside the write. One thread: no workers to start in each child.
  const SIZE = 2_000_000;
  const CHILD = `const { AdamW } = await import(${JSON.stringify(fileURLToPath(import.meta.resolve('adamw-wasm')))});
const [path, first] = [process.argv[1], Number(process.argv[2])];
const opt = await AdamW.create([{ size: ${SIZE} }], { threads: 1 });
let last = performance.now();
for (let k = first; ; k++) {
  opt.groups[0].params.fill(k);
  await opt.saveStateToFile(path);
  const now = performance.now();
  console.log('saved', k, Math.round(now - last));
  last = now;
}`;

  const savedLines = (stdout: string): string[] => stdout.split('\n').filter((line) => line.startsWith('saved '));

  /**
   * Starts a child checkpointing values first, first + 1, … to `path`; once it has saved twice
   * (the second save's time sizes the random delays; the first one warms up), kills it at a
   * random moment: 'any moment' of a save, or 'mid-write', a little after the next save
   * starts writing bytes. Resolves with the last value the child reported saved.
   */
  function checkpointAndKill(
    path: string,
    first: number,
    aim: 'any moment' | 'mid-write',
  ): Promise<{ lastSaved: number; delayMs: number; periodMs: number }> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, path, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let periodMs: number | undefined;
    let delayMs: number | undefined;
    let watcher: FSWatcher | undefined;
    const killAfter = (ms: number): void => {
      delayMs = ms;
      setTimeout(() => child.kill('SIGKILL'), ms);
    };
    return new Promise((resolve, reject) => {
      const giveUp = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
        const saved = savedLines(stdout);
        if (periodMs !== undefined || saved.length < 2) return;
        const period = Math.max(1, Number(saved[1]!.split(' ')[2]));
        periodMs = period;
        if (aim === 'any moment') killAfter(Math.random() * period);
        else {
          // The first bytes written in the directory after the second save start the next one.
          watcher = watch(dirname(path), (event) => {
            if (delayMs === undefined && event === 'change') killAfter(Math.random() * 0.2 * period);
          });
        }
      });
      child.on('error', reject);
      // 'close': stdout is drained, so no report of a completed save is missed.
      child.on('close', (code, signal) => {
        clearTimeout(giveUp);
        watcher?.close();
        const saved = savedLines(stdout);
        if (periodMs === undefined || delayMs === undefined || signal !== 'SIGKILL') {
          reject(new Error(`the child ended (code ${code}, signal ${signal}, kill delay ${delayMs}) after ${saved.length} saves:\n${stderr}`));
        } else {
          resolve({ lastSaved: Number(saved.at(-1)!.split(' ')[1]), delayMs, periodMs });
        }
      });
    });
  }

  it('a process killed at random moments while checkpointing always leaves a whole checkpoint, the last one or the next', async () => {
    const dir = await mkdtemp(join(root, 'crash-'));
    const path = join(dir, 'ckpt.adamw');
    const started = performance.now();
    // A kill while the file is written leaves a temporary file behind: that proves it landed
    // mid-write. Kill 12 times, half of them aimed at the write, and on (up to 20 kills or
    // 25 s) until one has landed there.
    let kills = 0;
    let midWrite = 0;
    let partial = 0;
    while (kills < 20 && performance.now() - started < 25_000 && (kills < 12 || midWrite === 0)) {
      kills++;
      const aim = kills % 2 === 1 ? 'any moment' : 'mid-write';
      const first = 1000 * kills; // distinct values per child: a stale checkpoint cannot pass for a fresh one
      const { lastSaved, delayMs, periodMs } = await checkpointAndKill(path, first, aim);

      // Temporary files left by the kill are expected: a crash cannot clean up after itself.
      const names = await readdir(dir);
      const temps = names.filter((name) => name.endsWith('.tmp'));
      expect(names.filter((name) => !name.endsWith('.tmp'))).toEqual(['ckpt.adamw']);
      for (const temp of temps) {
        if ((await stat(join(dir, temp))).size < (await stat(path)).size) partial++;
        await rm(join(dir, temp));
      }
      if (temps.length > 0) midWrite++;

      const what = `kill ${kills}, ${aim}, ${delayMs.toFixed(0)} ms ${aim === 'mid-write' ? 'after the writing started' : 'into a save'} of ~${periodMs} ms, ${temps.length ? '' : 'not '}mid-write, last reported save ${lastSaved}`;
      const restored = await AdamW.fromStateFile(path, { threads: 1 });
      const params = restored.groups[0]!.params;
      const value = params[0]!;
      expect(params.every((x) => x === value), `${what}: one value throughout`).toBe(true);
      expect(value, what).toBeGreaterThanOrEqual(lastSaved);
      expect(value, what).toBeLessThanOrEqual(lastSaved + 1);
      restored.dispose();
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`crash safety: ${kills} kills in ${seconds} s, ${midWrite} mid-write (${partial} with a partly written temporary file)`);
    expect(kills).toBeGreaterThanOrEqual(12);
    expect(midWrite, 'no kill landed while a checkpoint was being written').toBeGreaterThan(0);
  }, 60_000);
});
