/**
 * The `slackApproval` webhook's logic, without Lambda: verify → parse →
 * allowlist → acknowledge, then a follow-up task the handler runs after the
 * response (Slack wants an answer within 3 s; re-observing and scaling take
 * longer).
 *
 * What may never happen: acting on a forged, replayed or malformed request, on
 * a click by someone not on the allowlist, on an unknown or expired plan, on a
 * plan someone already decided, or on a plan whose state drifted. Every one of
 * those returns a clear outcome and executes nothing.
 *
 * Order of the follow-up for Approve: re-check the state *before* the decision
 * is written. The StateStore allows pending → approved | rejected | superseded
 * and approved → executed, so a drifted plan goes pending → superseded (and
 * the requester is asked again) and only an unchanged plan goes pending →
 * approved. Either write is conditional: of two concurrent clicks (double
 * click, or Approve racing Reject) exactly one wins and the other executes
 * nothing.
 */
import { errorMessage, isPrescaleError } from '../errors.ts';
import type { AuditEntry, Clock, Notifier, NotifierMessage, PendingPlan, PendingPlanStatus, StateStore } from '../ports.ts';
import type { HttpHeaders } from '../slack/body.ts';
import { decodeBody, headerValue } from '../slack/body.ts';
import type { ApprovalInteraction } from '../slack/interaction.ts';
import { parseInteractionPayload } from '../slack/interaction.ts';
import type { ApprovalOutcome } from '../slack/messages.ts';
import { outcomeMessage } from '../slack/messages.ts';
import { verifySlackSignature } from '../slack/signature.ts';

export type DriftCheck = 'unchanged' | 'drifted';

export interface SlackApprovalDeps {
  readonly store: StateStore;
  readonly notifier: Notifier;
  readonly clock: Clock;
  /** From SLACK_SIGNING_SECRET locally, SSM / Secrets Manager deployed. Never logged. */
  readonly signingSecret: string;
  /** Slack user ids allowed to decide. Empty: nobody can approve. */
  readonly approvers: readonly string[];
  /** Observe again: `drifted` when the plan's stateHash no longer matches, or the guard, with the bounds and budget of now, would no longer let its commands through as approved. */
  readonly replanAndCheck: (plan: PendingPlan) => Promise<DriftCheck>;
  /** Carry the approved plan out (the pipeline's act step, which re-checks each command and audits it). */
  /** Throws when nothing ran; returns what went wrong beside what ran (shown with the outcome), or nothing. */
  readonly execute: (plan: PendingPlan) => Promise<string | void>;
  /**
   * After a drift: run the pipeline again so a fresh plan is made and, if it
   * still needs approval, posted. Without it, the next scheduled run does that.
   */
  readonly requestFreshApproval?: ((superseded: PendingPlan) => Promise<void>) | undefined;
  /** Structured log sink; receives no secrets, signatures or bodies. */
  readonly log?: ((level: 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>) => void) | undefined;
}

export interface SlackApprovalRequest {
  readonly headers: HttpHeaders | null | undefined;
  readonly body: string | null | undefined;
  readonly isBase64Encoded?: boolean | undefined;
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the synchronous part decided. Only `accepted` leads to a decision. */
export type RequestOutcome = 'accepted' | 'unauthenticated' | 'bad-request' | 'unknown-action' | 'not-an-approver';

/** What the follow-up did. Only `executed` changed the cluster. */
export type FollowUpOutcome = ApprovalOutcome | 'already-decided' | 'not-an-approver';

export interface FollowUpResult {
  readonly outcome: FollowUpOutcome;
  readonly planId: string;
  readonly userId: string;
  readonly message: string;
}

export interface SlackApprovalResult {
  readonly outcome: RequestOutcome;
  /** Why, for logs and tests (never contains the secret). */
  readonly reason: string;
  readonly response: HttpResponse;
  /** Run after responding (the handler invokes itself asynchronously or uses the response stream). */
  readonly followUp: (() => Promise<FollowUpResult>) | undefined;
  readonly interaction: ApprovalInteraction | undefined;
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8' } as const;
const JSON_TYPE = { 'content-type': 'application/json' } as const;

function reply(outcome: RequestOutcome, statusCode: number, reason: string): SlackApprovalResult {
  return { outcome, reason, response: { statusCode, headers: TEXT, body: reason }, followUp: undefined, interaction: undefined };
}

/** Verify, parse and authorize; answer at once. Does no I/O: the follow-up does it all. */
export async function handleSlackApproval(deps: SlackApprovalDeps, request: SlackApprovalRequest): Promise<SlackApprovalResult> {
  const nowMs = deps.clock.nowMs();
  let rawBody: string;
  try {
    rawBody = decodeBody(request.body, request.isBase64Encoded);
  } catch {
    return reply('bad-request', 400, 'request body is not valid base64');
  }

  const signature = verifySlackSignature({
    signingSecret: deps.signingSecret,
    timestampHeader: headerValue(request.headers, 'x-slack-request-timestamp'),
    signatureHeader: headerValue(request.headers, 'x-slack-signature'),
    rawBody,
    nowMs,
  });
  if (!signature.ok) {
    deps.log?.('warn', 'slack request rejected', { reason: signature.reason });
    // One body for every signature failure: a prober learns nothing about which check failed.
    return { ...reply('unauthenticated', 401, 'invalid request signature'), reason: `${signature.reason}: ${signature.message}` };
  }

  const parsed = parseInteractionPayload(rawBody);
  if (!parsed.ok) {
    deps.log?.('warn', 'slack payload rejected', { reason: parsed.reason, message: parsed.message });
    return reply(parsed.reason === 'unknown-action' ? 'unknown-action' : 'bad-request', 400, `${parsed.reason}: ${parsed.message}`);
  }
  const interaction = parsed.interaction;

  if (!deps.approvers.includes(interaction.userId)) {
    deps.log?.('warn', 'slack click by a user not on the approver allowlist', { userId: interaction.userId, planId: interaction.planId });
    const reason = `<@${interaction.userId}> is not on the approver list for prescale: nothing was done`;
    return {
      outcome: 'not-an-approver',
      reason,
      // 200: the request is genuine Slack; a non-2xx would show the clicker a generic error instead of this.
      response: { statusCode: 200, headers: JSON_TYPE, body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: reason }) },
      followUp: () => auditRefusal(deps, interaction, 'not on the approver allowlist'),
      interaction,
    };
  }

  return {
    outcome: 'accepted',
    reason: `${interaction.action} of plan ${interaction.planId} by ${interaction.userId} accepted`,
    response: { statusCode: 200, headers: TEXT, body: '' },
    followUp: () => decide(deps, interaction),
    interaction,
  };
}

// ---------------------------------------------------------------- follow-up

async function auditRefusal(deps: SlackApprovalDeps, interaction: ApprovalInteraction, why: string): Promise<FollowUpResult> {
  const nowMs = deps.clock.nowMs();
  const plan = await deps.store.getPendingPlan(interaction.planId, nowMs);
  if (plan !== undefined) await audit(deps, plan, interaction, nowMs, 'skipped', `${interaction.action} refused: ${why}`, plan.status, plan.status);
  return { outcome: 'not-an-approver', planId: interaction.planId, userId: interaction.userId, message: `${interaction.userId} is ${why}: nothing executed` };
}

type Transition = { readonly ok: true; readonly plan: PendingPlan } | { readonly ok: false; readonly outcome: 'already-decided' | 'expired' | 'unknown-plan'; readonly message: string };

/** The conditional write, with the store's refusals mapped to outcomes. Other errors propagate: nothing ran yet, a retry is safe. */
async function transition(deps: SlackApprovalDeps, plan: PendingPlan, from: PendingPlanStatus, to: PendingPlanStatus, by: string): Promise<Transition> {
  try {
    return { ok: true, plan: await deps.store.decidePendingPlan(plan.id, from, to, by, deps.clock.nowMs()) };
  } catch (error) {
    if (isPrescaleError(error) && error.code === 'conflict') return { ok: false, outcome: 'already-decided', message: `plan ${plan.id} was already decided by someone else: nothing executed` };
    if (isPrescaleError(error) && error.code === 'stale') return { ok: false, outcome: 'expired', message: `plan ${plan.id} expired before the decision: nothing executed` };
    if (isPrescaleError(error) && error.code === 'not-found') return { ok: false, outcome: 'unknown-plan', message: `plan ${plan.id} no longer exists: nothing executed` };
    throw error;
  }
}

async function decide(deps: SlackApprovalDeps, interaction: ApprovalInteraction): Promise<FollowUpResult> {
  const { planId, userId } = interaction;
  const result = (outcome: FollowUpOutcome, message: string): FollowUpResult => {
    deps.log?.(outcome === 'failed' ? 'error' : 'info', 'slack approval follow-up', { planId, userId, action: interaction.action, outcome, message });
    return { outcome, planId, userId, message };
  };
  const nowMs = deps.clock.nowMs();
  const plan = await deps.store.getPendingPlan(planId, nowMs);
  if (plan === undefined) {
    await respond(deps, interaction, outcomeMessage({ planId, plan: undefined, outcome: 'unknown-plan', byUserId: userId, atMs: nowMs }));
    return result('unknown-plan', `plan ${planId} is unknown: nothing executed`);
  }
  if (plan.status === 'expired' || (plan.status === 'pending' && nowMs >= plan.expiresAtMs)) {
    await respond(deps, interaction, outcomeMessage({ planId, plan, outcome: 'expired', byUserId: userId, atMs: nowMs, detail: `expired ${new Date(plan.expiresAtMs).toISOString()}` }));
    return result('expired', `plan ${planId} expired: nothing executed`);
  }
  if (isSupersededByPrescale(plan)) return answerSupersededByPrescale(deps, interaction, plan, result);
  if (plan.status !== 'pending') {
    // Do not touch the message: the first decision's follow-up owns it (and may still be writing its outcome).
    await audit(deps, plan, interaction, nowMs, 'skipped', `${interaction.action} ignored: plan already ${plan.status} by ${plan.decidedBy ?? 'unknown'}`, plan.status, plan.status);
    return result('already-decided', `plan ${planId} is already ${plan.status} (by ${plan.decidedBy ?? 'unknown'}): nothing executed`);
  }

  if (interaction.action === 'reject') {
    const rejected = await transition(deps, plan, 'pending', 'rejected', userId);
    if (!rejected.ok) return refused(deps, interaction, plan, rejected, result);
    await audit(deps, rejected.plan, interaction, deps.clock.nowMs(), 'skipped', 'rejected in Slack', 'pending', 'rejected');
    await respond(deps, interaction, outcomeMessage({ planId, plan: rejected.plan, outcome: 'rejected', byUserId: userId, atMs: deps.clock.nowMs() }));
    return result('rejected', `plan ${planId} rejected by ${userId}: nothing executed`);
  }

  // Never act on a stale plan: observe again first.
  let drift: DriftCheck;
  try {
    drift = await deps.replanAndCheck(plan);
  } catch (error) {
    // A run holds the cluster (every minute, for seconds): the click waits for it, redelivered by the queue, not dropped.
    if (isPrescaleError(error) && error.code === 'busy') throw error;
    const why = errorMessage(error);
    await respond(deps, interaction, outcomeMessage({ planId, plan, outcome: 'failed', byUserId: userId, atMs: deps.clock.nowMs(), detail: `could not re-check the cluster state (${why}); the plan is still pending: try again` }));
    return result('failed', `re-check failed (${why}): plan ${planId} still pending, nothing executed`);
  }

  if (drift === 'drifted') {
    const superseded = await transition(deps, plan, 'pending', 'superseded', userId);
    if (!superseded.ok) return refused(deps, interaction, plan, superseded, result);
    await audit(deps, superseded.plan, interaction, deps.clock.nowMs(), 'skipped', 'approved in Slack, but the state or its limits changed: superseded', 'pending', 'superseded');
    await respond(deps, interaction, outcomeMessage({ planId, plan: superseded.plan, outcome: 'superseded', byUserId: userId, atMs: deps.clock.nowMs(), detail: 'A fresh plan will be posted for approval if it is still needed.' }));
    if (deps.requestFreshApproval !== undefined) {
      try {
        await deps.requestFreshApproval(superseded.plan);
      } catch (error) {
        deps.log?.('error', 'could not request a fresh approval', { planId, error: errorMessage(error) });
      }
    }
    return result('superseded', `state or limits changed since plan ${planId} was made: superseded, nothing executed`);
  }

  const approved = await transition(deps, plan, 'pending', 'approved', userId);
  if (!approved.ok) return refused(deps, interaction, plan, approved, result);
  let partial: string | undefined;
  try {
    partial = (await deps.execute(approved.plan)) ?? undefined;
  } catch (error) {
    const why = errorMessage(error);
    await audit(deps, approved.plan, interaction, deps.clock.nowMs(), 'failed', `approved in Slack; execution failed: ${why}`, 'approved', 'approved');
    await respond(deps, interaction, outcomeMessage({ planId, plan: approved.plan, outcome: 'failed', byUserId: userId, atMs: deps.clock.nowMs(), detail: why }));
    return result('failed', `plan ${planId} approved but execution failed: ${why}`);
  }
  let detail: string | undefined = partial;
  try {
    await deps.store.decidePendingPlan(planId, 'approved', 'executed', userId, deps.clock.nowMs());
  } catch (error) {
    // The commands ran; only the bookkeeping failed. Say so rather than pretend nothing happened.
    detail = [partial, `executed, but recording it failed: ${errorMessage(error)}`].filter((d) => d !== undefined).join('; ');
    deps.log?.('error', 'could not mark plan executed', { planId, error: errorMessage(error) });
  }
  await audit(deps, approved.plan, interaction, deps.clock.nowMs(), 'applied', 'approved in Slack and executed', 'approved', 'executed');
  await respond(deps, interaction, outcomeMessage({ planId, plan: approved.plan, outcome: 'executed', byUserId: userId, atMs: deps.clock.nowMs(), detail }));
  return result('executed', `plan ${planId} approved by ${userId} and executed`);
}

const isSupersededByPrescale = (plan: PendingPlan): boolean => plan.status === 'superseded' && plan.decidedBy?.startsWith('prescale:') === true;

/** A later run superseded the plan: no click's follow-up owns the message, so this one answers it (and audits the click). */
async function answerSupersededByPrescale(
  deps: SlackApprovalDeps,
  interaction: ApprovalInteraction,
  plan: PendingPlan,
  result: (outcome: FollowUpOutcome, message: string) => FollowUpResult,
): Promise<FollowUpResult> {
  const nowMs = deps.clock.nowMs();
  await audit(deps, plan, interaction, nowMs, 'skipped', `${interaction.action} ignored: plan already superseded by a later run (${plan.decidedBy})`, plan.status, plan.status);
  await respond(deps, interaction, outcomeMessage({ planId: plan.id, plan, outcome: 'superseded', byUserId: interaction.userId, atMs: nowMs, detail: 'A later run planned differently; its own plan is posted if one is needed.' }));
  return result('already-decided', `plan ${plan.id} was superseded by a later run (${plan.decidedBy}): nothing executed`);
}

async function refused(
  deps: SlackApprovalDeps,
  interaction: ApprovalInteraction,
  plan: PendingPlan,
  refusal: Extract<Transition, { ok: false }>,
  result: (outcome: FollowUpOutcome, message: string) => FollowUpResult,
): Promise<FollowUpResult> {
  // Lost to a run that superseded the plan while this click waited for the cluster: nobody else will answer it.
  if (refusal.outcome === 'already-decided') {
    const now = await deps.store.getPendingPlan(plan.id, deps.clock.nowMs());
    if (now !== undefined && isSupersededByPrescale(now)) return answerSupersededByPrescale(deps, interaction, now, result);
  }
  // Lost the race: the winner's follow-up owns the message. Expired and vanished plans get their outcome shown.
  if (refusal.outcome !== 'already-decided') {
    await respond(deps, interaction, outcomeMessage({ planId: plan.id, plan, outcome: refusal.outcome, byUserId: interaction.userId, atMs: deps.clock.nowMs() }));
  }
  return result(refusal.outcome, refusal.message);
}

async function respond(deps: SlackApprovalDeps, interaction: ApprovalInteraction, message: NotifierMessage): Promise<void> {
  try {
    await deps.notifier.respond(interaction.responseUrl, message);
  } catch (error) {
    // The decision stands whether or not Slack shows it; never undo or retry a decision over a message.
    deps.log?.('warn', 'could not update the Slack message', { planId: interaction.planId, error: errorMessage(error) });
  }
}

async function audit(
  deps: SlackApprovalDeps,
  plan: PendingPlan,
  interaction: ApprovalInteraction,
  atMs: number,
  result: AuditEntry['result'],
  reason: string,
  before: PendingPlanStatus,
  after: PendingPlanStatus,
): Promise<void> {
  try {
    await deps.store.appendAudit({
      cluster: plan.cluster,
      atMs,
      actor: `slack:${interaction.userId}`,
      target: `plan/${plan.id}`,
      reason,
      before: { status: before },
      after: { status: after },
      result,
      message: undefined,
    });
  } catch (error) {
    deps.log?.('error', 'could not append the audit entry', { planId: plan.id, error: errorMessage(error) });
  }
}

/**
 * The follow-up alone, for the worker that receives an interaction the webhook
 * already verified, authorized and acknowledged (the handler queues it: see
 * functions/slackApproval.ts). `refuse` only audits a click by a non-approver.
 */
export function runSlackFollowUp(deps: SlackApprovalDeps, interaction: ApprovalInteraction, kind: 'decide' | 'refuse'): Promise<FollowUpResult> {
  if (kind === 'refuse' || !deps.approvers.includes(interaction.userId)) return auditRefusal(deps, interaction, 'not on the approver allowlist');
  return decide(deps, interaction);
}
