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
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import { callAws } from '../aws/errors.ts';
import { PrescaleError } from '../errors.ts';
import type { ApprovalInteraction } from '../slack/interaction.ts';

export const APPROVAL_MESSAGE_TYPE = 'slack-approval';

const optionalString = z.string().max(256).optional();

/** Strict, like every message prescale authors: an unknown key is an error. */
export const approvalMessageSchema = z.strictObject({
  type: z.literal(APPROVAL_MESSAGE_TYPE),
  /** `decide`: an approver clicked; `refuse`: someone else did (audited only). */
  kind: z.enum(['decide', 'refuse']),
  interaction: z.strictObject({
    action: z.enum(['approve', 'reject']),
    planId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be a plan id'),
    userId: z.string().regex(/^[UW][A-Z0-9]+$/, 'must be a Slack user id'),
    userName: optionalString,
    responseUrl: z.string().max(2048),
    channelId: optionalString,
    messageTs: optionalString,
  }),
  /** When the webhook accepted it (ms since epoch), for logs and latency. */
  receivedAtMs: z.number().int().nonnegative(),
});
export type ApprovalMessage = z.output<typeof approvalMessageSchema>;

export interface ApprovalQueue {
  enqueue(message: ApprovalMessage): Promise<void>;
}

export function approvalMessage(kind: ApprovalMessage['kind'], interaction: ApprovalInteraction, receivedAtMs: number): ApprovalMessage {
  const { action, planId, userId, userName, responseUrl, channelId, messageTs } = interaction;
  return {
    type: APPROVAL_MESSAGE_TYPE,
    kind,
    interaction: { action, planId, userId, responseUrl, ...(userName === undefined ? {} : { userName }), ...(channelId === undefined ? {} : { channelId }), ...(messageTs === undefined ? {} : { messageTs }) },
    receivedAtMs,
  };
}

export function toInteraction(message: ApprovalMessage): ApprovalInteraction {
  const i = message.interaction;
  return { action: i.action, planId: i.planId, userId: i.userId, userName: i.userName, responseUrl: i.responseUrl, channelId: i.channelId, messageTs: i.messageTs };
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
