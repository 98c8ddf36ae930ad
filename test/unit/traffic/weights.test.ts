import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TargetGroupWeight } from '../../../lib/core/commands.ts';
import {
  boundsOf,
  describeCounts,
  distributeWithinBounds,
  planWeights,
  roundPoints,
  stepToward,
  targetGroupName,
  type PlanWeightsInput,
  type TargetGroupPlanInput,
} from '../../../lib/core/traffic/weights.ts';
import type { TargetHealthState } from '../../../lib/ports.ts';
import { GENERAL as A, SPOT as B } from '../../support/gateway-rule.ts';

const C = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gateway-canary/0000000000000001';

type Counts = Record<TargetHealthState, number>;
function counts(partial: Partial<Counts>): Counts {
  return { initial: 0, healthy: 0, unhealthy: 0, unused: 0, draining: 0, unavailable: 0, ...partial };
}
function group(arn: string, partial: Partial<Counts>, extra: Partial<TargetGroupPlanInput> = {}): TargetGroupPlanInput {
  return { targetGroupArn: arn, counts: counts(partial), minWeight: 0, maxWeight: 999, ...extra };
}
function weights(...pairs: [string, number][]): TargetGroupWeight[] {
  return pairs.map(([targetGroupArn, weight]) => ({ targetGroupArn, weight }));
}
const noSlo = { p95Seconds: undefined, max5xxPercent: undefined };
function input(groups: TargetGroupPlanInput[], current: TargetGroupWeight[], overrides: Partial<PlanWeightsInput> = {}): PlanWeightsInput {
  return { groups, currentWeights: current, maxStepPoints: 20, hysteresisPoints: 5, slo: noSlo, ...overrides };
}
const values = (ws: readonly TargetGroupWeight[]) => ws.map((w) => w.weight);

describe('small rules', () => {
  it.each<[number, number, number, number]>([
    // 50 − 20
    [50, 0, 20, 30],
    [0, 50, 20, 20],
    // gap 5 ≤ step: lands on the target
    [45, 50, 20, 50],
    [50, 50, 20, 50],
  ])('stepToward(%s → %s, step %s) = %s', (current, target, step, expected) => {
    expect(stepToward(current, target, step)).toBe(expected);
  });

  it.each<[number[], number[]]>([
    // 100 / 3 = 33.33 each; floors 99, one point left → the first (ties go to the earlier group)
    [[100 / 3, 100 / 3, 100 / 3], [34, 33, 33]],
    // 66.67 / 33.33: floors 66 + 33, the larger remainder (.67) gets the point
    [[200 / 3, 100 / 3], [67, 33]],
    [[60, 40], [60, 40]],
  ])('roundPoints(%j) = %j', (real, expected) => {
    expect(roundPoints(real, real.map(() => ({ minPoints: 0, maxPoints: 999 })))).toEqual(expected);
  });

  it('roundPoints keeps a group at its cap even when its remainder is the largest', () => {
    // 30.9 is capped at 30 (integers), so the point goes to the other one: 30 + 70
    expect(roundPoints([30, 69.9], [{ minPoints: 0, maxPoints: 30 }, { minPoints: 0, maxPoints: 999 }])).toEqual([30, 70]);
  });

  it.each<[string, number[], [number, number][], number[]]>([
    ['proportional when no bound binds', [1, 3], [[0, 999], [0, 999]], [25, 75]],
    // B wants 90, capped at 60; the 30 over goes to A: λ = 40 → A = 40
    ['a cap pushes the rest to the others', [1, 9], [[10, 999], [0, 60]], [40, 60]],
    // A at its floor 10 while λ < 10: 10 + 99λ = 100 → λ = 0.909, B = 90
    ['a floor takes from the others', [1, 99], [[10, 999], [0, 999]], [10, 90]],
    // floors 70 + 50 = 120 > 100: every group at its floor (ALB reads them as relative)
    ['floors above the total', [1, 1], [[70, 999], [50, 999]], [70, 50]],
    // caps 30 + 20 = 50 < 100: every group at its cap
    ['caps short of the total', [1, 1], [[0, 30], [0, 20]], [30, 20]],
    ['a zero score gets its floor', [0, 1], [[5, 999], [0, 999]], [5, 95]],
  ])('distributeWithinBounds: %s', (_name, scores, bounds, expected) => {
    const real = distributeWithinBounds(scores, bounds.map(([minPoints, maxPoints]) => ({ minPoints, maxPoints })), 100);
    real.forEach((value, i) => expect(value).toBeCloseTo(expected[i]!, 9));
  });

  it('boundsOf: a floor above the cap means the cap; values stay in ALB range', () => {
    expect(boundsOf(50, 30)).toEqual({ minPoints: 30, maxPoints: 30 });
    expect(boundsOf(0, 5000)).toEqual({ minPoints: 0, maxPoints: 999 });
  });

  it('names and counts for reasons', () => {
    expect(targetGroupName(B)).toBe('gateway-spot');
    expect(targetGroupName('tg-1')).toBe('tg-1');
    expect(describeCounts(counts({ healthy: 4, draining: 2 }))).toBe('healthy 4, draining 2');
    expect(describeCounts(counts({}))).toBe('no targets');
  });
});

describe('planWeights over target health states (A healthy 6, B in one state, from 50/50, step 20)', () => {
  it.each<[string, Partial<Counts>, number[], boolean]>([
    // 6 : 6 → 50 / 50: no gap
    ['B healthy', { healthy: 6 }, [50, 50], false],
    // B has no healthy target → 0 at once; A heads to 100 but moves at most 20: 50 + 20
    ['B initial (booting)', { initial: 6 }, [70, 0], true],
    ['B unhealthy', { unhealthy: 6 }, [70, 0], true],
    ['B unused', { unused: 6 }, [70, 0], true],
    ['B draining (spot notice)', { draining: 6 }, [70, 0], true],
    ['B unavailable (no health signal)', { unavailable: 6 }, [70, 0], true],
    ['B has no targets at all', {}, [70, 0], true],
    // 6 : 4 → 60 / 40, gap 10 ≥ hysteresis 5, within step
    ['B partly unhealthy', { healthy: 4, unhealthy: 2 }, [60, 40], true],
    // 6 : 3 → 66.67 / 33.33 → 67 / 33 (largest remainder), gap 17 ≤ step 20
    ['B half draining', { healthy: 3, draining: 3 }, [67, 33], true],
    // 6 : 6 healthy; initial targets do not count yet
    ['B healthy with new targets still initial', { healthy: 6, initial: 4 }, [50, 50], false],
  ])('%s → %j', (_name, bCounts, expected, changed) => {
    const plan = planWeights(input([group(A, { healthy: 6 }), group(B, bCounts)], weights([A, 50], [B, 50])));
    expect(values(plan.weights)).toEqual(expected);
    expect(plan.changed).toBe(changed);
  });

  it('a dead group drops to 0 at once even from far above the step and inside the hysteresis band', () => {
    // B carries 90 (> step 20) and would otherwise be held: dead groups move regardless
    const plan = planWeights(input([group(A, { healthy: 6 }), group(B, { draining: 6 })], weights([A, 10], [B, 90]), { hysteresisPoints: 999 }));
    expect(values(plan.weights)).toEqual([30, 0]);
    expect(plan.reason).toContain('gateway-spot: draining 6, target 0, 90 → 0, (no healthy target: off at once)');
  });

  it('a dead group gets 0 regardless of its floor', () => {
    const plan = planWeights(input([group(A, { healthy: 6 }), group(B, { unhealthy: 6 }, { minWeight: 40 })], weights([A, 50], [B, 50])));
    expect(plan.targetWeights).toEqual(weights([A, 100], [B, 0]));
  });
});

describe('fail open', () => {
  it.each<[string, Partial<Counts>, Partial<Counts>]>([
    ['every group unhealthy', { unhealthy: 6 }, { unhealthy: 6 }],
    ['every group draining or initial', { draining: 3, initial: 2 }, { initial: 6 }],
    ['no targets anywhere', {}, {}],
    ['health checks disabled everywhere', { unavailable: 6 }, { unavailable: 6 }],
  ])('%s: the last weights stay', (_name, aCounts, bCounts) => {
    const plan = planWeights(input([group(A, aCounts), group(B, bCounts)], weights([A, 70], [B, 30])));
    expect(plan.weights).toEqual(weights([A, 70], [B, 30]));
    expect(plan.changed).toBe(false);
    expect(plan.reason).toMatch(/^no target group has a healthy target, keeping the last weights \(fail open, as ALB does\)/);
  });

  it('every healthy group capped at 0: the last weights stay', () => {
    const plan = planWeights(input([group(A, { healthy: 6 }, { maxWeight: 0 }), group(B, { unhealthy: 6 })], weights([A, 0], [B, 100])));
    expect(plan.changed).toBe(false);
    expect(plan.weights).toEqual(weights([A, 0], [B, 100]));
  });
});

/** Runs planWeights repeatedly, feeding each run's weights to the next. */
function run(groupsPerRun: TargetGroupPlanInput[][], start: TargetGroupWeight[], overrides: Partial<PlanWeightsInput> = {}): number[][] {
  let current = start;
  return groupsPerRun.map((groups) => {
    current = planWeights(input(groups, current, overrides)).weights;
    return values(current);
  });
}

describe('recovery and flapping', () => {
  it('recovery: weight comes back at most 20 points a run, then holds', () => {
    const healthy = [group(A, { healthy: 6 }), group(B, { healthy: 6 })];
    // target 50/50 from 100/0: 0 → 20 → 40 → 50 (last gap 10 < step), then no gap
    expect(run([healthy, healthy, healthy, healthy], weights([A, 100], [B, 0]))).toEqual([
      [80, 20],
      [60, 40],
      [50, 50],
      [50, 50],
    ]);
  });

  it('recovery stops short of the target by less than the hysteresis', () => {
    const healthy = [group(A, { healthy: 6 }), group(B, { healthy: 6 })];
    // from 100/0 with step 16: 84/16, 68/32, 52/48, then gap 2 < 5: holds at 52/48
    expect(run([healthy, healthy, healthy, healthy], weights([A, 100], [B, 0]), { maxStepPoints: 16 })).toEqual([
      [84, 16],
      [68, 32],
      [52, 48],
      [52, 48],
    ]);
  });

  it('flapping capacity inside the band: hysteresis holds the weights', () => {
    // B alternates 10 / 9 healthy against A's 10: targets 50/50 and 52.63/47.37 → 53/47, gaps 0 and 3 < 5
    const runs = Array.from({ length: 20 }, (_, i) => [group(A, { healthy: 10 }), group(B, { healthy: i % 2 === 0 ? 9 : 10 })]);
    const result = run(runs, weights([A, 50], [B, 50]));
    expect(result.every((w) => w[0] === 50 && w[1] === 50)).toBe(true);
  });

  it('the same input without hysteresis does flap (why the band exists)', () => {
    const runs = Array.from({ length: 4 }, (_, i) => [group(A, { healthy: 10 }), group(B, { healthy: i % 2 === 0 ? 9 : 10 })]);
    expect(run(runs, weights([A, 50], [B, 50]), { hysteresisPoints: 0 })).toEqual([
      [53, 47],
      [50, 50],
      [53, 47],
      [50, 50],
    ]);
  });

  it('flapping health (healthy ↔ draining): off at once, back gradually, never past the step on the way up', () => {
    const up = [group(A, { healthy: 6 }), group(B, { healthy: 6 })];
    const down = [group(A, { healthy: 6 }), group(B, { draining: 6 })];
    // 50/50 → B dead: 70/0 → healthy: target 50/50: 50/20 → dead: 70/0 → healthy: 50/20
    expect(run([down, up, down, up], weights([A, 50], [B, 50]))).toEqual([
      [70, 0],
      [50, 20],
      [70, 0],
      [50, 20],
    ]);
  });
});

describe('floors and caps (points out of 100, from the target, step and hysteresis out of the way)', () => {
  const wide = { maxStepPoints: 999, hysteresisPoints: 0 };
  it.each<[string, TargetGroupPlanInput[], number[]]>([
    // 1 : 9 → 10 / 90; B capped at 60, the 30 over goes to A
    ['cap', [group(A, { healthy: 1 }), group(B, { healthy: 9 }, { maxWeight: 60 })], [40, 60]],
    // 1 : 99 → 1 / 99; A floored at 10: 10 + 99λ = 100 → B 90
    ['floor (canary minimum)', [group(A, { healthy: 1 }, { minWeight: 10 }), group(B, { healthy: 99 })], [10, 90]],
    // A dead: 0 despite its floor; B alone but capped at 60 (ALB still sends it all the traffic)
    ['dead group and a cap', [group(A, {}, { minWeight: 10 }), group(B, { healthy: 6 }, { maxWeight: 60 })], [0, 60]],
    // floors 70 + 50 > 100: both at their floors
    ['floors above 100', [group(A, { healthy: 1 }, { minWeight: 70 }), group(B, { healthy: 1 }, { minWeight: 50 })], [70, 50]],
    // three alike: 33.33 each → 34 / 33 / 33
    ['three groups', [group(A, { healthy: 2 }), group(B, { healthy: 2 }), group(C, { healthy: 2 })], [34, 33, 33]],
    // capacity: A min(6 × 100, 600) = 600, B min(6 × 100, 200) = 200 → 75 / 25
    ['node group capacity bounds the targets', [group(A, { healthy: 6 }, { capacityPerTarget: 100, readyCapacity: 600 }), group(B, { healthy: 6 }, { capacityPerTarget: 100, readyCapacity: 200 })], [75, 25]],
    // no capacity signal (both 0): shares from healthy targets, 6 : 2 → 75 / 25
    ['fallback to healthy counts', [group(A, { healthy: 6 }, { readyCapacity: 0 }), group(B, { healthy: 2 }, { readyCapacity: 0 })], [75, 25]],
  ])('%s → %j', (_name, groups, expected) => {
    const plan = planWeights(input(groups, groups.map((g) => ({ targetGroupArn: g.targetGroupArn, weight: 1 })), wide));
    expect(values(plan.weights)).toEqual(expected);
  });
});

describe('5xx and latency penalty (SLO p95 0.5 s, 5xx 1 %; A and B 6 healthy each)', () => {
  const slo = { p95Seconds: 0.5, max5xxPercent: 1 };
  it.each<[string, Partial<TargetGroupPlanInput>, number[]]>([
    ['within the SLO', { http5xxPercent: 1, p95ResponseSeconds: 0.5 }, [50, 50]],
    // factor 1/4: scores 6 × 0.25 = 1.5 vs 6 → 1.5 / 7.5 = 20 %
    ['A at 4 % 5xx', { http5xxPercent: 4 }, [20, 80]],
    // factor 0.5 / 1.0 = 0.5: 3 vs 6 → 33.33 / 66.67 → 33 / 67
    ['A at p95 1 s', { p95ResponseSeconds: 1 }, [33, 67]],
    // (1/2) × (0.5/1) = 0.25 → 20 / 80
    ['A at 2 % and 1 s', { http5xxPercent: 2, p95ResponseSeconds: 1 }, [20, 80]],
    // 1/50 floored at 0.1: 0.6 vs 6 → 9.09 / 90.91 → 9 / 91 (a trickle keeps A measurable)
    ['A at 50 % 5xx', { http5xxPercent: 50 }, [9, 91]],
  ])('%s → %j', (_name, aSignals, expected) => {
    const plan = planWeights(input([group(A, { healthy: 6 }, aSignals), group(B, { healthy: 6 })], weights([A, 50], [B, 50]), { slo, maxStepPoints: 999 }));
    expect(values(plan.weights)).toEqual(expected);
  });

  it('the reason carries the numbers', () => {
    const plan = planWeights(input([group(A, { healthy: 6 }, { http5xxPercent: 4 }), group(B, { healthy: 6 })], weights([A, 50], [B, 50]), { slo }));
    expect(plan.reason).toBe(
      'moving weights toward capacity share (largest gap 30 points, hysteresis 5, step ≤ 20): ' +
        'gateway-general: healthy 6, capacity 6, 5xx 4 % → ×0.25, target 20, 50 → 30; ' +
        'gateway-spot: healthy 6, capacity 6, target 80, 50 → 70',
    );
  });
});

describe('groups the rule forwards to that prescale does not manage', () => {
  it('keeps them as they are, after the managed ones', () => {
    const other = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/zz-manual/1';
    const plan = planWeights(input([group(A, { healthy: 6 }), group(B, { draining: 6 })], weights([other, 5], [B, 50], [A, 50])));
    expect(plan.weights).toEqual(weights([A, 70], [B, 0], [other, 5]));
  });

  it('a configured group missing from the rule starts at 0 and steps up', () => {
    const plan = planWeights(input([group(A, { healthy: 6 }), group(B, { healthy: 6 })], weights([A, 100])));
    expect(plan.weights).toEqual(weights([A, 80], [B, 20]));
  });

  it('no traffic on any healthy group moves regardless of the hysteresis', () => {
    const plan = planWeights(input([group(A, { healthy: 6 })], weights([A, 0]), { hysteresisPoints: 999 }));
    expect(plan.weights).toEqual(weights([A, 20]));
  });
});

describe('invariants (fast-check)', () => {
  const countsArb = fc.record<Counts>({
    initial: fc.integer({ min: 0, max: 4 }),
    healthy: fc.integer({ min: 0, max: 6 }),
    unhealthy: fc.integer({ min: 0, max: 4 }),
    unused: fc.integer({ min: 0, max: 2 }),
    draining: fc.integer({ min: 0, max: 4 }),
    unavailable: fc.integer({ min: 0, max: 2 }),
  });
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const groupArb = fc.record({
    counts: countsArb,
    capacityPerTarget: maybe(fc.integer({ min: 0, max: 500 })),
    readyCapacity: maybe(fc.integer({ min: 0, max: 5000 })),
    http5xxPercent: maybe(fc.double({ min: 0, max: 100, noNaN: true })),
    p95ResponseSeconds: maybe(fc.double({ min: 0, max: 30, noNaN: true })),
    minWeight: fc.integer({ min: 0, max: 999 }),
    maxWeight: fc.integer({ min: 0, max: 999 }),
    current: fc.integer({ min: 0, max: 999 }),
  });
  const inputArb = fc.record({
    groups: fc.array(groupArb, { minLength: 1, maxLength: 5 }),
    maxStepPoints: fc.integer({ min: 1, max: 100 }),
    hysteresisPoints: fc.integer({ min: 0, max: 30 }),
    slo: fc.record({ p95Seconds: maybe(fc.double({ min: 0.01, max: 5, noNaN: true })), max5xxPercent: maybe(fc.double({ min: 0.01, max: 100, noNaN: true })) }),
  });
  type Generated = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;
  const toInput = (generated: Generated): PlanWeightsInput => ({
    groups: generated.groups.map((g, i) => ({ ...g, targetGroupArn: `tg-${i}` })),
    currentWeights: generated.groups.map((g, i) => ({ targetGroupArn: `tg-${i}`, weight: g.current })),
    maxStepPoints: generated.maxStepPoints,
    hysteresisPoints: generated.hysteresisPoints,
    slo: generated.slo,
  });

  it('weights are integers in [0, 999]; sum > 0 when a group serves; steps ≤ maxStepPoints except dead groups going to 0', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        const planInput = toInput(generated);
        const plan = planWeights(planInput);
        const anyHealthy = generated.groups.some((g) => g.counts.healthy > 0);
        const someHealthyCanCarry = generated.groups.some((g) => g.counts.healthy > 0 && g.maxWeight > 0);
        plan.weights.forEach((w, i) => {
          const g = generated.groups[i]!;
          expect(Number.isInteger(w.weight)).toBe(true);
          expect(w.weight).toBeGreaterThanOrEqual(0);
          expect(w.weight).toBeLessThanOrEqual(999);
          if (g.counts.healthy > 0) expect(Math.abs(w.weight - g.current)).toBeLessThanOrEqual(generated.maxStepPoints);
          else expect([g.current, 0]).toContain(w.weight);
          // A dead group never keeps traffic while another group serves.
          if (g.counts.healthy === 0 && someHealthyCanCarry) expect(w.weight).toBe(0);
        });
        if (someHealthyCanCarry) expect(values(plan.weights).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        if (!anyHealthy) expect(values(plan.weights)).toEqual(generated.groups.map((g) => g.current));
        expect(plan.changed).toBe(values(plan.weights).some((w, i) => w !== generated.groups[i]!.current));
      }),
      { numRuns: 500 },
    );
  });

  it('steady input converges within 999 / step + 1 runs, then holds (no flapping)', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        let planInput = toInput(generated);
        const runs = Math.ceil(999 / planInput.maxStepPoints) + 1;
        for (let i = 0; i < runs; i++) planInput = { ...planInput, currentWeights: planWeights(planInput).weights };
        const settled = planWeights(planInput);
        expect(settled.changed).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('deterministic: the same input gives the same plan', () => {
    fc.assert(
      fc.property(inputArb, (generated) => {
        expect(planWeights(toInput(generated))).toEqual(planWeights(toInput(generated)));
      }),
      { numRuns: 100 },
    );
  });
});
