/**
 * The interaction payload Slack posts when someone clicks Approve or Reject:
 * `application/x-www-form-urlencoded` with one field, `payload`, holding JSON.
 * Slack adds fields over time, so the schema reads only what we use and lets
 * the rest through (loose, unlike our own config and events, which are strict).
 */
import { z } from 'zod';
import { PLAN_ID_PATTERN, SLACK_USER_ID_PATTERN } from './ids.ts';

export const APPROVE_ACTION_ID = 'approve';
export const REJECT_ACTION_ID = 'reject';
export type ApprovalAction = 'approve' | 'reject';

/** Plan ids are ours (putPendingPlan); anything else in a button value is not one of our buttons. */
const PLAN_ID_RULE = 'must be a plan id (letters, digits, . _ : -, at most 128)';
const planId = z.string(PLAN_ID_RULE).regex(PLAN_ID_PATTERN, PLAN_ID_RULE);

const RESPONSE_URL_HOSTS = new Set(['hooks.slack.com', 'hooks.slack-gov.com']);

/** response_url is where the follow-up writes: only Slack's own hosts, over HTTPS (no SSRF through a forged payload). */
export function isSlackResponseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' && RESPONSE_URL_HOSTS.has(url.hostname) && url.username === '' && url.password === '' && url.port === '';
  } catch {
    return false;
  }
}

const responseUrl = z.string().refine(isSlackResponseUrl, 'must be an https://hooks.slack.com/ URL');

const blockActionsSchema = z.looseObject({
  type: z.literal('block_actions'),
  user: z.looseObject({ id: z.string().regex(SLACK_USER_ID_PATTERN, 'must be a Slack user id'), username: z.string().optional(), name: z.string().optional() }),
  team: z.looseObject({ id: z.string() }).nullable().optional(),
  channel: z.looseObject({ id: z.string() }).optional(),
  container: z.looseObject({ message_ts: z.string().optional(), channel_id: z.string().optional() }).optional(),
  response_url: responseUrl,
  actions: z
    .array(z.looseObject({ action_id: z.string(), value: z.string().optional(), block_id: z.string().optional(), action_ts: z.string().optional() }))
    .min(1, 'must hold the clicked action'),
});

export interface ApprovalInteraction {
  readonly action: ApprovalAction;
  readonly planId: string;
  readonly userId: string;
  /** For messages only: authorization is by `userId`. */
  readonly userName: string | undefined;
  readonly responseUrl: string;
  readonly channelId: string | undefined;
  readonly messageTs: string | undefined;
}

export type InteractionFailure = 'missing-payload' | 'malformed-json' | 'invalid-payload' | 'unsupported-type' | 'unknown-action';

export type InteractionResult =
  | { readonly ok: true; readonly interaction: ApprovalInteraction }
  | { readonly ok: false; readonly reason: InteractionFailure; readonly message: string };

function fail(reason: InteractionFailure, message: string): InteractionResult {
  return { ok: false, reason, message };
}

export function parseInteractionPayload(formBody: string): InteractionResult {
  const payloadText = new URLSearchParams(formBody).get('payload');
  if (payloadText === null || payloadText === '') return fail('missing-payload', 'the form body has no payload field');
  let json: unknown;
  try {
    json = JSON.parse(payloadText);
  } catch {
    return fail('malformed-json', 'the payload field is not JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('invalid-payload', 'the payload must be a JSON object');
  const type = (json as { type?: unknown }).type;
  if (type !== 'block_actions') return fail('unsupported-type', `payload type ${JSON.stringify(type ?? null)} is not handled (only block_actions)`);
  const parsed = blockActionsSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `payload.${issue.path.join('.')} ${issue.message}`).sort();
    return fail('invalid-payload', problems.join('; '));
  }
  const action = parsed.data.actions[0];
  if (action === undefined) return fail('invalid-payload', 'payload.actions must hold the clicked action');
  if (action.action_id !== APPROVE_ACTION_ID && action.action_id !== REJECT_ACTION_ID) {
    return fail('unknown-action', `action ${JSON.stringify(action.action_id.slice(0, 64))} is not approve or reject`);
  }
  const id = planId.safeParse(action.value);
  if (!id.success) return fail('invalid-payload', `payload.actions.0.value ${id.error.issues[0]?.message ?? 'must be a plan id'}`);
  return {
    ok: true,
    interaction: {
      action: action.action_id,
      planId: id.data,
      userId: parsed.data.user.id,
      userName: parsed.data.user.username ?? parsed.data.user.name,
      responseUrl: parsed.data.response_url,
      channelId: parsed.data.channel?.id ?? parsed.data.container?.channel_id,
      messageTs: parsed.data.container?.message_ts,
    },
  };
}
