import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  RuleNotFoundException,
  type Action,
  type Rule,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  computeModifiedActions,
  countTargetHealth,
  ElbTraffic,
  isManagedByController,
  mapTargetHealthState,
  mergeWeights,
  prepareConditionForWrite,
  readForwardWeights,
} from '../../../lib/aws/elbv2.ts';

const LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/prod/50dc6c495c0c9188/f2f7dc8efc522ab2';
const RULE = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/prod/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
const TG_A = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/gateway-general/73e2d6bc24d8a067';
const TG_B = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/gateway-spot/8e4d1f2b3c4a5d6e';

const elb = mockClient(ElasticLoadBalancingV2Client);
const traffic = new ElbTraffic(new ElasticLoadBalancingV2Client({ region: 'eu-west-1' }));

beforeEach(() => {
  elb.reset();
});

const oidcAction: Action = {
  Type: 'authenticate-oidc',
  Order: 1,
  AuthenticateOidcConfig: {
    Issuer: 'https://idp.example.com',
    AuthorizationEndpoint: 'https://idp.example.com/authorize',
    TokenEndpoint: 'https://idp.example.com/token',
    UserInfoEndpoint: 'https://idp.example.com/userinfo',
    ClientId: 'prescale',
    SessionCookieName: 'AWSELBAuthSessionCookie',
    Scope: 'openid',
    SessionTimeout: 604800,
    OnUnauthenticatedRequest: 'authenticate',
  },
};

function forwardAction(weightA: number, weightB: number): Action {
  return {
    Type: 'forward',
    Order: 2,
    ForwardConfig: {
      TargetGroups: [
        { TargetGroupArn: TG_A, Weight: weightA },
        { TargetGroupArn: TG_B, Weight: weightB },
      ],
      TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
    },
  };
}

function rule(weightA: number, weightB: number): Rule {
  return {
    RuleArn: RULE,
    Priority: '10',
    IsDefault: false,
    // As DescribeRules returns them: host-header with both the legacy Values and the typed config.
    Conditions: [
      { Field: 'host-header', Values: ['api.example.com'], HostHeaderConfig: { Values: ['api.example.com'] } },
      { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['0'] } },
      { Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } },
    ],
    Actions: [oidcAction, forwardAction(weightA, weightB)],
  };
}

describe('pure helpers', () => {
  it.each<[string, { Key?: string }[], boolean]>([
    ['cluster tag', [{ Key: 'elbv2.k8s.aws/cluster' }], true],
    ['ingress stack tag', [{ Key: 'Name' }, { Key: 'ingress.k8s.aws/stack' }], true],
    ['ingress resource tag', [{ Key: 'ingress.k8s.aws/resource' }], true],
    ['user tags only', [{ Key: 'team' }, { Key: 'kubernetes.io/cluster/prod' }], false],
    ['no tags', [], false],
  ])('isManagedByController: %s', (_case, tags, managed) => {
    expect(isManagedByController(tags)).toBe(managed);
  });

  it('readForwardWeights reads ForwardConfig, or the legacy TargetGroupArn as weight 1', () => {
    expect(readForwardWeights(forwardAction(80, 20))).toEqual([
      { targetGroupArn: TG_A, weight: 80 },
      { targetGroupArn: TG_B, weight: 20 },
    ]);
    expect(readForwardWeights({ Type: 'forward', TargetGroupArn: TG_A })).toEqual([{ targetGroupArn: TG_A, weight: 1 }]);
  });

  it.each<[string, [number, number], { targetGroupArn: string; weight: number }[], [number, number] | RegExp]>([
    ['replaces both weights', [80, 20], [{ targetGroupArn: TG_A, weight: 50 }, { targetGroupArn: TG_B, weight: 50 }], [50, 50]],
    ['keeps unmentioned groups', [80, 20], [{ targetGroupArn: TG_B, weight: 40 }], [80, 40]],
    ['rejects a group not in the action', [80, 20], [{ targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1', weight: 10 }], /not in the forward action/],
    ['rejects a weight above 999', [80, 20], [{ targetGroupArn: TG_A, weight: 1000 }], /integer in \[0, 999\]/],
    ['rejects a fractional weight', [80, 20], [{ targetGroupArn: TG_A, weight: 1.5 }], /integer in \[0, 999\]/],
    ['rejects all zero', [80, 0], [{ targetGroupArn: TG_A, weight: 0 }], /sending traffic nowhere/],
  ])('mergeWeights: %s', (_case, [a, b], requested, expected) => {
    const current = [
      { targetGroupArn: TG_A, weight: a },
      { targetGroupArn: TG_B, weight: b },
    ];
    if (expected instanceof RegExp) {
      expect(() => mergeWeights(current, requested, 'rule')).toThrow(expected);
    } else {
      expect(mergeWeights(current, requested, 'rule')).toEqual([
        { targetGroupArn: TG_A, weight: expected[0] },
        { targetGroupArn: TG_B, weight: expected[1] },
      ]);
    }
  });

  it('computeModifiedActions changes only the weights: order, other actions, stickiness kept; OIDC secret kept by reference', () => {
    const weights = [
      { targetGroupArn: TG_A, weight: 30 },
      { targetGroupArn: TG_B, weight: 70 },
    ];
    expect(computeModifiedActions([oidcAction, forwardAction(80, 20)], weights)).toEqual([
      { ...oidcAction, AuthenticateOidcConfig: { ...oidcAction.AuthenticateOidcConfig, UseExistingClientSecret: true } },
      forwardAction(30, 70),
    ]);
  });

  it('computeModifiedActions drops the legacy TargetGroupArn beside a multi-group ForwardConfig', () => {
    const legacy: Action = { Type: 'forward', TargetGroupArn: TG_A, ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG_A, Weight: 1 }], TargetGroupStickinessConfig: { Enabled: false } } };
    expect(computeModifiedActions([legacy], [{ targetGroupArn: TG_A, weight: 5 }])).toEqual([
      { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG_A, Weight: 5 }], TargetGroupStickinessConfig: { Enabled: false } } },
    ]);
  });

  it.each([
    [{ Field: 'host-header', Values: ['a.example.com'], HostHeaderConfig: { Values: ['a.example.com'] } }, { Field: 'host-header', HostHeaderConfig: { Values: ['a.example.com'] } }],
    [{ Field: 'path-pattern', Values: ['/api/*'], PathPatternConfig: { Values: ['/api/*'] } }, { Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
    [{ Field: 'path-pattern', Values: ['/api/*'] }, { Field: 'path-pattern', Values: ['/api/*'] }],
    [{ Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET'] } }, { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET'] } }],
  ])('prepareConditionForWrite(%j)', (condition, written) => {
    expect(prepareConditionForWrite(condition)).toEqual(written);
  });

  it.each([
    ['initial', 'initial'],
    ['healthy', 'healthy'],
    ['unhealthy', 'unhealthy'],
    ['unused', 'unused'],
    ['draining', 'draining'],
    ['unavailable', 'unavailable'],
    ['unhealthy.draining', 'draining'],
    [undefined, 'unavailable'],
  ])('mapTargetHealthState(%s) = %s', (state, mapped) => {
    expect(mapTargetHealthState(state)).toBe(mapped);
  });

  it('countTargetHealth counts every state, zero included', () => {
    expect(countTargetHealth([{ TargetHealth: { State: 'healthy' } }, { TargetHealth: { State: 'healthy' } }, { TargetHealth: { State: 'initial' } }, { TargetHealth: { State: 'unhealthy.draining' } }])).toEqual({
      initial: 1,
      healthy: 2,
      unhealthy: 0,
      unused: 0,
      draining: 1,
      unavailable: 0,
    });
  });
});

describe('ElbTraffic.describeRule', () => {
  it('reads a rule’s weights and its controller tags', async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [rule(80, 20)] });
    elb.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: RULE, Tags: [{ Key: 'ingress.k8s.aws/stack', Value: 'prod/gateway' }] }] });
    expect(await traffic.describeRule(LISTENER, RULE)).toEqual({
      listenerArn: LISTENER,
      ruleArn: RULE,
      weights: [
        { targetGroupArn: TG_A, weight: 80 },
        { targetGroupArn: TG_B, weight: 20 },
      ],
      managedByController: true,
    });
    expect(elb.commandCalls(DescribeRulesCommand)[0]!.args[0].input).toEqual({ RuleArns: [RULE] });
    expect(elb.commandCalls(DescribeTagsCommand)[0]!.args[0].input).toEqual({ ResourceArns: [RULE] });
  });

  it('reads the listener default action when there is no rule ARN', async () => {
    elb.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: [forwardAction(60, 40)] }] });
    elb.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: LISTENER, Tags: [{ Key: 'team', Value: 'platform' }] }] });
    const state = await traffic.describeRule(LISTENER, undefined);
    expect(state).toMatchObject({ ruleArn: undefined, managedByController: false, weights: [{ targetGroupArn: TG_A, weight: 60 }, { targetGroupArn: TG_B, weight: 40 }] });
    expect(elb.commandCalls(DescribeListenersCommand)[0]!.args[0].input).toEqual({ ListenerArns: [LISTENER] });
    expect(elb.commandCalls(DescribeTagsCommand)[0]!.args[0].input).toEqual({ ResourceArns: [LISTENER] });
    expect(elb.commandCalls(DescribeRulesCommand)).toHaveLength(0);
  });

  it('a missing rule is not-found', async () => {
    elb.on(DescribeRulesCommand).rejects(new RuleNotFoundException({ message: 'One or more rules not found', $metadata: { httpStatusCode: 400 } }));
    await expect(traffic.describeRule(LISTENER, RULE)).rejects.toMatchObject({ code: 'not-found', message: expect.stringContaining(`ELBv2 DescribeRules ${RULE} failed`) });
  });
});

describe('ElbTraffic.setWeights', () => {
  const newWeights = [
    { targetGroupArn: TG_A, weight: 30 },
    { targetGroupArn: TG_B, weight: 70 },
  ];

  it('ModifyRule copies every condition and other action and the stickiness config, changing only the weights', async () => {
    elb.on(DescribeRulesCommand).resolvesOnce({ Rules: [rule(80, 20)] }).resolves({ Rules: [rule(30, 70)] });
    elb.on(ModifyRuleCommand).resolves({ Rules: [rule(30, 70)] });
    await traffic.setWeights(LISTENER, RULE, newWeights);
    const calls = elb.commandCalls(ModifyRuleCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      RuleArn: RULE,
      Conditions: [
        // typed config kept, legacy Values dropped (ModifyRule rejects both)
        { Field: 'host-header', HostHeaderConfig: { Values: ['api.example.com'] } },
        { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Canary', Values: ['0'] } },
        { Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } },
      ],
      Actions: [
        { ...oidcAction, AuthenticateOidcConfig: { ...oidcAction.AuthenticateOidcConfig, UseExistingClientSecret: true } },
        {
          Type: 'forward',
          Order: 2,
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: TG_A, Weight: 30 },
              { TargetGroupArn: TG_B, Weight: 70 },
            ],
            TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
          },
        },
      ],
    });
    // read before, read back after
    expect(elb.commandCalls(DescribeRulesCommand)).toHaveLength(2);
    expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(0);
  });

  it('ModifyListener for the default action, other default actions kept', async () => {
    const fixed: Action = { Type: 'authenticate-cognito', Order: 1, AuthenticateCognitoConfig: { UserPoolArn: 'arn:aws:cognito-idp:eu-west-1:123456789012:userpool/x', UserPoolClientId: 'c', UserPoolDomain: 'd' } };
    elb.on(DescribeListenersCommand)
      .resolvesOnce({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: [fixed, forwardAction(80, 20)] }] })
      .resolves({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: [fixed, forwardAction(30, 70)] }] });
    elb.on(ModifyListenerCommand).resolves({});
    await traffic.setWeights(LISTENER, undefined, newWeights);
    expect(elb.commandCalls(ModifyListenerCommand)[0]!.args[0].input).toEqual({ ListenerArn: LISTENER, DefaultActions: [fixed, forwardAction(30, 70)] });
    expect(elb.commandCalls(ModifyRuleCommand)).toHaveLength(0);
  });

  it('a rule ARN that is the listener’s default rule is written through ModifyListener', async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: RULE, IsDefault: true, Priority: 'default', Conditions: [], Actions: [forwardAction(80, 20)] }] });
    elb.on(DescribeListenersCommand)
      .resolvesOnce({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: [forwardAction(80, 20)] }] })
      .resolves({ Listeners: [{ ListenerArn: LISTENER, DefaultActions: [forwardAction(30, 70)] }] });
    elb.on(ModifyListenerCommand).resolves({});
    await traffic.setWeights(LISTENER, RULE, newWeights);
    expect(elb.commandCalls(ModifyListenerCommand)).toHaveLength(1);
    expect(elb.commandCalls(ModifyRuleCommand)).toHaveLength(0);
  });

  it('makes no call when the weights already match', async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [rule(30, 70)] });
    await traffic.setWeights(LISTENER, RULE, newWeights);
    expect(elb.commandCalls(ModifyRuleCommand)).toHaveLength(0);
  });

  it('a read-back that differs is a retryable conflict', async () => {
    elb.on(DescribeRulesCommand).resolvesOnce({ Rules: [rule(80, 20)] }).resolves({ Rules: [rule(80, 20)] });
    elb.on(ModifyRuleCommand).resolves({});
    await expect(traffic.setWeights(LISTENER, RULE, newWeights)).rejects.toMatchObject({
      code: 'conflict',
      retryable: true,
      message: `rule ${RULE} reads back weights [gateway-general=80, gateway-spot=20] instead of [gateway-general=30, gateway-spot=70]: another writer changed it`,
    });
  });

  it('a rule without a forward action is a validation error, nothing written', async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: RULE, Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '503' } }] }] });
    await expect(traffic.setWeights(LISTENER, RULE, newWeights)).rejects.toMatchObject({ code: 'validation', retryable: false });
    expect(elb.commandCalls(ModifyRuleCommand)).toHaveLength(0);
  });

  it('throttling on ModifyRule is retryable', async () => {
    elb.on(DescribeRulesCommand).resolves({ Rules: [rule(80, 20)] });
    elb.on(ModifyRuleCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }));
    await expect(traffic.setWeights(LISTENER, RULE, newWeights)).rejects.toMatchObject({ code: 'throttling', retryable: true });
  });
});

describe('ElbTraffic.describeTargetHealth', () => {
  it('counts targets per state', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: 'i-1', Port: 80 }, TargetHealth: { State: 'healthy' } },
        { Target: { Id: 'i-2', Port: 80 }, TargetHealth: { State: 'unhealthy', Reason: 'Target.FailedHealthChecks' } },
        { Target: { Id: 'i-3', Port: 80 }, TargetHealth: { State: 'draining' } },
      ],
    });
    expect(await traffic.describeTargetHealth(TG_A)).toEqual({ targetGroupArn: TG_A, counts: { initial: 0, healthy: 1, unhealthy: 1, unused: 0, draining: 1, unavailable: 0 } });
    expect(elb.commandCalls(DescribeTargetHealthCommand)[0]!.args[0].input).toEqual({ TargetGroupArn: TG_A });
  });

  it('a missing target group is not-found', async () => {
    elb.on(DescribeTargetHealthCommand).rejects(Object.assign(new Error('Target groups not found'), { name: 'TargetGroupNotFoundException', $metadata: { httpStatusCode: 400 } }));
    await expect(traffic.describeTargetHealth(TG_A)).rejects.toMatchObject({ code: 'not-found' });
  });
});
