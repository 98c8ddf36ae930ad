/**
 * TrafficActuator over ELBv2: read and write the weights of a forward action,
 * on a listener rule (DescribeRules / ModifyRule) or a listener's default
 * action (DescribeListeners / ModifyListener, since the default rule's actions
 * belong to the listener).
 *
 * A write replaces the whole action list (and we send the condition list too),
 * so everything but the weights is copied from what we just read: every other
 * action in order, every condition, the stickiness config. Two AWS quirks make
 * a verbatim copy fail and are handled here:
 * - DescribeRules returns host-header/path-pattern conditions with both the
 *   legacy `Values` and the typed `HostHeaderConfig`/`PathPatternConfig`, and
 *   ModifyRule rejects both together ("You cannot provide both Values and
 *   'HostHeaderConfig'"): the typed config is kept.
 * - An authenticate-oidc action comes back without its ClientSecret; writing
 *   it back needs `UseExistingClientSecret: true`.
 */
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Action, ElasticLoadBalancingV2Client, RuleCondition, TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { sameWeights } from '../core/commands.ts';
import type { TargetGroupWeight } from '../core/commands.ts';
import { PrescaleError } from '../errors.ts';
import type { RuleState, TargetGroupHealth, TargetHealthState, TrafficActuator } from '../ports.ts';
import { callAws } from './errors.ts';

/** Tags the AWS Load Balancer Controller puts on what it owns (it would revert our change on its next sync). */
export const CONTROLLER_TAG_KEYS: readonly string[] = ['elbv2.k8s.aws/cluster', 'ingress.k8s.aws/stack', 'ingress.k8s.aws/resource'];
/** ALB weights are integers in [0, 999]. */
export const MAX_TARGET_GROUP_WEIGHT = 999;

export function isManagedByController(tags: readonly { readonly Key?: string | undefined }[]): boolean {
  return tags.some((tag) => tag.Key !== undefined && CONTROLLER_TAG_KEYS.includes(tag.Key));
}

/** Index of the forward action, or -1 (a rule has at most one: it is the terminal action). */
export function findForwardActionIndex(actions: readonly Action[]): number {
  return actions.findIndex((action) => action.Type === 'forward');
}

/** Weights of a forward action; the legacy single-`TargetGroupArn` form is one group at weight 1. */
export function readForwardWeights(action: Action): TargetGroupWeight[] {
  const tuples = action.ForwardConfig?.TargetGroups ?? [];
  if (tuples.length > 0) {
    return tuples.flatMap((t) => (t.TargetGroupArn === undefined ? [] : [{ targetGroupArn: t.TargetGroupArn, weight: t.Weight ?? 1 }]));
  }
  return action.TargetGroupArn === undefined ? [] : [{ targetGroupArn: action.TargetGroupArn, weight: 1 }];
}

/**
 * The full weight list after applying `requested` to `current`: groups keep
 * their order, unmentioned groups keep their weight. A group not in the
 * action, a weight outside [0, 999], or all weights 0 (traffic to nowhere) is
 * a validation error: adding or removing target groups is not ours to do.
 */
export function mergeWeights(current: readonly TargetGroupWeight[], requested: readonly TargetGroupWeight[], resource: string): TargetGroupWeight[] {
  const requestedByArn = new Map(requested.map((w) => [w.targetGroupArn, w.weight]));
  const problems: string[] = [];
  for (const w of requested) {
    if (!current.some((c) => c.targetGroupArn === w.targetGroupArn)) problems.push(`target group ${w.targetGroupArn} is not in the forward action`);
    if (!Number.isInteger(w.weight) || w.weight < 0 || w.weight > MAX_TARGET_GROUP_WEIGHT) problems.push(`weight ${w.weight} of ${w.targetGroupArn} must be an integer in [0, ${MAX_TARGET_GROUP_WEIGHT}]`);
  }
  const merged = current.map((c) => ({ targetGroupArn: c.targetGroupArn, weight: requestedByArn.get(c.targetGroupArn) ?? c.weight }));
  if (merged.length > 0 && merged.every((w) => w.weight === 0)) problems.push('every weight would be 0, sending traffic nowhere');
  if (problems.length > 0) throw new PrescaleError('validation', `cannot set weights on ${resource}: ${problems.join('; ')}`, { details: problems });
  return merged;
}

/**
 * The forward action with new weights and nothing else changed. The legacy
 * `TargetGroupArn` is dropped: ELB accepts it beside ForwardConfig only for a
 * single group, and ForwardConfig says the same thing.
 */
export function rewriteForwardAction(action: Action, weights: readonly TargetGroupWeight[]): Action {
  const { TargetGroupArn: _legacy, ...rest } = action;
  return {
    ...rest,
    ForwardConfig: {
      ...action.ForwardConfig,
      TargetGroups: weights.map((w) => ({ TargetGroupArn: w.targetGroupArn, Weight: w.weight })),
    },
  };
}

/** An action as read, made writable (see the file comment on OIDC secrets). */
export function prepareActionForWrite(action: Action): Action {
  const oidc = action.AuthenticateOidcConfig;
  if (action.Type === 'authenticate-oidc' && oidc !== undefined && (oidc.ClientSecret === undefined || oidc.ClientSecret === '')) {
    const { ClientSecret: _absent, ...config } = oidc;
    return { ...action, AuthenticateOidcConfig: { ...config, UseExistingClientSecret: true } };
  }
  return action;
}

/** A condition as read, made writable: the typed config wins over the legacy `Values`. */
export function prepareConditionForWrite(condition: RuleCondition): RuleCondition {
  if (condition.Values !== undefined && (condition.HostHeaderConfig !== undefined || condition.PathPatternConfig !== undefined)) {
    const { Values: _legacy, ...rest } = condition;
    return rest;
  }
  return condition;
}

/** Every action copied in order, the forward action's weights replaced. */
export function computeModifiedActions(actions: readonly Action[], weights: readonly TargetGroupWeight[]): Action[] {
  const forwardIndex = findForwardActionIndex(actions);
  return actions.map((action, i) => (i === forwardIndex ? rewriteForwardAction(action, weights) : prepareActionForWrite(action)));
}

/** `unhealthy.draining` is leaving service, so it counts as draining; an unknown state as unavailable. */
export function mapTargetHealthState(state: string | undefined): TargetHealthState {
  switch (state) {
    case 'initial':
    case 'healthy':
    case 'unhealthy':
    case 'unused':
    case 'draining':
    case 'unavailable':
      return state;
    case 'unhealthy.draining':
      return 'draining';
    default:
      return 'unavailable';
  }
}

export function countTargetHealth(descriptions: readonly TargetHealthDescription[]): Record<TargetHealthState, number> {
  const counts: Record<TargetHealthState, number> = { initial: 0, healthy: 0, unhealthy: 0, unused: 0, draining: 0, unavailable: 0 };
  for (const d of descriptions) counts[mapTargetHealthState(d.TargetHealth?.State)] += 1;
  return counts;
}

interface ReadActions {
  readonly actions: Action[];
  readonly conditions: RuleCondition[];
  /** True when the actions belong to the listener (its default action): written with ModifyListener. */
  readonly onListener: boolean;
  readonly resource: string;
}

export class ElbTraffic implements TrafficActuator {
  constructor(private readonly client: ElasticLoadBalancingV2Client) {}

  private async readActions(listenerArn: string, ruleArn: string | undefined): Promise<ReadActions> {
    if (ruleArn !== undefined) {
      const output = await callAws(`ELBv2 DescribeRules ${ruleArn}`, () => this.client.send(new DescribeRulesCommand({ RuleArns: [ruleArn] })));
      const rule = output.Rules?.[0];
      if (rule === undefined) throw new PrescaleError('not-found', `listener rule ${ruleArn} not found`);
      // The default rule's actions are the listener's: ModifyRule is not the way to change them.
      if (rule.IsDefault === true) return this.readActions(listenerArn, undefined);
      return { actions: rule.Actions ?? [], conditions: rule.Conditions ?? [], onListener: false, resource: `rule ${ruleArn}` };
    }
    const output = await callAws(`ELBv2 DescribeListeners ${listenerArn}`, () => this.client.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })));
    const listener = output.Listeners?.[0];
    if (listener === undefined) throw new PrescaleError('not-found', `listener ${listenerArn} not found`);
    return { actions: listener.DefaultActions ?? [], conditions: [], onListener: true, resource: `default action of listener ${listenerArn}` };
  }

  private async isControllerManaged(resourceArn: string): Promise<boolean> {
    const output = await callAws(`ELBv2 DescribeTags ${resourceArn}`, () => this.client.send(new DescribeTagsCommand({ ResourceArns: [resourceArn] })));
    const description = (output.TagDescriptions ?? []).find((d) => d.ResourceArn === resourceArn) ?? output.TagDescriptions?.[0];
    return isManagedByController(description?.Tags ?? []);
  }

  async describeRule(listenerArn: string, ruleArn: string | undefined): Promise<RuleState> {
    const read = await this.readActions(listenerArn, ruleArn);
    const forwardIndex = findForwardActionIndex(read.actions);
    const weights = forwardIndex < 0 ? [] : readForwardWeights(read.actions[forwardIndex]!);
    const managedByController = await this.isControllerManaged(read.onListener ? listenerArn : ruleArn!);
    return { listenerArn, ruleArn, weights, managedByController };
  }

  async describeTargetHealth(targetGroupArn: string): Promise<TargetGroupHealth> {
    const output = await callAws(`ELBv2 DescribeTargetHealth ${targetGroupArn}`, () =>
      this.client.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn })),
    );
    return { targetGroupArn, counts: countTargetHealth(output.TargetHealthDescriptions ?? []) };
  }

  /**
   * Changes only the weights of the forward action, then reads the rule back:
   * a rule that does not show our weights (another writer, such as the Load
   * Balancer Controller, got in between) is a retryable `conflict`. No call
   * when the weights already match.
   */
  async setWeights(listenerArn: string, ruleArn: string | undefined, weights: readonly TargetGroupWeight[]): Promise<void> {
    const read = await this.readActions(listenerArn, ruleArn);
    const forwardIndex = findForwardActionIndex(read.actions);
    if (forwardIndex < 0) throw new PrescaleError('validation', `${read.resource} has no forward action to weight`);
    const current = readForwardWeights(read.actions[forwardIndex]!);
    const merged = mergeWeights(current, weights, read.resource);
    if (sameWeights(current, merged)) return;
    const actions = computeModifiedActions(read.actions, merged);
    if (read.onListener) {
      await callAws(`ELBv2 ModifyListener ${listenerArn}`, () => this.client.send(new ModifyListenerCommand({ ListenerArn: listenerArn, DefaultActions: actions })));
    } else {
      await callAws(`ELBv2 ModifyRule ${ruleArn}`, () =>
        this.client.send(new ModifyRuleCommand({ RuleArn: ruleArn!, Conditions: read.conditions.map(prepareConditionForWrite), Actions: actions })),
      );
    }
    const after = await this.readActions(listenerArn, ruleArn);
    const afterIndex = findForwardActionIndex(after.actions);
    const actual = afterIndex < 0 ? [] : readForwardWeights(after.actions[afterIndex]!);
    if (!sameWeights(actual, merged)) {
      throw new PrescaleError('conflict', `${read.resource} reads back weights ${formatWeights(actual)} instead of ${formatWeights(merged)}: another writer changed it`, {
        retryable: true,
      });
    }
  }
}

function formatWeights(weights: readonly TargetGroupWeight[]): string {
  return `[${weights.map((w) => `${w.targetGroupArn.split('/').slice(-2, -1)[0] ?? w.targetGroupArn}=${w.weight}`).join(', ')}]`;
}
