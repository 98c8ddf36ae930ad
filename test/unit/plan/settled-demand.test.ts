/**
 * Which periods count as observed: an accumulating CloudWatch statistic (Sum)
 * read mid-period holds only the part so far, so it is observed only once its
 * period has ended and settled; the planner then covers the period in
 * progress from the forecast.
 */
import { describe, expect, it } from 'vitest';
import type { Forecast } from '../../../lib/core/forecast/types.ts';
import { demandNeed, latestDemand, observedDemandAt, observedHistory, SETTLE_MS } from '../../../lib/core/plan/demand.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 2, 10, 0);

/** Periods of `stepMinutes` from T, one value each. */
const series = (stepMinutes: number, values: number[]) => ({ startMs: T, stepSeconds: stepMinutes * 60, values });

describe('observedHistory', () => {
  it('settles after one minute, as CloudWatch documents', () => {
    expect(SETTLE_MS).toBe(MIN);
  });

  it.each<[string, string, number, number, number, number]>([
    // [case, stat, step min, values, now (ms after T)] → periods kept
    // 1-min Sum at 10:05:05: period i ends at 10:0(i+1); kept while end ≤ 10:04:05 → i + 1 ≤ 4 → 4 periods
    ['1-min Sum, 5 s into a minute', 'Sum', 1, 6, 5 * MIN + 5_000, 4],
    // at 10:05:00 exactly: ends ≤ 10:04:00 → 4
    ['1-min Sum, on the minute', 'Sum', 1, 6, 5 * MIN, 4],
    // 5-min Sum at 10:13: ends 10:05, 10:10, 10:15; kept while end ≤ 10:12 → 2 (10:00 and 10:05)
    ['5-min Sum, 3 min into a period', 'Sum', 5, 3, 13 * MIN, 2],
    // 5-min Sum at 10:10:30: 10:05 period ended 30 s ago, not settled → only 10:00 kept
    ['5-min Sum, 30 s after a period ended', 'Sum', 5, 3, 10 * MIN + 30_000, 1],
    // at 10:11: 10:05 ended 10:10 ≤ 10:10 → kept → 2
    ['5-min Sum, a minute after a period ended', 'Sum', 5, 3, 11 * MIN, 2],
    ['SampleCount is trimmed like Sum', 'SampleCount', 1, 6, 5 * MIN + 5_000, 4],
    ['Average is read as it comes, period in progress included', 'Average', 1, 6, 5 * MIN + 5_000, 6],
    ['p99 is read as it comes', 'p99', 5, 3, 13 * MIN, 3],
    // now before the first period settles: nothing observed
    ['a Sum with nothing settled yet', 'Sum', 5, 1, 2 * MIN, 0],
  ])('%s', (_case, stat, stepMinutes, count, nowAfterT, kept) => {
    const history = series(
      stepMinutes,
      Array.from({ length: count }, (_, i) => 100 + i),
    );
    const observed = observedHistory(history, stat, T + nowAfterT);
    expect(observed.values).toEqual(history.values.slice(0, kept));
    expect(observed.startMs).toBe(T);
    expect(observed.stepSeconds).toBe(stepMinutes * 60);
  });
});

describe('latestDemand freshness (counted from the period end)', () => {
  it.each<[string, number, number[], number, number | undefined]>([
    // [case, step min, values from 10:00, now (after 10:00)] → latest demand
    // 5-min periods; now 10:12 is inside the third period (10:10).
    ['the period in progress', 5, [1, 2, 3], 12 * MIN, 3],
    // in progress missing: 10:05 ended 10:10, 2 min ago < 10 → fresh
    ['one missing period', 5, [1, 2, Number.NaN], 12 * MIN, 2],
    // two missing: 10:00 ended 10:05, 7 min ago < 10 → fresh
    ['two missing periods', 5, [1, Number.NaN, Number.NaN], 12 * MIN, 1],
    // now 10:16, periods through 10:15: 10:00 ended 10:05, 11 min ago ≥ 10 → stale
    ['three missing periods', 5, [1, Number.NaN, Number.NaN, Number.NaN], 16 * MIN, undefined],
    // a settled 1-min Sum at 10:05:05 ends with the 10:03 period (ended 10:04, 65 s ago < 120) → fresh
    ['a settled 1-min Sum', 1, [5, 6, 7, 8], 5 * MIN + 5_000, 8],
    // …and one more minute late: 10:02 ended 10:03, 125 s ago ≥ 120 → stale
    ['a settled 1-min Sum a period late', 1, [5, 6, 7, Number.NaN], 5 * MIN + 5_000, undefined],
  ])('%s', (_case, stepMinutes, values, nowAfterT, expected) => {
    expect(latestDemand(series(stepMinutes, values), T + nowAfterT)).toBe(expected);
  });
});

describe('demand need on a settled history', () => {
  /** 1-minute forecast from 10:00, point = quantile = 100 + minute. */
  const rampForecast: Forecast = {
    model: 'ramp',
    startMs: T,
    stepSeconds: 60,
    point: Array.from({ length: 30 }, (_, i) => 100 + i),
    quantiles: [{ level: 0.9, values: Array.from({ length: 30 }, (_, i) => 100 + i) }],
  };

  it('covers the period in progress from the forecast, not the ended one still settling', () => {
    // Settled 1-min Sum at 10:05:05 holds 10:00..10:03; 10:04 ended but is settling, 10:05 is in progress.
    // Window [10:05:05, 10:09:05) (horizon 4) → periods 10:05..10:09 start before 10:09:05 → 5 periods, 10:04 excluded.
    // Level offset: actual − point over 10:00..10:03 = 0 (the history equals the point).
    // Need = highest quantile over 10:05..10:09 = 100 + 9 = 109; keep adds 10:10 → 110.
    const history = series(1, [100, 101, 102, 103]);
    const need = demandNeed({ history, forecast: rampForecast, serviceLevel: 0.9, nowMs: T + 5 * MIN + 5_000, horizonMinutes: 4 });
    expect(need).toMatchObject({ demandNow: 103, periodsAhead: 5, forecastNeed: 109, keepNeed: 110, levelOffset: 0 });
    // Calibration tests the period in progress: 10:05 → 105.
    expect(need.nextPeriod).toEqual({ startMs: T + 5 * MIN, value: 105 });
  });

  it('a gauge history keeps the period after the one in progress as the first forecast one', () => {
    // Average at 10:05:05 holds 10:00..10:05 (in progress). Window [10:05:05, 10:09:05) → later periods 10:06..10:09 = 4.
    const history = series(1, [100, 101, 102, 103, 104, 105]);
    const need = demandNeed({ history, forecast: rampForecast, serviceLevel: 0.9, nowMs: T + 5 * MIN + 5_000, horizonMinutes: 4 });
    expect(need).toMatchObject({ demandNow: 105, periodsAhead: 4, forecastNeed: 109 });
    expect(need.nextPeriod).toEqual({ startMs: T + 6 * MIN, value: 106 });
  });

  it('a period still settling is not observed', () => {
    const settled = observedHistory(series(1, [100, 101, 102, 103, 104, 20]), 'Sum', T + 5 * MIN + 5_000);
    expect(observedDemandAt(settled, T + 3 * MIN, T + 5 * MIN + 5_000)).toBe(103);
    expect(observedDemandAt(settled, T + 4 * MIN, T + 5 * MIN + 5_000)).toBeUndefined();
    expect(observedDemandAt(settled, T + 5 * MIN, T + 5 * MIN + 5_000)).toBeUndefined();
  });
});
