/**
 * The configuration of one cluster: node groups, services, ALB rules, budget,
 * policy knobs and the business calendar. Every object is strict (an unknown
 * key is an error) and every rule that spans fields is checked in
 * `crossFieldProblems`, so a bad file fails with all of its problems at once.
 */
import { z } from 'zod';
import { SLACK_USER_ID_PATTERN } from '../slack/ids.ts';
import { parseCpuMillicores, parseMemoryMiB } from './quantity.ts';
import { MAX_CALIBRATED_LEVEL, MIN_CALIBRATED_LEVEL } from '../core/plan/calibration.ts';

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits and -)')
  .max(63, 'must be at most 63 characters');

const positiveInt = z.number().int('must be an integer').positive('must be > 0');
const nonNegativeInt = z.number().int('must be an integer').nonnegative('must be ≥ 0');
const percent = z.number().gt(0, 'must be > 0').lte(100, 'must be ≤ 100');
/** HPA `averageUtilization` is an int32 in the Kubernetes API: a fraction would be silently rounded, so it is refused. */
const utilizationPercent = z.number().int('must be a whole percent (Kubernetes stores averageUtilization as an integer)').min(1, 'must be ≥ 1').max(100, 'must be ≤ 100');
const fraction = z.number().gt(0, 'must be > 0').lt(1, 'must be < 1');
/** Calibration keeps the level it reads from the forecast within its bounds: a target outside could never be served. */
const READ_RANGE = `calibration reads the forecast at ${MIN_CALIBRATED_LEVEL} to ${MAX_CALIBRATED_LEVEL}`;
const serviceLevel = z.number().min(MIN_CALIBRATED_LEVEL, `must be ≥ ${MIN_CALIBRATED_LEVEL} (${READ_RANGE})`).max(MAX_CALIBRATED_LEVEL, `must be ≤ ${MAX_CALIBRATED_LEVEL} (${READ_RANGE})`);
const arn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/, 'must be an AWS ARN');

const cpuQuantity = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const millicores = parseCpuMillicores(value);
  if (millicores === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a CPU quantity such as 500m or 2 (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return millicores;
});

const memoryQuantity = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const mebibytes = parseMemoryMiB(value);
  if (mebibytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `must be a memory quantity such as 512Mi or 4Gi (got ${JSON.stringify(value)})` });
    return z.NEVER;
  }
  return mebibytes;
});

/** Written as Kubernetes quantities, held in the planner's units. */
const resources = z
  .strictObject({ cpu: cpuQuantity, memory: memoryQuantity })
  .transform(({ cpu, memory }) => ({ cpuMillicores: cpu, memoryMiB: memory }));

/** A Kubernetes label key: an optional DNS-subdomain prefix and `/`, then a name of ≤ 63 characters. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelKey = z.string().refine((key) => {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  return LABEL_NAME.test(slash < 0 ? key : key.slice(slash + 1)) && (prefix === undefined || (prefix.length <= 253 && LABEL_PREFIX.test(prefix)));
}, 'must be a Kubernetes label key ([prefix/]name, name ≤ 63 characters of letters, digits, -, _ and .)');
const labelValue = z.string().refine((value) => value === '' || LABEL_NAME.test(value), 'must be a Kubernetes label value (≤ 63 characters of letters, digits, -, _ and ., alphanumeric at both ends)');

const taint = z.strictObject({
  key: z.string().min(1),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

export const nodeGroupSchema = z.strictObject({
  name,
  /** `eks-managed`: an EKS managed node group; `asg`: a self-managed Auto Scaling group. */
  type: z.enum(['eks-managed', 'asg']).default('eks-managed'),
  /** The EKS node group name, when it differs from `name`. */
  nodegroupName: z.string().min(1).optional(),
  /** Required for `asg` groups. */
  autoScalingGroupName: z.string().min(1).optional(),
  instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, 'must be an EC2 instance type such as m5.large')).min(1, 'must name at least one instance type'),
  capacityType: z.enum(['on-demand', 'spot']).default('on-demand'),
  minNodes: nonNegativeInt,
  maxNodes: positiveInt,
  allocatable: z
    .strictObject({ cpu: cpuQuantity, memory: memoryQuantity, pods: positiveInt })
    .transform(({ cpu, memory, pods }) => ({ cpuMillicores: cpu, memoryMiB: memory, pods })),
  bootMinutes: z.number().nonnegative('must be ≥ 0').default(3),
  /** Overrides the bundled price table for this group. */
  usdPerHour: z.number().positive('must be > 0').optional(),
  zones: z.array(z.string().min(1)).optional(),
  labels: z.record(labelKey, labelValue).default({}),
  taints: z.array(taint).default([]),
});

const hpaMetric = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('cpu'), targetUtilizationPercent: utilizationPercent }),
  z.strictObject({ type: z.literal('memory'), targetUtilizationPercent: utilizationPercent }),
  z.strictObject({ type: z.literal('pods'), metric: z.string().min(1), targetAverageValue: z.number().positive('must be > 0') }),
  z.strictObject({
    type: z.literal('external'),
    metric: z.string().min(1),
    selector: z.record(z.string(), z.string()).optional(),
    targetAverageValue: z.number().positive('must be > 0').optional(),
    targetValue: z.number().positive('must be > 0').optional(),
  }),
]);

const scalingPolicy = z.strictObject({
  type: z.enum(['Pods', 'Percent']),
  value: positiveInt,
  periodSeconds: z.number().int().min(1, 'must be ≥ 1').max(1800, 'must be ≤ 1800'),
});

const scalingRules = z.strictObject({
  stabilizationWindowSeconds: z.number().int().min(0, 'must be ≥ 0').max(3600, 'must be ≤ 3600').optional(),
  selectPolicy: z.enum(['Max', 'Min', 'Disabled']).optional(),
  policies: z.array(scalingPolicy).optional(),
});

const hpa = z.strictObject({
  minReplicas: positiveInt,
  maxReplicas: positiveInt,
  metrics: z.array(hpaMetric).min(1, 'must list at least one metric'),
  behavior: z.strictObject({ scaleUp: scalingRules.optional(), scaleDown: scalingRules.optional() }).optional(),
});

const vpa = z.strictObject({
  updateMode: z.enum(['Off', 'Initial', 'Recreate', 'Auto', 'InPlaceOrRecreate']).default('Off'),
  minAllowed: resources,
  maxAllowed: resources,
  controlledResources: z.array(z.enum(['cpu', 'memory'])).min(1).default(['cpu', 'memory']),
});

const metricQuery = z.strictObject({
  namespace: z.string().min(1),
  name: z.string().min(1),
  dimensions: z.record(z.string(), z.string()).default({}),
  stat: z.string().min(1).default('Sum'),
  /** Standard-resolution CloudWatch periods are multiples of 60 s; the planner forecasts at this period. */
  periodSeconds: z
    .number()
    .int('must be an integer')
    .refine((p) => p >= 60 && p % 60 === 0 && p <= 86_400, 'must be a multiple of 60 between 60 and 86400')
    .default(60),
  /**
   * What a period with no datapoint means. `missing` (default): unknown, so
   * capacity is held. `zero`: no events, as for ALB `RequestCount`, which
   * publishes nothing in a minute without requests; only for a statistic
   * that counts (Sum, SampleCount, TS/TC), and only once the series has been
   * seen (see `missingAsZero`).
   */
  missingData: z.enum(['missing', 'zero']).default('missing'),
  /**
   * How long after its period ends a Sum (or SampleCount…) is complete. CloudWatch
   * documents a minute, the least allowed; a metric published late (an agent
   * flushing every 60 s, a cross-account stream) needs more, or its partial count
   * reads as a drop.
   */
  settleSeconds: z.number().int('must be an integer').min(60, "must be ≥ 60 (CloudWatch's own minute: sooner, a Sum is read partial)").max(900, 'must be ≤ 900').default(60),
});

const service = z.strictObject({
  name,
  namespace: name,
  deployment: name,
  /**
   * Labels that select the service's pods (its Deployment's
   * spec.selector.matchLabels), for the PDB, anti-affinity and spread.
   * Default: `app.kubernetes.io/name: <deployment>`.
   */
  podLabels: z.record(labelKey, labelValue).refine((labels) => Object.keys(labels).length > 0, 'must hold at least one label (or leave podLabels out)').optional(),
  container: z.string().min(1).optional(),
  requests: resources,
  podStartMinutes: z.number().nonnegative('must be ≥ 0').default(1),
  /** Node groups the pods may run on, in order of preference. */
  nodeGroups: z.array(name).min(1, 'must name at least one node group'),
  tolerations: z.array(taint).default([]),
  placement: z
    .strictObject({
      spreadZones: z.boolean().default(false),
      spreadNodes: z.boolean().default(false),
      antiAffinity: z.enum(['none', 'preferred', 'required']).default('none'),
    })
    .prefault({}),
  hpa,
  vpa: vpa.optional(),
  pdb: z
    .strictObject({ minAvailable: positiveInt.optional(), maxUnavailable: positiveInt.optional() })
    .optional(),
  demand: z.strictObject({
    metric: metricQuery,
    /** Demand one pod serves at its target utilisation, in the metric's unit per period. */
    perPod: z.number().positive('must be > 0'),
  }),
  /**
   * This service's own service level, in place of `policy.serviceLevel`:
   * a checkout API may want 0.97 where a cache that falls back to its
   * origin is fine at 0.8. Each service is calibrated toward its own.
   */
  serviceLevel: serviceLevel.optional(),
});

const targetGroup = z.strictObject({
  arn,
  nodeGroup: name,
  minWeight: z.number().int().min(0).max(999).default(0),
  maxWeight: z.number().int().min(0).max(999).default(999),
});

const albRule = z.strictObject({
  name,
  listenerArn: arn,
  /** Omit to manage the listener's default action. */
  ruleArn: arn.optional(),
  targetGroups: z.array(targetGroup).min(1).max(5, 'a forward action holds at most 5 target groups'),
  maxStepPoints: z.number().int().min(1).max(999).default(20),
  /** Weights stay put unless some group's target is at least this many points away, so they do not flap. */
  hysteresisPoints: z.number().int().min(0).max(999).default(5),
  /** A group that misses its SLO gets its weight cut in proportion to the miss. Omit a field to not judge on it. */
  slo: z
    .strictObject({
      /** CloudWatch `TargetResponseTime` p95 of the target group. */
      p95Seconds: z.number().positive('must be > 0').optional(),
      /** `HTTPCode_Target_5XX_Count` as a percent of `RequestCount`. */
      max5xxPercent: percent.optional(),
    })
    .optional(),
});

const budget = z.strictObject({
  monthlyUsd: z.number().positive('must be > 0'),
  hourlyUsd: z.number().positive('must be > 0').optional(),
  approval: z
    .strictObject({
      capacityChangePercent: z.number().positive('must be > 0').default(50),
      costChangeUsdPerHour: z.number().positive('must be > 0').default(10),
      projectedSpendPercent: percent.default(90),
    })
    .prefault({}),
  alertPercents: z.array(percent).default([50, 80, 100]),
});

const policy = z.strictObject({
  /** Probability that ready capacity covers demand at the decision horizon (newsvendor critical ratio). */
  serviceLevel: serviceLevel.default(0.9),
  /**
   * `reactive` (default): spend no more than the HPA + Cluster Autoscaler
   * prescale replaces would. A shadow of that baseline (each service's HPA at
   * its lowest CPU or memory target, its pods packed on the same groups) is
   * priced beside every plan, and while prescale's spend over about a day is
   * above it the service levels step down until it is not (see
   * lib/core/plan/cost-ceiling.ts). `off`: the service levels as configured,
   * whatever they cost.
   */
  costCeiling: z.enum(['reactive', 'off']).default('reactive'),
  /** Minutes between scheduled runs; part of the decision horizon. */
  scheduleMinutes: positiveInt.default(1),
  /**
   * Kubernetes-style damping: capacity is only released after every
   * recommendation of this many minutes asked for less. Off by default: the
   * planner already keeps what the next metric period is forecast to need,
   * and holding a recommendation the data has since overtaken (the period it
   * anticipated is now observed) pays for capacity nothing needs.
   */
  scaleDownStabilizationMinutes: nonNegativeInt.default(0),
  /** Most nodes one run may add to a group (scale-in is limited by maxScaleInNodes). */
  maxScaleOutNodes: positiveInt.default(100),
  maxScaleInNodes: positiveInt.default(5),
  scaleOutCooldownMinutes: nonNegativeInt.default(0),
  scaleInCooldownMinutes: nonNegativeInt.default(0),
  /** Minutes between forecast refits; the fit is cached in the state store in between. */
  refitMinutes: positiveInt.default(60),
  /**
   * Days of demand history the forecast reads. Four weeks, so the weekly
   * profile is an average of several weeks rather than two (a Monday-morning
   * ramp estimated from two Mondays is mostly noise). CloudWatch keeps
   * 5-minute data 63 days; 1-minute data only 15, and older stretches arrive
   * at 5 minutes — the engine works on ≤ 2100 internal points anyway, so four
   * weeks of anything finer than 20 minutes is averaged to that.
   */
  historyDays: positiveInt.default(28),
  /** Target utilisation of the reactive floor, as HPA computes it. */
  reactiveTargetUtilization: fraction.default(0.9),
  /** Share of a spot-tolerant service's pods placed on spot; the rest and any spot shortfall go on-demand. */
  spotShare: z.number().min(0, 'must be ≥ 0').max(1, 'must be ≤ 1').default(0.5),
  /** Raise HPA minReplicas ahead of a forecast ramp so pods are ready when nodes are. */
  predictiveHpaFloors: z.boolean().default(true),
});

const calendar = z.strictObject({
  timeZone: z.string().default('UTC'),
  businessHours: z
    .strictObject({
      start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM'),
      end: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM'),
      days: z.array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).min(1),
    })
    .optional(),
  holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')).default([]),
  events: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        start: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }),
        end: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }),
        multiplier: z.number().positive('must be > 0'),
      }),
    )
    .default([]),
});

const slack = z.strictObject({
  channel: z.string().min(1),
  approvers: z.array(z.string().regex(SLACK_USER_ID_PATTERN, 'must be a Slack user id such as U012ABCDEF')).default([]),
});

export const configSchema = z.strictObject({
  version: z.literal(1, 'must be 1'),
  cluster: z.strictObject({
    name: z.string().min(1).max(100),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1'),
    accountId: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id').optional(),
  }),
  nodeGroups: z.array(nodeGroupSchema).min(1, 'must list at least one node group'),
  services: z.array(service).min(1, 'must list at least one service'),
  albRules: z.array(albRule).default([]),
  budget: budget.optional(),
  // prefault: an omitted block is parsed as {} (each field its own default), afresh for every config.
  policy: policy.prefault({}),
  calendar: calendar.prefault({}),
  slack: slack.optional(),
});

export type PrescaleConfig = z.infer<typeof configSchema>;
export type NodeGroupConfig = PrescaleConfig['nodeGroups'][number];
export type ServiceConfig = PrescaleConfig['services'][number];
export type HpaMetricConfig = ServiceConfig['hpa']['metrics'][number];
export type AlbRuleConfig = PrescaleConfig['albRules'][number];
export type BudgetConfig = NonNullable<PrescaleConfig['budget']>;
export type PolicyConfig = PrescaleConfig['policy'];
export type CalendarConfig = PrescaleConfig['calendar'];
