/**
 * Canonical order for deterministic output (rendered manifests, summary.json,
 * price tables, sorted lists). Dependency-free, so any bundle can take it
 * without pulling in a parser or a schema library.
 */

/** Code-unit order, the one comparator every sorted list and map in prescale's output uses. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A copy with object keys in code-unit order at every depth; `undefined` values are dropped (JSON and YAML omit them too). */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareStrings(a, b));
    return Object.fromEntries(entries.map(([k, v]) => [k, sortKeysDeep(v)]));
  }
  return value;
}
