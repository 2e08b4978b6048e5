import { readFileSync, writeFileSync } from 'node:fs';
import { HELP, parseCliArgs, UsageError, type Args } from './args.js';
import { writeJson, type JsonDocument, type RunDescription } from './json.js';
import { describeMachine, type Machine } from './machine.js';
import { renderMarkdown } from './markdown.js';
import { bandwidthPeer } from './peers/bandwidth.js';
import { nativePeer } from './peers/native.js';
import { oursPeer, threadCounts } from './peers/ours.js';
import { errorMessage, bytesPerParam, type Peer, type PeerContext } from './peers/peer.js';
import { tfjsPeer } from './peers/tfjs.js';
import { torchPeer } from './peers/torch.js';
import { writePlot } from './plot.js';
import { Progress } from './progress.js';
import { formatSize } from './report.js';
import { renderFitText, runTfjsFit, writeFitMarkdown } from './scenarios/tfjs-fit.js';
import { renderText } from './table.js';
import { checkTargets } from './targets.js';
import { measure } from './timing.js';
import type { BackendId, Result, Runner } from './types.js';

function makePeer(backend: BackendId, ctx: PeerContext, threads: readonly number[]): Peer {
  switch (backend) {
    case 'wasm-simd':
    case 'wasm':
    case 'js':
      return oursPeer(backend, ctx, threads);
    case 'tfjs-cpu':
      return tfjsPeer('cpu', ctx);
    case 'tfjs-wasm':
      return tfjsPeer('wasm', ctx);
    case 'torch':
      return torchPeer(ctx);
    case 'native':
      return nativePeer(ctx);
    case 'bandwidth':
      return bandwidthPeer();
  }
}

/** `--scenario tfjs`: the table on stdout, then --json, --markdown (a section of the file). */
async function tfjsScenario(args: Args, argv: readonly string[], machine: Machine, progress: Progress): Promise<void> {
  const doc = await runTfjsFit({ reps: args.reps, command: commandLine(argv), machine, progress });
  console.log(renderFitText(doc));
  if (args.json) writeFileSync(args.json, `${JSON.stringify(doc, null, 2)}\n`);
  if (args.markdown) writeFitMarkdown(args.markdown, doc);
}

const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const commandLine = (argv: readonly string[]): string => ['node packages/bench/dist/cli.js', ...argv.map(quote)].join(' ');

async function main(argv: readonly string[]): Promise<void> {
  const args = parseCliArgs(argv);
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (args.fromJson) return rerender(args, args.fromJson);
  const machine = describeMachine();
  const progress = new Progress(!args.quiet);
  if (args.scenario === 'tfjs') return tfjsScenario(args, argv, machine, progress);
  const notes = new Set<string>();
  const note = (message: string) => void notes.add(message);
  if (args.reps < 5) note(`--reps ${args.reps}: fewer than 5 repetitions, medians are rough`);
  const threads = args.backends.includes('wasm-simd') ? await threadCounts(args.threads, machine.cores, { note }) : [1];
  const runConfig = { amsgrad: args.amsgrad, checks: args.checks, threads };
  const ctx: PeerContext = { config: runConfig, machine, note, log: (m) => progress.log(m), build: args.build };
  const peers = args.backends.map((b) => makePeer(b, ctx, threads));
  const plan = { reps: args.reps, steps: args.steps, minRepMs: args.minRepMs, budgetMs: args.budgetSeconds * 1e3 };

  const results: Result[] = [];
  const started = performance.now();
  for (const [i, size] of args.sizes.entries()) {
    const at = (f: number, label: string) => progress.update((i + f) / args.sizes.length, `${formatSize(size)} params: ${label}`);
    const runners: Runner[] = [];
    try {
      for (const peer of peers) {
        at(0, `preparing ${peer.backend}`);
        try {
          const prepared = await peer.prepare(size);
          if ('skip' in prepared) note(prepared.skip);
          else runners.push(...prepared.runners);
        } catch (error) {
          note(`${peer.backend} at ${size} params: ${errorMessage(error)}`);
        }
      }
      results.push(...(await measure(runners, plan, progress, at, note)));
    } finally {
      for (const r of runners) await r.dispose();
    }
    progress.log(`adamw-bench: ${size} params done (${((performance.now() - started) / 1e3).toFixed(0)} s)`);
  }
  for (const peer of peers) await peer.close?.();
  progress.clear();

  const config: RunDescription = {
    command: commandLine(argv),
    sizes: args.sizes,
    backends: args.backends,
    threads,
    reps: args.reps,
    steps: args.steps ?? null,
    minRepMs: args.minRepMs,
    budgetSeconds: args.budgetSeconds,
    amsgrad: args.amsgrad,
    checks: args.checks,
    bytesPerParam: bytesPerParam(args.amsgrad),
  };
  await emit(args, machine, config, results, [...notes], args.json);
}

/** The table on stdout, then --json, --plot, --markdown. */
async function emit(args: Args, machine: Machine, config: RunDescription, results: readonly Result[], notes: readonly string[], jsonFile: string | undefined): Promise<void> {
  const title =
    `One AdamW step (torch defaults${config.amsgrad ? ', amsgrad' : ''}), f32, median of ${config.reps} repetitions interleaved across rows, ` +
    (config.steps ? `${config.steps} steps each` : `each ≥ ${config.minRepMs} ms of back-to-back steps`);
  const targets = checkTargets(results);
  console.log(renderText(machine, title, results, targets, notes));
  if (args.json && !args.fromJson) writeJson(args.json, { machine, config, results, targets, notes });
  if (args.plot) await writePlot(args.plot, machine, title, results);
  if (args.markdown) {
    renderMarkdown(args.markdown, { machine, title, command: config.command, results, targets, notes, plotFile: args.plot, jsonFile });
  }
}

/** --from-json: render a recorded run again (table, --plot, --markdown) without measuring. */
async function rerender(args: Args, file: string): Promise<void> {
  let doc: JsonDocument;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as JsonDocument;
  } catch (error) {
    throw new UsageError(`adamw-bench: --from-json: cannot read ${file}: ${errorMessage(error)}`);
  }
  if (!doc.machine || !doc.config || !Array.isArray(doc.results)) throw new UsageError(`adamw-bench: --from-json: ${file} is not an adamw-bench --json file`);
  await emit(args, doc.machine, doc.config, doc.results, doc.notes ?? [], file);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write('\r\x1b[K');
  console.error(error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(error instanceof UsageError ? 2 : 1);
});
