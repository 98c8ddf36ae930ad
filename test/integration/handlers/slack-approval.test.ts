/**
 * The slackApproval webhook and its follow-up through the real handlers in
 * local mode (simulated cloud, DynamoDB code on dynalite), driven by
 * real-shaped HTTP API v2 events signed the way Slack signs them.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireLocal, resetDependencies, type Dependencies } from '../../../lib/handlers/deps.ts';
import { commandTarget } from '../../../lib/core/commands.ts';
import { bundledPriceTable, nodeGroupPricesUsdPerHour } from '../../../lib/core/budget/prices.ts';
import type { ApprovalMessage } from '../../../lib/handlers/approval-queue.ts';
import type { SimCloud } from '../../../lib/sim/cloud.ts';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite.ts';
import { freshLocalDeps, loadHandler, useLocalHandlerEnv } from '../../support/local-handlers.ts';
import { lambdaContext, sampleEvent } from '../../support/lambda.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const sample = sampleEvent;
const SECRET = 'integration-signing-secret-5f1c';
/** The approver of config/example.yaml. */
const APPROVER = 'U012ABCDEF';
const STRANGER = 'U0STRANGER';
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0PRESCALE/1/integration';
const MIN = 60_000;

const context = (): Context => lambdaContext(10_000);

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let dynamo: DynaliteHandle;
let configDir: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  configDir = mkdtempSync(join(tmpdir(), 'prescale-slack-'));
  // Every scale-out needs a human: the afternoon run then posts a pending plan.
  const example = readFileSync(join(ROOT, 'config', 'example.yaml'), 'utf8').replace(
    'approval: { capacityChangePercent: 50, costChangeUsdPerHour: 5, projectedSpendPercent: 90 }',
    'approval: { capacityChangePercent: 1, costChangeUsdPerHour: 0.01, projectedSpendPercent: 90 }',
  );
  expect(example).toContain('capacityChangePercent: 1,');
  writeFileSync(join(configDir, 'debate-prod.yaml'), example);
  useLocalHandlerEnv(dynamo, configDir, { SLACK_SIGNING_SECRET: SECRET });
  delete process.env.SLACK_BOT_TOKEN;
});

const freshDeps = (): Promise<Dependencies> => freshLocalDeps(dynamo);

afterEach(async () => {
  await resetDependencies();
});

afterAll(async () => {
  await dynamo.close();
  rmSync(configDir, { recursive: true, force: true });
  delete process.env.SLACK_SIGNING_SECRET;
});

function cloud(deps: Dependencies): SimCloud {
  return requireLocal(deps).clouds.get('debate-prod')!;
}

/** The Slack interaction payload as a form body. `value: null` leaves the plan id out. */
function formBody(user: string, actionId: string, planId: string | null): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: 'someone' },
    team: { id: 'T0PRESCALE' },
    container: { type: 'message', message_ts: '1793628000.000100', channel_id: 'C0APPROVAL' },
    channel: { id: 'C0APPROVAL' },
    response_url: RESPONSE_URL,
    actions: [{ type: 'button', action_id: actionId, block_id: 'prescale-approval', ...(planId === null ? {} : { value: planId }), action_ts: '1793628061.000200' }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

interface SignOptions {
  readonly secret?: string;
  readonly timestampMs?: number;
  readonly signature?: string | null;
  readonly base64?: boolean;
}

/** The sample HTTP API v2 event carrying `rawBody`, received at `nowMs`, signed here with an independent HMAC. */
function httpEvent(rawBody: string, nowMs: number, options: SignOptions = {}): Record<string, unknown> {
  const base = sample('slackApproval') as { headers: Record<string, string>; requestContext: Record<string, unknown> };
  const timestamp = String(Math.floor((options.timestampMs ?? nowMs) / 1000));
  const signature = options.signature === undefined ? `v0=${createHmac('sha256', options.secret ?? SECRET).update(`v0:${timestamp}:${rawBody}`).digest('hex')}` : options.signature;
  const headers: Record<string, string> = { ...base.headers, 'x-slack-request-timestamp': timestamp };
  if (signature === null) delete headers['x-slack-signature'];
  else headers['x-slack-signature'] = signature;
  const base64 = options.base64 ?? true;
  return { ...base, headers, requestContext: { ...base.requestContext, timeEpoch: nowMs }, body: base64 ? Buffer.from(rawBody).toString('base64') : rawBody, isBase64Encoded: base64 };
}

let sqsBatches = 0;
function sqsEvent(messages: readonly unknown[]): Record<string, unknown> {
  const record = (sample('worker').Records as Record<string, unknown>[])[0]!;
  sqsBatches += 1;
  return { Records: messages.map((m, i) => ({ ...record, messageId: `approval-${sqsBatches}-${i}`, body: JSON.stringify(m) })) };
}

/** What the webhook queued and the worker has not yet processed. */
function queued(deps: Dependencies): ApprovalMessage[] {
  return requireLocal(deps).approvals.sent;
}

/** The worker processes everything the webhook queued (as SQS would deliver it). */
async function drain(deps: Dependencies, remainingMs = 60_000): Promise<unknown> {
  const messages = queued(deps).splice(0);
  if (messages.length === 0) return { batchItemFailures: [] };
  return (await loadHandler('worker'))(sqsEvent(messages), lambdaContext(remainingMs));
}

/** The scheduled worker run of the sample message: the pipeline posts a pending plan. */
async function pendingPlanId(deps: Dependencies): Promise<string> {
  expect(await (await loadHandler('worker'))(sample('worker'), lambdaContext(60_000))).toEqual({ batchItemFailures: [] });
  const posted = cloud(deps).notifier.posted.map((m) => /\(plan ([^)]+)\)$/.exec(m.text)?.[1]).filter((id) => id !== undefined);
  expect(posted, 'the pipeline posted an approval request').toHaveLength(1);
  return posted[0]!;
}

async function click(user: string, action: string, planId: string | null, nowMs: number, options: SignOptions = {}): Promise<HttpResult> {
  return (await (await loadHandler('slackApproval'))(httpEvent(formBody(user, action, planId), nowMs, options), context())) as HttpResult;
}

function nowOf(deps: Dependencies): number {
  return deps.portsFor('debate-prod').clock.nowMs();
}

describe('slackApproval: requests that get a clear answer and execute nothing', () => {
  const cases: { name: string; user?: string; action?: string; planId?: string | null; options?: (nowMs: number) => SignOptions; status: number; body: RegExp; queues: boolean }[] = [
    { name: 'no signature', options: () => ({ signature: null }), status: 401, body: /^invalid request signature$/, queues: false },
    { name: 'forged signature (wrong secret)', options: () => ({ secret: 'not-the-secret' }), status: 401, body: /^invalid request signature$/, queues: false },
    { name: 'timestamp older than 5 minutes (replay)', options: (nowMs) => ({ timestampMs: nowMs - 5 * MIN - 1000 }), status: 401, body: /^invalid request signature$/, queues: false },
    { name: 'malformed payload (no plan id)', planId: null, status: 400, body: /^invalid-payload: /, queues: false },
    { name: 'unknown action', action: 'delete-cluster', status: 400, body: /^unknown-action: /, queues: false },
    { name: 'user not on the allowlist', user: STRANGER, status: 200, body: /not on the approver list/, queues: true },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const deps = await freshDeps();
      const planId = await pendingPlanId(deps);
      const callsBefore = cloud(deps).capacity.calls.length;
      const nowMs = nowOf(deps) + MIN;
      const response = await click(c.user ?? APPROVER, c.action ?? 'approve', c.planId === undefined ? planId : c.planId, nowMs, c.options?.(nowMs));
      expect(response.statusCode).toBe(c.status);
      expect(response.body).toMatch(c.body);
      expect(queued(deps)).toHaveLength(c.queues ? 1 : 0);
      expect(await drain(deps)).toEqual({ batchItemFailures: [] });
      expect(cloud(deps).capacity.calls).toHaveLength(callsBefore);
      expect((await deps.state.getPendingPlan(planId, nowMs))?.status).toBe('pending');
      expect(cloud(deps).notifier.responses).toHaveLength(0);
    });
  }

  it('a malformed body that is not even form-encoded JSON', async () => {
    const deps = await freshDeps();
    const nowMs = nowOf(deps);
    const response = (await (await loadHandler('slackApproval'))(httpEvent('payload=%7Bnot-json', nowMs), context())) as HttpResult;
    expect(response).toMatchObject({ statusCode: 400, body: expect.stringMatching(/^malformed-json: /) });
    expect(queued(deps)).toHaveLength(0);
  });

  it('an unknown plan: acknowledged, then the message says so and nothing runs', async () => {
    const deps = await freshDeps();
    const nowMs = nowOf(deps);
    expect(await click(APPROVER, 'approve', 'debate-prod-1793628000000-deadbeef', nowMs)).toMatchObject({ statusCode: 200, body: '' });
    await drain(deps);
    expect(cloud(deps).capacity.calls).toHaveLength(0);
    expect(cloud(deps).notifier.responses.map((r) => r.message.text)).toEqual(['Unknown plan: nothing was executed (plan debate-prod-1793628000000-deadbeef)']);
  });

  it('an expired plan (31 minutes later): nothing runs, the message says it expired', async () => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const callsBefore = cloud(deps).capacity.calls.length;
    const later = nowOf(deps) + 31 * MIN;
    expect((await click(APPROVER, 'approve', planId, later)).statusCode).toBe(200);
    await drain(deps);
    expect(cloud(deps).capacity.calls).toHaveLength(callsBefore);
    expect(cloud(deps).notifier.responses.map((r) => r.message.text)).toEqual([`Expired: nothing was executed (plan ${planId})`]);
  });
});

describe('slackApproval: approve end to end', () => {
  it('pipeline posts a plan → approve → ack before the follow-up → executed on the simulated cloud → message updated', async () => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const plan = (await deps.state.getPendingPlan(planId, nowOf(deps)))!;
    const callsBefore = cloud(deps).capacity.calls.length;
    const nowMs = nowOf(deps) + MIN;
    // The run that asked for approval priced the ceiling at the nodes it left, not the scale-out it asked for.
    const ceilingBefore = (await deps.state.getPlannerMemory('debate-prod'))!.costCeiling!;

    const response = await click(APPROVER, 'approve', planId, nowMs);
    // The ack path: answered, the follow-up queued, nothing decided or executed yet.
    expect(response).toMatchObject({ statusCode: 200, body: '' });
    expect(queued(deps)).toMatchObject([{ type: 'slack-approval', kind: 'decide', interaction: { action: 'approve', planId, userId: APPROVER } }]);
    expect(cloud(deps).capacity.calls).toHaveLength(callsBefore);
    expect((await deps.state.getPendingPlan(planId, nowMs))!.status).toBe('pending');

    expect(await drain(deps)).toEqual({ batchItemFailures: [] });
    const scaled = plan.commands.flatMap((c) => (c.kind === 'scale-node-group' ? [{ nodeGroup: c.nodeGroup, desiredNodes: c.toNodes }] : []));
    expect(scaled.length).toBeGreaterThan(0);
    expect(cloud(deps).capacity.calls.slice(callsBefore).map(({ nodeGroup, desiredNodes }) => ({ nodeGroup, desiredNodes }))).toEqual(scaled);
    expect((await deps.state.getPendingPlan(planId, nowOf(deps)))).toMatchObject({ status: 'executed', decidedBy: APPROVER });
    // The cost ceiling now prices what runs: every group's nodes after the approval at the bundled prices.
    const config = deps.configs.find((c) => c.cluster.name === 'debate-prod')!;
    const prices = nodeGroupPricesUsdPerHour(config.nodeGroups, config.cluster.region, bundledPriceTable());
    const running = config.nodeGroups.reduce((sum, g) => sum + cloud(deps).capacity.fleet(g.name).aliveNodes * prices[g.name]!, 0);
    const ceiling = (await deps.state.getPlannerMemory('debate-prod'))!.costCeiling!;
    expect(ceiling.ourUsdPerHour).toBeCloseTo(running, 9);
    expect(ceiling.ourUsdPerHour).toBeGreaterThan(ceilingBefore.ourUsdPerHour);
    // …after accruing the rate before the approval up to it: the new rate counts from the approval on.
    expect(ceiling.atMs).toBeGreaterThan(ceilingBefore.atMs);
    const audit = await deps.state.listAudit('debate-prod', 0, 500);
    const applied = audit.filter((a) => a.actor === `slack:${APPROVER}` && a.result === 'applied');
    // One entry per command, plus the plan's own transition.
    expect(applied.map((a) => a.target).sort()).toEqual([...plan.commands.map(commandTarget), `plan/${planId}`].sort());
    expect(cloud(deps).notifier.responses).toHaveLength(1);
    expect(cloud(deps).notifier.responses[0]).toMatchObject({ responseUrl: RESPONSE_URL, message: { text: `Approved and executed (plan ${planId})` } });

    // A second approval (double click): acknowledged, and nothing runs again.
    expect((await click(APPROVER, 'approve', planId, nowMs + 1000)).statusCode).toBe(200);
    const callsAfter = cloud(deps).capacity.calls.length;
    await drain(deps);
    expect(cloud(deps).capacity.calls).toHaveLength(callsAfter);
    expect(cloud(deps).notifier.responses).toHaveLength(1);
  });

  it('a state-store failure re-pricing the cost ceiling after the commands ran still reports the approval done', async () => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const plan = (await deps.state.getPendingPlan(planId, nowOf(deps)))!;
    const state = deps.state as { putPlannerMemory: typeof deps.state.putPlannerMemory };
    const put = state.putPlannerMemory;
    state.putPlannerMemory = async () => {
      throw new Error('throttled');
    };
    try {
      await click(APPROVER, 'approve', planId, nowOf(deps) + MIN);
      expect(await drain(deps)).toEqual({ batchItemFailures: [] });
    } finally {
      state.putPlannerMemory = put;
    }
    expect(await deps.state.getPendingPlan(planId, nowOf(deps))).toMatchObject({ status: 'executed', decidedBy: APPROVER });
    expect(cloud(deps).notifier.responses[0]).toMatchObject({ message: { text: `Approved and executed (plan ${planId})` } });
    // …and the decision was recorded before the re-price was tried.
    const decisions = await deps.state.listDecisions('debate-prod', 0, 50);
    expect(decisions.some((d) => d.trigger === `slack:${APPROVER}` && d.commands.length === plan.commands.length)).toBe(true);
  });

  it('a queued click relabelled as an approver\'s fails in the worker: Slack did not sign it, nothing runs', async () => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const callsBefore = cloud(deps).capacity.calls.length;
    const nowMs = nowOf(deps) + MIN;
    // A stranger's genuine click is queued as a refusal (audited only)…
    expect((await click(STRANGER, 'approve', planId, nowMs)).statusCode).toBe(200);
    const [refusal] = queued(deps).splice(0);
    // …and someone who can send to the queue rewrites it as the approver's decision.
    const forged: ApprovalMessage = { ...refusal!, kind: 'decide', interaction: { ...refusal!.interaction, userId: APPROVER } };
    queued(deps).push(forged);
    // Its only record fails (a whole-batch failure: SQS redelivers it, then the DLQ and its alarm take it).
    const failure = (await drain(deps).catch((error: unknown) => error)) as { name: string; recordErrors: Error[] };
    expect(failure.name).toBe('FullBatchFailureError');
    expect(failure.recordErrors.map((e) => e.message)).toEqual([
      `approval message for plan ${planId}: says approve by ${APPROVER} but Slack signed approve of ${planId} by ${STRANGER}: nothing was done`,
    ]);
    expect(cloud(deps).capacity.calls).toHaveLength(callsBefore);
    expect((await deps.state.getPendingPlan(planId, nowMs))!.status).toBe('pending');
  });

  it('an approval after a rejection executes nothing', async () => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const callsBefore = cloud(deps).capacity.calls.length;
    const nowMs = nowOf(deps) + MIN;
    expect((await click(APPROVER, 'reject', planId, nowMs)).statusCode).toBe(200);
    await drain(deps);
    expect((await click(APPROVER, 'approve', planId, nowMs + 1000)).statusCode).toBe(200);
    await drain(deps);
    expect(cloud(deps).capacity.calls).toHaveLength(callsBefore);
    expect((await deps.state.getPendingPlan(planId, nowMs))).toMatchObject({ status: 'rejected', decidedBy: APPROVER });
    expect(cloud(deps).notifier.responses.map((r) => r.message.text)).toEqual([`Rejected (plan ${planId})`]);
  });

  it('approve and reject in the same batch: the first decision wins, at most one executes', async () => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const nowMs = nowOf(deps) + MIN;
    await click(APPROVER, 'reject', planId, nowMs);
    await click(APPROVER, 'approve', planId, nowMs);
    expect(queued(deps)).toHaveLength(2);
    await drain(deps);
    const status = (await deps.state.getPendingPlan(planId, nowMs))!.status;
    expect(['rejected', 'executed']).toContain(status);
    expect(cloud(deps).notifier.responses).toHaveLength(1);
  });

  it.each<[string, number, boolean]>([
    ['a fresh plan posted', 60_000, true],
    // 20 s left is under the 45 s reserve: no re-plan in this invocation; the next scheduled run asks again
    ['the re-plan left to the next run when too little of the invocation is left', 20_000, false],
  ])('drift: the node groups changed since the plan → superseded, not executed, %s', async (_why, remainingMs, replanned) => {
    const deps = await freshDeps();
    const planId = await pendingPlanId(deps);
    const plan = (await deps.state.getPendingPlan(planId, nowOf(deps)))!;
    const command = plan.commands.find((c) => c.kind === 'scale-node-group')!;
    if (command.kind !== 'scale-node-group') throw new Error('expected a node group command');
    // Someone else resizes the group (console, another tool) before the click.
    await cloud(deps).capacity.setDesiredNodes('debate-prod', command.nodeGroup, command.fromNodes + 1);
    const postedBefore = cloud(deps).notifier.posted.length;
    const nowMs = nowOf(deps) + MIN;
    expect((await click(APPROVER, 'approve', planId, nowMs)).statusCode).toBe(200);
    await drain(deps, remainingMs);
    expect((await deps.state.getPendingPlan(planId, nowMs))!.status).toBe('superseded');
    const audit = await deps.state.listAudit('debate-prod', 0, 500);
    expect(audit.filter((a) => a.actor === `slack:${APPROVER}` && a.result === 'applied')).toEqual([]);
    expect(cloud(deps).notifier.responses.map((r) => r.message.text)).toEqual([`Not executed: the cluster or its limits changed since this plan was made (plan ${planId})`]);
    if (replanned) {
      // The re-plan ran (as the approver's request) and asked again.
      expect(cloud(deps).notifier.posted.length).toBeGreaterThan(postedBefore);
      expect(cloud(deps).notifier.posted.at(-1)!.text).toMatch(/^Approval needed for debate-prod/);
    } else {
      expect(cloud(deps).notifier.posted.length).toBe(postedBefore);
    }
  });
});
