import { describe, expect, it } from 'vitest';
import {
  capacityPerTargetFrom,
  latestSloSignals,
  loadBalancerDimension,
  readyCapacityMillicores,
  sloQueries,
  sloWindow,
  targetGroupDimension,
} from '../../../lib/core/traffic/signals.ts';
import type { TargetHealthState } from '../../../lib/ports.ts';
import { LISTENER, SPOT } from '../../support/gateway-rule.ts';

function counts(partial: Partial<Record<TargetHealthState, number>>): Record<TargetHealthState, number> {
  return { initial: 0, healthy: 0, unhealthy: 0, unused: 0, draining: 0, unavailable: 0, ...partial };
}

describe('readyCapacityMillicores', () => {
  it.each([
    [3, 1930, 5790], // 3 × 1930
    [0, 1930, 0],
    [-1, 1930, 0], // a nonsense count is no capacity, never negative
  ])('%i ready nodes × %i m = %i m', (readyNodes, cpuMillicores, expected) => {
    expect(readyCapacityMillicores({ readyNodes }, { allocatable: { cpuMillicores, memoryMiB: 1024, pods: 10 } })).toBe(expected);
  });
});

describe('capacityPerTargetFrom', () => {
  it.each([
    ['all healthy', 4000, counts({ healthy: 4 }), 1000], // 4000 / 4
    ['half draining', 4000, counts({ healthy: 2, draining: 2 }), 1000], // 4000 / 4; the planner gives 2 × 1000
    ['unhealthy counts as on a serving node', 3000, counts({ healthy: 1, unhealthy: 2 }), 1000],
    ['initial targets are on booting nodes: left out', 4000, counts({ healthy: 4, initial: 4 }), 1000],
    ['no serving target', 4000, counts({ initial: 2, unused: 1 }), undefined],
    ['capacity unknown', undefined, counts({ healthy: 4 }), undefined],
  ])('%s', (_, readyCapacity, observed, expected) => {
    expect(capacityPerTargetFrom(readyCapacity, observed)).toBe(expected);
  });
});

describe('ALB metric dimensions', () => {
  it.each([
    [LISTENER, 'app/debate-prod/50dc6c495c0c9188'],
    ['arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/nlb/50dc6c495c0c9188/f2f7dc8efc522ab2', undefined], // an NLB: no ALB metrics
    ['not-an-arn', undefined],
  ])('LoadBalancer of %s', (arn, expected) => {
    expect(loadBalancerDimension(arn)).toBe(expected);
  });

  it.each([
    [SPOT, 'targetgroup/gateway-spot/2453ed029918f21f'],
    ['arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/x/1', undefined],
  ])('TargetGroup of %s', (arn, expected) => {
    expect(targetGroupDimension(arn)).toBe(expected);
  });

  it('three per-minute queries, or none when the ARNs name no ALB target group', () => {
    const queries = sloQueries(LISTENER, SPOT)!;
    expect([queries.requests, queries.errors5xx, queries.p95].map((q) => [q.name, q.stat, q.periodSeconds])).toEqual([
      ['RequestCount', 'Sum', 60],
      ['HTTPCode_Target_5XX_Count', 'Sum', 60],
      ['TargetResponseTime', 'p95', 60],
    ]);
    expect(queries.p95.dimensions).toEqual({ LoadBalancer: 'app/debate-prod/50dc6c495c0c9188', TargetGroup: 'targetgroup/gateway-spot/2453ed029918f21f' });
    expect(sloQueries('not-an-arn', SPOT)).toBeUndefined();
  });
});

describe('sloWindow', () => {
  it('the five whole minutes before now: 10:07:30 → [10:02, 10:07)', () => {
    expect(sloWindow(Date.UTC(2026, 0, 1, 10, 7, 30))).toEqual({ startMs: Date.UTC(2026, 0, 1, 10, 2), endMs: Date.UTC(2026, 0, 1, 10, 7) });
  });
});

describe('latestSloSignals', () => {
  const T0 = Date.UTC(2026, 0, 1, 10, 2);
  const series = (values: readonly number[], startMs = T0) => ({ startMs, stepSeconds: 60, values: [...values] });
  const N = Number.NaN;
  it.each([
    // requests, 5xx, p95 → 5xx %, p95
    ['the latest minute with requests decides', [200, 400, N], [N, 20, N], [0.3, 0.6, N], 5, 0.6], // 20 / 400 = 5 %
    ['no 5xx datapoint means none (ALB omits zero counts)', [200, N, N], [N, N, N], [0.3, N, N], 0, 0.3],
    ['a p95 missing in that minute is not judged', [200, 400], [4, N], [0.3, N], 0, undefined],
    ['no requests at all: not judged', [N, N, 0], [N, N, N], [N, N, N], undefined, undefined],
    ['nothing returned', [], [], [], undefined, undefined],
  ])('%s', (_, requests, errors5xx, p95, percent, seconds) => {
    expect(latestSloSignals({ requests: series(requests), errors5xx: series(errors5xx), p95: series(p95) })).toEqual({ http5xxPercent: percent, p95ResponseSeconds: seconds });
  });

  it('aligns the series by time, not by index', () => {
    // 5xx starts a minute later: its first value belongs to minute 1 (10:03), where requests are 400 → 10 / 400 = 2.5 %.
    expect(latestSloSignals({ requests: series([200, 400]), errors5xx: series([10], T0 + 60_000), p95: series([0.1, 0.2]) })).toEqual({ http5xxPercent: 2.5, p95ResponseSeconds: 0.2 });
  });
});
