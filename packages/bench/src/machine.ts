import { cpus, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly date: string;
  /** Filled in by peers that ran: e.g. torch "1.13.0a0 (AVX2)", tfjs "4.22.0", native features. */
  readonly peers: Record<string, string>;
}

/** "model name" from /proc/cpuinfo where os.cpus() has nothing useful. */
function cpuModel(): string {
  const fromOs = cpus()[0]?.model.trim();
  if (fromOs && fromOs !== 'unknown') return fromOs;
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine(): Machine {
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    peers: {},
  };
}

export function machineLine(m: Machine): string {
  const peers = Object.entries(m.peers).map(([k, v]) => `${k} ${v}`);
  return [`${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB`, `Node ${m.node}`, m.platform, ...peers].join(', ');
}
