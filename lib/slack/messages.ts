/**
 * Block Kit messages for the approval flow and budget alerts. Pure: they
 * return a NotifierMessage; the Notifier posts it. Text from plans (reasons)
 * is escaped and truncated to Slack's limits so a long reason cannot break
 * the message.
 */
import type { Command } from '../core/commands.ts';
import { formatUsd, type PlanCost } from '../core/budget/cost.ts';
import type { NotifierMessage, PendingPlan } from '../ports.ts';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from './interaction.ts';

export const APPROVAL_BLOCK_ID = 'prescale-approval';

/** Slack's limits: section text 3000, header 150, confirm text 300, button value 2000, 50 blocks. */
const SECTION_TEXT_MAX = 3000;
const HEADER_TEXT_MAX = 150;

/** The plan's run-rate change (planCost), with the month-end projection if approved when a budget is set. */
export interface PlanCostSummary extends Pick<PlanCost, 'beforeUsdPerHour' | 'afterUsdPerHour' | 'deltaUsdPerHour'> {
  readonly projectedMonthEndUsd?: number | undefined;
  readonly monthlyUsd?: number | undefined;
}

/** Escape the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Slack renders `<!date^…>` in the reader's time zone; the fallback is UTC. */
export function slackDate(epochMs: number): string {
  const seconds = Math.floor(epochMs / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(epochMs).toISOString().replace('.000Z', 'Z')}>`;
}

/** One line per command, e.g. `general: 5 → 8 nodes`. */
export function describeCommand(command: Command): string {
  switch (command.kind) {
    case 'scale-node-group':
      return `node group *${escapeMrkdwn(command.nodeGroup)}*: ${command.fromNodes} → ${command.toNodes} nodes`;
    case 'set-hpa-floor':
      return `HPA floor *${escapeMrkdwn(`${command.namespace}/${command.service}`)}*: ${command.fromMinReplicas} → ${command.toMinReplicas} replicas`;
    case 'set-alb-weights':
      return `ALB rule *${escapeMrkdwn(command.rule)}*: ${command.toWeights.map((w) => w.weight).join('/')} (was ${command.fromWeights.map((w) => w.weight).join('/')})`;
    case 'apply-manifest':
      return `apply ${escapeMrkdwn(`${command.objectKind} ${command.namespace ?? ''}/${command.name}`)}`;
  }
}

function section(text: string): Record<string, unknown> {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) } };
}

function context(text: string): Record<string, unknown> {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, SECTION_TEXT_MAX) }] };
}

function header(text: string): Record<string, unknown> {
  return { type: 'header', text: { type: 'plain_text', text: truncate(text, HEADER_TEXT_MAX), emoji: true } };
}

/** A button carrying the plan id, behind a confirm dialog (a stray click must not scale a cluster). */
function button(actionId: string, style: 'primary' | 'danger', label: string, planId: string, confirmTitle: string, confirmText: string): Record<string, unknown> {
  return {
    type: 'button',
    action_id: actionId,
    style,
    text: { type: 'plain_text', text: label },
    value: planId,
    confirm: {
      title: { type: 'plain_text', text: confirmTitle },
      text: { type: 'mrkdwn', text: truncate(confirmText, 300) },
      confirm: { type: 'plain_text', text: label },
      deny: { type: 'plain_text', text: 'Cancel' },
    },
  };
}

function costLines(cost: PlanCostSummary): string {
  const lines = [`*Cost change:* ${formatUsd(cost.deltaUsdPerHour, { signed: true })}/h (${formatUsd(cost.beforeUsdPerHour)}/h → ${formatUsd(cost.afterUsdPerHour)}/h)`];
  if (cost.projectedMonthEndUsd !== undefined && cost.monthlyUsd !== undefined) {
    const percent = Math.round((cost.projectedMonthEndUsd / cost.monthlyUsd) * 1000) / 10;
    lines.push(`*Projected month-end if approved:* ${formatUsd(cost.projectedMonthEndUsd)} of the ${formatUsd(cost.monthlyUsd)} cap (${percent} %)`);
  }
  return lines.join('\n');
}

/**
 * The approval request: summary, every command with its reason, the cost
 * change, the forecast behind it, and Approve / Reject buttons, each with a
 * confirm dialog (a stray click must not scale a cluster). Both buttons carry
 * the plan id; the action id says which decision.
 */
export function pendingPlanMessage(plan: PendingPlan, cost: PlanCostSummary, forecastSummary: string, options: { readonly channel?: string } = {}): NotifierMessage {
  const delta = formatUsd(cost.deltaUsdPerHour, { signed: true });
  const commandLines = plan.commands.map((c) => `• ${describeCommand(c)}\n    _${escapeMrkdwn(truncate(c.reason, 300))}_`).join('\n');
  const summary = `prescale wants to change *${escapeMrkdwn(plan.cluster)}* (${plan.commands.length} command${plan.commands.length === 1 ? '' : 's'}, ${delta}/h)`;
  const blocks = [
    header(`Approval needed: ${plan.cluster}`),
    section(`${summary}\n${commandLines}`),
    section(costLines(cost)),
    section(`*Forecast:* ${escapeMrkdwn(forecastSummary)}`),
    {
      type: 'actions',
      block_id: APPROVAL_BLOCK_ID,
      elements: [
        button(APPROVE_ACTION_ID, 'primary', 'Approve', plan.id, 'Approve this plan?', `Scale *${escapeMrkdwn(plan.cluster)}* now, ${delta}/h. The state is re-checked first: if it changed, you will be asked again.`),
        button(REJECT_ACTION_ID, 'danger', 'Reject', plan.id, 'Reject this plan?', `Nothing in this plan will run. prescale plans again on its next run.`),
      ],
    },
    context(`Plan \`${escapeMrkdwn(plan.id)}\` · expires ${slackDate(plan.expiresAtMs)} · state ${escapeMrkdwn(plan.stateHash.slice(0, 12))}`),
  ];
  const text = `Approval needed for ${plan.cluster}: ${plan.commands.length} command(s), ${delta}/h (plan ${plan.id})`;
  return { channel: options.channel, text, blocks };
}

export type ApprovalOutcome = 'executed' | 'rejected' | 'superseded' | 'expired' | 'failed' | 'unknown-plan';

export interface OutcomeMessageInput {
  readonly planId: string;
  readonly plan: PendingPlan | undefined;
  readonly outcome: ApprovalOutcome;
  /** Slack user id of whoever decided (rendered as a mention). */
  readonly byUserId: string;
  readonly atMs: number;
  readonly detail?: string | undefined;
}

const OUTCOME_TITLE: Readonly<Record<ApprovalOutcome, string>> = {
  executed: ':white_check_mark: Approved and executed',
  rejected: ':no_entry_sign: Rejected',
  superseded: ':arrows_counterclockwise: Not executed: the cluster or its limits changed since this plan was made',
  expired: ':hourglass: Expired: nothing was executed',
  failed: ':x: Approved, but execution failed',
  'unknown-plan': ':grey_question: Unknown plan: nothing was executed',
};

/** Replaces the approval request (through response_url): the outcome, who, when, and no buttons left to click. */
export function outcomeMessage(input: OutcomeMessageInput): NotifierMessage {
  const title = OUTCOME_TITLE[input.outcome];
  const who = `<@${input.byUserId}> · ${slackDate(input.atMs)}`;
  const blocks: Record<string, unknown>[] = [section(`*${title}*\n${who}`)];
  if (input.plan !== undefined && input.plan.commands.length > 0) blocks.push(section(input.plan.commands.map((c) => `• ${describeCommand(c)}`).join('\n')));
  if (input.detail !== undefined && input.detail !== '') blocks.push(context(escapeMrkdwn(input.detail)));
  blocks.push(context(`Plan \`${escapeMrkdwn(input.planId)}\`${input.plan === undefined ? '' : ` · ${escapeMrkdwn(input.plan.cluster)}`}`));
  const plainTitle = title.replace(/^:[a-z_]+: /, '');
  return { channel: undefined, text: `${plainTitle} (plan ${input.planId})`, blocks };
}

export interface BudgetAlertInput {
  readonly cluster: string;
  /** The highest threshold reached (percent of the cap). */
  readonly percent: number;
  readonly monthKey: string;
  readonly monthToDateUsd: number;
  /** The part of monthToDateUsd estimated for time prescale did not observe (0 or absent: none). */
  readonly estimatedUsd?: number | undefined;
  readonly monthlyUsd: number;
  readonly projectedMonthEndUsd: number;
  readonly channel?: string | undefined;
}

export function budgetAlertMessage(input: BudgetAlertInput): NotifierMessage {
  const spentPercent = Math.round((input.monthToDateUsd / input.monthlyUsd) * 1000) / 10;
  // Say how much of the spend is a guess, so nobody mistakes it for the bill.
  const estimatedUsd = input.estimatedUsd ?? 0;
  const estimated = estimatedUsd > 0 ? ` (${formatUsd(estimatedUsd)} of it estimated for time prescale did not observe, at the fleet it found)` : '';
  const text =
    `Budget alert for ${input.cluster}: ${input.percent} % of the ${input.monthKey} cap reached — ` +
    `${formatUsd(input.monthToDateUsd)} of ${formatUsd(input.monthlyUsd)} spent (${spentPercent} %)${estimated}, projected month-end ${formatUsd(input.projectedMonthEndUsd)}`;
  const icon = input.percent >= 100 ? ':rotating_light:' : ':warning:';
  return {
    channel: input.channel,
    text,
    blocks: [
      section(`${icon} *Budget ${input.percent} % reached* on *${escapeMrkdwn(input.cluster)}* (${input.monthKey})`),
      section(
        `*Spent:* ${formatUsd(input.monthToDateUsd)} of ${formatUsd(input.monthlyUsd)} (${spentPercent} %)${estimated}\n*Projected month-end:* ${formatUsd(input.projectedMonthEndUsd)}` +
          (input.percent >= 100 ? '\nScale-outs are now denied unless an emergency override with a reason is given.' : ''),
      ),
    ],
  };
}
