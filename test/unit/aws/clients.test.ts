/**
 * The real SDK clients with a fake HTTP handler (no network): what the
 * standard retry mode retries, what it does not, and the total time cap.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpResponse } from '@smithy/protocol-http';
import { DescribeClusterCommand } from '@aws-sdk/client-eks';
import { computeClientConfig, createAwsClients, DEFAULT_MAX_ATTEMPTS } from '../../../lib/aws/clients.ts';
import { classifyAwsError } from '../../../lib/aws/errors.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

/** Answers each request with the next canned response (the last one repeats); `never` hangs forever. */
class FakeHandler {
  calls = 0;
  constructor(private readonly responses: readonly ({ status: number; errorType?: string; body: unknown } | 'never')[]) {}
  async handle(): Promise<{ response: HttpResponse }> {
    const next = this.responses[Math.min(this.calls, this.responses.length - 1)]!;
    this.calls += 1;
    if (next === 'never') return new Promise(() => {});
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (next.errorType !== undefined) headers['x-amzn-errortype'] = next.errorType;
    return { response: new HttpResponse({ statusCode: next.status, headers, body: new TextEncoder().encode(JSON.stringify(next.body)) }) };
  }
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }
}

const CLUSTER_OK = { status: 200, body: { cluster: { name: 'prod', endpoint: 'https://x.eks.amazonaws.com', status: 'ACTIVE', certificateAuthority: { data: 'Q0E=' } } } };

function eksWith(handler: FakeHandler, options: { maxAttempts?: number; totalTimeoutMs?: number } = {}) {
  return createAwsClients({ region: 'eu-west-1', credentials, requestHandler: handler, ...options }).eks;
}

/** Only timers are faked: request signing hashes on the real thread pool, so the loop yields to real I/O. */
function useFakeTimers(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
}

/**
 * Runs the call to completion with backoff sleeps and the time cap on fake
 * time: each round lets real I/O finish (a real setImmediate), then moves fake
 * time 10 ms. No wall-clock waiting.
 */
async function settle<T>(promise: Promise<T>): Promise<{ ok: T } | { error: unknown }> {
  let outcome: { ok: T } | { error: unknown } | undefined;
  void promise.then(
    (ok) => (outcome = { ok }),
    (error: unknown) => (outcome = { error }),
  );
  for (let round = 0; outcome === undefined && round < 100_000; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    await vi.advanceTimersByTimeAsync(10);
  }
  if (outcome === undefined) throw new Error('call never settled');
  return outcome;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('computeClientConfig', () => {
  it('uses the standard retry mode, default attempts and a per-request timeout that throws', () => {
    expect(computeClientConfig({ region: 'eu-west-1' })).toEqual({
      region: 'eu-west-1',
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      retryMode: 'standard',
      requestHandler: { requestTimeout: 5_000, connectionTimeout: 2_000, throwOnRequestTimeout: true },
    });
  });

  it('takes the caller’s attempts and timeouts', () => {
    expect(computeClientConfig({ region: 'us-east-1', maxAttempts: 5, requestTimeoutMs: 1_000, connectionTimeoutMs: 500 })).toMatchObject({
      maxAttempts: 5,
      requestHandler: { requestTimeout: 1_000, connectionTimeout: 500, throwOnRequestTimeout: true },
    });
  });
});

describe('createAwsClients', () => {
  it('builds the four clients in the region with standard retries', async () => {
    const clients = createAwsClients({ region: 'eu-west-1', maxAttempts: 4, credentials });
    expect(Object.keys(clients).sort()).toEqual(['autoScaling', 'cloudWatch', 'eks', 'elbv2']);
    for (const client of Object.values(clients)) {
      expect(await client.config.region()).toBe('eu-west-1');
      expect(await client.config.maxAttempts()).toBe(4);
      expect((await client.config.retryStrategy()).mode).toBe('standard');
    }
  });

  it('does not retry a validation error (400): one attempt', async () => {
    useFakeTimers();
    const handler = new FakeHandler([{ status: 400, errorType: 'InvalidParameterException', body: { message: 'desiredSize can not be greater than maxSize' } }]);
    const outcome = await settle(eksWith(handler).send(new DescribeClusterCommand({ name: 'prod' })));
    expect(handler.calls).toBe(1);
    expect('error' in outcome && classifyAwsError(outcome.error, 'x').code).toBe('validation');
  });

  it('does not retry ResourceInUseException (409): prescale requeues instead', async () => {
    useFakeTimers();
    const handler = new FakeHandler([{ status: 409, errorType: 'ResourceInUseException', body: { message: 'in use' } }]);
    const outcome = await settle(eksWith(handler).send(new DescribeClusterCommand({ name: 'prod' })));
    expect(handler.calls).toBe(1);
    expect('error' in outcome && classifyAwsError(outcome.error, 'x').code).toBe('busy');
  });

  it('retries throttling (429) and succeeds on the next attempt', async () => {
    useFakeTimers();
    const handler = new FakeHandler([{ status: 429, errorType: 'ThrottlingException', body: { message: 'Rate exceeded' } }, CLUSTER_OK]);
    const outcome = await settle(eksWith(handler).send(new DescribeClusterCommand({ name: 'prod' })));
    expect(handler.calls).toBe(2);
    expect('ok' in outcome && outcome.ok.cluster?.endpoint).toBe('https://x.eks.amazonaws.com');
  });

  it('retries a 503 up to maxAttempts, then fails as unavailable', async () => {
    useFakeTimers();
    const handler = new FakeHandler([{ status: 503, errorType: 'ServiceUnavailableException', body: { message: 'down' } }]);
    const outcome = await settle(eksWith(handler, { maxAttempts: 3 }).send(new DescribeClusterCommand({ name: 'prod' })));
    expect(handler.calls).toBe(3);
    expect('error' in outcome && classifyAwsError(outcome.error, 'x')).toMatchObject({ code: 'unavailable', retryable: true });
  });

  it('gives up at the total time cap even while an attempt hangs', async () => {
    useFakeTimers();
    const handler = new FakeHandler(['never']);
    const outcome = await settle(eksWith(handler, { totalTimeoutMs: 3_000 }).send(new DescribeClusterCommand({ name: 'prod' })));
    expect(handler.calls).toBe(1);
    expect('error' in outcome && outcome.error).toMatchObject({ name: 'TimeoutError', message: 'gave up after 3000 ms including retries (total time cap)' });
    expect('error' in outcome && classifyAwsError(outcome.error, 'EKS DescribeCluster prod')).toMatchObject({ code: 'unavailable', retryable: true });
  });

  it('stops retrying once the total time cap is spent', async () => {
    useFakeTimers();
    // Every attempt throttled: throttling backoff (base 1 s, doubling, jittered) would go on for 10 attempts.
    const handler = new FakeHandler([{ status: 429, errorType: 'ThrottlingException', body: { message: 'Rate exceeded' } }]);
    vi.spyOn(Math, 'random').mockReturnValue(1); // the longest backoff: 1 s, 2 s, 4 s, …
    const outcome = await settle(eksWith(handler, { maxAttempts: 10, totalTimeoutMs: 2_500 }).send(new DescribeClusterCommand({ name: 'prod' })));
    vi.mocked(Math.random).mockRestore();
    // attempt 1 at 0 s, sleep 1 s, attempt 2 at 1 s, sleep 2 s → cap at 2.5 s interrupts the sleep: 2 attempts.
    expect(handler.calls).toBe(2);
    expect('error' in outcome && classifyAwsError(outcome.error, 'x').code).toBe('unavailable');
  });
});
