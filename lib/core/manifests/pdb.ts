/** A `policy/v1` PodDisruptionBudget per service with a `pdb` block, selecting the service's pods. */
import type { PrescaleConfig, ServiceConfig } from '../../config/schema.ts';
import type { ManifestObject } from '../../ports.ts';
import { createManagedLabels, podSelectorOf } from './labels.ts';

export function renderPdb(config: PrescaleConfig, service: ServiceConfig): ManifestObject | undefined {
  const pdb = service.pdb;
  if (pdb === undefined) return undefined;
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: service.name, namespace: service.namespace, labels: createManagedLabels(config.cluster.name) },
    spec: {
      selector: { matchLabels: podSelectorOf(service) },
      ...(pdb.minAvailable === undefined ? {} : { minAvailable: pdb.minAvailable }),
      ...(pdb.maxUnavailable === undefined ? {} : { maxUnavailable: pdb.maxUnavailable }),
      // A pod that never became ready can be evicted even when the budget is spent, so a
      // crash-looping rollout does not block node drains (and node-group scale-in) forever.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
