import { describe, expect, it } from 'vitest';
import { hasHealthyTarget, http5xxPercent, MIN_SLO_FACTOR, servingCapacity, sloFactor, type ServingSignals } from '../../../lib/core/traffic/capacity.ts';
import type { TargetHealthState } from '../../../lib/ports.ts';

const zero: Record<TargetHealthState, number> = { initial: 0, healthy: 0, unhealthy: 0, unused: 0, draining: 0, unavailable: 0 };

describe('hasHealthyTarget: only `healthy` targets serve', () => {
  it.each<[TargetHealthState, boolean]>([
    ['healthy', true],
    // not passed a health check yet
    ['initial', false],
    ['unhealthy', false],
    // not registered where the load balancer routes, or the group is not used by it
    ['unused', false],
    // deregistering (a spot notice, a scale-in): takes no new requests
    ['draining', false],
    // health checks disabled or failing internally: no signal, so not counted as serving
    ['unavailable', false],
  ])('3 targets all %s → %s', (state, expected) => {
    expect(hasHealthyTarget({ ...zero, [state]: 3 })).toBe(expected);
  });

  it('one healthy target among others is enough', () => {
    expect(hasHealthyTarget({ ...zero, healthy: 1, unhealthy: 5, draining: 2 })).toBe(true);
  });
});

describe('servingCapacity', () => {
  it.each<[string, ServingSignals, number]>([
    ['healthy targets alone (all alike)', { healthyTargets: 4, capacityPerTarget: undefined, readyCapacity: undefined }, 4],
    // 4 × 100
    ['healthy targets × capacity per target', { healthyTargets: 4, capacityPerTarget: 100, readyCapacity: undefined }, 400],
    // min(4 × 100, 300): the pods are healthy but the nodes under them only serve 300
    ['bounded by the node group ready capacity', { healthyTargets: 4, capacityPerTarget: 100, readyCapacity: 300 }, 300],
    // min(4 × 100, 900)
    ['node group capacity above what the targets serve', { healthyTargets: 4, capacityPerTarget: 100, readyCapacity: 900 }, 400],
    ['the node group ready capacity when no per-target capacity is known', { healthyTargets: 4, capacityPerTarget: undefined, readyCapacity: 300 }, 300],
    ['no healthy target: nothing, whatever the node group says', { healthyTargets: 0, capacityPerTarget: 100, readyCapacity: 300 }, 0],
  ])('%s → %s', (_name, signals, expected) => {
    expect(servingCapacity(signals)).toBe(expected);
  });
});

describe('http5xxPercent', () => {
  it.each<[number, number, number | undefined]>([
    // 5 / 200 × 100
    [5, 200, 2.5],
    [0, 1000, 0],
    // no requests: nothing to judge
    [0, 0, undefined],
    [3, 0, undefined],
  ])('%s 5xx of %s requests → %s %%', (count, requests, expected) => {
    expect(http5xxPercent(count, requests)).toBe(expected);
  });
});

describe('sloFactor (SLO p95 0.5 s, 5xx 1 %)', () => {
  const slo = { p95Seconds: 0.5, max5xxPercent: 1 };
  it.each<[string, number | undefined, number | undefined, number]>([
    ['within both', 0.5, 1, 1],
    ['no data', undefined, undefined, 1],
    // 1 / 4
    ['5xx 4 %: four times over → a quarter', undefined, 4, 0.25],
    // 0.5 / 1.0
    ['p95 1 s: twice over → a half', 1, undefined, 0.5],
    // (1 / 2) × (0.5 / 1.0)
    ['both twice over → a quarter', 1, 2, 0.25],
    // 1 / 50 = 0.02, floored: a trickle keeps the metrics coming so recovery shows
    ['5xx 50 % → the floor', undefined, 50, MIN_SLO_FACTOR],
  ])('%s', (_name, p95ResponseSeconds, percent, expected) => {
    expect(sloFactor({ http5xxPercent: percent, p95ResponseSeconds }, slo)).toBeCloseTo(expected, 10);
  });

  it('no SLO configured: never penalises', () => {
    expect(sloFactor({ http5xxPercent: 90, p95ResponseSeconds: 30 }, { p95Seconds: undefined, max5xxPercent: undefined })).toBe(1);
  });
});
