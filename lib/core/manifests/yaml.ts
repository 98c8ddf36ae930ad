/**
 * Deterministic YAML: keys sorted at every depth, no line folding, and YAML 1.1
 * quoting. kubectl and kustomize parse YAML 1.1, where a bare `Off`, `on` or `y`
 * is a boolean — `updateMode: Off` would reach the VPA CRD as `false` and be
 * rejected — so such strings must be quoted even though YAML 1.2 would not.
 */
import { stringify } from 'yaml';

/** Code-unit order, the one comparator every sorted list and map in the rendered output uses. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

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

/** One document per object, `---` between them, trailing newline. */
export function toYaml(objects: readonly unknown[]): string {
  return objects.map((object) => stringify(sortKeysDeep(object), { version: '1.1', lineWidth: 0 })).join('---\n');
}
