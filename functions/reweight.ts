/**
 * Schedule → ALB weights from target health, per cluster; one failing cluster
 * or rule does not stop the others. Idempotent on schedule ARN + scheduled time.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getDependencies } from '../lib/handlers/deps.ts';
import { planFanOut } from '../lib/handlers/fanout.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { forEachCluster, type ClusterFailure } from '../lib/handlers/results.ts';
import { runReweight, type RuleOutcome } from '../lib/handlers/reweight.ts';
import { schedulerEventSchema, type SchedulerEvent } from '../lib/handlers/schemas.ts';

const NAME = 'reweight';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME);

export interface ReweightResult {
  readonly clusters: { cluster: string; rules: RuleOutcome[] }[];
  readonly failed: ClusterFailure[];
}

export const handler = createHandler<SchedulerEvent, ReweightResult>({ name: NAME, schema: schedulerEventSchema, what: 'scheduled event' }, { logger, metrics }, async (event, context) => {
  const deps = await getDependencies();
  const clusters = planFanOut(deps.configs, event).map((m) => m.cluster);
  return runner(deps).run(`${event.resources[0]}#${event.time}`, context, async () => {
    const { done, failed } = await forEachCluster(clusters, async (cluster) => ({
      cluster,
      rules: await runReweight(deps.config(cluster), deps.portsFor(cluster, Date.parse(event.time)), 'reweight'),
    }));
    const changed = done.flatMap((c) => c.rules).filter((r) => r.result === 'applied').length;
    metrics.addMetric('RulesReweighted', MetricUnit.Count, changed);
    metrics.addMetric('ReweightFailures', MetricUnit.Count, failed.length + done.flatMap((c) => c.rules).filter((r) => r.result === 'failed').length);
    for (const failure of failed) logger.error('reweight failed for a cluster', { ...failure });
    return { clusters: done, failed };
  });
});
