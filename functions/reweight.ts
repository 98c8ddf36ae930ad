/**
 * Schedule → ALB weights from target health, node group capacity and SLO
 * metrics, per cluster, under the cluster lease; one failing cluster or rule
 * does not stop the others. Idempotent on schedule ARN + scheduled time.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getDependencies } from '../lib/handlers/deps.ts';
import { planFanOut } from '../lib/handlers/fanout.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { forEachCluster, type ClusterFailure } from '../lib/handlers/results.ts';
import { runReweight, type ReweightRun, type RuleOutcome } from '../lib/handlers/reweight.ts';
import { schedulerEventSchema, type SchedulerEvent } from '../lib/handlers/schemas.ts';

const NAME = 'reweight';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME);

export interface ReweightResult {
  /** `status: lease-held`: another run had the cluster, nothing was read or changed (the next minute's run will). */
  readonly clusters: { cluster: string; status: ReweightRun['status']; rules: RuleOutcome[] }[];
  readonly failed: ClusterFailure[];
}

export const handler = createHandler<SchedulerEvent, ReweightResult>({ name: NAME, schema: schedulerEventSchema, what: 'scheduled event' }, { logger, metrics }, async (event, context) => {
  const deps = await getDependencies();
  const clusters = planFanOut(deps.configs, event).map((m) => m.cluster);
  return runner(deps).run(`${event.resources[0]}#${event.time}`, context, async () => {
    const { done, failed } = await forEachCluster(clusters, async (cluster) => ({
      cluster,
      ...(await runReweight(deps.config(cluster), deps.portsFor(cluster, Date.parse(event.time)), { actor: NAME, runId: `${context.awsRequestId}#${cluster}` })),
    }));
    const changed = done.flatMap((c) => c.rules).filter((r) => r.result === 'applied').length;
    metrics.addMetric('RulesReweighted', MetricUnit.Count, changed);
    metrics.addMetric('ReweightFailures', MetricUnit.Count, failed.length + done.flatMap((c) => c.rules).filter((r) => r.result === 'failed').length);
    for (const failure of failed) logger.error('reweight failed for a cluster', { ...failure });
    for (const skipped of done.filter((c) => c.status === 'lease-held')) logger.info('reweight skipped: another run holds the cluster lease', { cluster: skipped.cluster });
    return { clusters: done, failed };
  });
});
