#!/usr/bin/env node
/**
 * Tarball tests: the package as it would be published, in every runtime it promises.
 *
 *   node test/tarball/run.mjs [lint] [node] [ts] [deno] [browser] [--keep]
 *
 * (no suite named = all). Needs a built package (`node scripts/build.mjs`). Packs
 * packages/adamw-wasm with `pnpm pack`, installs the .tgz with `npm install --offline` into a
 * fresh project under the OS temp dir (deleted afterwards unless --keep), then:
 *   lint     publint (strict, on the tarball) and attw (@arethetypeswrong/cli) on the .tgz;
 *            the tarball holds only dist/, README.md, LICENSE, package.json
 *   node     Node ESM (`import`) and CommonJS (`require`): replay the no-FMA PyTorch fixture
 *            bit for bit with 'auto' (must be wasm-simd), 'wasm' and 'js'; step time at 1M
 *   ts       TypeScript consumers (.mts and .cts) compiled with `tsc --strict`, NodeNext,
 *            skipLibCheck off, against the shipped .d.ts/.d.cts, then run
 *   deno     the same smoke test in Deno (the `deno` npm package's binary)
 *   browser  headless Chromium (playwright-core, /usr/bin/chromium): the smoke page unbundled
 *            (import map to the tarball's dist/index.js), plain and cross-origin isolated
 *            (COOP/COEP), forced 'wasm' and 'js'; the demo (examples/browser) built with Vite
 *            from the installed tarball, plain and isolated; screenshots in test/artifacts/
 * A threaded variant ({ threads: 2 } + stepAsync()) runs in node, deno and the isolated page.
 * Ends with "N passed, N failed"; exits 1 on any failure.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PKG_DIR = join(ROOT, 'packages', 'adamw-wasm');
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

const SUITES = ['lint', 'node', 'ts', 'deno', 'browser'];
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

// ------------------------------------------------------------------ pack and install

assert(existsSync(join(PKG_DIR, 'dist', 'index.js')), 'packages/adamw-wasm/dist is missing: run `node scripts/build.mjs` first');
const work = mkdtempSync(join(tmpdir(), 'adamw-wasm-tarball-'));
const app = join(work, 'app');
let tarball;

await check('pack the package (pnpm pack) and install the .tgz into a fresh project (npm install --offline)', async () => {
  const packDir = join(work, 'pack');
  await run('pnpm', ['--dir', PKG_DIR, 'pack', '--pack-destination', packDir]);
  const tgz = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
  assert(tgz.length === 1, `pack produced ${tgz.join(', ') || 'nothing'}`);
  tarball = join(packDir, tgz[0]);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'adamw-wasm-consumer', private: true, type: 'module' }, null, 2)}\n`);
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', tarball], { cwd: app });
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'adamw-wasm', 'package.json'), 'utf8'));
  // the consumer's files: smoke scripts, TS consumers, the fixture, the demo's sources
  cpSync(join(HERE, 'smoke'), join(app, 'smoke'), { recursive: true });
  cpSync(join(HERE, 'ts'), join(app, 'ts'), { recursive: true });
  mkdirSync(join(app, 'fixture'));
  for (const ext of ['json', 'bin']) {
    cpSync(join(ROOT, 'test', 'fixtures', 'torch-nofma', `adamw-default.${ext}`), join(app, 'fixture', `adamw-default.${ext}`));
  }
  cpSync(join(ROOT, 'examples', 'browser'), join(app, 'demo-src'), { recursive: true, filter: (f) => !f.includes('node_modules') && !f.endsWith('README.md') });
  return `${relative(work, tarball)} (${(readFileSync(tarball).length / 1024).toFixed(1)} KiB) → ${app}/node_modules/adamw-wasm@${installed.version}`;
});
if (!tarball) {
  console.log(`\ntarball: ${passed} passed, ${failed} failed`);
  process.exit(1);
}

// ------------------------------------------------------------------ lint

if (suites.includes('lint')) {
  await check('tarball contents: dist/, README.md, LICENSE, package.json only', async () => {
    const list = (await run('tar', ['-tzf', tarball])).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    const stray = list.filter((f) => !/^(dist\/[^/]+\.(js|cjs|d\.ts|d\.cts)|README\.md|LICENSE|package\.json)$/.test(f));
    assert(stray.length === 0, `unexpected files in the tarball: ${stray.join(', ')}`);
    for (const need of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts']) {
      assert(list.includes(need), `${need} missing from the tarball`);
    }
    return list.join(', ');
  });

  await check('publint (strict, suggestions included) on the tarball', async () => {
    const { publint } = await import('publint');
    const { formatMessage } = await import('publint/utils');
    const buf = readFileSync(tarball);
    const tar = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const { messages, pkg } = await publint({ pack: { tarball: tar }, level: 'suggestion', strict: true });
    assert(messages.length === 0, `publint:\n${messages.map((m) => `${m.type}: ${formatMessage(m, pkg) ?? m.code}`).join('\n')}`);
    return 'no errors, warnings or suggestions';
  });

  await check('@arethetypeswrong/cli on the tarball (node10, node16 CJS/ESM, bundler)', async () => {
    const attw = join(ROOT, 'node_modules', '.bin', 'attw');
    const out = await run(attw, [tarball, '--format', 'table-flipped']);
    assert(/No problems found/.test(out), out);
    return 'No problems found';
  });
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
}

// ------------------------------------------------------------------ TypeScript

if (suites.includes('ts')) {
  await check('TypeScript consumers: tsc --strict (NodeNext, skipLibCheck off) against the shipped types, then run', async () => {
    const tsconfig = {
      compilerOptions: {
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
      },
      include: ['ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
    const tsc = require.resolve('typescript/bin/tsc');
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app });
    const esm = await run(process.execPath, ['ts-out/consumer.mjs'], { cwd: app });
    const cjs = await run(process.execPath, ['ts-out/consumer.cjs'], { cwd: app });
    summary.push({ runtime: `typescript ${require('typescript/package.json').version} (tsc --strict)`, backend: 'wasm-simd', threads: '-', timings: '' });
    return `${esm.trim()}\n  ${cjs.trim()}`;
  });
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
    return `${version}: ${describe(report)}`;
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

  await context?.close();
  await servers.plain?.close();
  await servers.isolated?.close();
}

// ------------------------------------------------------------------ report

if (args.includes('--keep')) console.log(`\nkept ${work}`);
else rmSync(work, { recursive: true, force: true });

if (summary.length) {
  console.log('\nwhat each runtime reported (backend of "auto"; threads; one AdamW step at 1,048,576 params):');
  const w = Math.max(...summary.map((s) => s.runtime.length));
  for (const s of summary) console.log(`  ${s.runtime.padEnd(w)}  ${String(s.backend).padEnd(9)}  threads ${s.threads.padEnd(17)}  ${s.timings}`);
}
console.log(`\ntarball tests (${suites.join(', ')}) took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`tarball: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
