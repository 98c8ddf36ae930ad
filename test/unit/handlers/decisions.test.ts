import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../../lib/config/load.ts';
import type { PrescaleConfig } from '../../../lib/config/schema.ts';
import { routeAlarm } from '../../../lib/handlers/alarm.ts';
import { computeEmergencyTarget, emergencyRefusal, planEmergency, withBookkeeping } from '../../../lib/handlers/emergency.ts';
import { batchEntryId, chunk, planFanOut } from '../../../lib/handlers/fanout.ts';
import { alarmEventSchema, emergencyPayloadSchema, schedulerEventSchema, type AlarmEvent } from '../../../lib/handlers/schemas.ts';
import type { GuardedCommand, GuardVerdict } from '../../../lib/core/commands.ts';

const example = loadConfigFile(new URL('../../../config/example.yaml', import.meta.url).pathname);
const renamed = (name: string): PrescaleConfig => ({ ...example, cluster: { ...example.cluster, name } });
const sample = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../../events/${name}.json`, import.meta.url), 'utf8'));
const scheduled = schedulerEventSchema.parse(sample('scheduled'));
const alarm = alarmEventSchema.parse(sample('alarm'));

describe('planFanOut', () => {
  it('one message per cluster, sorted, carrying the schedule ARN and time', () => {
    const messages = planFanOut([renamed('b'), renamed('a')], scheduled);
    expect(messages).toEqual([
      { cluster: 'a', trigger: 'scheduled', scheduleArn: scheduled.resources[0], scheduledTime: '2026-11-02T14:00:00Z' },
      { cluster: 'b', trigger: 'scheduled', scheduleArn: scheduled.resources[0], scheduledTime: '2026-11-02T14:00:00Z' },
    ]);
  });
  it('detail.clusters selects, and an unknown name is an error naming it', () => {
    expect(planFanOut([renamed('a'), renamed('b')], { ...scheduled, detail: { clusters: ['b'] } }).map((m) => m.cluster)).toEqual(['b']);
    expect(() => planFanOut([renamed('a')], { ...scheduled, detail: { clusters: ['zz'] } })).toThrow('detail.clusters names "zz", which is not a configured cluster (configured: a)');
  });
  it('chunks SQS batches of ten and makes valid entry ids', () => {
    // 23 messages → 10 + 10 + 3
    expect(chunk([...Array(23).keys()], 10).map((c) => c.length)).toEqual([10, 10, 3]);
    expect(batchEntryId(3, 'prod.eu/1')).toBe('3-prod_eu_1');
  });
});

describe('routeAlarm', () => {
  const withState = (value: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA', previous: 'OK' | 'ALARM' = 'OK'): AlarmEvent => ({
    ...alarm,
    detail: { ...alarm.detail, state: { ...alarm.detail.state, value }, previousState: { ...alarm.detail.previousState, value: previous } },
  });
  const otherMetric: AlarmEvent = {
    ...alarm,
    detail: { ...alarm.detail, alarmName: 'prescale-debate-prod-cpu', configuration: { metrics: [{ id: 'm1', metricStat: { metric: { namespace: 'AWS/EC2', name: 'CPUUtilization', dimensions: {} }, period: 60, stat: 'Average' } }] } },
  };
  it.each([
    ['matches a demand metric', alarm, [example], { action: 'run', clusters: ['debate-prod'] }],
    ['routes by name when the metric is not a demand metric', otherMetric, [example], { action: 'run', clusters: ['debate-prod'] }],
    ['ignores OK', withState('OK'), [example], { action: 'ignore' }],
    ['ignores INSUFFICIENT_DATA', withState('INSUFFICIENT_DATA'), [example], { action: 'ignore' }],
    ['ignores ALARM → ALARM (no transition)', withState('ALARM', 'ALARM'), [example], { action: 'ignore' }],
    ['ignores an alarm of nobody', { ...otherMetric, detail: { ...otherMetric.detail, alarmName: 'billing' } }, [example], { action: 'ignore' }],
    // prescale-debate-prod-cpu: the longer name debate-prod wins over debate.
    ['longest cluster name wins', otherMetric, [renamed('debate'), example], { action: 'run', clusters: ['debate-prod'] }],
  ])('%s', (_name, event, configs, expected) => {
    expect(routeAlarm(configs as PrescaleConfig[], event as AlarmEvent)).toMatchObject(expected);
  });
});

describe('emergency targets', () => {
  it.each([
    // [current, target, expected]
    [4, { set: 10 }, 10],
    [4, { change: 2 }, 6],
    [4, { change: -3 }, 1],
    [4, { change: -9 }, 0], // never below 0; the guard then clamps to minNodes
  ])('from %i with %j → %i', (current, target, expected) => {
    expect(computeEmergencyTarget(current, target)).toBe(expected);
  });

  it('plans a node group command with the requester and reason (and the override) in its reason', () => {
    const payload = emergencyPayloadSchema.parse({ ...(sample('emergency') as object), budgetOverride: { reason: 'finals night is worth it' } });
    const command = planEmergency(payload, example, { nodeGroup: { name: 'general', status: 'ACTIVE', desiredNodes: 4, minNodes: 3, maxNodes: 20, readyNodes: 4, bootingNodes: 0 } });
    expect(command).toEqual({
      kind: 'scale-node-group',
      cluster: 'debate-prod',
      nodeGroup: 'general',
      fromNodes: 4,
      toNodes: 6,
      reason: 'emergency by oncall@example.com: finals night: traffic doubling faster than the forecast (budget override: finals night is worth it)',
    });
  });

  it('plans a service floor from the observed HPA', () => {
    const payload = emergencyPayloadSchema.parse({ ...(sample('emergency') as object), nodeGroup: undefined, service: 'llm', target: { set: 5 } });
    const command = planEmergency(payload, example, { hpa: { namespace: 'debate', name: 'llm', minReplicas: 2, maxReplicas: 8, currentReplicas: 3, desiredReplicas: 3 } });
    expect(command).toMatchObject({ kind: 'set-hpa-floor', namespace: 'debate', service: 'llm', fromMinReplicas: 2, toMinReplicas: 5 });
  });
});

describe('emergencyRefusal', () => {
  const command = { kind: 'scale-node-group' as const, cluster: 'c', nodeGroup: 'web', fromNodes: 2, toNodes: 9, reason: 'emergency' };
  const verdict = (v: GuardVerdict, reason: string): GuardedCommand => ({ command, verdict: v, effective: v === 'deny' ? undefined : command, reason });
  const resend = 'send the request again with a new requestId and "budgetOverride": { "reason": "<why the spend is worth it>" }';
  it.each<[string, GuardedCommand, GuardedCommand, boolean, string | undefined]>([
    // [bounds verdict, merged verdict, override sent?, answer]
    ['allowed: carried out', verdict('allow', 'within bounds'), verdict('allow', 'budget: fits'), false, undefined],
    ['clamped: carried out', verdict('clamp', '9 is outside [1, 5]: clamped to 5'), verdict('clamp', 'bounds: …; budget: fits'), false, undefined],
    ['needs approval: refused, an emergency cannot wait for Slack', verdict('allow', 'within bounds'), verdict('needs-approval', 'budget: needs approval: capacity +350 %'), false, `not applied: budget: needs approval: capacity +350 %. An emergency request cannot wait for a Slack approval: to go ahead, ${resend}`],
    ['denied by the budget: the override is the way through', verdict('allow', 'within bounds'), verdict('deny', 'budget: over budget'), false, `not applied: budget: over budget. To go above the budget, ${resend}`],
    ['denied by the bounds: no override lifts them', verdict('deny', 'node group "web" is not in the configuration'), verdict('deny', 'node group "web" is not in the configuration'), false, 'not applied: node group "web" is not in the configuration'],
    ['denied with an override (no price): nothing more to send', verdict('allow', 'within bounds'), verdict('deny', 'budget: node group "web" has no price'), true, 'not applied: budget: node group "web" has no price'],
  ])('%s', (_name, bounded, guarded, hasOverride, expected) => {
    expect(emergencyRefusal(bounded, guarded, hasOverride)).toBe(expected);
  });
});

describe('withBookkeeping', () => {
  it.each<[string | undefined, string[], string | undefined]>([
    // [message, bookkeeping failures, audit message]
    [undefined, [], undefined],
    ['clamped to 20', [], 'clamped to 20'],
    [undefined, ['cooldown of web: throttling: slow down'], 'bookkeeping failed: cooldown of web: throttling: slow down'],
    ['clamped to 20', ['cooldown of web: stale: x', 'budget ledger: stale: x'], 'clamped to 20 [bookkeeping failed: cooldown of web: stale: x; budget ledger: stale: x]'],
  ])('%j with %j → %j', (message, notes, expected) => {
    expect(withBookkeeping(message, notes)).toBe(expected);
  });
});

