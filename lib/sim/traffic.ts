/**
 * The simulated ALB: listener rules with forward weights, target groups whose
 * health follows the node group behind them, and a record of every weight
 * change (the report charts it). Validation mirrors ELBv2 where it matters to
 * a policy: weights are integers 0..999, at most 5 target groups per action,
 * and a rule the AWS Load Balancer Controller manages is refused.
 */
import type { TargetGroupWeight } from '../core/commands.ts';
import { controllerManagedMessage } from '../core/traffic/managed.ts';
import { PrescaleError } from '../errors.ts';
import type { Clock, RuleState, TargetGroupHealth, TargetHealthState, TrafficActuator } from '../ports.ts';

export type NodeCount = (nodeGroup: string) => number;

export interface SimTrafficOptions {
  readonly clock: Clock;
  /** Ready (serving) nodes of a node group now. */
  readonly readyNodes: NodeCount;
  /** Nodes still booting: their targets are `initial`. Default none. */
  readonly bootingNodes?: NodeCount;
  /** Ready nodes under a spot interruption notice (or cordoned): their targets are `draining`. Default none. */
  readonly drainingNodes?: NodeCount;
  /** Ready nodes failing health checks (a bad AMI, a broken version): their targets are `unhealthy`. Default none. */
  readonly unhealthyNodes?: NodeCount;
}

export interface SimTargetGroup {
  readonly arn: string;
  readonly nodeGroup: string;
  /** Targets per node (1 for instance targets, pods per node for IP targets). Default 1. */
  readonly targetsPerNode?: number;
}

export interface SimRule {
  readonly listenerArn: string;
  /** Undefined for the listener's default action. */
  readonly ruleArn: string | undefined;
  readonly weights: readonly TargetGroupWeight[];
  readonly managedByController?: boolean;
}

export interface SetWeightsCall {
  readonly atMs: number;
  readonly listenerArn: string;
  readonly ruleArn: string | undefined;
  readonly weights: readonly TargetGroupWeight[];
}

const MAX_TARGET_GROUPS_PER_ACTION = 5;
const none: NodeCount = () => 0;

function ruleKey(listenerArn: string, ruleArn: string | undefined): string {
  return `${listenerArn}|${ruleArn ?? 'default'}`;
}

/**
 * Per-node states from node counts: booting → initial; of the ready nodes,
 * draining first, then unhealthy, the rest healthy (a node is in one state at a time).
 */
export function targetHealthCounts(nodes: { readonly ready: number; readonly booting: number; readonly draining: number; readonly unhealthy: number }, targetsPerNode: number): Record<TargetHealthState, number> {
  const ready = Math.max(0, nodes.ready);
  const draining = Math.min(Math.max(0, nodes.draining), ready);
  const unhealthy = Math.min(Math.max(0, nodes.unhealthy), ready - draining);
  return {
    initial: Math.max(0, nodes.booting) * targetsPerNode,
    healthy: (ready - draining - unhealthy) * targetsPerNode,
    unhealthy: unhealthy * targetsPerNode,
    unused: 0,
    draining: draining * targetsPerNode,
    unavailable: 0,
  };
}

export class SimTraffic implements TrafficActuator {
  private readonly rules = new Map<string, { weights: TargetGroupWeight[]; managedByController: boolean; listenerArn: string; ruleArn: string | undefined }>();
  private readonly targetGroups = new Map<string, Required<SimTargetGroup>>();
  readonly calls: SetWeightsCall[] = [];

  constructor(private readonly options: SimTrafficOptions) {}

  addTargetGroup(group: SimTargetGroup): void {
    this.targetGroups.set(group.arn, { arn: group.arn, nodeGroup: group.nodeGroup, targetsPerNode: group.targetsPerNode ?? 1 });
  }

  addRule(rule: SimRule): void {
    this.validate(rule.weights);
    this.rules.set(ruleKey(rule.listenerArn, rule.ruleArn), {
      listenerArn: rule.listenerArn,
      ruleArn: rule.ruleArn,
      weights: rule.weights.map((w) => ({ ...w })),
      managedByController: rule.managedByController ?? false,
    });
  }

  /** The rule's weights now. */
  weights(listenerArn: string, ruleArn: string | undefined): TargetGroupWeight[] {
    return this.rule(listenerArn, ruleArn).weights.map((w) => ({ ...w }));
  }

  private rule(listenerArn: string, ruleArn: string | undefined) {
    const rule = this.rules.get(ruleKey(listenerArn, ruleArn));
    if (rule === undefined) throw new PrescaleError('not-found', ruleArn === undefined ? `listener ${listenerArn} not found` : `rule ${ruleArn} not found`);
    return rule;
  }

  private validate(weights: readonly TargetGroupWeight[]): void {
    if (weights.length === 0 || weights.length > MAX_TARGET_GROUPS_PER_ACTION) {
      throw new PrescaleError('validation', `a forward action holds 1 to ${MAX_TARGET_GROUPS_PER_ACTION} target groups (got ${weights.length})`);
    }
    const seen = new Set<string>();
    for (const { targetGroupArn, weight } of weights) {
      if (!this.targetGroups.has(targetGroupArn)) throw new PrescaleError('not-found', `target group ${targetGroupArn} not found`);
      if (seen.has(targetGroupArn)) throw new PrescaleError('validation', `target group ${targetGroupArn} appears twice`);
      seen.add(targetGroupArn);
      if (!Number.isInteger(weight) || weight < 0 || weight > 999) throw new PrescaleError('validation', `weight ${weight} for ${targetGroupArn} must be an integer in [0, 999]`);
    }
  }

  async describeRule(listenerArn: string, ruleArn: string | undefined): Promise<RuleState> {
    const rule = this.rule(listenerArn, ruleArn);
    return { listenerArn, ruleArn, weights: rule.weights.map((w) => ({ ...w })), managedByController: rule.managedByController };
  }

  async describeTargetHealth(targetGroupArn: string): Promise<TargetGroupHealth> {
    const group = this.targetGroups.get(targetGroupArn);
    if (group === undefined) throw new PrescaleError('not-found', `target group ${targetGroupArn} not found`);
    const { nodeGroup } = group;
    const counts = targetHealthCounts(
      {
        ready: this.options.readyNodes(nodeGroup),
        booting: (this.options.bootingNodes ?? none)(nodeGroup),
        draining: (this.options.drainingNodes ?? none)(nodeGroup),
        unhealthy: (this.options.unhealthyNodes ?? none)(nodeGroup),
      },
      group.targetsPerNode,
    );
    return { targetGroupArn, counts };
  }

  async setWeights(listenerArn: string, ruleArn: string | undefined, weights: readonly TargetGroupWeight[]): Promise<void> {
    const rule = this.rule(listenerArn, ruleArn);
    if (rule.managedByController) throw new PrescaleError('conflict', controllerManagedMessage(ruleArn ?? `${listenerArn} (default action)`));
    this.validate(weights);
    rule.weights = weights.map((w) => ({ ...w }));
    this.calls.push({ atMs: this.options.clock.nowMs(), listenerArn, ruleArn, weights: rule.weights.map((w) => ({ ...w })) });
  }
}
