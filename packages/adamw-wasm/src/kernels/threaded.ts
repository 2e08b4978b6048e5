/**
 * The SIMD kernel on N threads over one shared memory: the main thread and N − 1 workers split
 * every call into contiguous, block-aligned slices, several per thread, claimed through a
 * control block in shared memory (threads/control.ts; no message per step): a thread the OS
 * has not scheduled costs at most the one slice it holds, the others take the rest. Results are bit-identical for any N
 * and any assignment of slices to threads: updates are elementwise, and norms are per-block
 * sums added in block order on the main thread.
 *
 * Failures: a slice that throws fails its call at once; a worker that ends (an exception
 * outside a slice, process.exit) marks itself gone in shared memory, which a waiting main
 * thread sees at once; a worker that vanishes without a trace while holding a slice is caught
 * by the no-progress watchdog. After any failure every call throws.
 */
import type { AdamScalars, GroupRegions, Job, Kernel, SgdScalars } from './kernel.js';
import { done, NORM_BLOCK } from './kernel.js';
import { HYPER_BYTES, writeAdamHyper, writeSgdHyper } from './hyper.js';
import { CONTROL_BYTES, CONTROL_WORDS, MAX_SLICES, MAX_THREADS, OP, SLOT, SPIN_POLLS, STACK_BYTES, type Constants, type SyncOps } from './threads/control.js';
import { claimOwner, runJob, runSlice, type SliceExports } from './threads/slice.js';
import { canBlockHere, loadWorkerSupport, spawnWorker, type WorkerHandle } from './threads/spawn.js';
import { WORKER_SOURCE, type WorkerInit } from './threads/worker-source.js';
import type { KernelExports } from './wasm.js';

const PAGE_BYTES = 65536;
/**
 * A job whose unfinished slices all belong to live threads, yet makes no progress for this long,
 * means a thread vanished without running its exit handler (killed outright). Generous, because
 * a thread preempted by an overloaded machine looks the same for a while.
 */
const STALL_MS = 10_000;

const align = (n: number, to: number): number => Math.ceil(n / to) * to;
/**
 * Slices are at least this long (elements): tens of microseconds of work, against well under a
 * microsecond to claim one. Calls shorter than two slices run on the calling thread alone,
 * waking no one: their work is not worth a wake-up, and a worker the OS then preempts while it
 * holds a slice would cost far more.
 */
const MIN_SLICE = 4 * NORM_BLOCK;
/** Slices per thread at most: enough that one unscheduled thread holds up little. */
const SLICES_PER_THREAD = 8;
type Exports = KernelExports & SliceExports & { __stack_pointer: WebAssembly.Global };

/** Substitutes for the protocol's primitives; production uses the defaults. */
export interface ThreadedOptions {
  /** The Atomics operations the main thread uses (default `Atomics`). */
  readonly sync?: SyncOps;
  /** The workers' program (default WORKER_SOURCE; see workerProgram). */
  readonly workerSource?: string;
  /** Polls before sleeping (default SPIN_POLLS). */
  readonly spin?: number;
  /** Shortest slice in elements, a multiple of NORM_BLOCK (default 4·NORM_BLOCK). */
  readonly minSlice?: number;
}

/** Everything that holds the memory: dropped on dispose, so it can be collected while the kernel is still referenced. */
interface Live {
  readonly memory: WebAssembly.Memory;
  readonly exports: Exports;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  view: DataView | undefined;
}

export class ThreadedKernel implements Kernel {
  readonly backend = 'wasm-simd' as const;
  readonly canBlock = canBlockHere();
  readonly firstFreeByte: number;
  readonly #constants: Constants;
  readonly #sync: SyncOps;
  readonly #workers: WorkerHandle[] = [];
  #live: Live | undefined;
  #hyperOffset = -1;
  #partials = -1;
  #gen = 0;
  /** Slices of the job in flight. */
  #slices = 1;
  readonly #minSlice: number;
  #fault: Error | undefined;

  /**
   * A kernel on the calling thread and `threads` − 1 workers, built synchronously: each worker
   * gets its memory and slot by one message, and joins the jobs once it has booted and
   * instantiated the module; until then the other threads take its slices. `whenStarted()`
   * resolves once every worker runs. In Node, `init()` must have run (it loads worker_threads).
   */
  static attach(module: WebAssembly.Module, threads: number, options: ThreadedOptions = {}): ThreadedKernel {
    if (!(Number.isInteger(threads) && threads >= 2 && threads <= MAX_THREADS)) {
      throw new RangeError(`adamw-wasm: a threaded kernel needs 2 to ${MAX_THREADS} threads (got ${threads})`);
    }
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const exports = instance.exports as unknown as Exports;
    // Low memory: static data and the main stack, then the control block and worker stacks.
    const control = align(Number(exports.__heap_base.value), 64);
    const stacks = align(control + CONTROL_BYTES, 64);
    const end = stacks + (threads - 1) * STACK_BYTES;
    const have = memory.buffer.byteLength / PAGE_BYTES;
    if (Math.ceil(end / PAGE_BYTES) > have) memory.grow(Math.ceil(end / PAGE_BYTES) - have);
    const constants: Constants = { slot: SLOT, op: OP, normBlock: NORM_BLOCK, spin: options.spin ?? SPIN_POLLS, words: CONTROL_WORDS };
    const i32 = new Int32Array(memory.buffer, control, CONTROL_WORDS);
    const live: Live = { memory, exports, i32, u32: new Uint32Array(memory.buffer, control, CONTROL_WORDS), view: undefined };
    const minSlice = options.minSlice ?? MIN_SLICE;
    if (!(Number.isInteger(minSlice / NORM_BLOCK) && minSlice > 0)) throw new RangeError(`adamw-wasm: minSlice must be a positive multiple of ${NORM_BLOCK} (got ${minSlice})`);
    const kernel = new ThreadedKernel(live, threads, end, constants, options.sync ?? Atomics, minSlice);
    Atomics.store(i32, SLOT.alive, 1); // the main thread, which claims slices too
    try {
      for (let index = 1; index < threads; index++) {
        const init: WorkerInit = { module, memory, control, index, threads, stackTop: stacks + index * STACK_BYTES, constants };
        kernel.#workers.push(spawnWorker(options.workerSource ?? WORKER_SOURCE, init, (why) => kernel.#workerGone(index, why)));
      }
    } catch (error) {
      kernel.dispose();
      throw error;
    }
    return kernel;
  }

  /** `attach`, then waits until every worker runs (a worker that fails to start rejects). */
  static async create(module: WebAssembly.Module, threads: number, options: ThreadedOptions = {}): Promise<ThreadedKernel> {
    await loadWorkerSupport();
    const kernel = ThreadedKernel.attach(module, threads, options);
    try {
      await kernel.whenStarted();
    } catch (error) {
      kernel.dispose();
      throw error;
    }
    return kernel;
  }

  /** Resolves once every worker has booted and joined; rejects if one ends first. */
  async whenStarted(): Promise<void> {
    for (;;) {
      const live = this.#usable();
      let starting = false;
      for (let k = 1; k < this.threads; k++) {
        const state = this.#sync.load(live.i32, SLOT.alive + k);
        if (state === -1 || this.fault) throw this.fault ?? new Error(`adamw-wasm: worker ${k} has stopped`);
        if (state === 0) starting = true;
      }
      if (!starting) return;
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }

  private constructor(live: Live, readonly threads: number, firstFreeByte: number, constants: Constants, sync: SyncOps, minSlice: number) {
    this.#live = live;
    this.#minSlice = minSlice;
    this.#constants = constants;
    this.#sync = sync;
    this.firstFreeByte = firstFreeByte;
  }

  reserve(endByte: number): ArrayBufferLike {
    const live = this.#usable();
    // After the arrays: per-block partial sums (enough for the longest possible group), then
    // the hyperparameter block.
    this.#partials = align(endByte, 8);
    const maxBlocks = Math.ceil(endByte / 4 / NORM_BLOCK) + 1;
    this.#hyperOffset = align(this.#partials + 8 * maxBlocks, 8);
    const needed = Math.ceil((this.#hyperOffset + HYPER_BYTES) / PAGE_BYTES);
    const have = live.memory.buffer.byteLength / PAGE_BYTES;
    if (needed > have) {
      try {
        live.memory.grow(needed - have);
      } catch (cause) {
        throw new RangeError(`adamw-wasm: could not grow shared WebAssembly memory to ${needed * PAGE_BYTES} bytes (${String(cause)})`);
      }
    }
    live.view = new DataView(live.memory.buffer);
    return live.memory.buffer;
  }

  /** Why this kernel can no longer run: a failure seen earlier, or a worker that has stopped since. */
  get fault(): Error | undefined {
    const live = this.#live;
    if (this.#fault === undefined && live !== undefined) {
      for (let k = 1; k < this.threads; k++) {
        if (this.#sync.load(live.i32, SLOT.alive + k) === -1) this.#fault = new Error(`adamw-wasm: worker ${k} has stopped`);
      }
    }
    return this.#fault;
  }

  #failWith(message: string): never {
    this.#fault ??= new Error(`adamw-wasm: ${message}`);
    throw this.#fault;
  }

  /** A worker's exit seen on the event loop: mark it gone (it may not have managed to) and wake a waiter. */
  #workerGone(index: number, why: string): void {
    const live = this.#live;
    if (live === undefined) return;
    this.#sync.store(live.i32, SLOT.alive + index, -1);
    this.#sync.notify(live.i32, SLOT.done);
    this.#fault ??= new Error(`adamw-wasm: ${why}`);
  }

  #usable(): Live {
    // Only failures already seen: a worker that stopped between jobs holds no slice, so the job
    // can still finish without it; the optimizer asks `fault` where refusing costs nothing.
    if (this.#fault) throw this.#fault;
    if (this.#live === undefined) throw new Error('adamw-wasm: kernel used after dispose()');
    return this.#live;
  }

  /** Writes a job, wakes the workers, and joins in: the main thread claims slices like any other. */
  #start(op: number, fields: Partial<Record<keyof typeof SLOT, number>>, length: number): Live {
    const live = this.#usable();
    const { i32, u32 } = live;
    const sync = this.#sync;
    for (const [name, value] of Object.entries(fields)) u32[SLOT[name as keyof typeof SLOT]] = value;
    u32[SLOT.op] = op;
    u32[SLOT.length] = length;
    const wanted = Math.min(MAX_SLICES, this.threads * SLICES_PER_THREAD, Math.ceil(length / this.#minSlice));
    const chunk = Math.max(NORM_BLOCK, align(Math.ceil(length / Math.max(1, wanted)), NORM_BLOCK));
    const slices = Math.max(1, Math.ceil(length / chunk));
    u32[SLOT.chunk] = chunk;
    this.#slices = slices;
    sync.store(i32, SLOT.slices, slices);
    sync.store(i32, SLOT.error, 0);
    sync.store(i32, SLOT.done, 0);
    // Open every slice for the new generation before announcing it; only this thread writes gen.
    const gen = (sync.load(i32, SLOT.gen) + 1) | 0;
    for (let slice = 0; slice < slices; slice++) sync.store(i32, SLOT.claim + slice, gen << 7);
    this.#gen = (sync.add(i32, SLOT.gen, 1) + 1) | 0;
    sync.notify(i32, SLOT.gen);
    runJob(sync, i32, this.#gen, 0, this.threads, this.#constants, (slice) => runSlice(live.exports, u32, slice, this.#constants));
    return live;
  }

  /** Undefined while the job can still finish; otherwise why it cannot. */
  #blocked(i32: Int32Array, sinceProgress: number): string | undefined {
    const sync = this.#sync;
    const running: string[] = [];
    for (let slice = 0; slice < this.#slices; slice++) {
      if (sync.load(i32, SLOT.finished + slice) === this.#gen) continue;
      // Every slice is claimed by now (the main thread claimed whatever was left), and the claim
      // word names the thread running it.
      const owner = claimOwner(sync.load(i32, SLOT.claim + slice));
      if (sync.load(i32, SLOT.alive + owner) === -1) return `worker ${owner} stopped while running slice ${slice} of a step`;
      running.push(`slice ${slice} on thread ${owner} (woke for job ${sync.load(i32, SLOT.woke + owner)})`);
    }
    if (Date.now() - sinceProgress <= STALL_MS) return undefined;
    return `job ${this.#gen} made no progress for ${STALL_MS / 1000} s (unfinished: ${running.join(', ')})`;
  }

  /** The check between waits, sync or async: throws once the job cannot finish. */
  #checkWaiting(i32: Int32Array, sinceProgress: number): void {
    if (this.#fault) throw this.#fault;
    const why = this.#blocked(i32, sinceProgress);
    if (why !== undefined) this.#failWith(why);
  }

  #finish({ i32 }: Live): void {
    const failed = this.#sync.load(i32, SLOT.error);
    if (failed !== 0) this.#failWith(`slice ${failed - 1} of a step failed (on thread ${claimOwner(this.#sync.load(i32, SLOT.claim + failed - 1))})`);
  }

  #waitSync(live: Live): void {
    const sync = this.#sync;
    const { i32 } = live;
    for (let k = 0; k < this.#constants.spin && sync.load(i32, SLOT.done) !== this.#slices; k++);
    let progress = Date.now();
    for (let seen = -1, done = sync.load(i32, SLOT.done); done !== this.#slices; done = sync.load(i32, SLOT.done)) {
      if (done !== seen) [seen, progress] = [done, Date.now()];
      this.#checkWaiting(i32, progress);
      sync.wait(i32, SLOT.done, done, 50);
    }
    this.#finish(live);
  }

  async #waitAsync(live: Live): Promise<void> {
    const { i32 } = live;
    // Node does not count a pending Atomics.waitAsync (or the unref'd workers) as work, so a
    // script awaiting stepAsync() would exit mid-step; a timer keeps the event loop alive.
    const keepAlive = setInterval(() => {}, 1 << 30);
    try {
      const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: unknown } }).waitAsync;
      let progress = Date.now();
      for (let seen = -1, done = this.#sync.load(i32, SLOT.done); done !== this.#slices; done = this.#sync.load(i32, SLOT.done)) {
        if (done !== seen) [seen, progress] = [done, Date.now()];
        this.#checkWaiting(i32, progress);
        const result = waitAsync?.(i32, SLOT.done, done, 50);
        if (result?.async) await result.value;
        else if (!result) await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      clearInterval(keepAlive);
    }
    this.#finish(live);
  }

  /** The job just started on `live`; `result` reads its outcome once every slice is done. */
  #job<T>(live: Live, result: (live: Live) => T): Job<T> {
    return {
      wait: () => {
        if (!this.canBlock) throw new Error('adamw-wasm: this thread cannot block (a browser main thread): wait for threaded jobs with waitAsync()');
        this.#waitSync(live);
        return result(live);
      },
      waitAsync: async () => {
        await this.#waitAsync(live);
        return result(live);
      },
    };
  }

  /**
   * Whether a call of `length` elements runs on the calling thread alone, waking no one: shorter
   * than two slices, its work is not worth a wake-up, and a worker the OS preempted while it held
   * a slice would cost far more. The same loops on the same memory: the same bits.
   */
  #alone(length: number): Exports | undefined {
    return length < 2 * this.#minSlice ? this.#usable().exports : undefined;
  }

  adam(r: GroupRegions, s: AdamScalars): Job<void> {
    writeAdamHyper(this.#usable().view!, this.#hyperOffset, s);
    const { expAvg = 0, expAvgSq = 0, maxExpAvgSq = 0 } = r.state;
    const alone = this.#alone(r.length);
    if (alone) return done(alone.adam_step(this.#hyperOffset, r.params, r.grads, expAvg, expAvgSq, maxExpAvgSq, r.length));
    const fields = { hyper: this.#hyperOffset, params: r.params, grads: r.grads, stateA: expAvg, stateB: expAvgSq, stateC: maxExpAvgSq };
    return this.#job(this.#start(OP.adam, fields, r.length), () => undefined);
  }

  sgd(r: GroupRegions, s: SgdScalars): Job<void> {
    writeSgdHyper(this.#usable().view!, this.#hyperOffset, s);
    const buffer = r.state.momentumBuffer ?? 0;
    const alone = this.#alone(r.length);
    if (alone) return done(alone.sgd_step(this.#hyperOffset, r.params, r.grads, buffer, r.length));
    const fields = { hyper: this.#hyperOffset, params: r.params, grads: r.grads, stateA: buffer };
    return this.#job(this.#start(OP.sgd, fields, r.length), () => undefined);
  }

  /** The per-block sums left at `partials`, added in block order: the same total for any number of threads. */
  #blockTotal(memory: WebAssembly.Memory, length: number): number {
    let total = 0;
    for (const b of new Float64Array(memory.buffer, this.#partials, Math.ceil(length / NORM_BLOCK))) total += b;
    return total;
  }

  sumSquares(byteOffset: number, length: number): Job<number> {
    const alone = this.#alone(length);
    if (alone) {
      alone.sum_squares_blocks(byteOffset, length, this.#partials);
      return done(this.#blockTotal(this.#live!.memory, length));
    }
    return this.#job(this.#start(OP.sumSquares, { grads: byteOffset, out: this.#partials }, length), ({ memory }) => this.#blockTotal(memory, length));
  }

  allFinite(byteOffset: number, length: number): Job<boolean> {
    const alone = this.#alone(length);
    if (alone) return done(alone.all_finite(byteOffset, length) === 1);
    return this.#job(this.#start(OP.allFinite, { grads: byteOffset }, length), ({ u32 }) => {
      for (let slice = 0; slice < this.#slices; slice++) if (u32[SLOT.result + slice] !== 1) return false;
      return true;
    });
  }

  dispose(): void {
    const live = this.#live;
    if (live === undefined) return;
    this.#live = undefined;
    live.u32[SLOT.op] = OP.exit;
    this.#sync.add(live.i32, SLOT.gen, 1);
    this.#sync.notify(live.i32, SLOT.gen);
    for (const worker of this.#workers) worker.terminate();
    this.#workers.length = 0;
  }
}
