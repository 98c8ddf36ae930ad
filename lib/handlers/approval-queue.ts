/**
 * The hand-off from the webhook to the worker. The webhook must answer Slack
 * within 3 s; re-observing, acting and re-planning take longer, so it queues
 * the verified interaction on the worker's SQS queue as a message of its own
 * type and returns. Why SQS and not an async self-invoke: the webhook is the
 * one function on the internet, and this way its role can do nothing but read
 * its signing secret and send this message; the scaling permissions stay with
 * the worker, which already has them, along with the queue's redrive to the
 * DLQ and its alarms. A redelivered message is safe: the plan's conditional
 * transitions (first decision wins) make the second run execute nothing.
 *
 * The message carries Slack's signed request as received, and the worker
 * verifies the signature again and reads the click from that body: whoever
 * can send to the queue still cannot approve a plan in someone's name
 * without Slack's signing secret.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { callAws } from '../aws/errors.ts';
import { PrescaleError } from '../errors.ts';
import { PLAN_ID_PATTERN, SLACK_USER_ID_PATTERN } from '../slack/ids.ts';
import { parseInteractionPayload, type ApprovalInteraction } from '../slack/interaction.ts';
import { verifySlackSignature } from '../slack/signature.ts';

export const APPROVAL_MESSAGE_TYPE = 'slack-approval';

const optionalString = z.string().max(256).optional();

/** Strict, like every message prescale authors: an unknown key is an error. */
export const approvalMessageSchema = z.strictObject({
  type: z.literal(APPROVAL_MESSAGE_TYPE),
  /** `decide`: an approver clicked; `refuse`: someone else did (audited only). */
  kind: z.enum(['decide', 'refuse']),
  interaction: z.strictObject({
    action: z.enum(['approve', 'reject']),
    planId: z.string().regex(PLAN_ID_PATTERN, 'must be a plan id'),
    userId: z.string().regex(SLACK_USER_ID_PATTERN, 'must be a Slack user id'),
    userName: optionalString,
    responseUrl: z.string().max(2048),
    channelId: optionalString,
    messageTs: optionalString,
  }),
  /** When the webhook accepted it (ms since epoch), for logs and latency. */
  receivedAtMs: z.number().int().nonnegative(),
  /** Slack's request as the webhook verified it: the worker verifies it again. */
  signedRequest: z.strictObject({
    /** The form body exactly as Slack sent it (base64 already decoded). */
    body: z.string().max(64 * 1024),
    timestamp: z.string().max(32),
    signature: z.string().max(128),
  }),
});
export type ApprovalMessage = z.output<typeof approvalMessageSchema>;

export interface ApprovalQueue {
  enqueue(message: ApprovalMessage): Promise<void>;
}

export type SignedSlackRequest = ApprovalMessage['signedRequest'];

export function approvalMessage(kind: ApprovalMessage['kind'], interaction: ApprovalInteraction, receivedAtMs: number, signedRequest: SignedSlackRequest): ApprovalMessage {
  const { action, planId, userId, userName, responseUrl, channelId, messageTs } = interaction;
  return {
    type: APPROVAL_MESSAGE_TYPE,
    kind,
    interaction: { action, planId, userId, responseUrl, ...(userName === undefined ? {} : { userName }), ...(channelId === undefined ? {} : { channelId }), ...(messageTs === undefined ? {} : { messageTs }) },
    receivedAtMs,
    signedRequest,
  };
}

/**
 * The click the worker may act on: the message's signed request must verify
 * with the signing secret, within `windowMs` of now (a plan is only pending
 * for APPROVAL_TTL_MINUTES, so an older click has nothing left to approve),
 * and say what the message says. Anything else is an `access-denied` error:
 * the message fails, SQS retries it into the DLQ, and its alarm tells a human.
 */
export function verifiedInteraction(message: ApprovalMessage, signingSecret: string, nowMs: number, windowMs: number): ApprovalInteraction {
  const { body, timestamp, signature } = message.signedRequest;
  const verified = verifySlackSignature({ signingSecret, timestampHeader: timestamp, signatureHeader: signature, rawBody: body, nowMs, windowMs });
  if (!verified.ok) throw new PrescaleError('access-denied', `approval message for plan ${message.interaction.planId}: Slack signature rejected (${verified.reason}): nothing was done`);
  const parsed = parseInteractionPayload(body);
  if (!parsed.ok) throw new PrescaleError('access-denied', `approval message for plan ${message.interaction.planId}: the signed body does not parse (${parsed.reason}): nothing was done`);
  const signed = parsed.interaction;
  const claimed = message.interaction;
  if (signed.action !== claimed.action || signed.planId !== claimed.planId || signed.userId !== claimed.userId) {
    throw new PrescaleError('access-denied', `approval message for plan ${claimed.planId}: says ${claimed.action} by ${claimed.userId} but Slack signed ${signed.action} of ${signed.planId} by ${signed.userId}: nothing was done`);
  }
  return signed;
}

export function createSqsApprovalQueue(client: SQSClient, queueUrl: string): ApprovalQueue {
  return {
    async enqueue(message: ApprovalMessage): Promise<void> {
      await callAws(`SQS SendMessage ${queueUrl}`, () => client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) })));
    },
  };
}

/** AWS mode without PRESCALE_QUEUE_URL: fails when used, naming the variable. */
export function missingApprovalQueue(): ApprovalQueue {
  return {
    enqueue: async () => {
      throw new PrescaleError('config', 'PRESCALE_QUEUE_URL is not set: the slackApproval function hands follow-ups to the worker queue');
    },
  };
}

/** Local mode: kept for inspection; tests (or the worker with an SQS-shaped event) process them. */
export class LocalApprovalQueue implements ApprovalQueue {
  readonly sent: ApprovalMessage[] = [];
  async enqueue(message: ApprovalMessage): Promise<void> {
    this.sent.push(message);
  }
}
