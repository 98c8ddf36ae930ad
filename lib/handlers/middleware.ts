/**
 * The middy chain every function shares: Powertools logger (Lambda context in
 * every line), metrics (EMF, flushed after each invocation, cold starts
 * counted), the Powertools parser in safe mode followed by `rejectInvalid`,
 * which turns a failed parse into a ValidationError that names every bad
 * field — before idempotency or any port is touched.
 */
import type { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parser } from '@aws-lambda-powertools/parser/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { isPrescaleError } from '../errors.ts';
import type { Dependencies } from './deps.ts';
import { TABLE_KEYS, TTL_ATTRIBUTE } from './state.ts';
import { parseOrThrow, toValidationError } from './validation.ts';

export const SERVICE_NAME = 'prescale';
export const METRICS_NAMESPACE = 'Prescale';

export function createLogger(functionName: string): Logger {
  return new Logger({ serviceName: SERVICE_NAME, persistentKeys: { function: functionName } });
}

export function createMetrics(functionName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: { function: functionName } });
}

interface SafeParseResult {
  readonly success: boolean;
  readonly data?: unknown;
  readonly error?: unknown;
  readonly originalEvent?: unknown;
}

/**
 * After `parser({ safeParse: true })`: a valid event continues as its parsed
 * data; an invalid one is re-checked with `reportInput` (the parser's
 * Standard Schema issues omit the offending value) and rejected.
 */
export function rejectInvalid(schema: z.ZodType, what: string, metrics: Metrics): middy.MiddlewareObj {
  return {
    before(request) {
      const result = request.event as SafeParseResult;
      if (result.success) {
        request.event = result.data;
        return;
      }
      metrics.addMetric('InvalidEvents', MetricUnit.Count, 1);
      parseOrThrow(schema, result.originalEvent, what);
      // The parser failed but a re-parse passed: report what the parser said.
      throw toValidationError(what, result.error);
    },
  };
}

/** Logs the failure once, with our error code, so alarms and searches can key on it. */
export function logErrors(logger: Logger): middy.MiddlewareObj {
  return {
    onError(request) {
      const error = request.error;
      if (isPrescaleError(error)) logger.error(error.message, { code: error.code, retryable: error.retryable, details: error.details });
      else logger.error('unexpected error', error as Error);
    },
  };
}

export interface HandlerParts {
  readonly name: string;
  readonly schema: z.ZodType;
  /** Names the input in error messages: `scheduled event`, `emergency payload`. */
  readonly what: string;
}

/** The shared chain; `handler` receives the parsed, valid event. */
export function createHandler<TEvent, TResult>(
  parts: HandlerParts,
  observability: { logger: Logger; metrics: Metrics },
  handler: (event: TEvent, context: Context) => Promise<TResult>,
) {
  return middy<unknown, TResult, Error, Context>()
    .use(injectLambdaContext(observability.logger, { resetKeys: true }))
    .use(logMetrics(observability.metrics, { captureColdStartMetric: true }))
    .use(logErrors(observability.logger))
    .use(parser({ schema: parts.schema, safeParse: true }) as middy.MiddlewareObj)
    .use(rejectInvalid(parts.schema, parts.what, observability.metrics))
    .handler((event, context) => handler(event as TEvent, context));
}

/**
 * Idempotency records share the state table: partition `idempotency#<function>`,
 * sort key the hashed idempotency key, expiry in the table's TTL attribute.
 */
export function createIdempotencyStore(deps: Dependencies, functionName: string): DynamoDBPersistenceLayer {
  return new DynamoDBPersistenceLayer({
    tableName: deps.env.PRESCALE_TABLE,
    awsSdkV3Client: deps.dynamo,
    keyAttr: TABLE_KEYS.partitionKey,
    sortKeyAttr: TABLE_KEYS.sortKey,
    staticPkValue: `idempotency#${functionName}`,
    expiryAttr: TTL_ATTRIBUTE,
  });
}

export type { IdempotencyConfig };
