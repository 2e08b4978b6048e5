/**
 * The SIMD kernel on N threads over one shared memory: the main thread and N − 1 workers each
 * take a contiguous, block-aligned slice of every call. Coordination is a control block in
 * shared memory and Atomics (no message per step). Results are bit-identical for any N:
 * updates are elementwise, and norms are per-block sums added in block order on the main thread.
 */
import type { AdamScalars, GroupRegions, Kernel, SgdScalars } from './kernel.js';
import { NORM_BLOCK } from './kernel.js';
import { HYPER_BYTES, writeAdamHyper, writeSgdHyper } from './hyper.js';
import { CONTROL_BYTES, MAX_THREADS, OP, SLOT, SPIN_POLLS, STACK_BYTES, type Constants } from './threads/control.js';
import { runSlice, type SliceExports } from './threads/slice.js';
import { canBlockHere, spawnWorker, type WorkerHandle } from './threads/spawn.js';
import { EXPECTED_ABI, type KernelExports } from './wasm.js';

const PAGE_BYTES = 65536;
const CONSTANTS: Constants = { slot: SLOT, op: OP, normBlock: NORM_BLOCK, spin: SPIN_POLLS };
/** A step that makes no progress for this long means a worker is gone. */
const STALL_MS = 30_000;

const align = (n: number, to: number): number => Math.ceil(n / to) * to;
type Exports = KernelExports & SliceExports & { __stack_pointer: WebAssembly.Global };

export interface ThreadedOptions {
  /** Test hook: worker 1 throws during this job generation. */
  readonly failAtGeneration?: number;
}

export class ThreadedKernel implements Kernel {
  readonly backend = 'wasm-simd' as const;
  readonly canBlock = canBlockHere();
  readonly firstFreeByte: number;
  readonly #memory: WebAssembly.Memory;
  readonly #exports: Exports;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #workers: WorkerHandle[] = [];
  #hyperOffset = -1;
  #partials = -1;
  #view: DataView | undefined;
  #broken: Error | undefined;
  #disposed = false;

  static async create(module: WebAssembly.Module, threads: number, options: ThreadedOptions = {}): Promise<ThreadedKernel> {
    if (!(Number.isInteger(threads) && threads >= 2 && threads <= MAX_THREADS)) {
      throw new RangeError(`adamw-wasm: a threaded kernel needs 2 to ${MAX_THREADS} threads (got ${threads})`);
    }
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    const exports = instance.exports as unknown as Exports;
    if (exports.abi_version() !== EXPECTED_ABI) throw new Error('adamw-wasm: threads kernel ABI mismatch; rebuild the package');
    // Low memory: static data and the main stack, then the control block and worker stacks.
    const control = align(Number(exports.__heap_base.value), 64);
    const stacks = align(control + CONTROL_BYTES, 64);
    const end = stacks + (threads - 1) * STACK_BYTES;
    const have = memory.buffer.byteLength / PAGE_BYTES;
    if (Math.ceil(end / PAGE_BYTES) > have) memory.grow(Math.ceil(end / PAGE_BYTES) - have);
    const kernel = new ThreadedKernel(memory, exports, control, threads, end);
    try {
      for (let index = 1; index < threads; index++) {
        const stackTop = stacks + index * STACK_BYTES;
        const init = { module, memory, control, index, stackTop, constants: CONSTANTS, ...(index === 1 && options.failAtGeneration !== undefined ? { failAtGeneration: options.failAtGeneration } : {}) };
        kernel.#workers.push(await spawnWorker(init, (why) => kernel.#fail(`adamw-wasm: ${why}`)));
      }
    } catch (error) {
      kernel.dispose();
      throw error;
    }
    return kernel;
  }

  private constructor(memory: WebAssembly.Memory, exports: Exports, control: number, readonly threads: number, firstFreeByte: number) {
    this.#memory = memory;
    this.#exports = exports;
    const words = CONTROL_BYTES / 4;
    this.#i32 = new Int32Array(memory.buffer, control, words);
    this.#u32 = new Uint32Array(memory.buffer, control, words);
    this.firstFreeByte = firstFreeByte;
  }

  reserve(endByte: number): ArrayBufferLike {
    // After the arrays: per-block partial sums (enough for the longest possible group), then
    // the hyperparameter block.
    this.#partials = align(endByte, 8);
    const maxBlocks = Math.ceil(endByte / 4 / NORM_BLOCK) + 1;
    this.#hyperOffset = align(this.#partials + 8 * maxBlocks, 8);
    const needed = Math.ceil((this.#hyperOffset + HYPER_BYTES) / PAGE_BYTES);
    const have = this.#memory.buffer.byteLength / PAGE_BYTES;
    if (needed > have) {
      try {
        this.#memory.grow(needed - have);
      } catch (cause) {
        throw new RangeError(`adamw-wasm: could not grow shared WebAssembly memory to ${needed * PAGE_BYTES} bytes (${String(cause)})`);
      }
    }
    const buffer = this.#memory.buffer;
    this.#view = new DataView(buffer);
    return buffer;
  }

  #fail(message: string): void {
    this.#broken ??= new Error(`${message}; the optimizer's parameters may be partly updated, so it refuses further steps: recreate it`);
  }

  /** Writes a job and wakes the workers; the main thread then runs slice 0. */
  #start(op: number, fields: Partial<Record<keyof typeof SLOT, number>>, length: number): void {
    if (this.#broken) throw this.#broken;
    if (this.#disposed || this.#view === undefined) throw new Error('adamw-wasm: kernel used before reserve() or after dispose()');
    const u32 = this.#u32;
    for (const [name, value] of Object.entries(fields)) u32[SLOT[name as keyof typeof SLOT]] = value;
    u32[SLOT.op] = op;
    u32[SLOT.length] = length;
    u32[SLOT.chunk] = align(Math.ceil(length / this.threads), NORM_BLOCK);
    Atomics.store(this.#i32, SLOT.error, 0);
    Atomics.store(this.#i32, SLOT.pending, this.threads - 1);
    Atomics.add(this.#i32, SLOT.gen, 1);
    Atomics.notify(this.#i32, SLOT.gen);
    try {
      runSlice(this.#exports, u32, 0, CONSTANTS);
    } catch (error) {
      this.#fail(`adamw-wasm: the main thread's slice failed (${String(error)})`);
    }
  }

  #finish(): void {
    const failed = Atomics.load(this.#i32, SLOT.error);
    if (failed !== 0) this.#fail(`adamw-wasm: worker ${failed - 1} failed during a step`);
    if (this.#broken) throw this.#broken;
  }

  #waitSync(): void {
    const started = Date.now();
    for (let k = 0; k < SPIN_POLLS && Atomics.load(this.#i32, SLOT.pending) !== 0; k++);
    for (let p = Atomics.load(this.#i32, SLOT.pending); p !== 0; p = Atomics.load(this.#i32, SLOT.pending)) {
      Atomics.wait(this.#i32, SLOT.pending, p, 100);
      if (Date.now() - started > STALL_MS) this.#fail(this.#stallMessage());
      if (this.#broken) break;
    }
    this.#finish();
  }

  /** Which workers never picked up the current job (asleep through the wake-up, or gone). */
  #stallMessage(): string {
    const gen = Atomics.load(this.#i32, SLOT.gen);
    const behind: string[] = [];
    for (let k = 1; k < this.threads; k++) {
      const picked = Atomics.load(this.#i32, SLOT.picked + k);
      if (picked !== gen) behind.push(`worker ${k} last picked up job ${picked}`);
    }
    const state = behind.length > 0 ? behind.join(', ') : 'every worker picked it up';
    return `adamw-wasm: job ${gen} did not finish within ${STALL_MS / 1000} s (${state}; ${Atomics.load(this.#i32, SLOT.pending)} pending)`;
  }

  async #waitAsync(): Promise<void> {
    const started = Date.now();
    // Node does not count a pending Atomics.waitAsync (or the unref'd workers) as work, so a
    // script awaiting stepAsync() would exit mid-step; a timer keeps the event loop alive.
    const keepAlive = setTimeout(() => {}, STALL_MS);
    try {
      await this.#pollPending(started);
    } finally {
      clearTimeout(keepAlive);
    }
    this.#finish();
  }

  async #pollPending(started: number): Promise<void> {
    const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: unknown } }).waitAsync;
    for (let p = Atomics.load(this.#i32, SLOT.pending); p !== 0; p = Atomics.load(this.#i32, SLOT.pending)) {
      const result = waitAsync?.(this.#i32, SLOT.pending, p, 100);
      if (result?.async) await result.value;
      else if (!result) await new Promise((r) => setTimeout(r, 0));
      if (Date.now() - started > STALL_MS) this.#fail(this.#stallMessage());
      if (this.#broken) break;
    }
  }

  #assertCanBlock(): void {
    if (!this.canBlock) {
      throw new Error('adamw-wasm: this thread cannot block (a browser main thread), so threaded steps must use stepAsync()');
    }
  }

  #adamJob(r: GroupRegions, s: AdamScalars): void {
    writeAdamHyper(this.#view!, this.#hyperOffset, s);
    const { expAvg = 0, expAvgSq = 0, maxExpAvgSq = 0 } = r.state;
    this.#start(OP.adam, { hyper: this.#hyperOffset, params: r.params, grads: r.grads, stateA: expAvg, stateB: expAvgSq, stateC: maxExpAvgSq }, r.length);
  }

  #sgdJob(r: GroupRegions, s: SgdScalars): void {
    writeSgdHyper(this.#view!, this.#hyperOffset, s);
    this.#start(OP.sgd, { hyper: this.#hyperOffset, params: r.params, grads: r.grads, stateA: r.state.momentumBuffer ?? 0 }, r.length);
  }

  #sumPartials(length: number): number {
    const blocks = new Float64Array(this.#memory.buffer, this.#partials, Math.ceil(length / NORM_BLOCK));
    let total = 0;
    for (const b of blocks) total += b;
    return total;
  }

  #allResults(): boolean {
    for (let k = 0; k < this.threads; k++) if (this.#u32[SLOT.results + k] !== 1) return false;
    return true;
  }

  adam(r: GroupRegions, s: AdamScalars): void {
    this.#assertCanBlock();
    this.#adamJob(r, s);
    this.#waitSync();
  }

  sgd(r: GroupRegions, s: SgdScalars): void {
    this.#assertCanBlock();
    this.#sgdJob(r, s);
    this.#waitSync();
  }

  sumSquares(byteOffset: number, length: number): number {
    this.#assertCanBlock();
    this.#start(OP.sumSquares, { grads: byteOffset, out: this.#partials }, length);
    this.#waitSync();
    return this.#sumPartials(length);
  }

  allFinite(byteOffset: number, length: number): boolean {
    this.#assertCanBlock();
    this.#start(OP.allFinite, { grads: byteOffset }, length);
    this.#waitSync();
    return this.#allResults();
  }

  async adamAsync(r: GroupRegions, s: AdamScalars): Promise<void> {
    this.#adamJob(r, s);
    await this.#waitAsync();
  }

  async sgdAsync(r: GroupRegions, s: SgdScalars): Promise<void> {
    this.#sgdJob(r, s);
    await this.#waitAsync();
  }

  async sumSquaresAsync(byteOffset: number, length: number): Promise<number> {
    this.#start(OP.sumSquares, { grads: byteOffset, out: this.#partials }, length);
    await this.#waitAsync();
    return this.#sumPartials(length);
  }

  async allFiniteAsync(byteOffset: number, length: number): Promise<boolean> {
    this.#start(OP.allFinite, { grads: byteOffset }, length);
    await this.#waitAsync();
    return this.#allResults();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#view = undefined;
    this.#u32[SLOT.op] = OP.exit;
    Atomics.add(this.#i32, SLOT.gen, 1);
    Atomics.notify(this.#i32, SLOT.gen);
    for (const worker of this.#workers) worker.terminate();
  }
}
