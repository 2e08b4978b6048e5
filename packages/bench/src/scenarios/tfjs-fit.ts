// `--scenario tfjs`: one model.fit epoch of a ≥ 1M-parameter MLP with tf.train.adam and with
// adamw-wasm-tfjs's adamw, on tfjs's cpu and wasm backends, and the optimizer's share of it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { machineLine, type Machine } from '../machine.js';
import { markdownTable } from '../markdown.js';
import type { Progress } from '../progress.js';
import { median } from '../stats.js';
import { alignColumns } from '../table.js';
import type { FitReply, FitRequest } from './tfjs-fit-worker.js';

export const FIT_MODEL = { layers: [784, 1024, 256, 10], samples: 512, batchSize: 64 } as const;
const BACKENDS = ['cpu', 'wasm'] as const;
const REFERENCE = 'tf.train.adam';
const NEEDS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm', 'adamw-wasm-tfjs'];

export interface FitRow {
  readonly backend: string;
  readonly optimizer: string;
  readonly epochMs: number;
  readonly optimizerMsPerStep: number;
  /** Median over epochs of (time in applyGradients ÷ epoch time). */
  readonly optimizerShare: number;
  readonly epochs: number;
  readonly finalLoss: number;
}

export interface FitDocument {
  readonly machine: Machine;
  readonly command: string;
  readonly model: { readonly layers: readonly number[]; readonly params: number; readonly samples: number; readonly batchSize: number; readonly steps: number };
  readonly reps: number;
  readonly rows: readonly FitRow[];
  readonly notes: readonly string[];
}

function fitIn(request: FitRequest): Promise<Extract<FitReply, { type: 'done' }>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./tfjs-fit-worker.js', import.meta.url), { workerData: request, stdout: true, stderr: true });
    let output = '';
    const keep = (chunk: Buffer | string) => void (output = (output + String(chunk)).slice(-2000)); // tfjs prints advice on load
    worker.stdout.on('data', keep);
    worker.stderr.on('data', keep);
    worker.once('message', (reply: FitReply) => {
      void worker.terminate();
      if (reply.type === 'done') resolve(reply);
      else reject(new Error(reply.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the tfjs ${request.backend} worker exited with code ${code}: ${output.trim().slice(-300)}`)));
  });
}

export async function runTfjsFit(options: { reps: number; command: string; machine: Machine; progress: Progress }): Promise<FitDocument> {
  const { reps, machine, progress } = options;
  const require = createRequire(import.meta.url);
  const missing = NEEDS.filter((pkg) => {
    try {
      require.resolve(pkg);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`--scenario tfjs needs ${missing.join(', ')} (dependencies of adamw-bench): run pnpm install`);
  const rows: FitRow[] = [];
  const notes: string[] = [];
  let model: FitDocument['model'] | undefined;
  progress.stage(`tfjs model.fit on ${BACKENDS.length} backends`, BACKENDS.length);
  for (const [i, backend] of BACKENDS.entries()) {
    progress.log(`adamw-bench: tfjs ${backend} (${reps} timed epochs per optimizer after one warm-up)`);
    progress.advance(i, `tfjs ${backend}: ${reps} epochs per optimizer, interleaved`);
    const done = await fitIn({ backend, reps, ...FIT_MODEL });
    machine.peers['tfjs'] = done.version;
    if (backend === 'wasm') machine.peers['tfjs-wasm'] = `(${done.simd ? 'SIMD' : 'no SIMD'}, 1 thread)`;
    model = { layers: FIT_MODEL.layers, params: done.params, samples: FIT_MODEL.samples, batchSize: FIT_MODEL.batchSize, steps: done.steps };
    for (const r of done.results) {
      if (!Number.isFinite(r.finalLoss)) notes.push(`${backend} ${r.optimizer}: the loss is ${r.finalLoss}`);
      rows.push({
        backend,
        optimizer: r.optimizer,
        epochMs: median(r.epochMs),
        optimizerMsPerStep: median(r.optimizerMs) / done.steps,
        optimizerShare: median(r.optimizerMs.map((ms, k) => ms / r.epochMs[k]!)),
        epochs: r.epochMs.length,
        finalLoss: r.finalLoss,
      });
    }
  }
  progress.end();
  return { machine, command: options.command, model: model!, reps, rows, notes };
}

const ratio = (ours: number, theirs: number): string => (ours <= theirs ? `${(theirs / ours).toFixed(2)}× faster` : `${(ours / theirs).toFixed(2)}× slower`);

/** Rows with their ratios to tf.train.adam on the same backend. */
function cells(doc: FitDocument): string[][] {
  return doc.rows.map((r) => {
    const ref = doc.rows.find((x) => x.backend === r.backend && x.optimizer === REFERENCE)!;
    const isRef = r === ref;
    return [
      `${r.backend}: ${r.optimizer}`,
      r.epochMs.toFixed(0),
      r.optimizerMsPerStep.toFixed(2),
      `${(100 * r.optimizerShare).toFixed(1)}%`,
      isRef ? '—' : ratio(r.epochMs, ref.epochMs),
      isRef ? '—' : ratio(r.optimizerMsPerStep, ref.optimizerMsPerStep),
    ];
  });
}

const HEADER = ['tfjs backend: optimizer', 'epoch ms', 'optimizer ms/step', 'optimizer share', 'epoch vs tf.train.adam', 'optimizer vs tf.train.adam'];

export function describeModel(doc: FitDocument): string {
  const m = doc.model;
  return (
    `model.fit, one epoch: MLP ${m.layers.join('-')} (relu, softmax; ${m.params.toLocaleString('en-US')} parameters), ` +
    `${m.samples} synthetic samples, batch ${m.batchSize} (${m.steps} steps an epoch), categorical cross-entropy; ` +
    `median of ${doc.reps} epochs per row, the two optimizers' epochs interleaved; one thread everywhere ` +
    '(tfjs-wasm without threads, adamw threads: 1). "optimizer" is the time in applyGradients (reading gradients, the step, ' +
    'writing the variables); the rest of an epoch is the forward and backward passes.'
  );
}

export function renderFitText(doc: FitDocument): string {
  return [`machine: ${machineLine(doc.machine)}`, describeModel(doc), '', alignColumns([HEADER, ...cells(doc)]), ...doc.notes.map((n) => `note: ${n}`)].join('\n');
}

const START = '<!-- adamw-bench --scenario tfjs: start -->';
const END = '<!-- adamw-bench --scenario tfjs: end -->';

/**
 * `--markdown FILE` with `--scenario tfjs`: the results as a section of FILE, between markers,
 * replacing an earlier one (so bench/RESULTS.md keeps both runs); a new file holds only it.
 */
export function writeFitMarkdown(file: string, doc: FitDocument): void {
  const section = [
    START,
    '## TensorFlow.js: one model.fit epoch, tf.train.adam vs adamw-wasm-tfjs',
    '',
    `Generated by \`adamw-bench --scenario tfjs\` on ${doc.machine.date.slice(0, 10)}.`,
    '',
    `**Command:** \`${doc.command}\``,
    '',
    `**Machine:** ${machineLine(doc.machine)}`,
    '',
    describeModel(doc),
    '',
    ...markdownTable(HEADER, cells(doc)),
    ...(doc.notes.length ? ['', ...doc.notes.map((n) => `- ${n}`)] : []),
    END,
  ].join('\n');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(START);
  const end = old.indexOf(END);
  const next = at >= 0 && end > at ? `${old.slice(0, at)}${section}${old.slice(end + END.length)}` : old ? `${old.trimEnd()}\n\n${section}\n` : `${section}\n`;
  writeFileSync(file, next);
}
