/**
 * One ALB rule's reweight decision, as the `reweight` handler's plan step:
 * configuration + the rule as read back + per-target-group observations →
 * a SetAlbWeightsCommand, or nothing when the weights stay.
 */
import type { AlbRuleConfig } from '../../config/schema.ts';
import { PrescaleError } from '../../errors.ts';
import type { RuleState, TargetGroupHealth } from '../../ports.ts';
import type { SetAlbWeightsCommand } from '../commands.ts';
import { controllerManagedMessage } from './managed.ts';
import { planWeights, type PlanWeightsInput, type WeightPlan } from './weights.ts';

/** Target health plus what CloudWatch and the node groups say about the group, all optional. */
export interface TargetGroupObservation extends TargetGroupHealth {
  /** Demand one healthy target serves (e.g. the service's requests per pod). */
  readonly capacityPerTarget?: number | undefined;
  /** Ready capacity of the node group behind the group (ready nodes × what one node serves). */
  readonly readyCapacity?: number | undefined;
  /** `HTTPCode_Target_5XX_Count` / `RequestCount` × 100 over the last period (see http5xxPercent). */
  readonly http5xxPercent?: number | undefined;
  /** `TargetResponseTime` p95 over the last period. */
  readonly p95ResponseSeconds?: number | undefined;
}

export type ReweightRuleConfig = Pick<AlbRuleConfig, 'name' | 'listenerArn' | 'ruleArn' | 'targetGroups' | 'maxStepPoints'> &
  Partial<Pick<AlbRuleConfig, 'hysteresisPoints' | 'slo'>>;

export interface ReweightInput {
  readonly cluster: string;
  readonly rule: ReweightRuleConfig;
  /** The rule as DescribeRules returns it now. */
  readonly state: RuleState;
  /** One per configured target group (order does not matter). */
  readonly observations: readonly TargetGroupObservation[];
}

/** Used when an older config carries no `hysteresisPoints` (the schema default). */
export const DEFAULT_HYSTERESIS_POINTS = 5;

/**
 * The planWeights input for a rule. Throws `internal` when a configured group
 * has no observation: missing health is not "no healthy target", and reading
 * it as such would move traffic on a failed describe.
 */
export function reweightInputs(input: ReweightInput): PlanWeightsInput {
  const byArn = new Map(input.observations.map((o) => [o.targetGroupArn, o]));
  const groups = input.rule.targetGroups.map((tg) => {
    const observed = byArn.get(tg.arn);
    if (observed === undefined) throw new PrescaleError('internal', `ALB rule ${input.rule.name}: no target health for ${tg.arn}`);
    return {
      targetGroupArn: tg.arn,
      counts: observed.counts,
      capacityPerTarget: observed.capacityPerTarget,
      readyCapacity: observed.readyCapacity,
      http5xxPercent: observed.http5xxPercent,
      p95ResponseSeconds: observed.p95ResponseSeconds,
      minWeight: tg.minWeight,
      maxWeight: tg.maxWeight,
    };
  });
  return {
    groups,
    currentWeights: input.state.weights,
    maxStepPoints: input.rule.maxStepPoints,
    hysteresisPoints: input.rule.hysteresisPoints ?? DEFAULT_HYSTERESIS_POINTS,
    slo: { p95Seconds: input.rule.slo?.p95Seconds, max5xxPercent: input.rule.slo?.max5xxPercent },
  };
}

/** The plan with its reasons, also when nothing changes (for the decision log). Refuses a controller-managed rule. */
export function planRuleWeights(input: ReweightInput): WeightPlan {
  if (input.state.managedByController) throw new PrescaleError('conflict', controllerManagedMessage(input.rule.name));
  return planWeights(reweightInputs(input));
}

/**
 * The command that moves the rule's weights, or undefined when they stay.
 * Throws `conflict` (not retryable) for a rule the AWS Load Balancer Controller
 * manages: prescale's weights would be overwritten on the controller's next sync.
 */
export function planReweight(input: ReweightInput): SetAlbWeightsCommand | undefined {
  const plan = planRuleWeights(input);
  if (!plan.changed) return undefined;
  return {
    kind: 'set-alb-weights',
    cluster: input.cluster,
    rule: input.rule.name,
    listenerArn: input.rule.listenerArn,
    ruleArn: input.rule.ruleArn,
    fromWeights: input.state.weights,
    toWeights: plan.weights,
    reason: `ALB rule ${input.rule.name}: ${plan.reason}`,
  };
}
