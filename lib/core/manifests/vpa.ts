/**
 * One `autoscaling.k8s.io/v1` VerticalPodAutoscaler per service with a `vpa`
 * block. The loader has already rejected a VPA that would act (updateMode other
 * than "Off") on a resource its HPA scales on: the two would chase each other,
 * the VPA raising requests and the HPA's utilisation falling with them.
 */
import type { PrescaleConfig, ServiceConfig } from '../../config/schema.ts';
import { formatCpu, formatMemory } from '../../config/quantity.ts';
import type { ManifestObject } from '../../ports.ts';
import { createManagedLabels } from './labels.ts';

/** The VPA's name for "every container of the pod" when the config names none. */
export const VPA_ALL_CONTAINERS = '*';

export function renderVpa(config: PrescaleConfig, service: ServiceConfig): ManifestObject | undefined {
  const vpa = service.vpa;
  if (vpa === undefined) return undefined;
  return {
    apiVersion: 'autoscaling.k8s.io/v1',
    kind: 'VerticalPodAutoscaler',
    metadata: { name: service.name, namespace: service.namespace, labels: createManagedLabels(config.cluster.name) },
    spec: {
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: service.deployment },
      updatePolicy: { updateMode: vpa.updateMode },
      resourcePolicy: {
        containerPolicies: [
          {
            containerName: service.container ?? VPA_ALL_CONTAINERS,
            controlledResources: [...new Set(vpa.controlledResources)].sort(),
            minAllowed: { cpu: formatCpu(vpa.minAllowed.cpuMillicores), memory: formatMemory(vpa.minAllowed.memoryMiB) },
            maxAllowed: { cpu: formatCpu(vpa.maxAllowed.cpuMillicores), memory: formatMemory(vpa.maxAllowed.memoryMiB) },
          },
        ],
      },
    },
  };
}
