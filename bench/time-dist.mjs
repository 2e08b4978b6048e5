#!/usr/bin/env node
// Times one AdamW step of adamw-wasm from a built dist/ alone (no other dependency), at given
// sizes, thread counts and guard settings: for machines where the workspace is not installed
// (a many-core host reached with only Node and this folder). Rows are interleaved per
// repetition, so a machine's drift hits every row alike; prints medians and writes JSON.
//
//   node bench/time-dist.mjs [--dist packages/adamw-wasm/dist] [--sizes 64k,1m,16m]
//        [--threads 1,2,auto] [--guard on,off] [--reps 9] [--min-rep-ms 25] [--json out.json]
//        [--tensors N]   (split each size into N tensors of transformer-like shapes; default 1)
import { availableParallelism, cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    dist: { type: 'string', default: 'packages/adamw-wasm/dist' },
    sizes: { type: 'string', default: '64k,1m,16m' },
    threads: { type: 'string', default: `1,${availableParallelism()}` },
    guard: { type: 'string', default: 'on' },
    reps: { type: 'string', default: '9' },
    'min-rep-ms': { type: 'string', default: '25' },
    tensors: { type: 'string', default: '1' },
    json: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(`${String(process.argv[1])}: see the comment at the top of bench/time-dist.mjs\n`);
  process.exit(0);
}
const size = (text) => {
  const m = /^(\d+)([kKmM]?)$/.exec(text);
  if (!m) throw new Error(`--sizes: ${text} is not a count (suffixes k, m)`);
  return Number(m[1]) * { '': 1, k: 1024, K: 1024, m: 1048576, M: 1048576 }[m[2]];
};
const sizes = values.sizes.split(',').map(size);
const threadChoices = values.threads.split(',').map((t) => (t === 'auto' ? 'auto' : Number(t)));
const guards = values.guard.split(',');
const reps = Number(values.reps);
const minRepMs = Number(values['min-rep-ms']);
const tensorCount = Number(values.tensors);
const { AdamW, init } = await import(pathToFileURL(resolve(values.dist, 'index.js')).href);
await init();

/** `count` tensors totalling `total`: matrices, their biases and gains, in a transformer's proportions. */
function shapes(total, count) {
  if (count === 1) return [{ name: 'all', size: total }];
  const out = [];
  const unit = total / count;
  for (let i = 0; i < count; i++) out.push({ name: `t${i}`, size: i % 3 === 0 ? Math.max(1, Math.round(unit * 2.9)) : Math.max(1, Math.round(unit * 0.05)) });
  const sum = out.reduce((a, t) => a + t.size, 0);
  out[0].size += total - sum;
  return out;
}

const rows = [];
for (const n of sizes) {
  for (const threads of threadChoices) {
    for (const guard of guards) {
      const opt = await AdamW.create([{ tensors: shapes(n, tensorCount) }], { threads, nonFinite: guard === 'off' ? 'ignore' : 'throw' });
      for (const t of opt.groups[0].tensors) t.grads.fill(0.001), t.params.fill(0.5);
      opt.step();
      const t0 = performance.now();
      let steps = 0;
      while (performance.now() - t0 < minRepMs) opt.step(), steps++;
      rows.push({ size: n, threads, used: opt.threads, guard, opt, steps: Math.max(1, steps), samples: [] });
    }
  }
}
for (let r = 0; r < reps; r++) {
  for (const row of rows) {
    const t0 = performance.now();
    for (let s = 0; s < row.steps; s++) row.opt.step();
    row.samples.push(((performance.now() - t0) * 1e6) / row.steps / row.size);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = rows.map(({ opt, samples, ...row }) => (opt.dispose(), { ...row, nsPerParam: median(samples), min: Math.min(...samples), max: Math.max(...samples) }));
const one = (r) => results.find((x) => x.size === r.size && x.guard === r.guard && x.threads === 1);
console.log(`${cpus()[0]?.model.trim()}, ${cpus().length} cores, Node ${process.version}; ${tensorCount} tensor(s) per size; median of ${reps} reps, ns per parameter`);
console.log('size'.padStart(10), 'threads'.padStart(8), 'used'.padStart(5), 'guard'.padStart(6), 'ns/param'.padStart(9), 'vs 1 thread'.padStart(12));
for (const r of results) {
  const base = one(r);
  console.log(String(r.size).padStart(10), String(r.threads).padStart(8), String(r.used).padStart(5), r.guard.padStart(6), r.nsPerParam.toFixed(3).padStart(9), (base ? `${(r.nsPerParam / base.nsPerParam).toFixed(2)}×` : '').padStart(12));
}
if (values.json) mkdirSync(dirname(resolve(values.json)), { recursive: true });
if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version }, tensors: tensorCount, results }, null, 1)}\n`);
