#!/usr/bin/env node
/**
 * Tarball tests: the packages as they would be published, in every runtime they promise.
 *
 *   node test/tarball/run.mjs [lint] [node] [ts] [readme] [deno] [browser] [--keep]
 *
 * (no suite named = all). Needs built packages (`node scripts/build.mjs`). Packs
 * packages/adamw-wasm and packages/tfjs (adamw-wasm-tfjs, the TensorFlow.js adapter; pnpm pack
 * turns its `workspace:^` into a range) with `pnpm pack`, installs both .tgz with one
 * `npm install --offline --legacy-peer-deps` into a fresh project under the OS temp dir (deleted
 * afterwards unless --keep; --legacy-peer-deps: npm must not fetch the tfjs peer), then copies
 * tfjs-core, tfjs-layers, tfjs-backend-cpu and tfjs-backend-wasm with their dependencies from the
 * workspace's install into it (no network; pnpm's links dereferenced) and requires adamw-wasm-tfjs
 * to share the one adamw-wasm. Then:
 *   lint     for each tarball: publint (strict, on the tarball) and attw (@arethetypeswrong/cli)
 *            on the .tgz; the tarball holds only dist/, README.md, LICENSE, package.json, and adamw-wasm-tfjs's
 *            dist imports tfjs-core and adamw-wasm, bundling neither
 *   node     Node ESM (`import`) and CommonJS (`require`): replay the no-FMA PyTorch fixture
 *            bit for bit with 'auto' (must be wasm-simd), 'wasm' and 'js'; step time at 1M.
 *            adamw-wasm-tfjs (smoke/tfjs-smoke.mjs), ESM on tfjs backends 'cpu' and 'wasm', CJS
 *            on 'cpu': model.fit of a small MLP with adamw() — the loss falls below half, one
 *            step per batch, no tensor leaked by an epoch, model.save with the optimizer →
 *            tf.loadLayersModel continues bit-identical
 *   ts       TypeScript consumers (.mts and .cts) compiled with `tsc --strict`, NodeNext,
 *            skipLibCheck off, against the shipped .d.ts/.d.cts, then run; an adamw-wasm-tfjs
 *            consumer (ts-tfjs/consumer.mts: adamw() as a tf.Optimizer in model.compile) likewise but with
 *            skipLibCheck on, as tfjs's own .d.ts fail these options; a skipLibCheck-off pass
 *            must find errors in tfjs's .d.ts only
 *   readme   every ```ts / ```typescript / ```js / ```javascript block of README.md,
 *            packages/adamw-wasm/README.md and packages/tfjs/README.md, verbatim, in two projects
 *            beside the installed tarballs: an ES module one and a CommonJS one, each made by
 *            `npm init -y` and configured by the workspace's `tsc --init` (see README SNIPPETS
 *            below for the few edits and why); type-checked with that tsconfig, then run with
 *            Node in README order. A ```text output block right after a snippet must equal what
 *            it prints; the regions marked <!-- shared:NAME --> must be the same in every README
 *            that has them
 *   deno     the same smoke test in Deno (the `deno` npm package's binary)
 *   browser  headless Chromium (playwright-core, /usr/bin/chromium): the smoke page unbundled
 *            (import map to the tarball's dist/index.js), plain and cross-origin isolated
 *            (COOP/COEP), forced 'wasm' and 'js'; the demo (examples/browser) built with Vite
 *            from the installed tarball, plain and isolated; screenshots in test/artifacts/.
 *            The tfjs page (tfjs-page/) built with Vite from the installed tarballs and tfjs,
 *            tfjs-backend-wasm's .wasm files copied beside it, plain and isolated: the tfjs smoke
 *            on 'cpu' and 'wasm', adamw() at one thread, and adamw({ threads: 2 }) refused on the
 *            main thread ("cannot run here"). No webgl: tfjs-backend-webgl is not installed.
 * A threaded variant ({ threads: 2 } + stepAsync()) runs in node, deno and the isolated page.
 * Ends with "N passed, N failed"; exits 1 on any failure.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PKG_DIR = join(ROOT, 'packages', 'adamw-wasm');
const TFJS_DIR = join(ROOT, 'packages', 'tfjs');
/** What a consumer of adamw-wasm-tfjs installs beside it (tfjs-core is its peer), copied from the workspace's install. */
const TFJS_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'];
const ARTIFACTS = join(ROOT, 'test', 'artifacts');
const require = createRequire(import.meta.url);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SUITES = ['lint', 'node', 'ts', 'readme', 'deno', 'browser'];
const args = process.argv.slice(2);
const unknown = args.filter((a) => !SUITES.includes(a) && a !== '--keep');
if (unknown.length) {
  console.error(`usage: node test/tarball/run.mjs [${SUITES.join('] [')}] [--keep]   (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}
const selected = SUITES.filter((s) => args.includes(s));
const suites = selected.length ? selected : SUITES;

// ------------------------------------------------------------------ harness

let passed = 0;
let failed = 0;
const summary = []; // what each runtime reported
const t0 = performance.now();

async function check(name, fn) {
  const start = performance.now();
  try {
    const note = await fn();
    passed++;
    console.log(`✓ ${name} (${((performance.now() - start) / 1000).toFixed(1)} s)${note ? `\n  ${note}` : ''}`);
  } catch (err) {
    failed++;
    console.log(`✗ ${name} (${((performance.now() - start) / 1000).toFixed(1)} s)\n  ${String(err?.stack ?? err).replaceAll('\n', '\n  ')}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

/** Runs a command; resolves to its stdout, rejects with its output on a non-zero exit. */
function run(cmd, argv, { cwd = ROOT, env = {}, timeout = 180_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const hint = code === 13 && cmd === process.execPath ? ' (unsettled top-level await: a promise never settled and nothing kept the event loop alive)' : '';
        reject(new Error(`${cmd} ${argv.join(' ')} exited ${code ?? signal}${hint}\n${out}${err}`));
      }
    });
  });
}

/** The SMOKE_REPORT line a smoke script printed, plus its log lines. */
function parseReport(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('SMOKE_REPORT '));
  assert(line, `no SMOKE_REPORT in output:\n${stdout}`);
  const report = JSON.parse(line.slice('SMOKE_REPORT '.length));
  assert(report.ok === true, `smoke test did not pass: ${line}`);
  return report;
}

function record(runtime, report) {
  const auto = report.runs[0];
  const threaded = report.runs.find((r) => r.threaded);
  summary.push({
    runtime,
    backend: auto?.backend,
    threads: threaded ? String(threaded.threads) : report.notes?.some((n) => n.startsWith('threads:')) ? 'n/a in this build' : '-',
    timings: (report.timings ?? []).map(timeLabel).join(', '),
  });
}

const timeLabel = (t) => `${t.backend}${t.threads > 1 ? `×${t.threads}` : ''} ${t.ms.toFixed(2)} ms`;
const describe = (report) =>
  report.runs.map((r) => `${r.asked}→${r.backend}${r.threaded ? ` (opt.threads ${r.threads})` : ''}`).join(', ') +
  ` bit-exact (${report.runs[0]?.arrays} arrays × ${report.runs.length} runs)` +
  (report.timings?.length ? `; step @1M: ${report.timings.map(timeLabel).join(', ')}` : '') +
  (report.notes?.length ? `; ${report.notes.join('; ')}` : '');

/** The tfjs smoke's report (smoke/tfjs-smoke.mjs): one run per tfjs backend. */
function recordTfjs(runtime, report, threads = '-') {
  summary.push({
    runtime,
    backend: report.runs[0]?.backend,
    threads,
    timings: report.runs.map((r) => `model.fit on tfjs ${r.tfjsBackend} ${r.msPerBatch.toFixed(2)} ms/batch`).join(', '),
  });
}

const describeTfjs = (report) =>
  `tfjs ${report.tfjs}: ` +
  report.runs
    .map(
      (r) =>
        `${r.tfjsBackend}: loss ${r.firstLoss.toFixed(4)} → ${r.lastLoss.toFixed(4)} in ${r.steps} steps (AdamW on ${r.backend}, ${r.threads} thread${r.threads > 1 ? 's' : ''}), ` +
        `${r.tensors} tensors before and after an epoch, saved as ${r.className} and loaded: ${r.weights} weights + ${r.optimizerWeights} optimizer tensors bit-identical at step ${r.finalSteps}`,
    )
    .join('; ') +
  (report.notes?.length ? `; ${report.notes.join('; ')}` : '');

// ------------------------------------------------------------------ pack and install

assert(existsSync(join(PKG_DIR, 'dist', 'index.js')), 'packages/adamw-wasm/dist is missing: run `node scripts/build.mjs` first');
assert(existsSync(join(TFJS_DIR, 'dist', 'index.js')), 'packages/tfjs/dist is missing: run `node scripts/build.mjs` first');
const work = mkdtempSync(join(tmpdir(), 'adamw-wasm-tarball-'));
const app = join(work, 'app');
let tarball; // adamw-wasm's .tgz
let tfjsTarball; // adamw-wasm-tfjs's .tgz
let tfjsReady = false; // tfjs copied into the app

await check('pack both packages (pnpm pack) and install the two .tgz into a fresh project (one npm install --offline --legacy-peer-deps)', async () => {
  const packDir = join(work, 'pack');
  // pnpm pack rewrites adamw-wasm-tfjs's `workspace:^` dependency to a real range.
  await Promise.all([PKG_DIR, TFJS_DIR].map((dir) => run('pnpm', ['--dir', dir, 'pack', '--pack-destination', packDir])));
  const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  const named = (name) => tgz.filter((f) => new RegExp(`^${name}-\\d`).test(f));
  assert(tgz.length === 2 && named('adamw-wasm').length === 1 && named('adamw-wasm-tfjs').length === 1, `pack produced ${tgz.join(', ') || 'nothing'}`);
  tarball = join(packDir, named('adamw-wasm')[0]);
  tfjsTarball = join(packDir, named('adamw-wasm-tfjs')[0]);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'adamw-wasm-consumer', private: true, type: 'module' }, null, 2)}\n`);
  // --legacy-peer-deps: npm must not fetch adamw-wasm-tfjs's peer (@tensorflow/tfjs-core); tfjs comes from the workspace (next check).
  // An empty npm cache of its own, as on CI: nothing may come from an earlier download.
  const npmArgs = ['--offline', '--cache', join(work, 'npm-cache'), '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', '--legacy-peer-deps'];
  await run('npm', ['install', ...npmArgs, tarball, tfjsTarball], { cwd: app });
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'adamw-wasm', 'package.json'), 'utf8'));
  const tfjsInstalled = JSON.parse(readFileSync(join(app, 'node_modules', 'adamw-wasm-tfjs', 'package.json'), 'utf8'));
  const range = tfjsInstalled.dependencies?.['adamw-wasm'];
  assert(range === `^${installed.version}`, `adamw-wasm-tfjs depends on adamw-wasm "${range}", expected "^${installed.version}"`);
  // the consumer's files: smoke scripts, TS consumers, the fixture, the demo's and the tfjs page's sources
  cpSync(join(HERE, 'smoke'), join(app, 'smoke'), { recursive: true });
  cpSync(join(HERE, 'ts'), join(app, 'ts'), { recursive: true });
  // (The workspace's type-check excludes ts-tfjs/: @tensorflow/* resolves from the app only.)
  cpSync(join(HERE, 'ts-tfjs'), join(app, 'ts-tfjs'), { recursive: true });
  mkdirSync(join(app, 'fixture'));
  for (const ext of ['json', 'bin']) {
    cpSync(join(ROOT, 'test', 'fixtures', 'torch-nofma', `adamw-default.${ext}`), join(app, 'fixture', `adamw-default.${ext}`));
  }
  cpSync(join(ROOT, 'examples', 'browser'), join(app, 'demo-src'), { recursive: true, filter: (f) => !f.includes('node_modules') && !f.endsWith('README.md') });
  cpSync(join(HERE, 'tfjs-page'), join(app, 'tfjs-src'), { recursive: true });
  const size = (f) => `${(readFileSync(f).length / 1024).toFixed(1)} KiB`;
  return (
    `${relative(work, tarball)} (${size(tarball)}), ${relative(work, tfjsTarball)} (${size(tfjsTarball)}) → ${app}/node_modules/adamw-wasm@${installed.version}, ` +
    `adamw-wasm-tfjs@${tfjsInstalled.version} (dependencies: adamw-wasm ${range}; peerDependencies: ${Object.entries(tfjsInstalled.peerDependencies ?? {}).map(([n, r]) => `${n} ${r}`).join(', ')})`
  );
});
if (!tarball) {
  console.log(`\ntarball: ${passed} passed, ${failed} failed`);
  process.exit(1);
}

/** Where Node would find package `name` from directory `from` (node_modules lookup upwards); its real path. */
function packageDir(name, from) {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`${name} (needed by ${from}) is not installed in the workspace`);
  }
}

/**
 * Copies `names` (as packages/tfjs resolves them) and their "dependencies", recursively, into
 * the app's node_modules, dereferencing pnpm's links: each dependency is resolved from the real
 * path of the package that depends on it, placed at the top unless another version holds that
 * name (then under the dependent's node_modules), and copied once. Returns the copies,
 * name@version, in the order copied.
 */
async function copyFromWorkspace(names) {
  const top = join(app, 'node_modules');
  const placed = new Map(); // copy's directory → source's real path
  const copied = [];
  const queue = names.map((name) => ({ name, from: realpathSync(TFJS_DIR), dependent: app }));
  while (queue.length > 0) {
    const { name, from, dependent } = queue.shift();
    const source = packageDir(name, from);
    // What the dependent's copy would resolve: the nearest <dir>/node_modules/<name> above it.
    let visible;
    for (let dir = dependent; visible === undefined; dir = dirname(dir)) {
      if (existsSync(join(dir, 'node_modules', name))) visible = join(dir, 'node_modules', name);
      if (dir === app) break;
    }
    if (visible !== undefined && placed.get(visible) === source) continue; // already there
    if (visible !== undefined && !placed.has(visible)) throw new Error(`${relative(app, visible)} (installed by npm) is in the way of ${source}`);
    const target = visible === undefined ? join(top, name) : join(dependent, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    await run('cp', ['-RL', source, target]); // -L: pnpm's links as files (cpSync with dereference is ~10× slower here)
    placed.set(target, source);
    const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8'));
    copied.push(`${relative(top, target)}@${manifest.version}`);
    for (const dep of Object.keys(manifest.dependencies ?? {})) queue.push({ name: dep, from: source, dependent: target });
  }
  return copied;
}

/** Every copy of package `name` under the app's node_modules, nested ones included. */
function copiesOf(name, dir = join(app, 'node_modules'), found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@')) {
      copiesOf(name, path, found);
      continue;
    }
    const scope = basename(dir).startsWith('@') ? `${basename(dir)}/` : '';
    if (`${scope}${entry.name}` === name) found.push(path);
    if (existsSync(join(path, 'node_modules'))) copiesOf(name, join(path, 'node_modules'), found);
  }
  return found;
}

await check(`tfjs for the consumer, without the network: ${TFJS_PACKAGES.join(', ')} and their dependencies copied from the workspace; one adamw-wasm`, async () => {
  const copied = await copyFromWorkspace(TFJS_PACKAGES);
  const appRequire = createRequire(join(app, 'package.json'));
  const fromAdapter = createRequire(appRequire.resolve('adamw-wasm-tfjs/package.json'));
  const expected = join(app, 'node_modules', 'adamw-wasm', 'dist', 'index.cjs');
  assert(realpathSync(fromAdapter.resolve('adamw-wasm')) === realpathSync(expected), `adamw-wasm-tfjs resolves adamw-wasm to ${fromAdapter.resolve('adamw-wasm')}`);
  for (const name of ['adamw-wasm', '@tensorflow/tfjs-core']) {
    const copies = copiesOf(name);
    assert(copies.length === 1, `${copies.length} copies of ${name} in the app: ${copies.map((c) => relative(app, c)).join(', ')}`);
  }
  const layers = createRequire(appRequire.resolve('@tensorflow/tfjs-layers/package.json'));
  assert(layers.resolve('@tensorflow/tfjs-core') === appRequire.resolve('@tensorflow/tfjs-core'), 'tfjs-layers resolves another tfjs-core');
  tfjsReady = true;
  return `copied ${copied.join(', ')}; adamw-wasm-tfjs → node_modules/adamw-wasm (the only copy), one tfjs-core`;
});

// ------------------------------------------------------------------ lint

if (suites.includes('lint')) {
  const tarballs = [
    { name: 'adamw-wasm', file: tarball, on: 'the tarball' },
    { name: 'adamw-wasm-tfjs', file: tfjsTarball, on: "adamw-wasm-tfjs's tarball" },
  ];
  for (const { name, file, on } of tarballs) {
    const tfjs = name === 'adamw-wasm-tfjs';
    await check(`${tfjs ? 'adamw-wasm-tfjs ' : ''}tarball contents: dist/, README.md, LICENSE, package.json only${tfjs ? '; imports adamw-wasm and tfjs-core, bundles neither' : ''}`, async () => {
      assert(file, `no ${name} tarball`);
      const list = (await run('tar', ['-tzf', file])).trim().split('\n').map((f) => f.replace(/^package\//, ''));
      const stray = list.filter((f) => !/^(dist\/[^/]+\.(js|cjs|d\.ts|d\.cts)|README\.md|LICENSE|package\.json)$/.test(f));
      assert(stray.length === 0, `unexpected files in the tarball: ${stray.join(', ')}`);
      const needed = ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts'];
      const missing = needed.filter((need) => !list.includes(need));
      assert(missing.length === 0, `${missing.join(', ')} missing from the tarball`);
      let imports = '';
      if (tfjs) {
        // The application's tfjs and adamw-wasm must be imported, never bundled (one tfjs engine, one adamw-wasm).
        for (const [dist, pattern] of [
          ['index.js', (spec) => new RegExp(`from\\s*["']${spec}["']`)],
          ['index.cjs', (spec) => new RegExp(`require\\(["']${spec}["']\\)`)],
        ]) {
          const code = readFileSync(join(app, 'node_modules', name, 'dist', dist), 'utf8');
          for (const spec of ['@tensorflow/tfjs-core', 'adamw-wasm']) assert(pattern(spec).test(code), `dist/${dist} does not import ${spec}`);
          assert(!code.includes('AGFzbQ'), `dist/${dist} embeds wasm: adamw-wasm is bundled`);
        }
        imports = '; dist/index.js and index.cjs import @tensorflow/tfjs-core and adamw-wasm (no wasm embedded)';
      }
      return list.join(', ') + imports;
    });

    await check(`publint (strict, suggestions included) on ${on}`, async () => {
      assert(file, `no ${name} tarball`);
      const { publint } = await import('publint');
      const { formatMessage } = await import('publint/utils');
      const buf = readFileSync(file);
      const tar = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      const { messages, pkg } = await publint({ pack: { tarball: tar }, level: 'suggestion', strict: true });
      assert(messages.length === 0, `publint:\n${messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`).join('\n')}`);
      return 'no errors, warnings or suggestions';
    });

    await check(`@arethetypeswrong/cli on ${on} (node10, node16 CJS/ESM, bundler)`, async () => {
      assert(file, `no ${name} tarball`);
      const attw = join(ROOT, 'node_modules', '.bin', 'attw');
      const out = await run(attw, [file, '--format', 'table-flipped']);
      assert(/No problems found/.test(out), out);
      return 'No problems found';
    });
  }
}

// ------------------------------------------------------------------ node

if (suites.includes('node')) {
  await check('Node ESM: import from the tarball, replay the fixture bit for bit, step times at 1M', async () => {
    const report = parseReport(await run(process.execPath, ['smoke/node-esm.mjs', '--timing'], { cwd: app }));
    record(`node ${process.version} ESM`, report);
    return describe(report);
  });
  await check('Node CommonJS: require() the tarball, replay the fixture bit for bit', async () => {
    const report = parseReport(await run(process.execPath, ['smoke/node-cjs.cjs'], { cwd: app }));
    record(`node ${process.version} CJS`, report);
    return describe(report);
  });
  await check("Node ESM, adamw-wasm-tfjs: model.fit with adamw() on tfjs 'cpu' and 'wasm'; loss, iterations, no leaked tensors, save/load bit-identical", async () => {
    assert(tfjsReady, 'tfjs is not installed in the app');
    const report = parseReport(await run(process.execPath, ['smoke/tfjs-node-esm.mjs'], { cwd: app }));
    recordTfjs(`node ${process.version} ESM, adamw-wasm-tfjs`, report);
    return describeTfjs(report);
  });
  await check("Node CommonJS, adamw-wasm-tfjs: require() it and tfjs, model.fit with adamw() on tfjs 'cpu'", async () => {
    assert(tfjsReady, 'tfjs is not installed in the app');
    const report = parseReport(await run(process.execPath, ['smoke/tfjs-node-cjs.cjs'], { cwd: app }));
    recordTfjs(`node ${process.version} CJS, adamw-wasm-tfjs`, report);
    return describeTfjs(report);
  });
}

// ------------------------------------------------------------------ TypeScript

if (suites.includes('ts')) {
  const tsc = require.resolve('typescript/bin/tsc');
  const compilerOptions = {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    skipLibCheck: false,
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    outDir: 'ts-out',
    rootDir: 'ts',
  };
  await check('TypeScript consumers: tsc --strict (NodeNext, skipLibCheck off) against the shipped types, then run', async () => {
    writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify({ compilerOptions, include: ['ts'] }, null, 2)}\n`);
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
    const esm = await run(process.execPath, ['ts-out/consumer.mjs'], { cwd: app });
    const cjs = await run(process.execPath, ['ts-out/consumer.cjs'], { cwd: app });
    summary.push({ runtime: `typescript ${require('typescript/package.json').version} (tsc --strict)`, backend: 'wasm-simd', threads: '-', timings: '' });
    return `${esm.trim()}\n  ${cjs.trim()}`;
  });

  await check('TypeScript consumer of adamw-wasm-tfjs: tsc --strict (NodeNext) with tfjs, adamw() as a tf.Optimizer in model.compile, then run', async () => {
    assert(tfjsReady, 'tfjs is not installed in the app');
    // skipLibCheck ON for this consumer only: tfjs 4.22's own .d.ts do not compile under these
    // options (DOM names such as HTMLImageElement and WebGLTexture without lib "dom", the global
    // `Long` of @types/long outside `types`, and tfjs-layers' LayersModel and keras_format types
    // fail --strict). A second pass with skipLibCheck off must then find errors only there: none
    // in adamw-wasm-tfjs's or adamw-wasm's shipped .d.ts, nor in the consumer.
    const tsconfig = { compilerOptions: { ...compilerOptions, skipLibCheck: true, outDir: 'ts-tfjs-out', rootDir: 'ts-tfjs' }, include: ['ts-tfjs'] };
    writeFileSync(join(app, 'tsconfig.tfjs.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
    const [, unskipped] = await Promise.all([
      run(process.execPath, [tsc, '-p', 'tsconfig.tfjs.json'], { cwd: app }),
      run(process.execPath, [tsc, '-p', 'tsconfig.tfjs.json', '--skipLibCheck', 'false', '--noEmit'], { cwd: app }).then(
        () => '',
        (err) => err.message,
      ),
    ]);
    const out = await run(process.execPath, ['ts-tfjs-out/consumer.mjs'], { cwd: app });
    const errors = [...unskipped.matchAll(/^(\S+?)\(\d+,\d+\): error TS\d+/gm)].map(([, file]) => file);
    const tfjsOwn = /^node_modules\/(@tensorflow\/tfjs-[a-z-]+|@webgpu\/types)\//;
    assert(errors.every((file) => tfjsOwn.test(file)) && (errors.length > 0) === (unskipped !== ''), `with skipLibCheck off:\n${unskipped}`);
    const where = [...new Set(errors.map((file) => file.match(tfjsOwn)[1]))];
    summary.push({ runtime: `typescript ${require('typescript/package.json').version} (tsc --strict), adamw-wasm-tfjs`, backend: 'wasm-simd', threads: '-', timings: '' });
    return (
      `${out.trim()}\n  with skipLibCheck off: ${errors.length} errors, all in tfjs's own .d.ts (${where.join(', ') || 'none'}); ` +
      "none in adamw-wasm-tfjs's or adamw-wasm's .d.ts or in the consumer"
    );
  });
}

// ------------------------------------------------------------------ README snippets

/*
 * README SNIPPETS. The point: the code in the READMEs works as pasted, in the projects people
 * have. Each snippet is written to a file of its own, verbatim, in two projects inside the app
 * (so that adamw-wasm, adamw-wasm-tfjs and tfjs resolve from the app's node_modules):
 *   esm  `npm init -y`, then "type": "module"
 *   cjs  `npm init -y` as it is (CommonJS; npm 11 writes "type": "commonjs", older npm nothing)
 * Each gets its tsconfig.json from the workspace's own `tsc --init` (TypeScript 5.9: module
 * nodenext, strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes, verbatimModuleSyntax,
 * isolatedModules, skipLibCheck, ...), changed only where a user of these projects must change it:
 *   - both: the generated file's own "For nodejs" advice, `"lib": ["esnext"]` and
 *     `"types": ["node"]` with @types/node installed (copied from the workspace), since snippets
 *     use node:fs and Node runs them;
 *   - cjs: `"verbatimModuleSyntax": false`. With it true, TypeScript refuses every
 *     `import … from` in a CommonJS file (TS1295 here; TS1286 under module commonjs), so a CommonJS TypeScript
 *     project either turns it off — TypeScript then compiles imports to require(), exactly what
 *     tsx does when it runs a .ts file of a CommonJS package — or writes `import x = require()`,
 *     which an ES module cannot. The READMEs say so; the snippets use `import`.
 * tsc compiles each project once (the generated tsconfig includes every .ts file in it) and
 * Node runs each emitted .js, so the CommonJS project really require()s the packages' CommonJS
 * builds, and top-level await fails to compile there (TS1309) as it fails in tsx.
 * ```js blocks would be type-checked with allowJs + checkJs and run as they are.
 *
 * Info string flags after the language: `no-run` (type-checked, not run: for code that needs
 * what the suite cannot give it; keep it rare), `needs:FILE` (run after the earlier snippet that
 * writes FILE in the same project, and fail clearly when none did: the PyTorch → JavaScript
 * snippet reads the run.safetensors the JavaScript → PyTorch one wrote, standing in for the file
 * Python would write). Snippets run in README order (README.md, then the packages'), one at a
 * time in each project, the two projects side by side.
 *
 * tfjs: snippets import '@tensorflow/tfjs', the package the tfjs README installs. It is not in the
 * workspace (it would bring tfjs-backend-webgl, -converter and -data, which nothing here has), so
 * the app gets a stand-in of that name that re-exports tfjs-core and tfjs-layers and registers
 * tfjs-backend-cpu, as the real one does (installed from the workspace): in Node the real
 * package also ends up on 'cpu', where webgl cannot start.
 */
const README_FILES = ['README.md', 'packages/adamw-wasm/README.md', 'packages/tfjs/README.md'];
const SNIPPET_LANGS = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' };

/** Fenced code blocks of a Markdown file: { lang, flags, line (1-based, of the first code line), code }. */
function fencedBlocks(file) {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    // A backtick fence's info string has no backticks: such a line is inline code.
    if (!open || (open[2][0] === '`' && open[3].includes('`'))) continue;
    const [, indent, fence, info] = open;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    assert(end < lines.length, `${file}:${i + 1}: a code block that never closes`);
    const [lang = '', ...flags] = info.trim().split(/\s+/).filter(Boolean);
    const code = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    blocks.push({ lang: lang.toLowerCase(), flags, line: i + 2, code: `${code.join('\n')}\n` });
    i = end;
  }
  return blocks;
}

/** The snippets of the READMEs, in order, each with a file name that says where it came from. */
function readmeSnippets() {
  const snippets = [];
  for (const file of README_FILES) {
    const blocks = fencedBlocks(file);
    const prefix = file === 'README.md' ? 'root' : file.split('/')[1];
    let found = 0;
    blocks.forEach((block, k) => {
      const kind = SNIPPET_LANGS[block.lang];
      if (!kind) return;
      found++;
      const unknown = block.flags.filter((f) => f !== 'no-run' && !/^needs:[\w.-]+$/.test(f));
      assert(unknown.length === 0, `${file}:${block.line - 1}: unknown snippet flag ${unknown.join(' ')} (known: no-run, needs:FILE)`);
      const next = blocks[k + 1];
      snippets.push({
        readme: file,
        line: block.line,
        kind,
        name: `${prefix}-L${block.line}.${kind}`,
        code: block.code,
        run: !block.flags.includes('no-run'),
        needs: block.flags.filter((f) => f.startsWith('needs:')).map((f) => f.slice('needs:'.length)),
        output: next?.lang === 'text' && next.flags.includes('output') ? next.code : undefined,
      });
    });
    assert(found > 0, `no code snippets found in ${file}: the extraction is broken`);
  }
  return snippets;
}

/** The regions between <!-- shared:NAME … --> and <!-- /shared:NAME --> of each README, by name. */
function sharedRegions() {
  const regions = new Map(); // name → [{ file, text }]
  for (const file of README_FILES) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const [, name, body] of text.matchAll(/<!-- shared:([\w-]+)[^>]*-->\n([\s\S]*?)<!-- \/shared:\1 -->/g)) {
      regions.set(name, [...(regions.get(name) ?? []), { file, text: body }]);
    }
    const opened = [...text.matchAll(/<!-- shared:([\w-]+)/g)].length;
    const closed = [...text.matchAll(/<!-- \/shared:([\w-]+) -->/g)].length;
    assert(opened === closed, `${file}: ${opened} <!-- shared:… --> markers but ${closed} closing ones`);
  }
  return regions;
}

/** tsc's "file(line,col): error" locations turned into README.md:line:col. */
const toReadmeLines = (output, snippets) =>
  output.replace(/^([\w.-]+\.(?:ts|js))\((\d+),(\d+)\)/gm, (whole, name, line, col) => {
    const s = snippets.find((x) => x.name === name);
    return s ? `${s.readme}:${s.line + Number(line) - 1}:${col} (${name})` : whole;
  });

if (suites.includes('readme')) {
  const tsc = require.resolve('typescript/bin/tsc');
  let snippets = [];
  await check('README snippets: extract every ```ts/js block of the three READMEs; shared regions identical', async () => {
    snippets = readmeSnippets();
    const problems = [];
    for (const [name, copies] of sharedRegions()) {
      const [first, ...others] = copies;
      if (others.length === 0) problems.push(`<!-- shared:${name} --> is only in ${first.file}`);
      for (const other of others) if (other.text !== first.text) problems.push(`<!-- shared:${name} --> differs between ${first.file} and ${other.file}`);
    }
    assert(problems.length === 0, problems.join('\n'));
    const per = README_FILES.map((f) => `${f} ${snippets.filter((s) => s.readme === f).length}`).join(', ');
    const shared = [...sharedRegions()].map(([name, copies]) => `${name} (${copies.length}×)`).join(', ');
    return `${snippets.length} snippets (${per}); ${snippets.filter((s) => !s.run).length} marked no-run; ${snippets.filter((s) => s.output).length} with their output shown; shared regions: ${shared || 'none'}`;
  });

  const projects = { esm: join(app, 'readme-esm'), cjs: join(app, 'readme-cjs') };
  await check("README snippets: an ES module and a CommonJS project (npm init -y), tsconfig.json from the workspace's tsc --init", async () => {
    assert(snippets.length > 0, 'no snippets');
    await copyFromWorkspace(['@types/node']);
    if (tfjsReady) writeTfjsStandIn();
    const notes = [];
    for (const [kind, dir] of Object.entries(projects)) {
      mkdirSync(dir, { recursive: true });
      const quiet = ['--offline', '--no-update-notifier', '--loglevel=error'];
      await run('npm', ['init', '-y', ...quiet], { cwd: dir });
      if (kind === 'esm') await run('npm', ['pkg', 'set', 'type=module', ...quiet], { cwd: dir });
      const type = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type;
      assert(kind === 'esm' ? type === 'module' : type === undefined || type === 'commonjs', `${kind}: package.json "type" is ${type}`);
      await run(process.execPath, [tsc, '--init'], { cwd: dir });
      let config = readFileSync(join(dir, 'tsconfig.json'), 'utf8');
      const edits = [
        ['"types": [],', '"types": ["node"],'],
        ['// "lib": ["esnext"],', '"lib": ["esnext"],'],
        ...(kind === 'cjs' ? [['"verbatimModuleSyntax": true,', '"verbatimModuleSyntax": false,']] : []),
      ];
      for (const [from, to] of edits) {
        assert(config.split(from).length === 2, `${kind}: tsc --init's tsconfig.json has no single line ${from} (a new TypeScript? see README SNIPPETS in run.mjs)\n${config}`);
        config = config.replace(from, to);
      }
      writeFileSync(join(dir, 'tsconfig.json'), config);
      for (const s of snippets) writeFileSync(join(dir, s.name), s.code);
      const js = snippets.filter((s) => s.kind === 'js').map((s) => s.name);
      if (js.length) {
        // tsc --init has no allowJs: JavaScript snippets get it (and checkJs) in a config of their own.
        writeFileSync(join(dir, 'tsconfig.js.json'), `${JSON.stringify({ extends: './tsconfig.json', compilerOptions: { allowJs: true, checkJs: true, noEmit: true }, files: js }, null, 2)}\n`);
      }
      notes.push(`${kind}: package.json type ${type ?? '(none)'}; tsconfig.json: tsc --init + ${edits.map(([, to]) => to).join(' ')}`);
    }
    return notes.join('\n  ');
  });

  const compileAndRun = async (kind) => {
    const dir = projects[kind];
    const compile = async (config) => {
      try {
        await run(process.execPath, [tsc, '-p', config], { cwd: dir });
      } catch (err) {
        throw new Error(`tsc -p ${config} (${kind}) failed:\n${toReadmeLines(err.message, snippets)}`);
      }
    };
    await compile('tsconfig.json');
    if (snippets.some((s) => s.kind === 'js')) await compile('tsconfig.js.json');
    const failures = [];
    const times = [];
    for (const s of snippets.filter((x) => x.run)) {
      const where = `${s.readme}:${s.line - 1} (${s.name})`;
      const missing = s.needs.filter((f) => !existsSync(join(dir, f)));
      if (missing.length) {
        failures.push(`${where}: needs ${missing.join(', ')}, which no earlier snippet wrote`);
        continue;
      }
      const start = performance.now();
      try {
        const out = await run(process.execPath, [s.name.replace(/\.ts$/, '.js')], { cwd: dir, timeout: 60_000 });
        times.push(`${s.name} ${((performance.now() - start) / 1000).toFixed(2)} s`);
        const clean = (text) => text.split('\n').map((l) => l.trimEnd()).join('\n').trim();
        if (s.output !== undefined && clean(out) !== clean(s.output)) {
          failures.push(`${where}: printed\n${out}\nbut the README shows\n${s.output}`);
        }
      } catch (err) {
        failures.push(`${where}: ${err.message}`);
      }
    }
    assert(failures.length === 0, `${failures.length} snippet${failures.length === 1 ? '' : 's'} failed:\n${failures.join('\n')}`);
    return `${times.length} run: ${times.join(', ')}`;
  };
  await Promise.all(
    Object.keys(projects).map((kind) =>
      check(`README snippets, ${kind === 'esm' ? 'ES module' : 'CommonJS'} project: type-checked with tsc --init's tsconfig, then each run with Node`, async () => {
        assert(existsSync(join(projects[kind], 'tsconfig.json')), `the ${kind} project was not set up`);
        return compileAndRun(kind);
      }),
    ),
  );
}

/**
 * node_modules/@tensorflow/tfjs in the app: what the real package's dist/tf.node.js and
 * index.d.ts re-export, from the parts installed here (see README SNIPPETS). CommonJS with
 * TypeScript's __exportStar, which Node's ES module loader reads as re-exports, as it reads the
 * real bundle's.
 */
function writeTfjsStandIn() {
  const dir = join(app, 'node_modules', '@tensorflow', 'tfjs');
  // The real one (tfjs/src/index.ts) also re-exports tfjs-converter and tfjs-data, and registers tfjs-backend-webgl.
  const reexported = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'];
  const registered = '@tensorflow/tfjs-backend-cpu';
  const version = JSON.parse(readFileSync(join(app, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json'), 'utf8')).version;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: '@tensorflow/tfjs', version, main: 'index.js', types: 'index.d.ts' }, null, 2)}\n`);
  writeFileSync(
    join(dir, 'index.js'),
    [
      '"use strict";',
      'var __createBinding = function (o, m, k) { Object.defineProperty(o, k, { enumerable: true, get: function () { return m[k]; } }); };',
      'var __exportStar = function (m, exports) { for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports, p)) __createBinding(exports, m, p); };',
      'Object.defineProperty(exports, "__esModule", { value: true });',
      ...reexported.map((p) => `__exportStar(require("${p}"), exports);`),
      `require("${registered}");`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'index.d.ts'), `${reexported.map((p) => `export * from '${p}';`).join('\n')}\nimport '${registered}';\n`);
}

// ------------------------------------------------------------------ deno

if (suites.includes('deno')) {
  await check('Deno: the same smoke test (package.json + node_modules resolution), step times at 1M', async () => {
    let deno;
    try {
      deno = require('deno/install_api.cjs').runInstall(); // the binary of @deno/<platform>, from the npm registry
    } catch (err) {
      throw new Error(`the deno npm package has no binary for this platform: ${err.message}`);
    }
    const env = { DENO_DIR: join(work, 'deno-dir'), DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1' };
    const version = (await run(deno, ['--version'], { env })).split('\n')[0];
    const report = parseReport(await run(deno, ['run', '--allow-read', '--no-prompt', 'smoke/deno.mjs', '--timing'], { cwd: app, env }));
    record(version, report);
    // Before the fix about one run in seven hung: enough runs that a regression shows.
    const runs = 12;
    for (let k = 1; k <= runs; k++) {
      const out = await run(deno, ['run', '--allow-read', '--no-prompt', 'smoke/deno-dispose.mjs'], { cwd: app, env, timeout: 15_000 }).catch((err) => {
        throw new Error(`run ${k}: Deno did not exit after disposing a threaded optimizer whose workers had not booted (${err.message})`);
      });
      assert(out.includes('disposed'), `run ${k}: deno-dispose.mjs printed ${JSON.stringify(out)}`);
    }
    return `${version}: ${describe(report)}; ${runs} processes exited after dispose() before their workers booted`;
  });
}

// ------------------------------------------------------------------ browser

if (suites.includes('browser')) {
  const demoOut = join(app, 'demo');
  await check('Vite: build examples/browser against the installed tarball (no plugin, no config)', async () => {
    const vite = await import('vite');
    await vite.build({
      root: join(app, 'demo-src'),
      base: './',
      configFile: false,
      logLevel: 'warn',
      build: { outDir: demoOut, emptyOutDir: true },
    });
    const assets = readdirSync(join(demoOut, 'assets')).filter((f) => f.endsWith('.js'));
    assert(existsSync(join(demoOut, 'index.html')) && assets.length > 0, 'vite produced no index.html or no .js');
    const js = assets.map((f) => readFileSync(join(demoOut, 'assets', f), 'utf8')).join('\n');
    assert(!/from\s*["']adamw-wasm["']|import\(["']adamw-wasm["']\)/.test(js), 'the bundle still imports adamw-wasm');
    assert(js.includes('AGFzbQ'), 'no embedded wasm (base64 of "\\0asm") in the bundle');
    return `vite ${vite.version}: ${assets.map((f) => `assets/${f} ${(readFileSync(join(demoOut, 'assets', f)).length / 1024).toFixed(1)} KiB`).join(', ')}`;
  });

  const tfjsOut = join(app, 'tfjs-page');
  await check("Vite: build the tfjs page (test/tarball/tfjs-page) against the installed tarballs and tfjs; tfjs-backend-wasm's .wasm files beside it", async () => {
    assert(tfjsReady, 'tfjs is not installed in the app');
    const vite = await import('vite');
    await vite.build({
      root: join(app, 'tfjs-src'),
      base: './',
      configFile: false,
      logLevel: 'warn',
      build: { outDir: tfjsOut, emptyOutDir: true, chunkSizeWarningLimit: 4096 }, // tfjs is big; no warning for it
    });
    const assets = readdirSync(join(tfjsOut, 'assets')).filter((f) => f.endsWith('.js'));
    assert(existsSync(join(tfjsOut, 'index.html')) && assets.length > 0, 'vite produced no index.html or no .js');
    const js = assets.map((f) => readFileSync(join(tfjsOut, 'assets', f), 'utf8')).join('\n');
    assert(!/from\s*["'](adamw-wasm(-tfjs)?|@tensorflow\/[^"']+)["']/.test(js), 'the bundle still imports a package');
    assert(js.includes('AGFzbQ'), "no embedded wasm (base64 of \"\\0asm\") in the bundle: adamw-wasm's kernels are missing");
    assert(js.includes('adamw-wasm/AdamW'), 'the bundle does not register adamw-wasm-tfjs (tree-shaken?)');
    // tfjs-backend-wasm fetches its .wasm at run time (setWasmPaths('./') on the page): copy them beside index.html.
    const wasmDist = join(app, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
    const wasmFiles = readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'));
    assert(wasmFiles.length > 0, `no .wasm files in ${wasmDist}`);
    for (const f of wasmFiles) cpSync(join(wasmDist, f), join(tfjsOut, f));
    const size = (f) => `${(readFileSync(f).length / 1024).toFixed(1)} KiB`;
    return `vite ${vite.version}: ${assets.map((f) => `assets/${f} ${size(join(tfjsOut, 'assets', f))}`).join(', ')}; beside it ${wasmFiles.map((f) => `${f} ${size(join(tfjsOut, f))}`).join(', ')}`;
  });

  let chromium;
  let context;
  const servers = {};
  await check(`launch headless Chromium (${CHROMIUM}) and the localhost servers (plain, COOP/COEP)`, async () => {
    assert(existsSync(CHROMIUM), `${CHROMIUM} not found: install Debian's chromium (bash scripts/setup.sh does) or set CHROMIUM_PATH`);
    ({ chromium } = await import('playwright-core'));
    servers.plain = await serve(app);
    servers.isolated = await serve(app, { isolated: true });
    context = await chromium.launchPersistentContext(mkdtempSync(join(work, 'chromium-profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1000, height: 940 },
    });
    return `${context.browser()?.version() ?? 'chromium'}; plain ${servers.plain.url}, isolated ${servers.isolated.url}`;
  });

  /** Opens url, awaits `window[global]` (a promise), fails on page errors; returns [result, page]. */
  async function open(url, global, { keepOpen = false } = {}) {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && errors.push(`console.error: ${m.text()}`));
    page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()}: ${r.url()}`));
    try {
      await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
      await page.waitForFunction((name) => window[name] !== undefined, global, { timeout: 60_000 });
      const result = await page.evaluate(
        ([name, ms]) => Promise.race([window[name], new Promise((_, no) => setTimeout(() => no(new Error(`window.${name} did not settle within ${ms / 1000} s`)), ms))]),
        [global, 120_000],
      );
      assert(errors.length === 0, errors.join('\n'));
      return [result, page];
    } finally {
      if (!keepOpen) await page.close();
    }
  }

  const smokeCheck = (label, server, query, expect) =>
    check(`Chromium, ${label}`, async () => {
      assert(context, 'no browser');
      const [report] = await open(`${servers[server].url}smoke/smoke.html${query}`, 'smokeResult');
      assert(report.ok === true, `smoke page failed: ${report.error}`);
      assert(report.crossOriginIsolated === (server === 'isolated'), `crossOriginIsolated is ${report.crossOriginIsolated}`);
      assert(report.runs[0].backend === expect, `backend ${report.runs[0].backend}, expected ${expect}`);
      return `crossOriginIsolated ${report.crossOriginIsolated}; ${describe(report)}`;
    });

  await smokeCheck("plain page, unbundled ESM: 'auto' must run wasm-simd", 'plain', '', 'wasm-simd');
  await smokeCheck('cross-origin isolated page (COOP/COEP): smoke + threaded variant', 'isolated', '?threads=2', 'wasm-simd');
  await smokeCheck("no SIMD simulated: forced backend 'wasm'", 'plain', '?backend=wasm', 'wasm');
  await smokeCheck("no wasm simulated: forced backend 'js'", 'plain', '?backend=js', 'js');

  const demoCheck = (label, server, shot) =>
    check(`Chromium, demo page (Vite build), ${label}`, async () => {
      assert(context, 'no browser');
      const [demo, page] = await open(`${servers[server].url}demo/index.html`, 'demo', { keepOpen: true });
      try {
        assert(!demo.error, `demo failed: ${demo.error}`);
        assert(demo.backend === 'wasm-simd', `demo trained on ${demo.backend}`);
        assert(demo.crossOriginIsolated === (server === 'isolated'), `crossOriginIsolated is ${demo.crossOriginIsolated}`);
        assert(demo.finalLoss < 0.25 * demo.firstLoss && demo.accuracy >= 0.95, `did not learn: loss ${demo.firstLoss} → ${demo.finalLoss}, accuracy ${demo.accuracy}`);
        const timed = demo.timings.filter((t) => t.ms > 0).map((t) => t.backend);
        for (const b of ['wasm-simd', 'wasm', 'js']) assert(timed.includes(b), `no step time for ${b}`);
        mkdirSync(ARTIFACTS, { recursive: true });
        const path = join(ARTIFACTS, shot);
        await page.screenshot({ path, fullPage: true });
        summary.push({
          runtime: `${context.browser()?.version() ?? 'chromium'} ${server === 'isolated' ? 'COOP/COEP' : 'plain'} (Vite bundle)`,
          backend: demo.backend,
          threads: demo.timings.find((t) => t.threads > 1)?.threads?.toString() ?? (server === 'isolated' ? 'n/a in this build' : '-'),
          timings: demo.timings.filter((t) => t.ms > 0).map(timeLabel).join(', '),
        });
        return (
          `loss ${demo.firstLoss.toFixed(3)} → ${demo.finalLoss.toFixed(4)}, accuracy ${(100 * demo.accuracy).toFixed(1)}% in ${demo.steps} steps (${demo.params} params); ` +
          `step @1M: ${demo.timings.map((t) => `${t.label} ${t.ms.toFixed(2)} ms`).join(', ')}\n  screenshot: ${path}`
        );
      } finally {
        await page.close();
      }
    });

  await demoCheck('plain page', 'plain', 'demo.png');
  await demoCheck('cross-origin isolated page', 'isolated', 'demo-isolated.png');

  const tfjsCheck = (label, server) =>
    check(`Chromium, tfjs page (Vite build), ${label}: model.fit with adamw() on tfjs 'cpu' and 'wasm'; adamw({ threads: 2 }) refused on the main thread`, async () => {
      assert(context, 'no browser');
      assert(existsSync(join(tfjsOut, 'index.html')), 'the tfjs page was not built');
      const [report] = await open(`${servers[server].url}tfjs-page/index.html`, 'tfjsResult');
      assert(report.ok === true, `tfjs page failed: ${report.error}`);
      assert(report.crossOriginIsolated === (server === 'isolated'), `crossOriginIsolated is ${report.crossOriginIsolated}`);
      assert(report.runs.map((r) => r.tfjsBackend).join() === 'cpu,wasm', `trained on tfjs ${report.runs.map((r) => r.tfjsBackend).join(', ')}`);
      assert(report.runs.every((r) => r.backend === 'wasm-simd' && r.threads === 1), `adamw() ('auto') ran ${report.runs.map((r) => `${r.backend} × ${r.threads}`).join(', ')}`);
      // The documented refusal: tfjs steps synchronously, and a page's main thread may not block.
      assert(/cannot run here/.test(report.threadsRefusal), `adamw({ threads: 2 }) on the main thread: ${report.threadsRefusal ? `threw "${report.threadsRefusal}"` : 'no error'}`);
      // tfjs-backend-webgl is not installed (nor in the pnpm store): webgl is not tested.
      const untested = report.registeredBackends.filter((b) => b !== 'cpu' && b !== 'wasm');
      recordTfjs(`${context.browser()?.version() ?? 'chromium'} ${server === 'isolated' ? 'COOP/COEP' : 'plain'} (Vite), adamw-wasm-tfjs`, report, 'refused (main)');
      return (
        `crossOriginIsolated ${report.crossOriginIsolated}; ${describeTfjs(report)}\n  adamw({ threads: 2 }): "${report.threadsRefusal}"` +
        (untested.length ? `; tfjs backends not tested: ${untested.join(', ')}` : '')
      );
    });

  await tfjsCheck('plain page', 'plain');
  await tfjsCheck('cross-origin isolated page', 'isolated');

  await context?.close();
  await servers.plain?.close();
  await servers.isolated?.close();
}

// ------------------------------------------------------------------ report

if (args.includes('--keep')) console.log(`\nkept ${work}`);
else rmSync(work, { recursive: true, force: true });

if (summary.length) {
  console.log('\nwhat each runtime reported (backend of "auto"; threads; one AdamW step at 1,048,576 params, or for adamw-wasm-tfjs model.fit per batch):');
  const w = Math.max(...summary.map((s) => s.runtime.length));
  for (const s of summary) console.log(`  ${s.runtime.padEnd(w)}  ${String(s.backend).padEnd(9)}  threads ${s.threads.padEnd(17)}  ${s.timings}`);
}
console.log(`\ntarball tests (${suites.join(', ')}) took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`tarball: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
