import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PrescaleError } from '../../../lib/errors.ts';
import { handleSlackApproval, type DriftCheck, type SlackApprovalDeps, type SlackApprovalRequest } from '../../../lib/approval/slack-approval.ts';
import type { Clock, Notifier, NotifierMessage, PendingPlan, StateStore } from '../../../lib/ports.ts';
import { createMemoryStateStore } from '../../../lib/state/memory.ts';

const SECRET = 'test-signing-secret-0123456789';
const ALICE = 'U0ALICE01';
const BOB = 'U0BOB0001';
const MALLORY = 'U0MALLORY';
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0001/1/abc';
const T0 = Date.UTC(2024, 5, 10, 12, 0, 0);
const MIN = 60_000;

class SteppedClock implements Clock {
  constructor(public ms: number) {}
  nowMs(): number {
    return this.ms;
  }
}

class RecordingNotifier implements Notifier {
  readonly posted: NotifierMessage[] = [];
  readonly responses: { url: string; message: NotifierMessage }[] = [];
  async post(message: NotifierMessage): Promise<{ id: string }> {
    this.posted.push(message);
    return { id: `m${this.posted.length}` };
  }
  async respond(url: string, message: NotifierMessage): Promise<void> {
    this.responses.push({ url, message });
  }
}

interface Harness {
  readonly deps: SlackApprovalDeps;
  readonly store: StateStore;
  readonly clock: SteppedClock;
  readonly notifier: RecordingNotifier;
  readonly executed: string[];
  readonly fresh: string[];
  readonly logs: string[];
}

const plan: PendingPlan = {
  id: 'plan-1',
  cluster: 'debate-prod',
  createdAtMs: T0,
  expiresAtMs: T0 + 30 * MIN,
  stateHash: 'h1',
  commands: [{ kind: 'scale-node-group', cluster: 'debate-prod', nodeGroup: 'compute', fromNodes: 2, toNodes: 6, reason: 'forecast' }],
  status: 'pending',
  decidedBy: undefined,
  decidedAtMs: undefined,
};

async function harness(options: { drift?: DriftCheck | (() => Promise<DriftCheck>); execute?: () => Promise<string | void>; approvers?: string[] } = {}): Promise<Harness> {
  const store = createMemoryStateStore();
  await store.putPendingPlan(plan);
  const clock = new SteppedClock(T0 + MIN);
  const notifier = new RecordingNotifier();
  const executed: string[] = [];
  const fresh: string[] = [];
  const logs: string[] = [];
  const drift = options.drift ?? 'unchanged';
  const deps: SlackApprovalDeps = {
    store,
    notifier,
    clock,
    signingSecret: SECRET,
    approvers: options.approvers ?? [ALICE, BOB],
    replanAndCheck: async () => (typeof drift === 'function' ? drift() : drift),
    execute: async (p) => {
      executed.push(p.id);
      return options.execute?.();
    },
    requestFreshApproval: async (p) => {
      fresh.push(p.id);
    },
    log: (level, message, fields) => logs.push(`${level} ${message} ${JSON.stringify(fields)}`),
  };
  return { deps, store, clock, notifier, executed, fresh, logs };
}

/** `value: null` leaves the plan id out. */
function body(user: string, actionId: string, value: string | null = plan.id): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase() },
    team: { id: 'T0001' },
    container: { type: 'message', message_ts: '1718020800.000100', channel_id: 'C0001' },
    channel: { id: 'C0001' },
    response_url: RESPONSE_URL,
    actions: [{ action_id: actionId, block_id: 'prescale-approval', ...(value === null ? {} : { value }), type: 'button', action_ts: '1718020861.000200' }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** Signed the way Slack signs, computed here (not with the code under test). */
function signed(rawBody: string, nowMs: number, options: { secret?: string; timestampMs?: number; base64?: boolean } = {}): SlackApprovalRequest {
  const timestamp = String(Math.floor((options.timestampMs ?? nowMs) / 1000));
  const signature = `v0=${createHmac('sha256', options.secret ?? SECRET).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
  return {
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
    body: options.base64 === true ? Buffer.from(rawBody).toString('base64') : rawBody,
    isBase64Encoded: options.base64 === true,
  };
}

async function click(h: Harness, user: string, action: string, options: Parameters<typeof signed>[2] = {}) {
  const result = await handleSlackApproval(h.deps, signed(body(user, action), h.clock.nowMs(), options));
  const followUp = result.followUp === undefined ? undefined : await result.followUp();
  return { result, followUp };
}

async function status(h: Harness): Promise<string | undefined> {
  return (await h.store.getPendingPlan(plan.id, h.clock.nowMs()))?.status;
}

describe('handleSlackApproval: the happy paths', () => {
  it('acknowledges at once, then approves, re-checks, executes once and updates the message', async () => {
    const h = await harness();
    const { result, followUp } = await click(h, ALICE, 'approve');
    expect(result.response).toEqual({ statusCode: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '' });
    expect(result.outcome).toBe('accepted');
    expect(followUp).toMatchObject({ outcome: 'executed', planId: 'plan-1', userId: ALICE });
    expect(h.executed).toEqual(['plan-1']);
    expect(await status(h)).toBe('executed');
    expect(h.notifier.responses.map((r) => [r.url, r.message.text])).toEqual([[RESPONSE_URL, 'Approved and executed (plan plan-1)']]);
    const audit = await h.store.listAudit('debate-prod', 0, 10);
    expect(audit.map((a) => [a.actor, a.target, a.result, a.after])).toEqual([[`slack:${ALICE}`, 'plan/plan-1', 'applied', { status: 'executed' }]]);
  });

  it('does nothing before the follow-up runs (the response must not wait for AWS)', async () => {
    const h = await harness();
    const result = await handleSlackApproval(h.deps, signed(body(ALICE, 'approve'), h.clock.nowMs()));
    expect(result.followUp).toBeTypeOf('function');
    expect(h.executed).toEqual([]);
    expect(await status(h)).toBe('pending');
  });

  it('rejects: nothing executed, the message says who rejected', async () => {
    const h = await harness();
    const { followUp } = await click(h, BOB, 'reject');
    expect(followUp?.outcome).toBe('rejected');
    expect(h.executed).toEqual([]);
    expect(await status(h)).toBe('rejected');
    expect(h.notifier.responses[0]?.message.text).toBe('Rejected (plan plan-1)');
    expect(JSON.stringify(h.notifier.responses[0]?.message.blocks)).toContain(`<@${BOB}>`);
  });

  it('accepts a base64-encoded body (API Gateway binary handling)', async () => {
    const h = await harness();
    const { followUp } = await click(h, ALICE, 'approve', { base64: true });
    expect(followUp?.outcome).toBe('executed');
  });
});

describe('handleSlackApproval: every refusal answers clearly and executes nothing', () => {
  async function expectNothingHappened(h: Harness): Promise<void> {
    expect(h.executed).toEqual([]);
    expect(h.fresh).toEqual([]);
    expect(await status(h)).toBe('pending');
  }

  it.each<[string, (h: Harness) => SlackApprovalRequest, number, string, RegExp]>([
    ['no signature', (h) => ({ ...signed(body(ALICE, 'approve'), h.clock.nowMs()), headers: { 'x-slack-request-timestamp': String(Math.floor(h.clock.nowMs() / 1000)) } }), 401, 'unauthenticated', /^missing-signature/],
    ['no headers at all', () => ({ headers: undefined, body: body(ALICE, 'approve') }), 401, 'unauthenticated', /^missing-timestamp/],
    ['a forged signature (wrong secret)', (h) => signed(body(ALICE, 'approve'), h.clock.nowMs(), { secret: 'guessed' }), 401, 'unauthenticated', /^signature-mismatch/],
    // Alice's genuine signature replayed over Mallory's body
    ['a signature over another body', (h) => ({ ...signed(body(ALICE, 'approve'), h.clock.nowMs()), body: body(MALLORY, 'approve') }), 401, 'unauthenticated', /^signature-mismatch/],
    // signed 5 min + 1 s ago: a replay
    ['a timestamp older than 5 minutes (replay)', (h) => signed(body(ALICE, 'approve'), h.clock.nowMs(), { timestampMs: h.clock.nowMs() - 5 * MIN - 1000 }), 401, 'unauthenticated', /^stale-timestamp/],
    ['a body marked base64 that is not', (h) => ({ ...signed(body(ALICE, 'approve'), h.clock.nowMs()), isBase64Encoded: true, body: '%%%' }), 400, 'bad-request', /not valid base64/],
    ['a malformed payload', (h) => signed('payload=%7Bnot-json', h.clock.nowMs()), 400, 'bad-request', /^malformed-json/],
    ['a payload without the plan id', (h) => signed(body(ALICE, 'approve', null), h.clock.nowMs()), 400, 'bad-request', /^invalid-payload: payload\.actions\.0\.value must be a plan id/],
    ['an unknown action', (h) => signed(body(ALICE, 'scale_to_100'), h.clock.nowMs()), 400, 'unknown-action', /^unknown-action: action "scale_to_100"/],
  ])('%s', async (_name, request, statusCode, outcome, reason) => {
    const h = await harness();
    const result = await handleSlackApproval(h.deps, request(h));
    expect(result.response.statusCode).toBe(statusCode);
    expect(result.outcome).toBe(outcome);
    expect(result.reason).toMatch(reason);
    expect(result.followUp).toBeUndefined();
    if (statusCode === 401) expect(result.response.body).toBe('invalid request signature');
    expect(h.notifier.responses).toEqual([]);
    expect(h.logs.join('\n')).not.toContain(SECRET);
    await expectNothingHappened(h);
  });

  it('a user not on the allowlist: told so, audited, plan untouched', async () => {
    const h = await harness();
    const { result, followUp } = await click(h, MALLORY, 'approve');
    expect(result.outcome).toBe('not-an-approver');
    expect(result.response.statusCode).toBe(200);
    expect(JSON.parse(result.response.body)).toEqual({ response_type: 'ephemeral', replace_original: false, text: `<@${MALLORY}> is not on the approver list for prescale: nothing was done` });
    expect(followUp?.outcome).toBe('not-an-approver');
    expect(h.notifier.responses).toEqual([]);
    const audit = await h.store.listAudit('debate-prod', 0, 10);
    expect(audit.map((a) => [a.actor, a.result, a.reason])).toEqual([[`slack:${MALLORY}`, 'skipped', 'approve refused: not on the approver allowlist']]);
    await expectNothingHappened(h);
  });

  it('an empty allowlist lets nobody approve', async () => {
    const h = await harness({ approvers: [] });
    const { result } = await click(h, ALICE, 'approve');
    expect(result.outcome).toBe('not-an-approver');
    await expectNothingHappened(h);
  });

  it('an unknown plan', async () => {
    const h = await harness();
    const result = await handleSlackApproval(h.deps, signed(body(ALICE, 'approve', 'plan-404'), h.clock.nowMs()));
    const followUp = await result.followUp?.();
    expect(followUp).toMatchObject({ outcome: 'unknown-plan', message: 'plan plan-404 is unknown: nothing executed' });
    expect(h.notifier.responses[0]?.message.text).toBe('Unknown plan: nothing was executed (plan plan-404)');
    await expectNothingHappened(h);
  });

  it('an expired plan (clicked 31 minutes after it was posted)', async () => {
    const h = await harness();
    h.clock.ms = T0 + 31 * MIN;
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp?.outcome).toBe('expired');
    expect(h.notifier.responses[0]?.message.text).toBe('Expired: nothing was executed (plan plan-1)');
    expect(h.executed).toEqual([]);
    expect(await status(h)).toBe('expired');
  });

  it('a plan that expires while the state is re-checked', async () => {
    const h = await harness({
      drift: async () => {
        h.clock.ms = T0 + 30 * MIN; // expiry is inclusive
        return 'unchanged';
      },
    });
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp?.outcome).toBe('expired');
    expect(h.executed).toEqual([]);
  });

  it('a second approval (after the first executed) executes nothing and leaves the message alone', async () => {
    const h = await harness();
    await click(h, ALICE, 'approve');
    const second = await click(h, BOB, 'approve');
    expect(second.followUp).toMatchObject({ outcome: 'already-decided', message: `plan plan-1 is already executed (by ${ALICE}): nothing executed` });
    expect(h.executed).toEqual(['plan-1']);
    expect(h.notifier.responses).toHaveLength(1);
  });

  it('an approval after a rejection executes nothing', async () => {
    const h = await harness();
    await click(h, BOB, 'reject');
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp?.outcome).toBe('already-decided');
    expect(h.executed).toEqual([]);
    expect(await status(h)).toBe('rejected');
    expect(h.notifier.responses.map((r) => r.message.text)).toEqual(['Rejected (plan plan-1)']);
  });

  it('a double click (two concurrent approvals) executes once', async () => {
    const h = await harness();
    const [a, b] = await Promise.all([handleSlackApproval(h.deps, signed(body(ALICE, 'approve'), h.clock.nowMs())), handleSlackApproval(h.deps, signed(body(ALICE, 'approve'), h.clock.nowMs()))]);
    const outcomes = await Promise.all([a.followUp?.(), b.followUp?.()]);
    expect(outcomes.map((o) => o?.outcome).sort()).toEqual(['already-decided', 'executed']);
    expect(h.executed).toEqual(['plan-1']);
    expect(h.notifier.responses).toHaveLength(1);
  });

  it('a concurrent approve and reject: exactly one decision, executed only if approve won', async () => {
    for (const order of [['approve', 'reject'], ['reject', 'approve']] as const) {
      const h = await harness();
      const results = await Promise.all(order.map((action) => handleSlackApproval(h.deps, signed(body(action === 'approve' ? ALICE : BOB, action), h.clock.nowMs()))));
      const outcomes = (await Promise.all(results.map((r) => r.followUp?.()))).map((o) => o?.outcome);
      expect(outcomes.filter((o) => o === 'already-decided')).toHaveLength(1);
      const final = await status(h);
      expect(h.executed).toEqual(final === 'executed' ? ['plan-1'] : []);
      expect(['executed', 'rejected']).toContain(final);
    }
  });
});

describe('handleSlackApproval: never acts on a stale plan', () => {
  it('state drifted: superseded, a fresh approval requested, nothing executed', async () => {
    const h = await harness({ drift: 'drifted' });
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp?.outcome).toBe('superseded');
    expect(h.executed).toEqual([]);
    expect(h.fresh).toEqual(['plan-1']);
    expect(await status(h)).toBe('superseded');
    expect(h.notifier.responses[0]?.message.text).toBe('Not executed: the cluster or its limits changed since this plan was made (plan plan-1)');
  });

  it('the re-check fails: the plan stays pending, nothing executed', async () => {
    const h = await harness({ drift: async () => Promise.reject(new Error('DescribeNodegroup throttled')) });
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp).toMatchObject({ outcome: 'failed', message: 're-check failed (DescribeNodegroup throttled): plan plan-1 still pending, nothing executed' });
    expect(h.executed).toEqual([]);
    expect(await status(h)).toBe('pending');
  });

  it('a run holds the cluster: the follow-up throws for the queue to redeliver, and the redelivery executes', async () => {
    let busy = true;
    const h = await harness({
      drift: async () => {
        if (busy) throw new PrescaleError('busy', 'a run is in progress on debate-prod', { retryable: true });
        return 'unchanged';
      },
    });
    const result = await handleSlackApproval(h.deps, signed(body(ALICE, 'approve'), h.clock.nowMs()));
    await expect(result.followUp!()).rejects.toMatchObject({ code: 'busy' });
    expect(h.notifier.responses).toEqual([]);
    expect(await status(h)).toBe('pending');
    busy = false;
    expect(await result.followUp!()).toMatchObject({ outcome: 'executed' });
    expect(h.executed).toEqual(['plan-1']);
  });

  it('a click on a plan a later run superseded is answered, and executes nothing', async () => {
    const h = await harness();
    await h.store.decidePendingPlan(plan.id, 'pending', 'superseded', 'prescale:scheduled', h.clock.nowMs());
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp).toMatchObject({ outcome: 'already-decided', message: 'plan plan-1 was superseded by a later run (prescale:scheduled): nothing executed' });
    expect(h.executed).toEqual([]);
    expect(h.notifier.responses.map((r) => r.message.text)).toEqual(['Not executed: the cluster or its limits changed since this plan was made (plan plan-1)']);
  });

  it.each<[string, DriftCheck]>([
    ['the plan still matches', 'unchanged'],
    ['the plan drifted too', 'drifted'],
  ])('a run supersedes the plan while the click waits for the cluster (%s): the click is answered', async (_why, drift) => {
    const h = await harness({
      drift: async () => {
        // the run holding the lease supersedes the plan before this click gets the lease
        await h.store.decidePendingPlan(plan.id, 'pending', 'superseded', 'prescale:scheduled', h.clock.nowMs());
        return drift;
      },
    });
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp).toMatchObject({ outcome: 'already-decided', message: 'plan plan-1 was superseded by a later run (prescale:scheduled): nothing executed' });
    expect(h.executed).toEqual([]);
    expect(h.notifier.responses.map((r) => r.message.text)).toEqual(['Not executed: the cluster or its limits changed since this plan was made (plan plan-1)']);
  });

  it('part of it ran: executed, and the message says what did not', async () => {
    const h = await harness({ execute: async () => 'not all of it ran: debate-prod/hpa/debate/gateway failed: conflict' });
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp?.outcome).toBe('executed');
    expect(await status(h)).toBe('executed');
    expect(JSON.stringify(h.notifier.responses[0]?.message)).toContain('not all of it ran: debate-prod/hpa/debate/gateway failed: conflict');
  });

  it('execution fails: reported, and a retried follow-up does not execute again', async () => {
    const h = await harness({ execute: async () => Promise.reject(new Error('UpdateNodegroupConfig: ResourceInUseException')) });
    const result = await handleSlackApproval(h.deps, signed(body(ALICE, 'approve'), h.clock.nowMs()));
    expect((await result.followUp?.())?.outcome).toBe('failed');
    expect(await status(h)).toBe('approved');
    expect(h.notifier.responses[0]?.message.text).toBe('Approved, but execution failed (plan plan-1)');
    // Lambda retries a failed async invocation: the conditional write stops it.
    expect((await result.followUp?.())?.outcome).toBe('already-decided');
    expect(h.executed).toEqual(['plan-1']);
  });

  it('a Slack outage while updating the message does not undo the decision', async () => {
    const h = await harness();
    h.notifier.respond = async () => Promise.reject(new Error('502 from hooks.slack.com'));
    const { followUp } = await click(h, ALICE, 'approve');
    expect(followUp?.outcome).toBe('executed');
    expect(await status(h)).toBe('executed');
    expect(h.logs.some((l) => l.includes('could not update the Slack message'))).toBe(true);
  });
});
