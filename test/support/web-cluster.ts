/**
 * The pipeline tests' cluster: one `web` group of 2-CPU nodes booting in 3
 * minutes, and services of one CPU and 1 GiB a pod scaled by CPU at 70 %.
 */
import { parseConfig } from '../../lib/config/load.ts';
import type { PrescaleConfig } from '../../lib/config/schema.ts';

export interface MetricFixture {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly periodSeconds: number;
  readonly missingData?: string;
}

/** A service on `web` reading `metric`, `perPod` demand per pod (100), 1 to `maxReplicas` (80) replicas. */
export function webService(name: string, metric: MetricFixture, options: { perPod?: number; maxReplicas?: number; hpaMetrics?: readonly unknown[] } = {}) {
  return {
    name,
    namespace: 'prod',
    deployment: name,
    requests: { cpu: '1', memory: '1Gi' },
    podStartMinutes: 0,
    nodeGroups: ['web'],
    hpa: { minReplicas: 1, maxReplicas: options.maxReplicas ?? 80, metrics: options.hpaMetrics ?? [{ type: 'cpu', targetUtilizationPercent: 70 }] },
    demand: { metric, perPod: options.perPod ?? 100 },
  };
}

/** The cluster `test` with `web` holding 1 to `maxNodes` nodes, and whatever else `overrides` sets (services, policy…). */
export function webClusterConfig(maxNodes: number, overrides: Record<string, unknown>): PrescaleConfig {
  return parseConfig({
    version: 1,
    cluster: { name: 'test', region: 'us-east-1' },
    nodeGroups: [{ name: 'web', instanceTypes: ['m5.large'], minNodes: 1, maxNodes, allocatable: { cpu: '2', memory: '8Gi', pods: 20 }, bootMinutes: 3 }],
    ...overrides,
  });
}
