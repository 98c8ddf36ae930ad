import { describe, expect, it } from 'vitest';
import { PrescaleError } from '../../../lib/errors.ts';
import { planReweight, planRuleWeights, type ReweightInput, type TargetGroupObservation } from '../../../lib/core/traffic/reweight.ts';
import { CONTROLLER_MANAGED_REFUSAL, controllerManagedMessage, controllerStack, isControllerManaged, type ResourceTags } from '../../../lib/core/traffic/managed.ts';
import type { TargetHealthState } from '../../../lib/ports.ts';
import { GENERAL, LISTENER, RULE, SPOT } from '../../support/gateway-rule.ts';

function observation(targetGroupArn: string, partial: Partial<Record<TargetHealthState, number>>, extra: Partial<TargetGroupObservation> = {}): TargetGroupObservation {
  return { targetGroupArn, counts: { initial: 0, healthy: 0, unhealthy: 0, unused: 0, draining: 0, unavailable: 0, ...partial }, ...extra };
}

// The example config's gateway rule: general floored at 10, spot capped at 60.
const base: ReweightInput = {
  cluster: 'debate-prod',
  rule: {
    name: 'gateway',
    listenerArn: LISTENER,
    ruleArn: RULE,
    targetGroups: [
      { arn: GENERAL, nodeGroup: 'general', minWeight: 10, maxWeight: 999 },
      { arn: SPOT, nodeGroup: 'spot', minWeight: 0, maxWeight: 60 },
    ],
    maxStepPoints: 20,
    hysteresisPoints: 5,
  },
  state: { listenerArn: LISTENER, ruleArn: RULE, weights: [{ targetGroupArn: GENERAL, weight: 50 }, { targetGroupArn: SPOT, weight: 50 }], managedByController: false },
  observations: [observation(GENERAL, { healthy: 6 }), observation(SPOT, { healthy: 6 })],
};

describe('planReweight', () => {
  it('no command while the weights stay', () => {
    expect(planReweight(base)).toBeUndefined();
  });

  it('a spot notice: the command takes spot off at once, with the numbers in the reason', () => {
    const command = planReweight({ ...base, observations: [observation(GENERAL, { healthy: 6 }), observation(SPOT, { draining: 6 })] });
    expect(command).toEqual({
      kind: 'set-alb-weights',
      cluster: 'debate-prod',
      rule: 'gateway',
      listenerArn: LISTENER,
      ruleArn: RULE,
      fromWeights: [{ targetGroupArn: GENERAL, weight: 50 }, { targetGroupArn: SPOT, weight: 50 }],
      // general heads to 100 in steps of 20: 50 + 20
      toWeights: [{ targetGroupArn: GENERAL, weight: 70 }, { targetGroupArn: SPOT, weight: 0 }],
      reason:
        'ALB rule gateway: moving weights toward capacity share (largest gap 50 points, hysteresis 5, step ≤ 20): ' +
        'gateway-general: healthy 6, capacity 6, target 100, 50 → 70; ' +
        'gateway-spot: draining 6, target 0, 50 → 0, (no healthy target: off at once)',
    });
  });

  it('uses capacity per target and the node group ready capacity', () => {
    // general min(6 × 100, 600) = 600; spot min(10 × 100, 400) = 400 → 60 / 40
    const command = planReweight({
      ...base,
      observations: [observation(GENERAL, { healthy: 6 }, { capacityPerTarget: 100, readyCapacity: 600 }), observation(SPOT, { healthy: 10 }, { capacityPerTarget: 100, readyCapacity: 400 })],
    });
    expect(command?.toWeights).toEqual([{ targetGroupArn: GENERAL, weight: 60 }, { targetGroupArn: SPOT, weight: 40 }]);
  });

  it('applies the rule SLO', () => {
    // spot p95 2 s against 1 s → ×0.5: 6 vs 3 → 66.67 / 33.33 → 67 / 33, gap 17 within the step
    const command = planReweight({
      ...base,
      rule: { ...base.rule, slo: { p95Seconds: 1 } },
      observations: [observation(GENERAL, { healthy: 6 }), observation(SPOT, { healthy: 6 }, { p95ResponseSeconds: 2 })],
    });
    expect(command?.toWeights.map((w) => w.weight)).toEqual([67, 33]);
  });

  it('the listener default action: ruleArn undefined', () => {
    const command = planReweight({
      ...base,
      rule: { ...base.rule, ruleArn: undefined },
      state: { ...base.state, ruleArn: undefined },
      observations: [observation(GENERAL, { healthy: 6 }), observation(SPOT, { unhealthy: 6 })],
    });
    expect(command?.ruleArn).toBeUndefined();
    expect(command?.toWeights.map((w) => w.weight)).toEqual([70, 0]);
  });

  it('without hysteresisPoints in the config: the default 5', () => {
    const { hysteresisPoints: _omit, ...rule } = base.rule;
    // 6 : 5 → 54.55 / 45.45 → 55 / 45: gap 5 ≥ 5 moves
    expect(planReweight({ ...base, rule, observations: [observation(GENERAL, { healthy: 6 }), observation(SPOT, { healthy: 5 })] })?.toWeights.map((w) => w.weight)).toEqual([55, 45]);
    // 10 : 9 → 52.63 / 47.37 → 53 / 47: gap 3 < 5 holds
    expect(planReweight({ ...base, rule, observations: [observation(GENERAL, { healthy: 10 }), observation(SPOT, { healthy: 9 })] })).toBeUndefined();
  });

  it('all unhealthy: no command (fail open), and the plan says why', () => {
    const input = { ...base, observations: [observation(GENERAL, { unhealthy: 6 }), observation(SPOT, { draining: 6 })] };
    expect(planReweight(input)).toBeUndefined();
    expect(planRuleWeights(input).reason).toMatch(/^no target group has a healthy target, keeping the last weights \(fail open, as ALB does\)/);
  });

  it('refuses a rule the AWS Load Balancer Controller manages', () => {
    const input = { ...base, state: { ...base.state, managedByController: true } };
    expect(() => planReweight(input)).toThrow(PrescaleError);
    try {
      planReweight(input);
    } catch (error) {
      expect((error as PrescaleError).code).toBe('conflict');
      expect((error as PrescaleError).retryable).toBe(false);
      expect((error as PrescaleError).message).toBe(
        'ALB rule gateway is managed by the AWS Load Balancer Controller: set weights with the Ingress annotation alb.ingress.kubernetes.io/actions.<name> instead',
      );
    }
  });

  it('a configured group without an observation is an error, not "no healthy target"', () => {
    expect(() => planReweight({ ...base, observations: [observation(GENERAL, { healthy: 6 })] })).toThrow(`ALB rule gateway: no target health for ${SPOT}`);
  });
});

describe('isControllerManaged', () => {
  it.each<[string, ResourceTags, boolean]>([
    ['v2 cluster tag (DescribeTags shape)', [{ Key: 'elbv2.k8s.aws/cluster', Value: 'debate-prod' }], true],
    ['Ingress stack tag (map)', { 'ingress.k8s.aws/stack': 'prod/gateway' }, true],
    ['Ingress resource tag', [{ Key: 'ingress.k8s.aws/resource', Value: 'prod/gateway-gateway:80' }], true],
    ['v1 cluster tag', { 'ingress.k8s.aws/cluster': 'debate-prod' }, true],
    ['Service stack tag', { 'service.k8s.aws/stack': 'prod/gateway' }, true],
    ['only user tags', [{ Key: 'team', Value: 'platform' }, { Key: 'elbv2.k8s.aws/clusterish', Value: 'x' }], false],
    ['a tag without a key', [{ Value: 'x' }], false],
    ['no tags', [], false],
    ['no tags (map)', {}, false],
  ])('%s → %s', (_name, tags, expected) => {
    expect(isControllerManaged(tags)).toBe(expected);
  });

  it('names the Ingress stack in the message when the tags carry it', () => {
    const tags = [{ Key: 'ingress.k8s.aws/stack', Value: 'prod/gateway' }];
    expect(controllerStack(tags)).toBe('prod/gateway');
    expect(controllerStack({ team: 'x' })).toBeUndefined();
    expect(controllerManagedMessage('gateway', controllerStack(tags))).toBe(`ALB rule gateway is ${CONTROLLER_MANAGED_REFUSAL} (Ingress stack prod/gateway)`);
  });
});
