/**
 * The reweight run of one cluster: for every configured ALB rule, read the
 * rule and its target groups' health, plan with lib/core/traffic, set the
 * weights when they change, and audit. One failing rule (a controller-managed
 * rule, a missing target group) does not stop the others.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import { commandTarget } from '../core/commands.ts';
import { planReweight } from '../core/traffic/reweight.ts';
import { isPrescaleError } from '../errors.ts';
import type { Clock, StateStore, TrafficActuator } from '../ports.ts';

export interface RuleOutcome {
  readonly rule: string;
  readonly result: 'applied' | 'unchanged' | 'failed';
  readonly reason: string;
}

export interface ReweightPorts {
  readonly clock: Clock;
  readonly traffic: TrafficActuator;
  readonly state: StateStore;
}

export async function runReweight(config: PrescaleConfig, ports: ReweightPorts, actor: string): Promise<RuleOutcome[]> {
  const outcomes: RuleOutcome[] = [];
  const nowMs = ports.clock.nowMs();
  const rules = [...config.albRules].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const rule of rules) {
    try {
      const state = await ports.traffic.describeRule(rule.listenerArn, rule.ruleArn);
      const observations = await Promise.all(rule.targetGroups.map((tg) => ports.traffic.describeTargetHealth(tg.arn)));
      const command = planReweight({ cluster: config.cluster.name, rule, state, observations });
      if (command === undefined) {
        outcomes.push({ rule: rule.name, result: 'unchanged', reason: 'weights stay' });
        continue;
      }
      let result: RuleOutcome['result'] = 'applied';
      let message: string | undefined;
      try {
        await ports.traffic.setWeights(command.listenerArn, command.ruleArn, command.toWeights);
      } catch (error) {
        if (!isPrescaleError(error)) throw error;
        result = 'failed';
        message = `${error.code}: ${error.message}`;
      }
      await ports.state.appendAudit({
        cluster: config.cluster.name,
        atMs: nowMs,
        actor,
        target: commandTarget(command),
        reason: command.reason,
        before: command.fromWeights,
        after: command.toWeights,
        result,
        message,
      });
      outcomes.push({ rule: rule.name, result, reason: message ?? command.reason });
    } catch (error) {
      if (!isPrescaleError(error)) throw error;
      outcomes.push({ rule: rule.name, result: 'failed', reason: `${error.code}: ${error.message}` });
    }
  }
  return outcomes;
}
