/**
 * The slackApproval webhook and its follow-up, wired to the handlers'
 * dependencies. lib/approval/slack-approval.ts decides; this file supplies
 * the secret, the allowlist, the clock, the queue and the pipeline steps.
 *
 *   webhook (functions/slackApproval): verify → parse → allowlist → queue → 200, in well under 3 s
 *   worker  (functions/worker):        re-check under the cluster lease → approve → execute | supersede → re-plan
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { SlackApprovalDeps, FollowUpResult, HttpResponse, RequestOutcome } from '../approval/slack-approval.ts';
import { handleSlackApproval, runSlackFollowUp } from '../approval/slack-approval.ts';
import type { PrescaleConfig } from '../config/schema.ts';
import { commandTarget } from '../core/commands.ts';
import { isPrescaleError, PrescaleError } from '../errors.ts';
import { ALREADY_AT_DESIRED_COUNT, APPROVAL_TTL_MINUTES, checkPlanDrift, executeApprovedPlan, LEASE_TTL_MS, runPipeline, type CommandOutcome } from '../pipeline/run.ts';
import type { Clock, Lease, Notifier } from '../ports.ts';
import { decodeBody, headerValue } from '../slack/body.ts';
import { parseInteractionPayload } from '../slack/interaction.ts';
import { approvalMessage, verifiedInteraction, type ApprovalMessage } from './approval-queue.ts';
import { systemClock } from './aws.ts';
import type { Dependencies } from './deps.ts';
import { createLazySlackNotifier } from './slack-secrets.ts';

export type LogSink = NonNullable<SlackApprovalDeps['log']>;

/**
 * The cluster a plan id names. Ids are `<cluster>-<createdAtMs>-<8 hex>`
 * (lib/pipeline/run.ts requestApproval); the strict tail makes the prefix
 * unambiguous even when one cluster's name is a prefix of another's.
 */
export function clusterOfPlanId(clusters: readonly string[], planId: string): string | undefined {
  return clusters.find((cluster) => planId.startsWith(`${cluster}-`) && /^\d+-[0-9a-f]{8}$/.test(planId.slice(cluster.length + 1)));
}

/**
 * Who may decide on a plan: its cluster's `slack.approvers`. For an id that
 * names no configured cluster the plan is unknown anyway; the union lets an
 * approver hear "unknown plan" rather than "not an approver". Sorted.
 */
export function approversFor(configs: readonly PrescaleConfig[], planId: string | undefined): string[] {
  const cluster = planId === undefined ? undefined : clusterOfPlanId(configs.map((c) => c.cluster.name), planId);
  const chosen = cluster === undefined ? configs : configs.filter((c) => c.cluster.name === cluster);
  return [...new Set(chosen.flatMap((c) => c.slack?.approvers ?? []))].sort();
}

/**
 * The plan id the body claims, read before the signature is checked: used only
 * to choose which allowlist and (locally) which clock apply. Nothing is acted
 * on until handleSlackApproval has verified the request.
 */
function claimedPlanId(event: APIGatewayProxyEventV2): string | undefined {
  try {
    const parsed = parseInteractionPayload(decodeBody(event.body, event.isBase64Encoded));
    return parsed.ok ? parsed.interaction.planId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * AWS: the system clock, never a time from the request. Local: the simulated
 * clock of the cluster (the first configured one when the plan names none),
 * moved forward to `eventTimeMs` when given: the webhook passes the request's
 * receipt time (like every local handler moves it to its event's time), so the
 * sample events stay valid; the follow-up finds it where the webhook left it.
 */
function handlerClock(deps: Dependencies, cluster: string | undefined, eventTimeMs?: number): Clock {
  if (deps.local === undefined) return systemClock;
  const name = cluster ?? deps.configs[0]?.cluster.name;
  return name === undefined ? systemClock : deps.portsFor(name, eventTimeMs).clock;
}

const NOT_HERE = async (): Promise<never> => {
  throw new PrescaleError('internal', 'the webhook does not decide: the follow-up runs in the worker');
};

/** A notifier for when Slack is not configured: the outcome goes to the log instead of being lost silently. */
function logOnlyNotifier(log: LogSink): Notifier {
  return {
    post: async (message) => {
      log('warn', 'no Slack notifier configured: message not posted', { text: message.text });
      return { id: 'not-posted' };
    },
    respond: async (_url, message) => {
      log('warn', 'no Slack notifier configured: message not updated', { text: message.text });
    },
  };
}

export interface Acknowledgement {
  readonly outcome: RequestOutcome;
  readonly reason: string;
  readonly response: HttpResponse;
  /** Whether a follow-up was handed to the worker. */
  readonly queued: boolean;
}

/**
 * The synchronous part: no DynamoDB, no cluster call, one SSM read (cached)
 * and at most one SQS send, so Slack gets its answer in well under 3 s. The
 * follow-up runs in the worker (lib/handlers/approval-queue.ts says why).
 */
export async function acknowledgeSlackInteraction(deps: Dependencies, event: APIGatewayProxyEventV2, log: LogSink): Promise<Acknowledgement> {
  const planId = claimedPlanId(event);
  const cluster = planId === undefined ? undefined : clusterOfPlanId(deps.configs.map((c) => c.cluster.name), planId);
  const clock = handlerClock(deps, cluster, event.requestContext.timeEpoch);
  const result = await handleSlackApproval(
    {
      store: deps.state,
      notifier: logOnlyNotifier(log),
      clock,
      signingSecret: await deps.slack.signingSecret(),
      approvers: approversFor(deps.configs, planId),
      replanAndCheck: NOT_HERE,
      execute: NOT_HERE,
      log,
    },
    { headers: event.headers, body: event.body, isBase64Encoded: event.isBase64Encoded },
  );
  if (result.interaction === undefined || result.followUp === undefined) return { outcome: result.outcome, reason: result.reason, response: result.response, queued: false };
  const kind = result.outcome === 'accepted' ? 'decide' : 'refuse';
  // Verified above, so these are present and the body decodes; the worker checks them again.
  const signedRequest = {
    body: decodeBody(event.body, event.isBase64Encoded),
    timestamp: headerValue(event.headers, 'x-slack-request-timestamp') ?? '',
    signature: headerValue(event.headers, 'x-slack-signature') ?? '',
  };
  await deps.approvals.enqueue(approvalMessage(kind, result.interaction, clock.nowMs(), signedRequest));
  return { outcome: result.outcome, reason: result.reason, response: result.response, queued: true };
}

/**
 * The follow-up, in the worker. The re-check takes the cluster lease and holds
 * it through execution, so no run can move the node groups between the check
 * and the act; a re-plan after a drift releases it first (the run takes it).
 */
/**
 * What of an approved plan did not run, or undefined when all of it did.
 * Only `applied`, or a scale skipped because its group already had the
 * count, ran; every other outcome (failed, requeued, a floor withheld, a
 * count the live bounds kept, a stale plan) did not.
 */
export function approvedNotRun(outcomes: readonly CommandOutcome[]): string | undefined {
  const notRun = outcomes.filter((o) => !(o.result === 'applied' || (o.result === 'skipped' && o.message === ALREADY_AT_DESIRED_COUNT)));
  return notRun.length === 0 ? undefined : notRun.map((o) => `${commandTarget(o.guarded.command)} ${o.result}: ${o.message ?? ''}`).join('; ');
}

/** How long a click waits in the worker for a run holding its cluster (runs take seconds), and how often it tries. */
export const APPROVAL_LEASE_WAIT_MS = 20_000;
const APPROVAL_LEASE_RETRY_MS = 1_000;
/**
 * What a click keeps of its invocation once it has the lease: the drift
 * check (a describe of every group) and at least one command
 * (APPROVAL_COMMAND_RESERVE_MS) with its records. A click with less left
 * waits no longer, and skips the re-plan (the next scheduled run asks
 * again). Calls normally take well under a second; the caps (12 s an AWS
 * call) are for a sick API, and a command that meets one can still outlast
 * the invocation.
 */
export const APPROVAL_WORK_RESERVE_MS = 45_000;
/** Left for one more approved command: its describe and set (12 s each at most) and the records after it. */
export const APPROVAL_COMMAND_RESERVE_MS = 30_000;

/**
 * The cluster lease for an approval, waiting up to APPROVAL_LEASE_WAIT_MS for
 * a run in progress: the click shares the run queue, whose redelivery comes
 * minutes later and whose retention is short, so a click must not depend on
 * it. Still held after the wait: `busy`, for the queue to redeliver.
 */
export async function acquireApprovalLease(
  acquire: () => Promise<Lease>,
  cluster: string,
  wait: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  remainingMs: () => number = () => Number.POSITIVE_INFINITY,
): Promise<Lease> {
  for (let waitedMs = 0; ; waitedMs += APPROVAL_LEASE_RETRY_MS) {
    try {
      return await acquire();
    } catch (error) {
      if (!isPrescaleError(error) || error.code !== 'lease-held') throw error;
      // The wait never eats the time the re-check and execution need: a click cut off mid-act would be half applied.
      const outOfTime = remainingMs() - APPROVAL_LEASE_RETRY_MS < APPROVAL_WORK_RESERVE_MS;
      if (waitedMs >= APPROVAL_LEASE_WAIT_MS || outOfTime) throw new PrescaleError('busy', `a run is in progress on ${cluster}`, { retryable: true });
      await wait(APPROVAL_LEASE_RETRY_MS);
    }
  }
}

export async function runApprovalFollowUp(
  deps: Dependencies,
  message: ApprovalMessage,
  runId: string,
  log: LogSink,
  options: { readonly wait?: (ms: number) => Promise<void>; readonly remainingMs?: () => number } = {},
): Promise<FollowUpResult> {
  const remainingMs = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const cluster = clusterOfPlanId(deps.configs.map((c) => c.cluster.name), message.interaction.planId);
  // The queue is not trusted with who clicked: Slack's signature is checked again, and the click read from the signed body.
  const interaction = verifiedInteraction(message, await deps.slack.signingSecret(), handlerClock(deps, cluster).nowMs(), APPROVAL_TTL_MINUTES * 60_000);
  const fallbackNotifier = deps.slack.hasBotToken ? createLazySlackNotifier(deps.slack, '') : logOnlyNotifier(log);
  if (cluster === undefined) {
    // No configured cluster has this plan: runSlackFollowUp finds no plan and says so.
    const base = { store: deps.state, notifier: fallbackNotifier, clock: systemClock, signingSecret: '', replanAndCheck: NOT_HERE, execute: NOT_HERE, log };
    return runSlackFollowUp({ ...base, approvers: approversFor(deps.configs, undefined) }, interaction, message.kind);
  }
  const config = deps.config(cluster);
  const ports = deps.portsFor(cluster);
  const actor = `slack:${interaction.userId}`;
  let lease: Lease | undefined;
  const release = async (): Promise<void> => {
    const held = lease;
    lease = undefined;
    if (held !== undefined) await deps.state.releaseLease(held);
  };
  try {
    return await runSlackFollowUp(
      {
        store: deps.state,
        notifier: ports.notifier ?? fallbackNotifier,
        clock: ports.clock,
        signingSecret: '',
        // Checked again here, against the plan's own cluster: the queue is trusted only as far as its IAM policy.
        approvers: config.slack?.approvers ?? [],
        async replanAndCheck(plan) {
          lease = await acquireApprovalLease(() => deps.state.acquireLease(cluster, `${runId}#approval`, ports.clock.nowMs(), LEASE_TTL_MS), cluster, options.wait, remainingMs);
          return checkPlanDrift(config, ports, plan);
        },
        async execute(plan) {
          // Each command needs its calls (a describe, a set, capped at 12 s each) and its records: stop sending before that is short.
          const outOfTime = () => remainingMs() < APPROVAL_COMMAND_RESERVE_MS;
          const result = await executeApprovedPlan(config, ports, plan, actor, lease === undefined ? { runId: `${runId}#approval`, outOfTime } : { lease, outOfTime });
          if (result.status === 'drifted') throw new PrescaleError('stale', 'the cluster changed between the re-check and the execution: nothing was executed');
          if (result.costCeilingNotRepriced !== undefined) log('warn', 'cost ceiling not re-priced after the approval; the next run re-prices it', { cluster, planId: plan.id, error: result.costCeilingNotRepriced });
          if (result.floorsNotRecorded !== undefined) log('warn', 'floors the approval set not recorded; their saved intents name them', { cluster, planId: plan.id, error: result.floorsNotRecorded });
          const notRun = approvedNotRun(result.outcomes);
          // Nothing ran: the approval failed. Some ran: it executed, and the message says what did not.
          if (notRun !== undefined && !result.outcomes.some((o) => o.result === 'applied')) throw new PrescaleError('unavailable', notRun);
          return notRun === undefined ? undefined : `not all of it ran: ${notRun}`;
        },
        async requestFreshApproval() {
          await release();
          if (remainingMs() < APPROVAL_WORK_RESERVE_MS) {
            log('warn', 'no time left in this invocation to re-plan after a superseded approval; the next scheduled run asks again', { cluster, remainingMs: remainingMs() });
            return;
          }
          await runPipeline(config, ports, { trigger: 'approval', actor: `replan:${actor}`, runId: `${runId}#replan` });
        },
        log,
      },
      interaction,
      message.kind,
    );
  } finally {
    await release();
  }
}
