import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideNodeGroup, scaleInDelayAfterScaleOutMinutes, type NodeGroupDecisionInput } from '../../../lib/core/plan/nodegroup.ts';
import { hpaDesiredReplicas, reactiveFloorPods } from '../../../lib/core/plan/hpa.ts';

const MIN = 60_000;
const NOW = 1_000 * MIN;
const policy = { scaleDownStabilizationMinutes: 10, maxScaleOutNodes: 4, maxScaleInNodes: 2, scaleOutCooldownMinutes: 0, scaleInCooldownMinutes: 5 };
const base: NodeGroupDecisionInput = {
  nowMs: NOW,
  currentDesiredNodes: 6,
  recommendedNodes: 6,
  keepNodes: 0,
  minNodes: 2,
  maxNodes: 20,
  recentRecommendations: [],
  lastScaleOutMs: undefined,
  lastScaleInMs: undefined,
  scaleInDelayAfterScaleOutMinutes: 0,
  scaleInBlockedBy: undefined,
  policy,
};

describe('decideNodeGroup', () => {
  it.each<[string, Partial<NodeGroupDecisionInput>, number]>([
    ['holds when the recommendation equals the current count', {}, 6],
    ['scales out to the recommendation', { recommendedNodes: 9 }, 9],
    // 6 + maxScaleOutNodes 4 = 10 < 15
    ['limits a scale-out step', { recommendedNodes: 15 }, 10],
    // recommendation 30 clamps to max 20, step limit 6 + 4 = 10
    ['clamps to max before the step limit', { recommendedNodes: 30, currentDesiredNodes: 18 }, 20],
    ['brings a count below min back into bounds', { currentDesiredNodes: 1, recommendedNodes: 1 }, 2],
    ['scale-out cooldown holds', { recommendedNodes: 9, lastScaleOutMs: NOW - 1 * MIN, policy: { ...policy, scaleOutCooldownMinutes: 3 } }, 6],
    // window holds 8 from 5 min ago: stabilised at max(4, 8) = 8 ≥ 6 → hold
    ['stabilisation holds a scale-in', { recommendedNodes: 4, recentRecommendations: [[NOW - 5 * MIN, 8]] }, 6],
    // the 8 was 11 min ago: outside the 10-minute window → max(4) = 4, step limit 6 − 2 = 4
    ['scales in once the window has passed', { recommendedNodes: 4, recentRecommendations: [[NOW - 11 * MIN, 8]] }, 4],
    // needs 2, step limit: 6 − 2 = 4
    ['limits a scale-in step', { recommendedNodes: 2 }, 4],
    // scaled out 3 min ago, cooldown 5 min
    ['scale-in cooldown after a scale-out holds', { recommendedNodes: 4, lastScaleOutMs: NOW - 3 * MIN }, 6],
    // boot 3 (delay 3.5): launched 3 min ago, ready now but not yet past a run → hold
    ['no scale-in before a launch has served', { recommendedNodes: 4, lastScaleOutMs: NOW - 3 * MIN, scaleInDelayAfterScaleOutMinutes: 3.5, policy: { ...policy, scaleInCooldownMinutes: 0 } }, 6],
    // the run at +4 fires 2 s early: 3 min 58 s ≥ 3.5 min → scale in, step limit 6 − 2 = 4
    ['scales in once the launch has served, a run early or not', { recommendedNodes: 4, lastScaleOutMs: NOW - 4 * MIN + 2000, scaleInDelayAfterScaleOutMinutes: 3.5, policy: { ...policy, scaleInCooldownMinutes: 0 } }, 4],
    // boot 4, an alarm run scaled out at minute 2, the scheduled run at minute 5: 3 < 4 + 0.5, not yet ready → hold
    ['an off-schedule launch is held to its own boot', { recommendedNodes: 4, lastScaleOutMs: NOW - 3 * MIN, scaleInDelayAfterScaleOutMinutes: 4.5, policy: { ...policy, scaleInCooldownMinutes: 0 } }, 6],
    // a scale-in 1 min ago does not hold the next one: the delay follows launches only
    ['a scale-in starts no delay', { recommendedNodes: 4, lastScaleInMs: NOW - 1 * MIN, scaleInDelayAfterScaleOutMinutes: 3.5, policy: { ...policy, scaleInCooldownMinutes: 0 } }, 4],
    // the delay never holds a scale-out back
    ['scales out during the delay', { recommendedNodes: 8, lastScaleOutMs: NOW - 1 * MIN, scaleInDelayAfterScaleOutMinutes: 3.5 }, 8],
    // needs 4 now, but the next period claims 5: scale in only to max(4, 5) = 5
    ['keeps what the next period needs', { recommendedNodes: 4, keepNodes: 5 }, 5],
    // the next period claims 7 > current 6: hold 6 (keeping never buys nodes)
    ['keeping never scales out', { recommendedNodes: 4, keepNodes: 7 }, 6],
    // keep 1 is below min 2 and below the recommendation 4: scale in to 4
    ['a low keep changes nothing', { recommendedNodes: 4, keepNodes: 1 }, 4],
    ['never scales in when scale-in is not allowed (alarm or missing data)', { recommendedNodes: 2, scaleInBlockedBy: 'an alarm run only scales out' }, 6],
    ['still scales out when scale-in is not allowed', { recommendedNodes: 8, scaleInBlockedBy: 'an alarm run only scales out' }, 8],
  ])('%s', (_name, overrides, expected) => {
    expect(decideNodeGroup({ ...base, ...overrides }).desiredNodes).toBe(expected);
  });

  it.each<[number, number]>([
    // boot 3: ready at +3; 3 + 0.5 = 3.5 holds the run at +3 and lets the one at +4 (or +5, or +60) release
    [3, 3.5],
    // boot 4 after an alarm at minute 2: ready at 6; 4 + 0.5 = 4.5 holds the scheduled run at 5 (3 min after)
    [4, 4.5],
    // no boot: 0.5, the next whole-minute run
    [0, 0.5],
    // a fractional boot of 2.6: 3.1, so the run at +3 (ready 0.4 min) is held, +4 is not
    [2.6, 3.1],
  ])('a scale-out with boot %f min holds scale-in %f min', (boot, expected) => {
    expect(scaleInDelayAfterScaleOutMinutes(boot)).toBeCloseTo(expected, 12);
  });

  it('says why it holds', () => {
    expect(decideNodeGroup({ ...base, recommendedNodes: 4, lastScaleOutMs: NOW - 2 * MIN, scaleInDelayAfterScaleOutMinutes: 3.5 }).reason).toBe(
      'holds 6: the nodes launched 2 min ago are not yet past their first run ready',
    );
    // Keep holds anyway: it says so, not the delay.
    expect(decideNodeGroup({ ...base, recommendedNodes: 4, keepNodes: 7, lastScaleOutMs: NOW - 2 * MIN, scaleInDelayAfterScaleOutMinutes: 3.5 }).reason).toBe('holds 6: the next period needs 7');
    expect(decideNodeGroup({ ...base, recommendedNodes: 4, keepNodes: 7 }).reason).toBe('holds 6: the next period needs 7');
    expect(decideNodeGroup({ ...base, recommendedNodes: 4, recentRecommendations: [[NOW - 5 * MIN, 8]] }).reason).toBe('holds 6: needed 8 within the last 10 min');
    expect(decideNodeGroup({ ...base, recommendedNodes: 4, scaleInBlockedBy: 'demand unknown for gateway' }).reason).toBe(
      'holds 6: scale-in not allowed on this run (demand unknown for gateway)',
    );
  });

  it('remembers only the recommendations inside the window', () => {
    const decision = decideNodeGroup({ ...base, recommendedNodes: 5, recentRecommendations: [[NOW - 20 * MIN, 9], [NOW - 2 * MIN, 7]] });
    expect(decision.recommendations).toEqual([[NOW - 2 * MIN, 7], [NOW, 5]]);
  });

  it('invariants: within [min, max] once in bounds, step limits hold, no scale-in when not allowed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 30 }),
        fc.boolean(),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 40 })), { maxLength: 8 }),
        fc.integer({ min: 0, max: 20 }),
        (current, recommended, min, max, scaleInAllowed, history, keepExtra) => {
          const decision = decideNodeGroup({
            ...base,
            currentDesiredNodes: current,
            recommendedNodes: recommended,
            keepNodes: recommended + keepExtra,
            minNodes: min,
            maxNodes: max,
            scaleInBlockedBy: scaleInAllowed ? undefined : 'an alarm run only scales out',
            recentRecommendations: history.map(([ago, nodes]) => [NOW - ago * MIN, nodes] as const),
          });
          const next = decision.desiredNodes;
          expect(next).toBeGreaterThanOrEqual(min);
          expect(next).toBeLessThanOrEqual(max);
          if (current >= min && current <= max) {
            expect(next - current).toBeLessThanOrEqual(policy.maxScaleOutNodes);
            expect(current - next).toBeLessThanOrEqual(policy.maxScaleInNodes);
            if (!scaleInAllowed) expect(next).toBeGreaterThanOrEqual(current);
            // what the next period needs is never released (up to the current count)
            if (next < current) expect(next).toBeGreaterThanOrEqual(Math.min(current, Math.min(max, recommended + keepExtra)));
          }
        },
      ),
    );
  });

  it('is monotone in the recommendation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), (current, a, b) => {
        const lo = decideNodeGroup({ ...base, currentDesiredNodes: current, recommendedNodes: Math.min(a, b) }).desiredNodes;
        const hi = decideNodeGroup({ ...base, currentDesiredNodes: current, recommendedNodes: Math.max(a, b) }).desiredNodes;
        expect(hi).toBeGreaterThanOrEqual(lo);
      }),
    );
  });
});

describe('HPA formula with its tolerance', () => {
  it.each([
    // ratio 0.75/0.7 = 1.071 → within 0.1 of 1 → keep 10
    [10, 0.75, 0.7, 10],
    // ratio 0.8/0.7 = 1.143 → ceil(10 × 1.143) = ceil(11.43) = 12
    [10, 0.8, 0.7, 12],
    // ratio 0.35/0.7 = 0.5 → ceil(10 × 0.5) = 5
    [10, 0.35, 0.7, 5],
    // ratio 0.63/0.7 = 0.9 → exactly at the tolerance → keep 4
    [4, 0.63, 0.7, 4],
  ])('%i pods at %f of target %f → %i', (pods, current, target, expected) => {
    expect(hpaDesiredReplicas(pods, current, target)).toBe(expected);
  });

  it('reactive floor from demand', () => {
    // 8 pods serving 100 each: demand 1000 → utilisation 1000/800 = 1.25; target 0.9 → ratio 1.389 → ceil(8 × 1.389) = ceil(11.11) = 12
    expect(reactiveFloorPods(1000, 100, 0.9, 8)).toBe(12);
    // no pods yet: ceil(1000 / (100 × 0.9)) = ceil(11.11) = 12
    expect(reactiveFloorPods(1000, 100, 0.9, 0)).toBe(12);
  });
});
