/**
 * Schedule (or a deploy hook) → render and server-side apply the HPA, VPA and
 * PDB of every service, per cluster. Idempotent on schedule ARN + scheduled time.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PrescaleError } from '../lib/errors.ts';
import type { ApplyResult } from '../lib/ports.ts';
import { getDependencies } from '../lib/handlers/deps.ts';
import { planFanOut } from '../lib/handlers/fanout.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { runManifests } from '../lib/handlers/manifests.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { forEachCluster, type ClusterFailure } from '../lib/handlers/results.ts';
import { schedulerEventSchema, type SchedulerEvent } from '../lib/handlers/schemas.ts';

const NAME = 'manifests';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME);

export interface ManifestsResult {
  readonly clusters: { cluster: string; objects: { key: string; outcome: ApplyResult['outcome']; message: string | null }[] }[];
  readonly failed: ClusterFailure[];
}

export const handler = createHandler<SchedulerEvent, ManifestsResult>({ name: NAME, schema: schedulerEventSchema, what: 'scheduled event' }, { logger, metrics }, async (event, context) => {
  const deps = await getDependencies();
  const clusters = planFanOut(deps.configs, event).map((m) => m.cluster);
  return runner(deps).run(`${event.resources[0]}#${event.time}`, context, async () => {
    const { done, failed } = await forEachCluster(clusters, async (cluster) => {
      const applier = deps.portsFor(cluster, Date.parse(event.time)).manifests;
      if (applier === undefined) throw new PrescaleError('unavailable', `no Kubernetes applier for cluster ${cluster}`);
      const results = await runManifests(deps.config(cluster), applier);
      return { cluster, objects: results.map((r) => ({ key: r.key, outcome: r.outcome, message: r.message ?? null })) };
    });
    const objects = done.flatMap((c) => c.objects);
    metrics.addMetric('ManifestsApplied', MetricUnit.Count, objects.filter((o) => o.outcome === 'applied').length);
    metrics.addMetric('ManifestsFailed', MetricUnit.Count, objects.filter((o) => o.outcome === 'failed').length + failed.length);
    for (const failure of failed) logger.error('manifests failed for a cluster', { ...failure });
    return { clusters: done, failed };
  });
});
