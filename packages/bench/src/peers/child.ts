import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A child process that speaks JSON lines: it prints one object when ready, then answers every
 * line we send with one object. Used for torch (Python) and the native bench (Rust), so they
 * are interleaved with the in-process rows like any other.
 */
export class LineProcess {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: Array<{ resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }> = [];
  readonly #queued: Record<string, unknown>[] = [];
  #stderr = '';
  #exited: Error | undefined;

  constructor(readonly name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.#child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return this.#fail(new Error(`${this.name}: unexpected output ${JSON.stringify(line.slice(0, 200))}`));
      }
      const waiter = this.#waiting.shift();
      if (waiter) waiter.resolve(value);
      else this.#queued.push(value);
    });
    this.#child.on('error', (error) => this.#fail(new Error(`${this.name}: ${error.message}`)));
    this.#child.on('exit', (code, signal) => {
      const tail = this.#stderr.trim().split('\n').slice(-3).join(' | ');
      this.#fail(new Error(`${this.name} exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`));
    });
    this.#child.stdin.on('error', () => {}); // reported through 'exit'
  }

  #fail(error: Error): void {
    this.#exited ??= error;
    for (const w of this.#waiting.splice(0)) w.reject(error);
  }

  /** The next object the child prints. */
  next(): Promise<Record<string, unknown>> {
    const queued = this.#queued.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Sends one line and returns the child's answer. */
  request(line: string): Promise<Record<string, unknown>> {
    if (this.#exited) return Promise.reject(this.#exited);
    this.#child.stdin.write(`${line}\n`);
    return this.next();
  }

  /** Closes stdin and waits for the child to exit (killing it after a grace period). */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** A Runner body for a child that answers a step count with {"ms": total}. */
export async function runSteps(child: LineProcess, steps: number): Promise<number> {
  const reply = await child.request(String(steps));
  const ms = reply['ms'];
  if (typeof ms !== 'number') throw new Error(`${child.name}: expected {"ms": number}, got ${JSON.stringify(reply)}`);
  return ms;
}
