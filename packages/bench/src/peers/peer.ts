import type { Machine } from '../machine.js';
import type { BackendId, Prepared, RunConfig } from '../types.js';

/** What a peer may use and report while it prepares its rows. */
export interface PeerContext {
  readonly config: RunConfig;
  /** Versions and capabilities for the machine description (torch, tfjs, native features). */
  readonly machine: Machine;
  /** A note printed under the table (and saved in the JSON); repeated notes are shown once. */
  note(message: string): void;
  /** A progress message on stderr. */
  log(message: string): void;
  /** Whether the native bench may be (re)built with cargo. */
  readonly build: boolean;
}

/** One backend: prepares the rows it measures at a given size, or says why it cannot. */
export interface Peer {
  readonly backend: BackendId;
  prepare(size: number): Promise<Prepared>;
  close?(): Promise<void> | void;
}

export const bytesPerParam = (amsgrad: boolean): number => (amsgrad ? 36 : 28);

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
