/**
 * "CloudWatch Alarm State Change" → an immediate reactive run for the
 * clusters the alarm speaks for. Idempotent on alarm ARN + state timestamp.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PrescaleError } from '../lib/errors.ts';
import { runPipeline } from '../lib/pipeline/run.ts';
import { routeAlarm } from '../lib/handlers/alarm.ts';
import { getDependencies } from '../lib/handlers/deps.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { forEachCluster, summarizeRun, type RunSummary } from '../lib/handlers/results.ts';
import { alarmEventSchema, type AlarmEvent } from '../lib/handlers/schemas.ts';

const NAME = 'alarm';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME);

export type AlarmResult = { action: 'ignored'; why: string } | { action: 'ran'; why: string; runs: RunSummary[] };

export const handler = createHandler<AlarmEvent, AlarmResult>({ name: NAME, schema: alarmEventSchema, what: 'alarm event' }, { logger, metrics }, async (event, context) => {
  const deps = await getDependencies();
  const route = routeAlarm(deps.configs, event);
  if (route.action === 'ignore') {
    logger.info('alarm ignored', { alarm: event.detail.alarmName, why: route.why });
    return { action: 'ignored', why: route.why };
  }
  return runner(deps).run(`${event.resources[0]}#${event.detail.state.timestamp}`, context, async () => {
    const actor = `alarm:${event.detail.alarmName}`;
    const { done, failed } = await forEachCluster(route.clusters, async (cluster) => {
      const result = await runPipeline(deps.config(cluster), deps.portsFor(cluster, Date.parse(event.time)), { trigger: 'alarm', actor, runId: `${context.awsRequestId}#${cluster}` });
      // A run in progress observed the cluster before this alarm, so its plan may not cover it: retry, never drop.
      if (result.status === 'lease-held') throw new PrescaleError('busy', `another run holds the cluster lease; the alarm's scale-out waits for its retry`, { retryable: true });
      return summarizeRun(result);
    });
    metrics.addMetric('AlarmRuns', MetricUnit.Count, done.length);
    // A failed cluster fails the invocation so EventBridge retries it; re-running the others is safe (fresh plan, no-ops skipped).
    if (failed.length > 0) throw new PrescaleError('unavailable', `alarm run failed for ${failed.map((f) => `${f.cluster} (${f.error})`).join(', ')}`, { retryable: true });
    return { action: 'ran', why: route.why, runs: done };
  });
});
