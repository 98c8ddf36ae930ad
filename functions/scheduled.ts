/**
 * EventBridge Scheduler → one SQS message per cluster (the worker runs them).
 * Idempotent on schedule ARN + scheduled time: a redelivered firing enqueues nothing twice.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getDependencies } from '../lib/handlers/deps.ts';
import { planFanOut } from '../lib/handlers/fanout.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { schedulerEventSchema, type SchedulerEvent } from '../lib/handlers/schemas.ts';

const NAME = 'scheduled';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME);

export const handler = createHandler<SchedulerEvent, { enqueued: string[] }>({ name: NAME, schema: schedulerEventSchema, what: 'scheduled event' }, { logger, metrics }, async (event, context) => {
  const deps = await getDependencies();
  const messages = planFanOut(deps.configs, event);
  return runner(deps).run(`${event.resources[0]}#${event.time}`, context, async () => {
    await deps.queue.send(messages);
    metrics.addMetric('ClustersEnqueued', MetricUnit.Count, messages.length);
    logger.info('enqueued one message per cluster', { clusters: messages.map((m) => m.cluster), scheduledTime: event.time });
    return { enqueued: messages.map((m) => m.cluster) };
  });
});
