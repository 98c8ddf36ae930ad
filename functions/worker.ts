/**
 * SQS → one pipeline run per message (one cluster). Partial batch failure:
 * a broken cluster fails only its own message, which SQS redelivers and
 * finally moves to the DLQ; the others are deleted.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ValidationError } from '../lib/errors.ts';
import { runPipeline } from '../lib/pipeline/run.ts';
import { getDependencies } from '../lib/handlers/deps.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { summarizeRun, type RunSummary } from '../lib/handlers/results.ts';
import { APPROVAL_MESSAGE_TYPE, approvalMessageSchema, type ApprovalMessage } from '../lib/handlers/approval-queue.ts';
import { runApprovalFollowUp, type LogSink } from '../lib/handlers/slack-approval.ts';
import { clusterMessageSchema, sqsEventSchema, type ClusterMessage } from '../lib/handlers/schemas.ts';
import { parseOrThrow } from '../lib/handlers/validation.ts';

const NAME = 'worker';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME);
const processor = new BatchProcessor(EventType.SQS);
const log: LogSink = (level, message, fields) => logger[level](message, { ...fields });

/** Two message types share the queue: a cluster run (from `scheduled`) and a Slack follow-up (from `slackApproval`). */
function parseBody(record: SQSRecord): ClusterMessage | ApprovalMessage {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch (error) {
    throw new ValidationError(`message ${record.messageId}`, [`body is not JSON: ${(error as Error).message}`]);
  }
  if (typeof body === 'object' && body !== null && (body as { type?: unknown }).type === APPROVAL_MESSAGE_TYPE) return parseOrThrow(approvalMessageSchema, body, `message ${record.messageId}`);
  return parseOrThrow(clusterMessageSchema, body, `message ${record.messageId}`);
}

export type WorkerRecordResult = RunSummary | { readonly approval: string; readonly outcome: string };

export const handler = createHandler<SQSEvent, SQSBatchResponse>({ name: NAME, schema: sqsEventSchema, what: 'SQS event' }, { logger, metrics }, async (event, context) => {
  const deps = await getDependencies();
  const processRecord = async (record: SQSRecord): Promise<WorkerRecordResult> => {
    const message = parseBody(record);
    if ('type' in message) {
      // Not behind the idempotency runner: a redelivery runs the follow-up again and the plan's conditional transitions make it execute nothing.
      const result = await runApprovalFollowUp(deps, message, `${context.awsRequestId}#${record.messageId}`, log, { remainingMs: () => context.getRemainingTimeInMillis() });
      metrics.addMetric('SlackFollowUps', MetricUnit.Count, 1);
      logger.info('slack approval follow-up', { planId: result.planId, userId: result.userId, outcome: result.outcome, message: result.message, receivedAtMs: message.receivedAtMs });
      return { approval: result.planId, outcome: result.outcome };
    }
    const config = deps.config(message.cluster, 'body.cluster');
    const summary = await runner(deps).run(`${message.cluster}#${message.scheduleArn}#${message.scheduledTime}`, context, async () => {
      const ports = deps.portsFor(message.cluster, Date.parse(message.scheduledTime));
      const result = await runPipeline(config, ports, { trigger: 'scheduled', actor: 'scheduled', runId: `${context.awsRequestId}#${record.messageId}` });
      return summarizeRun(result);
    });
    metrics.addMetric('ClusterRuns', MetricUnit.Count, 1);
    // Capacity held because a demand metric stopped (or was never seen) is silent in the plan: count it so it can page.
    // A summary replayed from the idempotency store may predate these fields: read as none.
    const stored: Partial<RunSummary> = summary;
    const unknown: readonly string[] = stored.demandUnknown ?? [];
    const inferredZero: readonly string[] = stored.demandInferredZero ?? [];
    // A run that found the lease held observed nothing: a 0 from it would say "all known".
    if (summary.status === 'done') {
      metrics.addMetric('ServicesDemandUnknown', MetricUnit.Count, unknown.length);
      metrics.addMetric('ServicesDemandInferredZero', MetricUnit.Count, inferredZero.length);
    }
    logger.info('cluster run', { ...summary });
    if (unknown.length > 0) logger.warn('demand unknown: holding capacity for these services', { cluster: summary.cluster, services: unknown });
    const rehearsal = stored.costCeilingRehearsal;
    if (rehearsal?.outcome === 'failed') logger.warn('cost ceiling not rehearsed: it starts cold and steers over its first day', { cluster: summary.cluster, error: rehearsal.error });
    const finerReadsFailed = stored.finerReadsFailed ?? [];
    if (finerReadsFailed.length > 0) {
      logger.warn('finer days unread: these forecasts cover coarse means until their next refit', { cluster: summary.cluster, failures: finerReadsFailed });
    }
    const alertNotPosted = stored.budgetAlertNotPosted ?? null;
    if (alertNotPosted !== null) logger.warn('budget alert not posted: the next run posts it again', { cluster: summary.cluster, error: alertNotPosted });
    const approvalNotPosted = stored.approvalNotPosted ?? null;
    if (approvalNotPosted !== null) logger.warn('approval not asked in Slack this run: the next run asks again', { cluster: summary.cluster, error: approvalNotPosted });
    return summary;
  };
  const processed = await processPartialResponse(event, processRecord, processor, { context });
  // Records run concurrently; failures are reported in the batch's own order so the output is reproducible.
  const position = new Map(event.Records.map((r, i) => [r.messageId, i]));
  const response: SQSBatchResponse = { batchItemFailures: [...processed.batchItemFailures].sort((a, b) => (position.get(a.itemIdentifier) ?? 0) - (position.get(b.itemIdentifier) ?? 0)) };
  metrics.addMetric('ClusterRunsFailed', MetricUnit.Count, response.batchItemFailures.length);
  for (const failure of response.batchItemFailures) logger.warn('cluster run failed; SQS will redeliver it', { messageId: failure.itemIdentifier });
  return response;
});
