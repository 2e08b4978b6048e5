/** What runtime this is, and its built-in modules where it has them (Node, Deno). */

/** Node, but not Deno (which also defines `process`): its Web Workers are the better fit. */
export const isNode = (): boolean =>
  typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string' &&
  !('Deno' in globalThis);

/** `import()` of a Node built-in that bundlers for browsers must not try to resolve. */
export function importNodeBuiltin<T>(name: string): Promise<T> {
  const specifier = `node:${name}`;
  return import(/* @vite-ignore */ specifier) as Promise<T>;
}
