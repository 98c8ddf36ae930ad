/**
 * The four SDK clients prescale uses, built once per cold start (module scope
 * in a handler) and passed to the adapters, so tests inject mocks and a warm
 * Lambda reuses connections.
 *
 * Retries: the SDK's `standard` mode (exponential backoff with full jitter, a
 * retry-token bucket). It only retries what it classifies as THROTTLING
 * (HTTP 429 and names such as Throttling, ThrottlingException,
 * TooManyRequestsException, RequestLimitExceeded) or TRANSIENT (HTTP 500/502/503/504,
 * TimeoutError, socket resets). Everything else, 4xx validation errors
 * included (ValidationError, InvalidParameterException…), is a CLIENT_ERROR and
 * is not retried: checked in @smithy/core's StandardRetryStrategy.isRetryableError
 * (only THROTTLING and TRANSIENT) and asserted in test/unit/aws/clients.test.ts.
 * The SDK also counts `LimitExceededException` (DynamoDB's limit on concurrent
 * table operations) as throttling and retries it; prescale classifies it as
 * `throttling` too once retries are spent, while `LimitExceededFault` (an Auto
 * Scaling or CloudWatch quota), which the SDK does not retry, is `capacity`
 * (lib/aws/errors.ts).
 *
 * Timeouts: `requestTimeoutMs` bounds each attempt (the NodeHttpHandler the client
 * builds from these options; `throwOnRequestTimeout` makes a breach an error
 * instead of a logged warning), `totalTimeoutMs` bounds the whole call with
 * its retries and backoff sleeps (a middleware, below), so a Lambda never
 * spends its budget on one slow API.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EKSClient } from '@aws-sdk/client-eks';
import type { EKSClientConfig } from '@aws-sdk/client-eks';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';

export interface AwsClients {
  readonly cloudWatch: CloudWatchClient;
  readonly eks: EKSClient;
  readonly autoScaling: AutoScalingClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
}

export interface AwsClientOptions {
  readonly region: string;
  /** Attempts per call including the first; the SDK default is 3. */
  readonly maxAttempts?: number;
  /** Cap on one call including every retry and backoff sleep. */
  readonly totalTimeoutMs?: number;
  /** Cap on one HTTP attempt. */
  readonly requestTimeoutMs?: number;
  /** Cap on opening the TCP/TLS connection. */
  readonly connectionTimeoutMs?: number;
  /** Static credentials (tests, cross-account runs); the default provider chain otherwise. */
  readonly credentials?: EKSClientConfig['credentials'];
  /** Replaces the HTTP handler (tests); the timeouts above are then the handler's business. */
  readonly requestHandler?: EKSClientConfig['requestHandler'];
}

export const DEFAULT_MAX_ATTEMPTS = 3;
/** A scheduled run has about a minute; one call may take a fifth of it. */
export const DEFAULT_TOTAL_TIMEOUT_MS = 12_000;
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 2_000;

/** The SDK's key for per-call context (`SMITHY_CONTEXT_KEY` in @smithy/types, a transitive dependency). */
const SMITHY_CONTEXT_KEY = '__smithy_context';

/** The error a call fails with when it runs out of total time; classified `unavailable`, retryable. */
export function createTotalTimeoutError(totalTimeoutMs: number): Error {
  return Object.assign(new Error(`gave up after ${totalTimeoutMs} ms including retries (total time cap)`), { name: 'TimeoutError' });
}

interface MiddlewareHost {
  readonly middlewareStack: {
    add(
      middleware: (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) => (args: unknown) => Promise<unknown>,
      options: { step: 'initialize'; name: string; priority: 'high' },
    ): void;
  };
}

/**
 * Races the whole call (initialize step, outside the retry middleware) against
 * a timer. The same signal goes into the call's context, where the retry
 * middleware reads it: an aborted call stops sleeping and stops retrying. The
 * attempt in flight is left to its own request timeout.
 */
export function addTotalTimeout(client: MiddlewareHost, totalTimeoutMs: number): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const controller = new AbortController();
      const existing = context[SMITHY_CONTEXT_KEY] as { abortSignal?: AbortSignal } | undefined;
      const signal = existing?.abortSignal === undefined ? controller.signal : AbortSignal.any([existing.abortSignal, controller.signal]);
      context[SMITHY_CONTEXT_KEY] = { ...existing, abortSignal: signal };
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = createTotalTimeoutError(totalTimeoutMs);
          controller.abort(error);
          reject(error);
        }, totalTimeoutMs);
      });
      try {
        return await Promise.race([next(args), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    { step: 'initialize', name: 'prescaleTotalTimeout', priority: 'high' },
  );
}

/** `client` with the total time cap added (every client built from computeClientConfig gets one). */
export function withTotalTimeout<T>(client: T, totalTimeoutMs: number = DEFAULT_TOTAL_TIMEOUT_MS): T {
  // Each client's stack is typed per service; the middleware touches nothing service-specific.
  addTotalTimeout(client as unknown as MiddlewareHost, totalTimeoutMs);
  return client;
}

/** Client constructor options shared by every client prescale builds (these four, and the price refresh's two in pricing.ts). */
export function computeClientConfig(options: AwsClientOptions) {
  return {
    region: options.region,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard' as const,
    // A plain options object: the client builds its NodeHttpHandler from it, so
    // we need not import @smithy/node-http-handler (not a direct dependency).
    requestHandler: options.requestHandler ?? {
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    },
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const config = computeClientConfig(options);
  const totalTimeoutMs = options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  return {
    cloudWatch: withTotalTimeout(new CloudWatchClient(config), totalTimeoutMs),
    eks: withTotalTimeout(new EKSClient(config), totalTimeoutMs),
    autoScaling: withTotalTimeout(new AutoScalingClient(config), totalTimeoutMs),
    elbv2: withTotalTimeout(new ElasticLoadBalancingV2Client(config), totalTimeoutMs),
  };
}
