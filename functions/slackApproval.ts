/**
 * HTTP API POST /slack/interactions: Approve / Reject on a pending plan.
 * Verifies the Slack signature over the raw body, parses, checks the
 * approver allowlist and answers at once; the decision itself (re-check,
 * execute or supersede, update the message) is queued for the worker, so
 * Slack's 3-second deadline never races a scaling call.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { getDependencies } from '../lib/handlers/deps.ts';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';
import { acknowledgeSlackInteraction, type LogSink } from '../lib/handlers/slack-approval.ts';

const NAME = 'slackApproval';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);
const log: LogSink = (level, message, fields) => logger[level](message, { ...fields });

export const handler = createHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(
  { name: NAME, schema: APIGatewayProxyEventV2Schema, what: 'HTTP API event' },
  { logger, metrics },
  async (event) => {
    const deps = await getDependencies();
    const ack = await acknowledgeSlackInteraction(deps, event, log);
    metrics.addMetric(ack.outcome === 'accepted' ? 'SlackInteractionsAccepted' : 'SlackInteractionsRefused', MetricUnit.Count, 1);
    // The reason names the failed check (for operators); the response body does not (for probers).
    logger.info('slack interaction', { outcome: ack.outcome, reason: ack.reason, statusCode: ack.response.statusCode, queued: ack.queued });
    return { statusCode: ack.response.statusCode, headers: { ...ack.response.headers }, body: ack.response.body };
  },
);
