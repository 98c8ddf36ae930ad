/**
 * Event schemas for every entry point. Events AWS produces (the alarm state
 * change, SQS, API Gateway) extend the Powertools schemas and accept fields
 * AWS may add later; payloads prescale authors itself (the scheduler input's
 * detail, the emergency request, the fan-out message) are strict: an unknown
 * key is an error, as in the configuration.
 */
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import { z } from 'zod';

const clusterName = z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
const resourceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits and -)')
  .max(63, 'must be at most 63 characters');
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2026-11-02T14:00:00Z' });

export const scheduleArn = z.string().regex(/^arn:aws[a-z-]*:scheduler:[a-z0-9-]+:\d{12}:schedule\/.+$/, 'must be an EventBridge Scheduler schedule ARN');

/**
 * What EventBridge Scheduler delivers. The schedule's target input is written
 * in serverless.yml as an EventBridge-shaped event whose `id`, `time` and
 * `resources` are Scheduler context attributes (execution id, scheduled time,
 * schedule ARN), so the Powertools EventBridge schema fits and the idempotency
 * key is `resources[0]` + `time`.
 */
export const schedulerEventSchema = EventBridgeSchema.extend({
  time: isoTime,
  source: z.literal('aws.scheduler'),
  'detail-type': z.literal('Scheduled Event'),
  resources: z.tuple([scheduleArn]),
  detail: z.strictObject({
    /** Restrict the run to these clusters (default: every configured cluster). */
    clusters: z.array(clusterName).min(1, 'must name at least one cluster when given').optional(),
  }),
});
export type SchedulerEvent = z.output<typeof schedulerEventSchema>;

const alarmMetric = z.object({
  id: z.string(),
  metricStat: z
    .object({
      metric: z.object({
        namespace: z.string(),
        name: z.string(),
        dimensions: z.record(z.string(), z.string()).default({}),
      }),
      period: z.number(),
      stat: z.string(),
    })
    .optional(),
  expression: z.string().optional(),
  returnData: z.boolean().optional(),
});

const alarmState = z.object({
  value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string(),
  reasonData: z.string().optional(),
  /** CloudWatch writes `2019-10-02T17:04:40.989+0000`, not strict ISO 8601. */
  timestamp: z.string().min(1, 'must not be empty'),
});

/** The "CloudWatch Alarm State Change" event EventBridge delivers for every alarm transition. */
export const alarmEventSchema = EventBridgeSchema.extend({
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  resources: z.tuple([z.string().regex(/^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$/, 'must be a CloudWatch alarm ARN')]),
  detail: z.object({
    alarmName: z.string().min(1),
    state: alarmState,
    previousState: alarmState,
    configuration: z.object({
      description: z.string().optional(),
      metrics: z.array(alarmMetric).default([]),
    }),
  }),
});
export type AlarmEvent = z.output<typeof alarmEventSchema>;

const requestId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/, 'must be 8–128 letters, digits, ".", "_", ":" or "-" (a UUID works)');
const reason = z.string().trim().min(10, 'must explain why in at least 10 characters');

/**
 * The operator's manual request. Exactly one of `nodeGroup` and `service`;
 * the target is absolute (`set`) or relative (`change`), exactly one of them.
 * A budget override is allowed only with its own reason (audited).
 */
export const emergencyPayloadSchema = z
  .strictObject({
    requestId,
    cluster: clusterName,
    nodeGroup: resourceName.optional(),
    service: resourceName.optional(),
    target: z.strictObject({
      /** Absolute: desired nodes (node group) or HPA minReplicas (service). */
      set: z.number().int('must be an integer').nonnegative('must be ≥ 0').optional(),
      /** Relative: added to the current value (negative to remove). */
      change: z.number().int('must be an integer').refine((n) => n !== 0, 'must not be 0').optional(),
    }),
    reason,
    requester: z.string().trim().min(1, 'must name who asks (an email or a user name)').max(200),
    budgetOverride: z.strictObject({ reason }).optional(),
  })
  .superRefine((payload, ctx) => {
    if ((payload.nodeGroup === undefined) === (payload.service === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['nodeGroup'], message: 'or service: set exactly one of them' });
    }
    if ((payload.target.set === undefined) === (payload.target.change === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['target'], message: 'must set exactly one of set (absolute) and change (relative)' });
    }
  });
export type EmergencyPayload = z.output<typeof emergencyPayloadSchema>;

/** One cluster's work item on the fan-out queue (the SQS message body). */
export const clusterMessageSchema = z.strictObject({
  cluster: clusterName,
  trigger: z.literal('scheduled'),
  scheduleArn,
  scheduledTime: isoTime,
});
export type ClusterMessage = z.output<typeof clusterMessageSchema>;

/** The SQS event; each body is parsed per record so one bad message fails alone. */
export const sqsEventSchema = SqsSchema;
