import { describe, expect, it } from 'vitest';
import type { TargetGroupWeight } from '../../../lib/core/commands.ts';
import { mulberry32 } from '../../../lib/core/random.ts';
import { planReweight, type ReweightInput } from '../../../lib/core/traffic/reweight.ts';
import { PrescaleError } from '../../../lib/errors.ts';
import { SteppedClock } from '../../../lib/sim/cloud.ts';
import {
  meanMinutesBetweenInterruptions,
  nodesReclaimedAt,
  nodesUnderNotice,
  planSpotInterruptions,
  SPOT_NOTICE_MINUTES,
  type SpotInterruption,
} from '../../../lib/sim/spot.ts';
import { SimTraffic, targetHealthCounts } from '../../../lib/sim/traffic.ts';
import { GENERAL, LISTENER, RULE, SPOT } from '../../support/gateway-rule.ts';

const MINUTE_MS = 60_000;
const even: TargetGroupWeight[] = [{ targetGroupArn: GENERAL, weight: 50 }, { targetGroupArn: SPOT, weight: 50 }];

describe('mulberry32', () => {
  it('matches the reference implementation (seed 1)', () => {
    const random = mulberry32(1);
    expect([random(), random(), random()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });

  it('stays in [0, 1)', () => {
    const random = mulberry32(123);
    for (let i = 0; i < 10_000; i++) {
      const value = random();
      expect(value >= 0 && value < 1).toBe(true);
    }
  });
});

describe('planSpotInterruptions', () => {
  const options = { seed: 42, startMinute: 0, endMinute: 240, meanMinutesBetween: 60, nodesPerInterruption: { min: 1, max: 6 } };

  it('is fixed by the seed: sorted, notice in range, reclaim two minutes later', () => {
    expect(planSpotInterruptions(options)).toEqual([
      { noticeMinute: 55, reclaimMinute: 57, nodes: 3 },
      { noticeMinute: 169, reclaimMinute: 171, nodes: 5 },
      { noticeMinute: 181, reclaimMinute: 183, nodes: 4 },
      { noticeMinute: 200, reclaimMinute: 202, nodes: 4 },
    ]);
    expect(planSpotInterruptions(options)).toEqual(planSpotInterruptions(options));
    expect(planSpotInterruptions({ ...options, seed: 43 })).not.toEqual(planSpotInterruptions(options));
  });

  it('averages the asked rate over a long horizon', () => {
    // 100 000 minutes / 60 ≈ 1667 interruptions; a Poisson count's sd is √1667 ≈ 41, so ±5 % is ±2 sd
    const count = planSpotInterruptions({ seed: 7, startMinute: 0, endMinute: 100_000, meanMinutesBetween: 60 }).length;
    expect(Math.abs(count - 100_000 / 60) / (100_000 / 60)).toBeLessThan(0.05);
  });

  it('every interruption has a 2-minute notice, nodes within bounds, minutes strictly increasing', () => {
    const plan = planSpotInterruptions({ ...options, endMinute: 10_000, meanMinutesBetween: 5 });
    expect(SPOT_NOTICE_MINUTES).toBe(2);
    plan.forEach((interruption, i) => {
      expect(interruption.reclaimMinute - interruption.noticeMinute).toBe(2);
      expect(interruption.noticeMinute).toBeGreaterThanOrEqual(0);
      expect(interruption.noticeMinute).toBeLessThan(10_000);
      expect(interruption.nodes).toBeGreaterThanOrEqual(1);
      if (i > 0) expect(interruption.noticeMinute).toBeGreaterThan(plan[i - 1]!.noticeMinute);
    });
  });

  it.each<[string, Parameters<typeof meanMinutesBetweenInterruptions>[0], number]>([
    ['a mean gap', { seed: 1, startMinute: 0, endMinute: 1, meanMinutesBetween: 30 }, 30],
    // 0.05 / node-hour × 10 nodes = 0.5 / hour → 60 / 0.5 = 120 minutes
    ['a rate per node-hour', { seed: 1, startMinute: 0, endMinute: 1, ratePerNodeHour: 0.05, nodes: 10 }, 120],
    ['no spot nodes: never', { seed: 1, startMinute: 0, endMinute: 1, ratePerNodeHour: 0.05, nodes: 0 }, Number.POSITIVE_INFINITY],
  ])('mean minutes between: %s', (_name, spot, expected) => {
    expect(meanMinutesBetweenInterruptions(spot)).toBe(expected);
  });

  it('no spot nodes: no interruptions', () => {
    expect(planSpotInterruptions({ seed: 1, startMinute: 0, endMinute: 10_000, ratePerNodeHour: 0.05, nodes: 0 })).toEqual([]);
  });

  it.each<[string, Parameters<typeof planSpotInterruptions>[0]]>([
    ['neither mean nor rate', { seed: 1, startMinute: 0, endMinute: 10 }],
    ['both mean and rate', { seed: 1, startMinute: 0, endMinute: 10, meanMinutesBetween: 5, ratePerNodeHour: 1, nodes: 1 }],
    ['a rate without nodes', { seed: 1, startMinute: 0, endMinute: 10, ratePerNodeHour: 1 }],
    ['a zero mean', { seed: 1, startMinute: 0, endMinute: 10, meanMinutesBetween: 0 }],
    ['min above max nodes', { seed: 1, startMinute: 0, endMinute: 10, meanMinutesBetween: 5, nodesPerInterruption: { min: 3, max: 2 } }],
  ])('rejects %s', (_name, spot) => {
    expect(() => planSpotInterruptions(spot)).toThrow(PrescaleError);
  });

  it('nodes under notice and reclaimed, minute by minute', () => {
    const plan: SpotInterruption[] = [
      { noticeMinute: 10, reclaimMinute: 12, nodes: 2 },
      { noticeMinute: 11, reclaimMinute: 13, nodes: 1 },
    ];
    expect([9, 10, 11, 12, 13].map((m) => nodesUnderNotice(plan, m))).toEqual([0, 2, 3, 1, 0]);
    expect([11, 12, 13].map((m) => nodesReclaimedAt(plan, m))).toEqual([0, 2, 1]);
  });
});

describe('targetHealthCounts', () => {
  it.each<[string, { ready: number; booting: number; draining: number; unhealthy: number }, number, Record<string, number>]>([
    ['all ready', { ready: 6, booting: 0, draining: 0, unhealthy: 0 }, 1, { healthy: 6 }],
    // 4 pods a node: 6 × 4 healthy, 2 × 4 initial
    ['IP targets, some booting', { ready: 6, booting: 2, draining: 0, unhealthy: 0 }, 4, { healthy: 24, initial: 8 }],
    // 6 ready: 2 draining, 1 unhealthy, 3 healthy
    ['a notice and a bad node', { ready: 6, booting: 0, draining: 2, unhealthy: 1 }, 1, { healthy: 3, draining: 2, unhealthy: 1 }],
    // draining cannot exceed the ready nodes; unhealthy gets what is left (none)
    ['more noticed than ready', { ready: 2, booting: 0, draining: 5, unhealthy: 3 }, 1, { draining: 2 }],
  ])('%s', (_name, nodes, perNode, expected) => {
    expect(targetHealthCounts(nodes, perNode)).toEqual({ initial: 0, healthy: 0, unhealthy: 0, unused: 0, draining: 0, unavailable: 0, ...expected });
  });
});

function createTraffic(nodes: { ready: Record<string, number>; draining?: Record<string, number> }, clock = new SteppedClock(0)) {
  const traffic = new SimTraffic({
    clock,
    readyNodes: (g) => nodes.ready[g] ?? 0,
    drainingNodes: (g) => nodes.draining?.[g] ?? 0,
  });
  traffic.addTargetGroup({ arn: GENERAL, nodeGroup: 'general' });
  traffic.addTargetGroup({ arn: SPOT, nodeGroup: 'spot' });
  traffic.addRule({ listenerArn: LISTENER, ruleArn: RULE, weights: even });
  return traffic;
}

describe('SimTraffic', () => {
  it('describes rules and target health from node state, records weight changes', async () => {
    const clock = new SteppedClock(5 * MINUTE_MS);
    const nodes = { ready: { general: 6, spot: 4 }, draining: { spot: 1 } };
    const traffic = createTraffic(nodes, clock);
    expect(await traffic.describeRule(LISTENER, RULE)).toEqual({ listenerArn: LISTENER, ruleArn: RULE, weights: even, managedByController: false });
    expect((await traffic.describeTargetHealth(SPOT)).counts).toEqual({ initial: 0, healthy: 3, unhealthy: 0, unused: 0, draining: 1, unavailable: 0 });
    nodes.draining.spot = 0;
    expect((await traffic.describeTargetHealth(SPOT)).counts.healthy).toBe(4);
    await traffic.setWeights(LISTENER, RULE, [{ targetGroupArn: GENERAL, weight: 70 }, { targetGroupArn: SPOT, weight: 30 }]);
    expect(traffic.weights(LISTENER, RULE).map((w) => w.weight)).toEqual([70, 30]);
    expect(traffic.calls).toEqual([{ atMs: 5 * MINUTE_MS, listenerArn: LISTENER, ruleArn: RULE, weights: [{ targetGroupArn: GENERAL, weight: 70 }, { targetGroupArn: SPOT, weight: 30 }] }]);
  });

  it.each<[string, TargetGroupWeight[], string]>([
    ['a weight above 999', [{ targetGroupArn: GENERAL, weight: 1000 }], 'validation'],
    ['a fractional weight', [{ targetGroupArn: GENERAL, weight: 1.5 }], 'validation'],
    ['no target group', [], 'validation'],
    ['a target group twice', [{ targetGroupArn: GENERAL, weight: 1 }, { targetGroupArn: GENERAL, weight: 2 }], 'validation'],
    ['an unknown target group', [{ targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/1', weight: 1 }], 'not-found'],
  ])('rejects %s like ELBv2', async (_name, weights, code) => {
    const traffic = createTraffic({ ready: {} });
    await expect(traffic.setWeights(LISTENER, RULE, weights)).rejects.toMatchObject({ code });
    expect(traffic.calls).toEqual([]);
  });

  it('unknown rule and target group are not-found', async () => {
    const traffic = createTraffic({ ready: {} });
    await expect(traffic.describeRule(LISTENER, `${RULE}x`)).rejects.toMatchObject({ code: 'not-found' });
    await expect(traffic.describeTargetHealth('tg')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses to set weights on a controller-managed rule', async () => {
    const traffic = createTraffic({ ready: {} });
    traffic.addRule({ listenerArn: LISTENER, ruleArn: undefined, weights: even, managedByController: true });
    expect((await traffic.describeRule(LISTENER, undefined)).managedByController).toBe(true);
    await expect(traffic.setWeights(LISTENER, undefined, even)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('alb.ingress.kubernetes.io/actions.<name>') });
  });
});

/**
 * A minute-by-minute loop of the reweight handler against the simulated ALB:
 * spot nodes noticed at `noticeMinute` drain, are gone at `reclaimMinute`, and
 * replacements serve `bootMinutes` later.
 */
async function simulate(interruption: SpotInterruption, spotNodes: number, minutes: number, bootMinutes = 3) {
  const clock = new SteppedClock(0);
  const interruptions = [interruption];
  let minute = 0;
  const spotReady = (): number => {
    if (minute < interruption.reclaimMinute) return spotNodes;
    return minute < interruption.reclaimMinute + bootMinutes ? spotNodes - interruption.nodes : spotNodes;
  };
  const traffic = new SimTraffic({
    clock,
    readyNodes: (g) => (g === 'spot' ? spotReady() : 6),
    bootingNodes: (g) => (g === 'spot' ? spotNodes - spotReady() : 0),
    drainingNodes: (g) => (g === 'spot' ? nodesUnderNotice(interruptions, minute) : 0),
  });
  traffic.addTargetGroup({ arn: GENERAL, nodeGroup: 'general' });
  traffic.addTargetGroup({ arn: SPOT, nodeGroup: 'spot' });
  traffic.addRule({ listenerArn: LISTENER, ruleArn: RULE, weights: even });
  const rule: ReweightInput['rule'] = {
    name: 'gateway',
    listenerArn: LISTENER,
    ruleArn: RULE,
    targetGroups: [
      { arn: GENERAL, nodeGroup: 'general', minWeight: 10, maxWeight: 999 },
      { arn: SPOT, nodeGroup: 'spot', minWeight: 0, maxWeight: 60 },
    ],
    maxStepPoints: 20,
    hysteresisPoints: 5,
  };
  const spotWeights: number[] = [];
  for (minute = 0; minute < minutes; minute++) {
    clock.set(minute * MINUTE_MS);
    const state = await traffic.describeRule(LISTENER, RULE);
    const observations = await Promise.all(rule.targetGroups.map((tg) => traffic.describeTargetHealth(tg.arn)));
    const command = planReweight({ cluster: 'debate-prod', rule, state, observations });
    if (command !== undefined) await traffic.setWeights(command.listenerArn, command.ruleArn, command.toWeights);
    spotWeights.push(traffic.weights(LISTENER, RULE).find((w) => w.targetGroupArn === SPOT)!.weight);
  }
  return { spotWeights, calls: traffic.calls };
}

describe('a spot interruption in the simulation (general 6 nodes, spot 6, step 20, runs every minute)', () => {
  it('the whole spot group noticed: its weight is 0 from the notice minute, before the reclaim, and comes back in steps', async () => {
    const [interruption] = planSpotInterruptions({ seed: 42, startMinute: 0, endMinute: 240, meanMinutesBetween: 60, nodesPerInterruption: { min: 6, max: 6 } });
    expect(interruption).toEqual({ noticeMinute: 55, reclaimMinute: 57, nodes: 6 });
    const { spotWeights, calls } = await simulate(interruption!, 6, 70);
    // 50 until the notice; 0 at the notice minute (55) and the next (56), before the nodes go at 57;
    // replacements boot 57..59 (initial), serve at 60: 0 → 20 → 40 → 50 (steps of 20, the last gap 10)
    expect(spotWeights.slice(50, 65)).toEqual([50, 50, 50, 50, 50, 0, 0, 0, 0, 0, 20, 40, 50, 50, 50]);
    expect(spotWeights[interruption!.reclaimMinute - 1]).toBe(0);
    expect(calls.map((c) => c.atMs / MINUTE_MS)).toEqual([55, 56, 57, 60, 61, 62]);
    // general moves 50 → 70 → 90 → 100 while spot is out, then back: never more than 20 a run
    expect(calls.map((c) => c.weights.map((w) => w.weight))).toEqual([
      [70, 0],
      [90, 0],
      [100, 0],
      [80, 20],
      [60, 40],
      [50, 50],
    ]);
  });

  it('part of the spot group noticed: weight moves off in proportion before the reclaim', async () => {
    // 2 of 6 spot nodes draining: 6 : 4 → 60 / 40, one step at the notice minute
    const { spotWeights } = await simulate({ noticeMinute: 10, reclaimMinute: 12, nodes: 2 }, 6, 20);
    expect(spotWeights.slice(8, 20)).toEqual([50, 50, 40, 40, 40, 40, 40, 50, 50, 50, 50, 50]);
  });
});
