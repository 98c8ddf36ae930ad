/**
 * HTTP API POST /slack/interactions. The approval flow (lib/approval) needs
 * the Slack signing secret, a Slack notifier and the pipeline's execute and
 * re-plan steps wired in; until they are, this route answers 501 so Slack
 * shows a clear error and nothing is decided or executed.
 */
import { APIGatewayProxyEventV2Schema } from '@aws-lambda-powertools/parser/schemas/api-gatewayv2';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHandler, createLogger, createMetrics } from '../lib/handlers/middleware.ts';

const NAME = 'slackApproval';
const logger = createLogger(NAME);
const metrics = createMetrics(NAME);

export const NOT_WIRED_MESSAGE = 'prescale: Slack approvals are not enabled in this deployment yet (the approval handler is not wired). Nothing was approved or executed.';

export const handler = createHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(
  { name: NAME, schema: APIGatewayProxyEventV2Schema, what: 'HTTP API event' },
  { logger, metrics },
  async (event) => {
    logger.warn('slack interaction refused: approvals not wired', { routeKey: event.routeKey });
    return { statusCode: 501, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: NOT_WIRED_MESSAGE };
  },
);
