import { describe, expect, it } from 'vitest';
import { fitNowcast, meanPeriodsFor, nowcastFeatures, nowcastHistoryMs, nowcastLatestIndex, nowcastQuantile } from '../../../lib/core/forecast/nowcast.ts';
import { mulberry32 } from '../../../lib/core/random.ts';

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 0, 5);

/** `days` of hourly values from `valueAt(i)`. */
function hourly(days: number, valueAt: (i: number) => number) {
  return { startMs: T0, stepSeconds: 3600, values: Array.from({ length: days * 24 }, (_, i) => valueAt(i)) };
}

describe('nowcast features', () => {
  it.each<[string, number, number, number, number[] | undefined]>([
    ['all present', 10, 8, 12, [1, 10, 8, 12]],
    // a missing mean or day-before value stands in as the latest: the same rule at fit and at use
    ['no day before', 10, 8, Number.NaN, [1, 10, 8, 10]],
    ['no recent mean', 10, Number.NaN, 12, [1, 10, 10, 12]],
    ['no latest value: no nowcast', Number.NaN, 8, 12, undefined],
  ])('%s', (_name, latest, mean, dayBefore, expected) => expect(nowcastFeatures(latest, mean, dayBefore)).toEqual(expected));

  it.each([
    [60, 60], // 1-minute data: the last hour is 60 periods
    [300, 12], // 5-minute: 3600 / 300 = 12
    [1800, 3], // 30-minute: 2 periods make an hour, but a mean needs at least 3
    [3600, 3],
  ])('the last hour at a %i s period is %i periods', (step, expected) => expect(meanPeriodsFor(step)).toBe(expected));
});

describe('fitNowcast', () => {
  it('recovers the day-before weight of a purely daily series, with zero-width intervals', () => {
    // v = 100 + 10 × hour of day: the same period a day before predicts every step exactly, so the
    // errors are 0 and every quantile offset is 0 (up to the tiny ridge).
    const series = hourly(10, (i) => 100 + 10 * (i % 24));
    const model = fitNowcast({ history: series, maxSteps: 2, levels: [0.5, 0.9], aheadSteps: 24 })!;
    expect(model).toBeDefined();
    for (const offsets of model.offsets) for (const o of offsets) expect(Math.abs(o)).toBeLessThan(1e-3);
    // History ends at day 10 00:00. Recent: day 9 20:00–23:00 = 300, 310, 320, 330. Day 10 00:00 was 100 and
    // 01:00 was 110 a day before: the model follows the day before, and one period off would read 110 and 120.
    const recent = { startMs: model.dayBefore.startMs - 4 * HOUR_MS, stepSeconds: 3600, values: [300, 310, 320, 330] };
    expect(nowcastQuantile(model, recent, 3, 1, 0.9)).toBeCloseTo(100, 3);
    expect(nowcastQuantile(model, recent, 3, 2, 0.5)).toBeCloseTo(110, 3);
  });

  it.each<[string, number[], number]>([
    ['the latest period', [1, 2, 3], 2],
    ['one late period skipped', [1, 2, Number.NaN], 1],
    ['two skipped', [1, Number.NaN, Number.NaN], 0],
    // three periods without data: the nowcast has nothing recent to start from
    ['too old', [1, Number.NaN, Number.NaN, Number.NaN], -1],
  ])('starts from %s', (_name, values, expected) => {
    expect(nowcastLatestIndex({ startMs: 0, stepSeconds: 60, values }, values.length - 1)).toBe(expected);
  });

  it.each([
    // 1-minute, 6 steps: max(7 d, 206 min) + 1 d + 60 min = 8 d 1 h — inside CloudWatch's 15 days at 1 minute
    [60, 6, (8 * 24 + 1) * HOUR_MS],
    // hourly, 2 steps: a week is only 168 periods, so 202 h + 24 h + 3 h = 229 h
    [3600, 2, 229 * HOUR_MS],
  ])('a %i s metric fitted %i steps reads %i ms of history', (step, steps, expected) => expect(nowcastHistoryMs(step, steps)).toBe(expected));

  it('learns how far the latest value carries: an AR(1) around a level', () => {
    // x[i] = 100 + 0.8 (x[i−1] − 100) + e, e ~ U(−10, 10): one step ahead the best weight on the latest is 0.8,
    // two steps 0.64; the U(−10, 10) error has its 0.9 quantile at 8.
    const random = mulberry32(7);
    let x = 100;
    const series = hourly(40, () => (x = 100 + 0.8 * (x - 100) + (random() * 20 - 10)));
    const model = fitNowcast({ history: series, maxSteps: 2, levels: [0.5, 0.9], aheadSteps: 24 })!;
    // weights: [1, latest, mean of the last 3, day before]; the latest carries most of it
    const [, latest1, mean1] = model.weights[0]!;
    expect(latest1! + mean1!).toBeGreaterThan(0.6);
    expect(latest1! + mean1!).toBeLessThan(1);
    expect(model.offsets[0]![1]).toBeGreaterThan(6);
    expect(model.offsets[0]![1]).toBeLessThan(10);
    // Further ahead the latest value says less and the interval is no narrower.
    expect(model.weights[1]![1]! + model.weights[1]![2]!).toBeLessThan(latest1! + mean1!);
    expect(model.offsets[1]![1]).toBeGreaterThanOrEqual(model.offsets[0]![1]! - 0.5);
  });

  it.each<[string, ReturnType<typeof hourly>]>([
    // 24 + 200 rows are needed at least: one day for the day-before feature, 200 rows for the tails
    ['too short', hourly(9, () => 1)],
    ['a period that does not divide a day', { startMs: T0, stepSeconds: 7 * 60, values: Array(5000).fill(1) }],
  ])('no model when the history is %s', (_name, series) => {
    expect(fitNowcast({ history: series, maxSteps: 1, levels: [0.9], aheadSteps: 1 })).toBeUndefined();
  });

  it('reads nothing it was not fitted for', () => {
    const model = fitNowcast({ history: hourly(12, (i) => 100 + (i % 24)), maxSteps: 2, levels: [0.9], aheadSteps: 24 })!;
    const recent = { startMs: model.dayBefore.startMs - 3 * HOUR_MS, stepSeconds: 3600, values: [10, 11, 12] };
    expect(nowcastQuantile(model, recent, 2, 3, 0.9)).toBeUndefined(); // h beyond maxSteps
    expect(nowcastQuantile(model, recent, 2, 0, 0.9)).toBeUndefined(); // h = 0 is observed, not forecast
    expect(nowcastQuantile(model, { ...recent, stepSeconds: 60 }, 2, 1, 0.9)).toBeUndefined(); // another period
    expect(nowcastQuantile(model, { ...recent, values: [10, 11, Number.NaN] }, 2, 1, 0.9)).toBeUndefined(); // latest missing
    expect(nowcastQuantile(model, recent, 2, 1, 0.9)).toBeGreaterThanOrEqual(0);
  });

  it('never returns negative demand', () => {
    const model = fitNowcast({ history: hourly(12, (i) => (i % 24 < 12 ? 0 : 100)), maxSteps: 1, levels: [0.1], aheadSteps: 24 })!;
    const recent = { startMs: model.dayBefore.startMs - 3 * HOUR_MS, stepSeconds: 3600, values: [0, 0, 0] };
    expect(nowcastQuantile(model, recent, 2, 1, 0.1)).toBeGreaterThanOrEqual(0);
  });
});
