/**
 * Which clusters an alarm speaks for. An alarm on a service's demand metric
 * (same namespace, name and dimensions) belongs to that service's cluster; an
 * alarm on anything else is routed by name, `prescale-<cluster>-…`.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import { compareStrings } from '../core/canonical.ts';
import type { AlarmEvent } from './schemas.ts';

function sameDimensions(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

export type AlarmRoute =
  | { readonly action: 'run'; readonly clusters: readonly string[]; readonly why: string }
  | { readonly action: 'ignore'; readonly why: string };

export function routeAlarm(configs: readonly PrescaleConfig[], event: AlarmEvent): AlarmRoute {
  const { detail } = event;
  // Only a transition into ALARM asks for capacity; recovering to OK is the scheduled run's business.
  if (detail.state.value !== 'ALARM') return { action: 'ignore', why: `state is ${detail.state.value}, not ALARM` };
  if (detail.previousState.value === 'ALARM') return { action: 'ignore', why: 'already in ALARM (no transition)' };

  const byMetric = new Set<string>();
  for (const metric of detail.configuration.metrics) {
    const stat = metric.metricStat;
    if (stat === undefined) continue;
    for (const config of configs) {
      const matches = config.services.some(
        (s) => s.demand.metric.namespace === stat.metric.namespace && s.demand.metric.name === stat.metric.name && sameDimensions(s.demand.metric.dimensions, stat.metric.dimensions),
      );
      if (matches) byMetric.add(config.cluster.name);
    }
  }
  if (byMetric.size > 0) return { action: 'run', clusters: [...byMetric].sort(), why: 'the alarm watches a configured demand metric' };

  // Longest cluster name first so `prescale-prod-eu-…` does not match cluster `prod`.
  const byName = [...configs]
    .map((c) => c.cluster.name)
    .sort((a, b) => b.length - a.length || compareStrings(a, b))
    .find((name) => detail.alarmName.startsWith(`prescale-${name}-`));
  if (byName !== undefined) return { action: 'run', clusters: [byName], why: `the alarm name starts with prescale-${byName}-` };
  return { action: 'ignore', why: `alarm ${detail.alarmName} watches no configured demand metric and is not named prescale-<cluster>-…` };
}
