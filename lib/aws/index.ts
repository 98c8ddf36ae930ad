/**
 * The AWS side of the ports, wired from one set of clients. A handler builds
 * the clients once per cold start (module scope) and the adapters per run,
 * since the node group routes come from the run's config.
 */
import type { NodeGroupConfig } from '../config/schema.ts';
import type { Clock } from '../ports.ts';
import { createAwsCapacity } from './capacity.ts';
import type { AwsCapacity } from './capacity.ts';
import type { AwsClients } from './clients.ts';
import { CloudWatchMetrics } from './cloudwatch.ts';
import { ElbTraffic } from './elbv2.ts';

export interface AwsAdapters {
  readonly metrics: CloudWatchMetrics;
  readonly capacity: AwsCapacity;
  readonly traffic: ElbTraffic;
}

export function createAwsAdapters(clients: AwsClients, nodeGroups: readonly NodeGroupConfig[], clock: Clock): AwsAdapters {
  return {
    metrics: new CloudWatchMetrics(clients.cloudWatch, clock),
    capacity: createAwsCapacity(nodeGroups, clients),
    traffic: new ElbTraffic(clients.elbv2),
  };
}
