/**
 * The signing secret never reaches a log line: every request shape (good,
 * forged, stale, malformed) and the worker's follow-up run with the logger at
 * DEBUG, and everything written to stdout and stderr is searched for it.
 * Its own file: the Powertools loggers read the log level when the function
 * modules are first imported.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getDependencies, requireLocal, resetDependencies } from '../../../lib/handlers/deps.ts';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const sample = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(ROOT, 'events', `${name}.json`), 'utf8'));
const SECRET = 'do-not-log-me-7e51c0ffee';
let dynamo: DynaliteHandle;

const context = (id: string): Context =>
  ({ awsRequestId: id, functionName: 'prescale-test', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:prescale-test', memoryLimitInMB: '512', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: false, getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

beforeAll(async () => {
  dynamo = await startDynalite();
  Object.assign(process.env, {
    PRESCALE_BACKEND: 'local',
    PRESCALE_CONFIG: join(ROOT, 'config'),
    PRESCALE_DYNAMODB_ENDPOINT: dynamo.endpoint,
    PRESCALE_TABLE: await dynamo.createTable(),
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    POWERTOOLS_METRICS_DISABLED: 'true',
    SLACK_SIGNING_SECRET: SECRET,
  });
});

afterAll(async () => {
  await resetDependencies();
  await dynamo.close();
  delete process.env.SLACK_SIGNING_SECRET;
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

function signed(event: Record<string, unknown>, rawBody: string, timestamp: string, secret: string): Record<string, unknown> {
  const headers = { ...(event.headers as Record<string, string>), 'x-slack-request-timestamp': timestamp, 'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}` };
  return { ...event, headers, body: Buffer.from(rawBody).toString('base64'), isBase64Encoded: true };
}

describe('slackApproval logging', () => {
  it('never writes the signing secret, whatever the request', async () => {
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture as never);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture as never);
    const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void written.push(args.map(String).join(' '))));
    try {
      const slack = ((await import('../../../functions/slackApproval.ts')) as { handler: (e: unknown, c: Context) => Promise<{ statusCode: number }> }).handler;
      const worker = ((await import('../../../functions/worker.ts')) as { handler: (e: unknown, c: Context) => Promise<unknown> }).handler;
      const base = sample('slackApproval');
      const rawBody = Buffer.from(base.body as string, 'base64').toString('utf8');
      const ts = (base.headers as Record<string, string>)['x-slack-request-timestamp']!;
      const results = [
        await slack(signed(base, rawBody, ts, SECRET), context('ok')),
        await slack(signed(base, rawBody, ts, 'wrong-secret'), context('forged')),
        await slack(signed(base, rawBody, String(Number(ts) - 600), SECRET), context('stale')),
        await slack(signed(base, 'payload=%7B', ts, SECRET), context('malformed')),
      ];
      expect(results.map((r) => r.statusCode)).toEqual([200, 401, 401, 400]);
      const deps = await getDependencies();
      const messages = requireLocal(deps).approvals.sent.splice(0);
      expect(messages).toHaveLength(1);
      const record = (sample('worker').Records as Record<string, unknown>[])[0]!;
      await worker({ Records: [{ ...record, body: JSON.stringify(messages[0]) }] }, context('worker'));
    } finally {
      out.mockRestore();
      err.mockRestore();
      for (const spy of consoleSpies) spy.mockRestore();
    }
    const all = written.join('\n');
    // The logger did write (DEBUG), so the absence below means something.
    expect(all).toContain('slack interaction');
    expect(all).toContain('slack approval follow-up');
    expect(all).not.toContain(SECRET);
  });
});
