/**
 * The fan-out queue on SQS: SendMessageBatch in batches of ten. A partially
 * failed batch is an error naming the clusters that were not enqueued, so
 * the scheduler retries the firing (idempotency makes the retry resend only
 * after the failure released the key; the worker's own idempotency and the
 * cluster lease absorb a message sent twice).
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { callAws } from '../aws/errors.ts';
import { PrescaleError } from '../errors.ts';
import { batchEntryId, chunk, SQS_BATCH_LIMIT, type ClusterQueue } from './fanout.ts';
import type { ClusterMessage } from './schemas.ts';

export function createSqsQueue(client: SQSClient, queueUrl: string): ClusterQueue {
  return {
    async send(messages: readonly ClusterMessage[]): Promise<void> {
      const failed: string[] = [];
      for (const batch of chunk(messages, SQS_BATCH_LIMIT)) {
        const entries = batch.map((message, i) => ({ Id: batchEntryId(i, message.cluster), MessageBody: JSON.stringify(message) }));
        const output = await callAws(`SQS SendMessageBatch ${queueUrl}`, () => client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })));
        for (const failure of output.Failed ?? []) {
          const index = entries.findIndex((e) => e.Id === failure.Id);
          failed.push(`${batch[index]?.cluster ?? failure.Id} (${failure.Code ?? 'unknown'}: ${failure.Message ?? ''})`);
        }
      }
      if (failed.length > 0) throw new PrescaleError('unavailable', `SQS did not take the messages of ${failed.join(', ')}`, { retryable: true });
    },
  };
}
