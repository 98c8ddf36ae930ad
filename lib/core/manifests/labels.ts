/**
 * Labels and names every rendered object shares. The two ownership labels are
 * what pruning selects on, so an object prescale never rendered is never deleted.
 */
import type { ServiceConfig } from '../../config/schema.ts';
import { compareStrings } from './yaml.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'prescale';
export const CLUSTER_LABEL = 'prescale.io/cluster';

/** The field manager of the rendered objects (HPA, VPA, PDB). */
export const FIELD_MANAGER = 'prescale';
/** The field manager that owns `spec.minReplicas` while the planner holds a predictive floor. */
export const FLOOR_FIELD_MANAGER = 'prescale-floor';

export function createManagedLabels(clusterName: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CLUSTER_LABEL]: clusterLabelValue(clusterName) };
}

/** `app.kubernetes.io/managed-by=prescale,prescale.io/cluster=<name>`: what prune lists. */
export function managedLabelSelector(clusterName: string): string {
  return `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${CLUSTER_LABEL}=${clusterLabelValue(clusterName)}`;
}

/**
 * A label value is at most 63 characters of [A-Za-z0-9_.-] starting and ending
 * alphanumeric; an EKS cluster name allows up to 100. Names that do not fit are
 * cut and suffixed with a stable hash so two clusters never share a value.
 */
export function clusterLabelValue(clusterName: string): string {
  const cleaned = clusterName.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  if (cleaned === clusterName && cleaned.length <= 63) return cleaned;
  const suffix = fnv1a32(clusterName).toString(16).padStart(8, '0');
  return `${cleaned.slice(0, 63 - suffix.length - 1).replace(/[^A-Za-z0-9]+$/, '')}-${suffix}`;
}

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The pods of a service (PDB selector, anti-affinity, spread): the
 * configured `podLabels`, else the recommended `app.kubernetes.io/name` set
 * to the Deployment name. Keys sorted, so the rendered YAML is stable.
 */
export function podSelectorOf(service: ServiceConfig): Record<string, string> {
  const labels = service.podLabels ?? { 'app.kubernetes.io/name': service.deployment };
  return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => compareStrings(a, b)));
}
