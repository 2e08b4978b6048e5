/**
 * Matching saved state to variables by name. tfjs-layers makes every variable name unique in
 * the process by appending `_<n>` to a name already taken, so a model loaded beside the one it
 * was saved from has `dense_Dense1/kernel_1` where the file says `dense_Dense1/kernel` (and a
 * file saved from such a model says `_1` where a fresh process has none). A name is matched
 * exactly, else by its base (the name without that suffix) when exactly one candidate shares it.
 */

const baseName = (name: string): string => name.replace(/_\d+$/, '');

/**
 * The candidate `name` refers to, or undefined. Two candidates sharing its base and neither
 * exactly `name` is ambiguous: an error naming them, rather than a silent fresh state.
 */
export function matchName(who: string, name: string, candidates: Iterable<string>): string | undefined {
  const base = baseName(name);
  const hits: string[] = [];
  for (const candidate of candidates) {
    if (candidate === name) return name;
    if (baseName(candidate) === base) hits.push(candidate);
  }
  if (hits.length > 1) {
    throw new RangeError(
      `${who}: variable ${JSON.stringify(name)} could be the state saved as ${hits.map((h) => JSON.stringify(h)).join(' or ')} ` +
        '(tfjs-layers adds _<n> to names already taken); give each model its own optimizer, or rename the layers',
    );
  }
  return hits[0];
}
