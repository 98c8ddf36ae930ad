/**
 * Which periods count as observed: an accumulating CloudWatch statistic (Sum)
 * read mid-period holds only the part so far, so it is observed only once its
 * period has ended and settled; the planner then covers the period in
 * progress from the forecast.
 */
import { describe, expect, it } from 'vitest';
import type { Forecast } from '../../../lib/core/forecast/types.ts';
import { demandNeed, latestDemand, observationLagMs, observedDemandAt, observedHistory, SETTLE_MS, unsettledLowerBound } from '../../../lib/core/plan/demand.ts';

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

describe('latestDemand freshness (counted from the newest observable period)', () => {
  it.each<[string, string, number, number[], number, number | undefined]>([
    // [case, stat, step min, values from 10:00, now (after 10:00)] → latest demand
    // Gauge, lag 0, 5-min periods; now 10:12 is inside the third period (10:10).
    ['gauge: the period in progress', 'Average', 5, [1, 2, 3], 12 * MIN, 3],
    // 10:05 started 7 min before now ≤ 2 × 5 → fresh
    ['gauge: one missing period', 'Average', 5, [1, 2, Number.NaN], 12 * MIN, 2],
    // 10:00 started 12 min before now > 10 → stale
    ['gauge: two missing periods', 'Average', 5, [1, Number.NaN, Number.NaN], 12 * MIN, undefined],
    // 1-min gauge at 10:04:30: 10:02 started 150 s before now > 120 → stale
    ['gauge: 1-min, two missing', 'Average', 1, [1, 2, 3, Number.NaN, Number.NaN], 4 * MIN + 30_000, undefined],
    // Settled 1-min Sum at 10:05:05 holds 10:00..10:03; lag 60 + 60 s → newest observable starts 10:03:05.
    ['Sum 1-min: newest settled', 'Sum', 1, [5, 6, 7, 8], 5 * MIN + 5_000, 8],
    // 10:02 started 65 s before 10:03:05 ≤ 120 → fresh: one missing period, as for a gauge
    ['Sum 1-min: one missing period', 'Sum', 1, [5, 6, 7, Number.NaN], 5 * MIN + 5_000, 7],
    // 10:01 started 125 s before 10:03:05 > 120 → stale
    ['Sum 1-min: two missing periods', 'Sum', 1, [5, 6, Number.NaN, Number.NaN], 5 * MIN + 5_000, undefined],
    // Settled 5-min Sum at 10:16 holds 10:00..10:10 (10:10 missing); lag 300 + 60 s → 10:10; 10:05 is 5 min before → fresh
    ['Sum 5-min: one missing, just settled', 'Sum', 5, [1, 2, Number.NaN], 16 * MIN, 2],
    // at 10:20:59 (10:15 not settled yet) → 10:14:59; 10:05 is 9:59 before ≤ 10 → still fresh
    ['Sum 5-min: one missing, until the next settles', 'Sum', 5, [1, 2, Number.NaN], 20 * MIN + 59_000, 2],
    // at 10:21:01 with 10:15 missing too → 10:15:01; 10:05 is 10:01 before > 10 → stale
    ['Sum 5-min: two missing', 'Sum', 5, [1, 2, Number.NaN, Number.NaN], 21 * MIN + 1_000, undefined],
  ])('%s', (_case, stat, stepMinutes, values, nowAfterT, expected) => {
    expect(latestDemand(series(stepMinutes, values), T + nowAfterT, observationLagMs(stat, stepMinutes * 60))).toBe(expected);
  });

  it.each<[string, number, number]>([
    ['Average', 60, 0],
    ['Sum', 60, 2 * MIN], // 60 s period + 60 s settle
    ['Sum', 300, 6 * MIN], // 300 s + 60 s
    ['p99', 300, 0],
  ])('observationLagMs(%s, %i) = %i', (stat, stepSeconds, lag) => {
    expect(observationLagMs(stat, stepSeconds)).toBe(lag);
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
    const need = demandNeed({ history, forecast: rampForecast, serviceLevel: 0.9, nowMs: T + 5 * MIN + 5_000, horizonMinutes: 4, observationLagMs: 2 * MIN });
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

describe('unsettledLowerBound: what a Sum still settling has already counted', () => {
  const N = Number.NaN;
  it.each<[string, string, number[], number | undefined]>([
    // 1-min at 10:05:20: settled periods end ≤ 10:04:20 → 10:00..10:03; 10:04 (ended 20 s ago) and 10:05 (in progress) settle later.
    ['the highest partial of the periods still settling', 'Sum', [5, 5, 5, 5, 9, 2], 9],
    ['the period in progress alone', 'Sum', [5, 5, 5, 5, N, 3], 3],
    ['nothing published yet', 'Sum', [5, 5, 5, 5, N, N], undefined],
    ['SampleCount only grows too', 'SampleCount', [5, 5, 5, 5, 9, 2], 9],
    // 10:06 has not started at 10:05:20: not a period of demand yet.
    ['a period not started is ignored', 'Sum', [5, 5, 5, 5, 1, 1, 50], 1],
    // A gauge is read as it comes (nothing is cut), and a trimmed sum may drop a value it held once more arrive.
    ['a gauge has no such bound', 'Average', [5, 5, 5, 5, 9, 2], undefined],
    ['nor has a trimmed sum', 'TS(10%:90%)', [5, 5, 5, 5, 9, 2], undefined],
  ])('%s', (_case, stat, values, expected) => {
    expect(unsettledLowerBound(series(1, values), stat, T + 5 * MIN + 20_000)).toBe(expected);
  });
});
