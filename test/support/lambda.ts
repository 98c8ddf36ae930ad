/** What the Lambda runtime hands a handler, for the handler tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';

const ROOT = new URL('../../', import.meta.url).pathname;

/** A sample event from events/, as `serverless invoke local` would send it. */
export function sampleEvent(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'events', `${name}.json`), 'utf8')) as Record<string, unknown>;
}

let requestCounter = 0;

/** A fresh context per call: each invocation gets its own request id. */
export function lambdaContext(remainingMs = 60_000): Context {
  requestCounter += 1;
  return {
    awsRequestId: `req-${requestCounter}`,
    functionName: 'prescale-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:prescale-test',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/prescale-test',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
