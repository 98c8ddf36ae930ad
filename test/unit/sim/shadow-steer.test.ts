import { describe, expect, it } from 'vitest';
import { createShadowSteer, MAX_STEERED_LEVEL, MIN_STEERED_LEVEL, shortfallNodes, steerLevel } from '../../../lib/sim/shadow-steer.ts';

describe('shortfallNodes', () => {
  it.each([
    // demand 250, 2 ready nodes of 100: 50 unserved = 0.5 node
    [250, 2, 100, 0.5],
    // covered: nothing short
    [150, 2, 100, 0],
    // no ready node: all of it, 30 / 100 = 0.3
    [30, 0, 100, 0.3],
  ])('demand %d, %d ready × %d → %d nodes short', (demand, ready, capacity, expected) => {
    expect(shortfallNodes(demand, ready, capacity)).toBeCloseTo(expected, 12);
  });
});

describe('steerLevel (logit step of gain × (ours − ratio × shadow))', () => {
  const logistic = (z: number) => 1 / (1 + Math.exp(-z));
  it.each([
    // both served: no step, 0.9 stays 0.9
    { level: 0.9, ours: 0, shadow: 0, expected: 0.9 },
    // we miss 2 nodes, the shadow none: logit(0.9) = ln 9 = 2.1972, + 0.05 × 2 = 2.2972 → 0.9087
    { level: 0.9, ours: 2, shadow: 0, expected: logistic(Math.log(9) + 0.1) },
    // the shadow misses 2, we serve: 2.1972 − 0.05 × 0.5 × 2 = 2.1472 → 0.8954 (spend less)
    { level: 0.9, ours: 0, shadow: 2, expected: logistic(Math.log(9) - 0.05) },
    // exactly ratio × the shadow's: 1 − 0.5 × 2 = 0, no step
    { level: 0.9, ours: 1, shadow: 2, expected: 0.9 },
    // a huge miss cannot push past the ceiling
    { level: 0.99, ours: 1000, shadow: 0, expected: MAX_STEERED_LEVEL },
    // nor a long run of shadow misses below the floor
    { level: 0.51, ours: 0, shadow: 1000, expected: MIN_STEERED_LEVEL },
  ])('$level with ours $ours, shadow $shadow → $expected', ({ level, ours, shadow, expected }) => {
    expect(steerLevel(level, ours, shadow, 0.5, 0.05)).toBeCloseTo(expected, 12);
  });
});

describe('createShadowSteer', () => {
  it('reads minute m of the demand and index m − start of the shadow, and carries the level forward', () => {
    // start 10; minute 10: demand 300, shadow 2 ready × 100 → shadow 1 node short, we have 3 ready → 0 short.
    // minute 11: demand 100, both covered → no step.
    const steer = createShadowSteer({ demand: [...Array(10).fill(0), 300, 100], shadowReadyNodes: [2, 2], capacityPerNode: 100, startMinute: 10, ratio: 0.5, gain: 0.05, initialLevel: 0.9 });
    const afterFirst = steer(10, 3);
    // ln 9 − 0.05 × 0.5 × 1 = 2.1722 → 0.8977
    expect(afterFirst).toBeCloseTo(1 / (1 + Math.exp(-(Math.log(9) - 0.025))), 12);
    expect(steer(11, 3)).toBeCloseTo(afterFirst, 12);
  });
});
