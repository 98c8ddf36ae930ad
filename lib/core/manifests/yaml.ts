/**
 * Deterministic YAML: keys sorted at every depth, no line folding, and YAML 1.1
 * quoting. kubectl and kustomize parse YAML 1.1, where a bare `Off`, `on` or `y`
 * is a boolean — `updateMode: Off` would reach the VPA CRD as `false` and be
 * rejected — so such strings must be quoted even though YAML 1.2 would not.
 */
import { stringify } from 'yaml';
import { sortKeysDeep } from '../canonical.ts';

export { compareStrings, sortKeysDeep } from '../canonical.ts';

/** One document per object, `---` between them, trailing newline. */
export function toYaml(objects: readonly unknown[]): string {
  return objects.map((object) => stringify(sortKeysDeep(object), { version: '1.1', lineWidth: 0 })).join('---\n');
}
