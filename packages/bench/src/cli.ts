import { readFileSync, writeFileSync } from 'node:fs';
import { HELP, parseCliArgs, UsageError, withoutLeadingSeparator, type Args } from './args.js';
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
import { formatDuration, Progress, progressMode } from './progress.js';
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
      return bandwidthPeer(threads);
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

/** Ended when the run fails, so the error message does not land on the bar's line. */
let activeProgress: Progress | undefined;

async function main(rawArgv: readonly string[]): Promise<void> {
  const args = parseCliArgs(rawArgv);
  // For the recorded command line: `pnpm bench -- --sizes 1m` ran `cli.js --sizes 1m`.
  const argv = withoutLeadingSeparator(rawArgv);
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (args.fromJson) return rerender(args, args.fromJson);
  const machine = describeMachine();
  const progress = new Progress(progressMode(args.quiet));
  activeProgress = progress;
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
    const sizeLabel = `size ${formatSize(size)} (${i + 1}/${args.sizes.length})`;
    const runners: Runner[] = [];
    try {
      // Preparing may build the native bench or start python: no ETA from the count of peers.
      progress.stage(`${sizeLabel}: preparing`, peers.length, { noEta: true });
      for (const [k, peer] of peers.entries()) {
        progress.advance(k, `preparing ${peer.backend} (${k + 1}/${peers.length})`);
        try {
          const prepared = await peer.prepare(size);
          if ('skip' in prepared) note(prepared.skip);
          else runners.push(...prepared.runners);
        } catch (error) {
          note(`${peer.backend} at ${size} params: ${errorMessage(error)}`);
        }
      }
      results.push(...(await measure(runners, plan, progress, sizeLabel, note)));
    } finally {
      for (const r of runners) await r.dispose();
    }
    progress.log(`adamw-bench: ${sizeLabel} done, ${formatDuration(performance.now() - started)} since the start`);
  }
  for (const peer of peers) await peer.close?.();
  progress.end();

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
  // The project's own targets are for its developers (--targets); users see their machine's
  // numbers and how the peers compare. The JSON keeps them either way.
  const shownTargets = args.targets ? targets : [];
  console.log(renderText(machine, title, results, shownTargets, notes));
  if (args.json && !args.fromJson) writeJson(args.json, { machine, config, results, targets, notes });
  if (args.plot) await writePlot(args.plot, machine, title, results);
  if (args.markdown) {
    renderMarkdown(args.markdown, { machine, title, command: config.command, results, targets: shownTargets, notes, plotFile: args.plot, jsonFile });
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
  activeProgress?.end();
  console.error(error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(error instanceof UsageError ? 2 : 1);
});
