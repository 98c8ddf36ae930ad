/**
 * Manual invoke: an operator sets a node group's capacity or a service's HPA
 * floor. Validated (every bad field named, nothing done), guarded, leased,
 * audited; idempotent on the request id for a day, and a request id reused
 * for a different payload is rejected (never answered with the first result).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { getDependencies } from '../lib/handlers/deps.ts';
import { checkEmergencyTarget, executeEmergency, type EmergencyResult } from '../lib/handlers/emergency.ts';
import { memoRunner } from '../lib/handlers/idempotency.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { emergencyPayloadSchema, type EmergencyPayload } from '../lib/handlers/schemas.ts';

const NAME = 'emergency';
const DAY_SECONDS = 86_400;
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const runner = memoRunner(NAME, DAY_SECONDS, { payloadKeyName: 'requestId' });

export const handler = createHandler<EmergencyPayload, EmergencyResult>({ name: NAME, schema: emergencyPayloadSchema, what: 'emergency payload' }, { logger, metrics }, async (payload, context) => {
  const deps = await getDependencies();
  // Unknown cluster, node group or service: a validation error naming the field, before any lock or call.
  checkEmergencyTarget(payload, deps.config(payload.cluster));
  return runner(deps).run(payload.requestId, context, async () => {
    const result = await executeEmergency(payload, deps.config(payload.cluster), deps.portsFor(payload.cluster));
    metrics.addMetric('EmergencyRequests', MetricUnit.Count, 1);
    logger.warn('emergency request', { requestId: payload.requestId, requester: payload.requester, reason: payload.reason, budgetOverride: payload.budgetOverride?.reason ?? null, target: result.target, verdict: result.verdict, result: result.result, from: result.from, to: result.to, detail: result.message, bookkeeping: result.bookkeeping });
    // The change stands; what was not recorded after it is for an operator to repair (a missing cooldown, audit entry…).
    if (result.bookkeeping !== null) logger.warn('emergency bookkeeping failed', { requestId: payload.requestId, target: result.target, result: result.result, bookkeeping: result.bookkeeping });
    return result;
  }, payload);
});
