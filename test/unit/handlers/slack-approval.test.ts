import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import { createHmac } from 'node:crypto';
import { approvalMessage, approvalMessageSchema, createSqsApprovalQueue, verifiedInteraction, type SignedSlackRequest } from '../../../lib/handlers/approval-queue.ts';
import { isPrescaleError } from '../../../lib/errors.ts';
import { approversFor, clusterOfPlanId } from '../../../lib/handlers/slack-approval.ts';
import { createEnvSlackSecrets, createLazySlackNotifier, createSsmSlackSecrets, SECRET_MAX_AGE_SECONDS, slackNotifierFor } from '../../../lib/handlers/slack-secrets.ts';
import type { ApprovalInteraction } from '../../../lib/slack/interaction.ts';

const SECRET = 'ssm-signing-secret-value-9d2a';
const config = (name: string, approvers: string[] | undefined): PrescaleConfig => ({ cluster: { name }, ...(approvers === undefined ? {} : { slack: { channel: `#${name}`, approvers } }) }) as unknown as PrescaleConfig;

describe('clusterOfPlanId', () => {
  const clusters = ['a', 'a-b', 'debate-prod'];
  it.each([
    ['debate-prod-1793628000000-0123abcd', 'debate-prod'],
    // "a" is a prefix of "a-b": the strict tail (<ms>-<8 hex>) picks the right one.
    ['a-b-1793628000000-0123abcd', 'a-b'],
    ['a-1793628000000-0123abcd', 'a'],
    ['debate-prod-1793628000000-0123ABCD', undefined],
    ['other-1793628000000-0123abcd', undefined],
    ['debate-prod', undefined],
  ])('%s → %s', (planId, expected) => {
    expect(clusterOfPlanId(clusters, planId)).toBe(expected);
  });
});

describe('approversFor', () => {
  const configs = [config('prod', ['U0PROD1', 'U0BOTH']), config('staging', ['U0BOTH', 'U0STAGE']), config('quiet', undefined)];
  it.each([
    ['prod-1-0123abcd', ['U0BOTH', 'U0PROD1']],
    ['staging-1-0123abcd', ['U0BOTH', 'U0STAGE']],
    // A cluster without slack: nobody may approve.
    ['quiet-1-0123abcd', []],
    // Unknown cluster: the union, so an approver hears "unknown plan".
    ['nowhere-1-0123abcd', ['U0BOTH', 'U0PROD1', 'U0STAGE']],
    [undefined, ['U0BOTH', 'U0PROD1', 'U0STAGE']],
  ])('%s → %j', (planId, expected) => {
    expect(approversFor(configs, planId)).toEqual(expected);
  });
});

describe('Slack secrets', () => {
  it('local: from SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN; empty counts as unset', async () => {
    const secrets = createEnvSlackSecrets({ SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: '' });
    expect(await secrets.signingSecret()).toBe(SECRET);
    expect(await secrets.botToken()).toBeUndefined();
    expect(secrets.hasBotToken).toBe(false);
    expect(await createEnvSlackSecrets({}).signingSecret()).toBe('');
  });

  it('deployed: SSM with decryption and a 5-minute cache, by the configured names', async () => {
    const reads: { name: string; options: unknown }[] = [];
    const secrets = createSsmSlackSecrets({
      signingSecretParam: '/prescale/dev/slack/signing-secret',
      botTokenParam: '/prescale/dev/slack/bot-token',
      read: async (name, options) => {
        reads.push({ name, options });
        return name.endsWith('signing-secret') ? SECRET : 'xoxb-token';
      },
    });
    expect(await secrets.signingSecret()).toBe(SECRET);
    expect(await secrets.botToken()).toBe('xoxb-token');
    expect(secrets.hasBotToken).toBe(true);
    expect(reads).toEqual([
      { name: '/prescale/dev/slack/signing-secret', options: { decrypt: true, maxAge: SECRET_MAX_AGE_SECONDS } },
      { name: '/prescale/dev/slack/bot-token', options: { decrypt: true, maxAge: 300 } },
    ]);
  });

  it('errors name the parameter and never carry a value', async () => {
    const failing = createSsmSlackSecrets({
      signingSecretParam: '/p/signing',
      botTokenParam: undefined,
      read: async () => {
        throw Object.assign(new Error(`AccessDenied reading ${SECRET}`), { name: 'AccessDeniedException' });
      },
    });
    const error = (await failing.signingSecret().catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('could not read SSM parameter /p/signing (AccessDeniedException)');
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(await failing.botToken()).toBeUndefined();
    const empty = createSsmSlackSecrets({ signingSecretParam: '/p/signing', botTokenParam: undefined, read: async () => '' });
    await expect(empty.signingSecret()).rejects.toThrow('SSM parameter /p/signing is empty');
    // No parameter configured: an empty secret, which refuses every request.
    expect(await createSsmSlackSecrets({ signingSecretParam: undefined, botTokenParam: undefined }).signingSecret()).toBe('');
  });

  it('the lazy notifier reads the token when it posts, to the cluster channel', async () => {
    const requests: { url: string; headers: Record<string, string>; body: string }[] = [];
    const secrets = createEnvSlackSecrets({ SLACK_BOT_TOKEN: 'xoxb-local' });
    const notifier = createLazySlackNotifier(secrets, '#prescale', async (url, init) => {
      requests.push({ url, headers: init.headers, body: init.body });
      return { status: 200, text: async () => JSON.stringify({ ok: true, channel: 'C1', ts: '1.2' }) };
    });
    expect(await notifier.post({ channel: undefined, text: 'hello' })).toEqual({ id: 'C1:1.2' });
    expect(requests).toEqual([{ url: 'https://slack.com/api/chat.postMessage', headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-local' }, body: JSON.stringify({ channel: '#prescale', text: 'hello' }) }]);
  });

  it('slackNotifierFor: only with a channel in the config and a bot token', () => {
    const withToken = createEnvSlackSecrets({ SLACK_BOT_TOKEN: 'xoxb-local' });
    expect(slackNotifierFor(config('prod', ['U0PROD1']), withToken)).toBeDefined();
    expect(slackNotifierFor(config('quiet', undefined), withToken)).toBeUndefined();
    expect(slackNotifierFor(config('prod', ['U0PROD1']), createEnvSlackSecrets({}))).toBeUndefined();
  });
});

describe('the approval message on the worker queue', () => {
  const interaction: ApprovalInteraction = { action: 'approve', planId: 'prod-1-0123abcd', userId: 'U0PROD1', userName: 'ops', responseUrl: 'https://hooks.slack.com/actions/T/1/x', channelId: 'C1', messageTs: undefined };
  const CLICK_MS = Date.UTC(2026, 10, 2, 12, 0, 0);
  const MIN = 60_000;

  /** The form body Slack posts for a click on the plan's button. */
  function clickBody(user: string, actionId: string, planId = interaction.planId): string {
    const payload = {
      type: 'block_actions',
      user: { id: user, username: 'ops' },
      channel: { id: 'C1' },
      response_url: interaction.responseUrl,
      actions: [{ action_id: actionId, block_id: 'prescale-approval', value: planId, type: 'button' }],
    };
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }

  /** Signed the way Slack signs, computed here (not with the code under test). */
  function signedBy(secret: string, body: string, atMs = CLICK_MS): SignedSlackRequest {
    const timestamp = String(Math.floor(atMs / 1000));
    return { body, timestamp, signature: `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}` };
  }

  const genuine = () => approvalMessage('decide', interaction, CLICK_MS, signedBy(SECRET, clickBody('U0PROD1', 'approve')));

  it('round-trips through its strict schema', () => {
    const message = genuine();
    expect(approvalMessageSchema.parse(JSON.parse(JSON.stringify(message)))).toEqual(message);
    expect(approvalMessageSchema.safeParse({ ...message, extra: 1 }).success).toBe(false);
    expect(approvalMessageSchema.safeParse({ ...message, interaction: { ...message.interaction, userId: 'not-a-user' } }).success).toBe(false);
    const { signedRequest: _signed, ...unsigned } = message;
    expect(approvalMessageSchema.safeParse(unsigned).success).toBe(false);
  });

  it('the worker acts only on the click Slack signed', () => {
    // A minute after the click: the signature verifies and the click is read from the signed body.
    expect(verifiedInteraction(genuine(), SECRET, CLICK_MS + MIN, 30 * MIN)).toMatchObject({ action: 'approve', planId: interaction.planId, userId: 'U0PROD1' });
  });

  it.each<[string, () => ReturnType<typeof genuine>, number, RegExp]>([
    ['signed with another secret', () => approvalMessage('decide', interaction, CLICK_MS, signedBy('not-the-secret', clickBody('U0PROD1', 'approve'))), MIN, /signature-mismatch/],
    // An approver's genuine click on one plan, replayed with another plan id in the message.
    ['claims another plan than the signed body', () => approvalMessage('decide', { ...interaction, planId: 'prod-2-0123abcd' }, CLICK_MS, signedBy(SECRET, clickBody('U0PROD1', 'approve'))), MIN, /but Slack signed approve of prod-1-0123abcd by U0PROD1/],
    // A non-approver's signed click, relabelled as an approver's.
    ['claims another user than the signed body', () => approvalMessage('decide', interaction, CLICK_MS, signedBy(SECRET, clickBody('U0MALLORY', 'approve'))), MIN, /says approve by U0PROD1 but Slack signed approve of prod-1-0123abcd by U0MALLORY/],
    ['turns a reject into an approve', () => approvalMessage('decide', interaction, CLICK_MS, signedBy(SECRET, clickBody('U0PROD1', 'reject'))), MIN, /but Slack signed reject/],
    // 31 minutes > the 30-minute window: the plan it approved has expired anyway.
    ['older than the window', genuine, 31 * MIN, /stale-timestamp/],
    ['a body that is not a Slack payload', () => approvalMessage('decide', interaction, CLICK_MS, signedBy(SECRET, 'payload=%7B')), MIN, /does not parse/],
  ])('refuses a message %s (access-denied, nothing done)', (_name, message, afterMs, why) => {
    let error: unknown;
    try {
      verifiedInteraction(message(), SECRET, CLICK_MS + afterMs, 30 * MIN);
    } catch (e) {
      error = e;
    }
    expect(isPrescaleError(error) && error.code).toBe('access-denied');
    expect((error as Error).message).toMatch(why);
  });

  it('is sent with one SendMessage to the worker queue', async () => {
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm1' });
    const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/prescale-dev-clusters';
    const message = approvalMessage('refuse', interaction, 2_000, signedBy(SECRET, clickBody('U0PROD1', 'approve')));
    await createSqsApprovalQueue(new SQSClient({ region: 'us-east-1' }), queueUrl).enqueue(message);
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }]);
    sqs.restore();
  });
});
