/** Spreads runs over worker processes (one per core by default), one run per worker at a time. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunResult, RunSpec } from './types.js';
import type { DataConfig } from './worker.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

type Reply = { ready: true } | { result: RunResult } | { error: string };

function next(child: ChildProcess): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: Reply) => {
      child.off('exit', onExit);
      resolve(reply);
    };
    const onExit = (code: number | null, signal: string | null) => {
      child.off('message', onMessage);
      reject(new Error(`paper-repro: a worker exited (code ${code}, signal ${signal})`));
    };
    child.once('message', onMessage);
    child.once('exit', onExit);
  });
}

async function request(child: ChildProcess, message: unknown): Promise<Reply> {
  const reply = next(child);
  child.send(message as never);
  const answer = await reply;
  if ('error' in answer) throw new Error(`paper-repro worker: ${answer.error}`);
  return answer;
}

export class Pool {
  readonly #children: ChildProcess[];
  readonly #ready: Promise<unknown>;

  constructor(workers: number, data: DataConfig) {
    // Silence tfjs's "install tfjs-node" banner in the workers' output; keep their errors.
    this.#children = Array.from({ length: workers }, () => fork(WORKER, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
    this.#ready = Promise.all(this.#children.map((child) => request(child, { data })));
  }

  get size(): number {
    return this.#children.length;
  }

  /** Runs every spec, longest first, and returns results in the order given; onResult sees each as it lands. */
  async run(specs: readonly RunSpec[], onResult: (result: RunResult) => void): Promise<RunResult[]> {
    await this.#ready;
    const order = specs.map((_, i) => i).sort((a, b) => specs[b]!.epochs - specs[a]!.epochs);
    const results = new Array<RunResult>(specs.length);
    let claimed = 0;
    await Promise.all(
      this.#children.map(async (child) => {
        while (claimed < order.length) {
          const i = order[claimed++]!;
          const reply = (await request(child, { spec: specs[i] })) as { result: RunResult };
          results[i] = reply.result;
          onResult(reply.result);
        }
      }),
    );
    return results;
  }

  close(): void {
    for (const child of this.#children) child.disconnect();
  }
}
