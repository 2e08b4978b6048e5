// Deno consumer: a threaded optimizer built synchronously and disposed at once, before its
// workers have booted. The process must still exit (a worker that booted after the kernel was
// disposed used to wait for a job for ever, and Deno kept the process alive for it).
import { AdamW, init } from 'adamw-wasm';

await init();
new AdamW([{ size: 1 << 16 }], { threads: 2 }).dispose();
console.log('disposed');
