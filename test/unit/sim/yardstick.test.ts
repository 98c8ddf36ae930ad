import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { shortfallShareOfWorstPeriods, yardstickForecasts, yardstickPolicy } from '../../../lib/sim/yardstick.ts';
import type { Scenario } from '../../../lib/sim/score.ts';
import { samplingPeriod } from '../../../lib/sim/trace.ts';

describe('samplingPeriod (the periods a yardstick forecasts)', () => {
  it.each([
    // first sample 53 s into minute 0: it is first read at minute 1; 300 s → 5-minute periods
    { t0Ms: 0, firstSampleMs: 53_000, medianIntervalSeconds: 300, expected: { periodMinutes: 5, anchorMinute: 1 } },
    // on the minute: minute 0; 1800 s → 30
    { t0Ms: 0, firstSampleMs: 0, medianIntervalSeconds: 1800, expected: { periodMinutes: 30, anchorMinute: 0 } },
    // sub-minute sampling still moves by whole minutes on the grid: 1
    { t0Ms: 0, firstSampleMs: 0, medianIntervalSeconds: 20, expected: { periodMinutes: 1, anchorMinute: 0 } },
  ])('$medianIntervalSeconds s from $firstSampleMs ms → $expected', ({ expected, ...grid }) => {
    expect(samplingPeriod(grid)).toEqual(expected);
  });
});

describe('yardstickForecasts', () => {
  it('keeps an exponentially weighted centre and the window RMS of its one-period errors', () => {
    // α 0.5, window 2, values 10, 20, 10, 30:
    // centre: 10; 0.5·20 + 0.5·10 = 15; 0.5·10 + 0.5·15 = 12.5; 0.5·30 + 0.5·12.5 = 21.25
    // errors: k=1 20 − 10 = 10; k=2 10 − 15 = −5; k=3 30 − 12.5 = 17.5
    // spread: k=0 none → 0; k=1 √(100/1) = 10; k=2 √((100 + 25)/2) = 7.9057; k=3 √((25 + 306.25)/2) = 12.8695
    const { centre, spread } = yardstickForecasts([10, 20, 10, 30], { alpha: 0.5, windowPeriods: 2 });
    expect(Array.from(centre)).toEqual([10, 15, 12.5, 21.25]);
    expect(spread[0]).toBe(0);
    expect(spread[1]).toBeCloseTo(10, 12);
    expect(spread[2]).toBeCloseTo(Math.sqrt(62.5), 12);
    expect(spread[3]).toBeCloseTo(Math.sqrt(165.625), 12);
  });

  it('with α 1 the centre is the last value', () => {
    // errors are first differences: 20 − 10 = 10, 10 − 20 = −10 → spread √((100 + 100)/2) = 10
    const { centre, spread } = yardstickForecasts([10, 20, 10], { alpha: 1, windowPeriods: 5 });
    expect(Array.from(centre)).toEqual([10, 20, 10]);
    expect(spread[2]).toBeCloseTo(10, 12);
  });
});

describe('yardstickPolicy', () => {
  // 1 node serves 10; boot 3; score from minute 10 (warm-up 10/1440 days).
  const scenario: Scenario = { capacityPerNode: 10, bootMinutes: 3, usdPerNodeHour: 1, warmupDays: 10 / 1440 };

  it('holds the next period\'s forecast through a 5-minute period and chases the current demand', () => {
    // 5-minute periods from minute 0: values 10, 30, 10 (minutes 0–4, 5–9, 10–14).
    // α 1, window 2, z 1: at period 2 the centre is 10 and the spread √((20² + 20²)/2) = 20,
    // so every minute of period 2 holds ceil((10 + 20 × √1)/10) = 3 nodes (the demand alone needs 1).
    const demand = [10, 10, 10, 10, 10, 30, 30, 30, 30, 30, 10, 10, 10, 10, 10];
    const out = yardstickPolicy(demand, scenario, { periodMinutes: 5, anchorMinute: 0 }, { alpha: 1, windowPeriods: 2, z: 1 });
    expect(Array.from(out)).toEqual([3, 3, 3, 3, 3]);
  });

  it('on 1-minute periods covers the periods a boot reaches, each farther one by √h more', () => {
    // values 0 ×10 then 20 at minute 10: centre 20, one error of 20 in a window of 3 → spread √(400/3) = 11.547.
    // boot 3: periods m+1..m+3, the farthest h = 3: 20 + 11.547 × √3 = 40 → 4 nodes.
    const demand = [...Array(10).fill(0), 20];
    const out = yardstickPolicy(demand, scenario, { periodMinutes: 1, anchorMinute: 0 }, { alpha: 1, windowPeriods: 3, z: 1 });
    expect(Array.from(out)).toEqual([4]);
  });

  it('with z 0 and α 1 on 5-minute periods is demand-chasing: nodes for the current period only', () => {
    // demand 25 → ceil(2.5) = 3, demand 41 → 5
    const demand = [...Array(10).fill(25), 41, 41, 41, 41, 41];
    const out = yardstickPolicy(demand, scenario, { periodMinutes: 5, anchorMinute: 0 }, { alpha: 1, windowPeriods: 4, z: 0 });
    expect(Array.from(out)).toEqual([5, 5, 5, 5, 5]);
  });

  it('refuses to score before the first sample', () => {
    expect(() => yardstickPolicy([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], scenario, { periodMinutes: 1, anchorMinute: 11 }, { alpha: 1, windowPeriods: 1, z: 1 })).toThrow(/before the first period/);
  });

  it('is causal: the decisions before a cut are those of the whole trace', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 20, maxLength: 80 }),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 4, noNaN: true }),
        fc.integer({ min: 1, max: 10 }),
        (demand, periodMinutes, alpha, z, cutAfter) => {
          const family = { alpha, windowPeriods: 6, z };
          const periods = { periodMinutes, anchorMinute: 0 };
          const whole = yardstickPolicy(demand, scenario, periods, family);
          const cut = Math.min(demand.length, 10 + cutAfter);
          const prefix = yardstickPolicy(demand.slice(0, cut), scenario, periods, family);
          expect(Array.from(prefix)).toEqual(Array.from(whole.slice(0, cut - 10)));
        },
      ),
    );
  });
});

describe('shortfallShareOfWorstPeriods', () => {
  // 1 node serves 10; scoring from minute 10; 5-minute periods from minute 0.
  const scenario: Scenario = { capacityPerNode: 10, bootMinutes: 3, usdPerNodeHour: 1, warmupDays: 10 / 1440 };
  const periods = { periodMinutes: 5, anchorMinute: 0 };
  const demand = [...Array(10).fill(0), 50, 50, 10, 10, 10, 25, 10, 10, 10, 10];

  it.each([
    // 1 ready node throughout: period 2 (minutes 10–14) misses 40 + 40 = 80, period 3 misses 15 → 95 in all
    // the worst one: 80 / 95 = 0.8421; the worst two: all of it
    { top: 1, expected: { share: 80 / 95, periodsShort: 2 } },
    { top: 2, expected: { share: 1, periodsShort: 2 } },
  ])('top $top → $expected', ({ top, expected }) => {
    const result = shortfallShareOfWorstPeriods(demand, Array(10).fill(1), scenario, periods, top);
    expect(result.share).toBeCloseTo(expected.share, 12);
    expect(result.periodsShort).toBe(expected.periodsShort);
  });

  it('is 0 when everything was served', () => {
    expect(shortfallShareOfWorstPeriods(demand, Array(10).fill(5), scenario, periods, 3)).toEqual({ share: 0, periodsShort: 0 });
  });
});
