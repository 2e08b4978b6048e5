/**
 * Checkpoint files: an atomic write (temporary file beside the target, fsync, rename, fsync of
 * the directory) and a whole-file read. Node's modules are imported only when called, so the
 * platform-neutral bundle still loads in browsers, where these functions throw instead.
 */
import { importNodeBuiltin } from '../platform.js';
import { typeError } from '../validate.js';

// The few Node APIs used, typed here so the package compiles without @types/node (as spawn.ts).
interface FileHandle { writeFile(data: Uint8Array): Promise<void>; sync(): Promise<void>; close(): Promise<void> }
interface NodeFs {
  open(path: string, flags: string): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
}
interface NodePath { dirname(path: string): string; basename(path: string): string; join(...parts: string[]): string }
interface NodeUrl { fileURLToPath(url: URL): string }

/** Checks `path`, loads Node's modules, and turns a file: URL into a path. */
async function fileSystemAndPath(who: string, path: string | URL): Promise<{ fs: NodeFs; paths: NodePath; file: string }> {
  if (!(path instanceof URL && path.protocol === 'file:') && (typeof path !== 'string' || path === '')) {
    typeError(who, 'path', 'a non-empty string or a file: URL', path instanceof URL ? path.href : path);
  }
  const [fs, paths, url] = await Promise.all([
    importNodeBuiltin<NodeFs>('fs/promises'),
    importNodeBuiltin<NodePath>('path'),
    importNodeBuiltin<NodeUrl>('url'),
  ]).catch((cause: unknown) => {
    throw new Error(`${who}: needs a file system (Node or Deno); in a browser, use saveState()/loadState() and store the bytes yourself`, { cause });
  });
  return { fs, paths, file: typeof path === 'string' ? path : url.fileURLToPath(path) };
}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));
const ignore = (): void => {};

/** Writes `bytes` to `path` so that a crash at any moment leaves either the previous file or the new one, whole. */
export async function writeFileAtomically(who: string, path: string | URL, bytes: Uint8Array): Promise<void> {
  if (!(bytes instanceof Uint8Array)) typeError(who, 'bytes', 'a Uint8Array', bytes);
  const { fs, paths, file } = await fileSystemAndPath(who, path);
  // In the target's directory: a rename is atomic only within one file system.
  const dir = paths.dirname(file);
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid ?? 0;
  const temp = paths.join(dir, `${paths.basename(file)}.${pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let handle: FileHandle | undefined;
  let tempExists = false;
  try {
    handle = await fs.open(temp, 'wx'); // exclusive: never truncate a file someone else is writing
    tempExists = true;
    await handle.writeFile(bytes);
    await handle.sync(); // the data is on disk before any name points at it
    await handle.close();
    handle = undefined;
    await fs.rename(temp, file);
    tempExists = false;
    await syncDirectory(fs, dir);
  } catch (cause) {
    await handle?.close().catch(ignore);
    if (tempExists) await fs.unlink(temp).catch(ignore); // best effort: the original error is the one to report
    throw new Error(`${who}: cannot write ${file} (${describe(cause)})`, { cause });
  }
}

/** Makes the rename durable: on POSIX a new directory entry survives a power loss only once its directory is synced. */
async function syncDirectory(fs: NodeFs, dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open a directory (EISDIR) or flush one (EPERM), and some file systems
    // refuse fsync on directories (EINVAL): there the rename is still atomic, and its
    // durability is up to the platform. Anything else (EIO) is a real failure.
    const code = (error as { code?: unknown }).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    await handle?.close().catch(ignore);
  }
}

/** Reads a whole file. */
export async function readFileBytes(who: string, path: string | URL): Promise<Uint8Array> {
  const { fs, file } = await fileSystemAndPath(who, path);
  try {
    const data = await fs.readFile(file);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // a plain Uint8Array, not a Node Buffer
  } catch (cause) {
    throw new Error(`${who}: cannot read ${file} (${describe(cause)})`, { cause });
  }
}
