/**
 * One `autoscaling/v2` HorizontalPodAutoscaler per service, named after the
 * service (the planner's `describeHpas` and `set-hpa-floor` find it by that name).
 */
import type { HpaMetricConfig, PrescaleConfig, ServiceConfig } from '../../config/schema.ts';
import type { ManifestObject } from '../../ports.ts';
import { createManagedLabels } from './labels.ts';
import { formatQuantity } from './quantity.ts';

type ScalingRulesConfig = NonNullable<NonNullable<ServiceConfig['hpa']['behavior']>['scaleUp']>;

export function renderHpa(config: PrescaleConfig, service: ServiceConfig): ManifestObject {
  const behavior = service.hpa.behavior;
  const spec: Record<string, unknown> = {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: service.deployment },
    minReplicas: service.hpa.minReplicas,
    maxReplicas: service.hpa.maxReplicas,
    // Config order is kept: it is the user's order and already deterministic; HPA takes the max over all metrics.
    metrics: service.hpa.metrics.map(renderMetric),
  };
  if (behavior !== undefined && (behavior.scaleUp !== undefined || behavior.scaleDown !== undefined)) {
    spec.behavior = {
      ...(behavior.scaleUp === undefined ? {} : { scaleUp: renderScalingRules(behavior.scaleUp) }),
      ...(behavior.scaleDown === undefined ? {} : { scaleDown: renderScalingRules(behavior.scaleDown) }),
    };
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: service.name, namespace: service.namespace, labels: createManagedLabels(config.cluster.name) },
    spec,
  };
}

export function renderMetric(metric: HpaMetricConfig): Record<string, unknown> {
  switch (metric.type) {
    case 'cpu':
    case 'memory':
      return {
        type: 'Resource',
        // averageUtilization is an int32 percent of the pods' requests.
        resource: { name: metric.type, target: { type: 'Utilization', averageUtilization: metric.targetUtilizationPercent } },
      };
    case 'pods':
      return {
        type: 'Pods',
        pods: { metric: { name: metric.metric }, target: { type: 'AverageValue', averageValue: formatQuantity(metric.targetAverageValue) } },
      };
    case 'external': {
      const selector = metric.selector === undefined || Object.keys(metric.selector).length === 0 ? {} : { selector: { matchLabels: metric.selector } };
      // The loader guarantees exactly one of targetValue / targetAverageValue.
      const target =
        metric.targetValue !== undefined
          ? { type: 'Value', value: formatQuantity(metric.targetValue) }
          : { type: 'AverageValue', averageValue: formatQuantity(metric.targetAverageValue ?? 0) };
      return { type: 'External', external: { metric: { name: metric.metric, ...selector }, target } };
    }
  }
}

function renderScalingRules(rules: ScalingRulesConfig): Record<string, unknown> {
  return {
    ...(rules.stabilizationWindowSeconds === undefined ? {} : { stabilizationWindowSeconds: rules.stabilizationWindowSeconds }),
    ...(rules.selectPolicy === undefined ? {} : { selectPolicy: rules.selectPolicy }),
    ...(rules.policies === undefined ? {} : { policies: rules.policies.map((p) => ({ type: p.type, value: p.value, periodSeconds: p.periodSeconds })) }),
  };
}
