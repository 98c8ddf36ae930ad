/**
 * Fan-out: the scheduled trigger turns one schedule firing into one queue
 * message per cluster, so a slow or broken cluster delays nobody else.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import { ValidationError } from '../errors.ts';
import type { ClusterMessage, SchedulerEvent } from './schemas.ts';

/** Where fan-out messages go: SQS on AWS, an in-memory list locally. */
export interface ClusterQueue {
  send(messages: readonly ClusterMessage[]): Promise<void>;
}

/** One message per selected cluster, sorted by cluster name. Unknown names in `detail.clusters` are an error. */
export function planFanOut(configs: readonly PrescaleConfig[], event: SchedulerEvent): ClusterMessage[] {
  const known = new Set(configs.map((c) => c.cluster.name));
  const wanted = event.detail.clusters ?? [...known];
  const unknown = wanted.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ValidationError('scheduled event', unknown.map((name) => `detail.clusters names "${name}", which is not a configured cluster (configured: ${[...known].sort().join(', ')})`));
  }
  return [...new Set(wanted)].sort().map((cluster) => ({ cluster, trigger: 'scheduled', scheduleArn: event.resources[0], scheduledTime: event.time }));
}

/** SQS SendMessageBatch takes at most 10 entries. */
export const SQS_BATCH_LIMIT = 10;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The SQS batch entry id: unique within a batch, [A-Za-z0-9_-]{1,80}. */
export function batchEntryId(index: number, cluster: string): string {
  return `${index}-${cluster.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 80);
}
