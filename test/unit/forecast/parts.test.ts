import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { holidayWeeklyPhase, localMidnightUtcMs, timeZoneOffsetMs } from '../../../lib/core/forecast/calendar.ts';
import { decompose, decompositionStart } from '../../../lib/core/forecast/decompose.ts';
import { chooseDownsampleFactor, deviationsAboutStepMeans, downsampleMean, fillGaps, finerDeviations, seasonSteps, upsampleLinear } from '../../../lib/core/forecast/prepare.ts';
import { forecastDampedHolt } from '../../../lib/core/forecast/smoothing.ts';
import { hourlySinusoid, MONDAY_MS } from './support.ts';

describe('seasons from the sampling interval', () => {
  it.each([
    { stepSeconds: 60, daily: 1440, weekly: 10080 },
    { stepSeconds: 300, daily: 288, weekly: 2016 },
    { stepSeconds: 3600, daily: 24, weekly: 168 },
  ])('$stepSeconds s → daily $daily, weekly $weekly', ({ stepSeconds, daily, weekly }) => {
    expect(seasonSteps(stepSeconds)).toEqual({ dailySteps: daily, weeklySteps: weekly });
  });
});

describe('downsampling', () => {
  it.each([
    // 14 days of 1-minute = 20160 points; 10-minute buckets give 2016 ≤ 2100
    { stepSeconds: 60, length: 20_160, max: 2100, factor: 10 },
    // 14 days of 5-minute = 4032; 10-minute → 2016
    { stepSeconds: 300, length: 4032, max: 2100, factor: 2 },
    // short enough already
    { stepSeconds: 3600, length: 960, max: 2100, factor: 1 },
  ])('$length points at $stepSeconds s, max $max → factor $factor', ({ stepSeconds, length, max, factor }) => {
    expect(chooseDownsampleFactor(stepSeconds, length, 100, max)).toBe(factor);
  });

  it('buckets align to the end and drop the leading remainder', () => {
    // [1 | 2 3 | 4 5] with factor 2 → means 2.5, 4.5
    expect(Array.from(downsampleMean(Float64Array.from([1, 2, 3, 4, 5]), 2))).toEqual([2.5, 4.5]);
  });

  it('upsampling interpolates between bucket centres, starting from the anchor', () => {
    // factor 2: bucket 0 centre at 0.5, bucket 1 at 2.5; anchor (last history bucket) at −1.5 with value 0
    // step 0: 0 + (10 − 0)·(0 + 1.5)/(0.5 + 1.5) = 7.5; step 1: between 10 and 20 at 0.25 → 12.5
    expect(upsampleLinear([10, 20], 2, 4, 0)).toEqual([7.5, 12.5, 17.5, 20]);
  });
});

describe('points about their step means', () => {
  it.each<[string, number[], number, number[], number]>([
    // steps [1 3] [5 9]: means 2 and 7 → −1 1 −2 2; mean square (1 + 1 + 4 + 4) / 4 = 2.5
    ['whole steps', [1, 3, 5, 9], 2, [-2, -1, 1, 2], 2.5],
    // [1 3] then a trailing 5 that is not a whole step: only −1 1; mean square 1
    ['a partial last step', [1, 3, 5], 2, [-1, 1], 1],
    // [NaN 3] is skipped, [5 9] → −2 2; mean square 4
    ['a step with a gap', [Number.NaN, 3, 5, 9], 2, [-2, 2], 4],
  ])('%s', (_name, values, ratio, deviations, meanSquare) => {
    const spread = deviationsAboutStepMeans(values, ratio);
    expect(Array.from(spread.deviations)).toEqual(deviations);
    expect(spread.meanSquare).toBe(meanSquare);
  });
});

describe('a finer history about its coarse steps', () => {
  const NaN_ = Number.NaN;
  it.each<[string, { startMs: number; stepSeconds: number; values: number[] }, number, number[], number]>([
    // 5-minute steps of 1-minute points: means 3 and 10 → deviations −2 −1 0 1 2 and five 0;
    // mean square (4 + 1 + 0 + 1 + 4 + 0) / 10 = 1
    ['two complete steps', { startMs: 0, stepSeconds: 60, values: [1, 2, 3, 4, 5, 10, 10, 10, 10, 10] }, 300, [-2, -1, 0, 0, 0, 0, 0, 0, 1, 2], 1],
    // the first step lacks a point and is skipped; the second's mean is 6.8 → −0.8 × 3, +1.2 × 2;
    // mean square (3 × 0.64 + 2 × 1.44) / 5 = 0.96
    ['a step with a gap', { startMs: 0, stepSeconds: 60, values: [1, 2, NaN_, 4, 5, 6, 6, 6, 8, 8] }, 300, [-0.8, -0.8, -0.8, 1.2, 1.2], 0.96],
    // starting 2 minutes into a step: its 3 points are part of it, not all; the next step is whole: 1 2 3 2 2,
    // mean 10 / 5 = 2 → −1 0 1 0 0; mean square (1 + 0 + 1 + 0 + 0) / 5 = 0.4
    ['a partial first step', { startMs: 120_000, stepSeconds: 60, values: [9, 9, 0, 1, 2, 3, 2, 2] }, 300, [-1, 0, 0, 0, 1], 0.4],
    ['the same step (not finer)', { startMs: 0, stepSeconds: 300, values: [1, 2, 3] }, 300, [], 0],
    ['a step that does not divide the coarse one', { startMs: 0, stepSeconds: 120, values: [1, 2, 3, 4, 5] }, 300, [], 0],
  ])('%s', (_name, fine, coarseStepSeconds, deviations, meanSquare) => {
    const spread = finerDeviations(fine, 0, coarseStepSeconds);
    expect(Array.from(spread.deviations)).toHaveLength(deviations.length);
    Array.from(spread.deviations).forEach((d, i) => expect(d).toBeCloseTo(deviations[i]!, 12));
    expect(spread.meanSquare).toBeCloseTo(meanSquare, 12);
  });
});

describe('gap filling', () => {
  it('short gaps are linear, long gaps copy the previous season', () => {
    const daily = [0, 10, 20, 10]; // season of 4
    const values = [...daily, 0, Number.NaN, 20, 10, ...daily, Number.NaN, Number.NaN, Number.NaN, Number.NaN];
    const filled = Array.from(fillGaps(values, 4));
    // index 5: one missing point between 0 and 20 → 10
    expect(filled[5]).toBe(10);
    // the last four are a whole missing season: copied from one season earlier
    expect(filled.slice(12)).toEqual(daily);
  });
});

describe('robust decomposition', () => {
  it('a spike does not move the daily profile', () => {
    const clean = Float64Array.from(hourlySinusoid(14 * 24, 100, 30, 0));
    const spiky = Float64Array.from(clean);
    spiky[13 * 24 + 6] = 1000;
    const options = { dailySteps: 24, weeklySteps: 0, weeklyPhase: undefined, recentDays: 7, recentWeeks: 3, clipSigmas: 6 };
    const a = decompose(clean, options);
    const b = decompose(spiky, options);
    for (let p = 0; p < 24; p++) expect(Math.abs(a.dailyProfile[p]! - b.dailyProfile[p]!)).toBeLessThan(1);
    // and the cleaned series no longer holds the spike
    expect(b.cleaned[13 * 24 + 6]!).toBeLessThan(300);
  });

  it('the shared start: first daily pass and typical level', () => {
    const start = decompositionStart(Float64Array.from([-3, 1, 2, -4]), { dailySteps: 2, weeklySteps: 0, recentDays: 7, recentWeeks: 3, clipSigmas: 8 });
    // |y| = [3, 1, 2, 4] → (2 + 3) / 2 = 2.5
    expect(start.typicalLevel).toBe(2.5);
    expect([...start.dailyPhases]).toEqual([0, 1, 0, 1]);
    // two-point means, the last window held at the end: [(−3+1)/2, (1+2)/2, (2−4)/2, (2−4)/2]
    expect([...start.firstPass.trend]).toEqual([-1, 1.5, -1, -1]);
    // detrended [−2, −0.5, 3, −3]: phase medians 0.5 and −1.75, centred by their mean −0.625
    expect([...start.firstPass.daily]).toEqual([1.125, -1.125]);
  });

  it.each([0, 168])('a shared start changes nothing (weekly %i steps)', (weeklySteps) => {
    const y = Float64Array.from(hourlySinusoid(21 * 24, 100, 30, 0));
    y[20 * 24 + 3] = 900;
    const options = { dailySteps: 24, weeklySteps, weeklyPhase: undefined, recentDays: 7, recentWeeks: 3, clipSigmas: 6 };
    const alone = decompose(y, options);
    const shared = decompose(y, options, decompositionStart(y, { ...options, weeklySteps: 168 - weeklySteps }));
    expect(shared.adjusted).toEqual(alone.adjusted);
    expect(shared.cleaned).toEqual(alone.cleaned);
    expect(shared.seasonalAt(21 * 24 + 5)).toBe(alone.seasonalAt(21 * 24 + 5));
  });
});

describe('calendar arithmetic', () => {
  it('time-zone offsets and local midnight (Intl)', () => {
    // New York is UTC−4 in July (EDT): local midnight of 4 July is 04:00 UTC
    expect(timeZoneOffsetMs(Date.UTC(2025, 6, 4, 12), 'America/New_York')).toBe(-4 * 3_600_000);
    expect(localMidnightUtcMs('2025-07-04', 'America/New_York')).toBe(Date.UTC(2025, 6, 4, 4));
    expect(localMidnightUtcMs('2025-01-08', 'UTC')).toBe(Date.UTC(2025, 0, 8));
  });

  it('a weekday holiday takes the weekly phase of the previous weekend day', () => {
    // hourly from Monday 6 Jan; Wednesday 8 Jan is hours 48..71; the previous Sunday is 3 days
    // earlier, so hour 48 takes phase (48 − 72) mod 168 = 144, hour 71 takes 167.
    const phases = holidayWeeklyPhase({ timeZone: 'UTC', holidays: ['2025-01-08'], events: [] }, MONDAY_MS, 3600, 14 * 24, 24, 168)!;
    expect(phases[47]).toBe(47);
    expect(phases[48]).toBe(144);
    expect(phases[71]).toBe(167);
    expect(phases[72]).toBe(72);
    // the same phase a week later is untouched
    expect(phases[48 + 168]).toBe(48);
  });

  it('no holidays → no remapping', () => {
    expect(holidayWeeklyPhase({ timeZone: 'UTC', holidays: [], events: [] }, MONDAY_MS, 3600, 100, 24, 168)).toBeUndefined();
  });
});

describe('damped Holt grid search', () => {
  /** One fit at a time, each stopping once it cannot win: what the side-by-side fit must reproduce to the bit. */
  function oneAtATime(y: Float64Array, horizonSteps: number, fitSteps: number, trendWindowSteps: number): Float64Array {
    const n = y.length;
    const from = Math.max(0, n - fitSteps);
    const window = Math.max(1, Math.min(trendWindowSteps, Math.floor((n - from) / 2)));
    const initialTrend = n - from > window ? (y[from + window]! - y[from]!) / window : 0;
    let best = { sse: Number.POSITIVE_INFINITY, level: y[n - 1]!, trend: 0, phi: 0.8 };
    for (const alpha of [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]) {
      for (const betaFraction of [0.02, 0.1, 0.3]) {
        for (const phi of [0.8, 0.9, 0.98]) {
          let level = y[from]!;
          let trend = initialTrend;
          let sse = 0;
          for (let t = from + 1; t < n; t++) {
            const predicted = level + phi * trend;
            const error = y[t]! - predicted;
            sse += error * error;
            trend = phi * trend + alpha * betaFraction * error;
            level = predicted + alpha * error;
            if (sse >= best.sse) break;
          }
          if (sse < best.sse) best = { sse, level, trend, phi };
        }
      }
    }
    const out = new Float64Array(horizonSteps);
    let damping = 0;
    let power = 1;
    for (let h = 0; h < horizonSteps; h++) {
      power *= best.phi;
      damping += power;
      out[h] = best.level + damping * best.trend;
    }
    return out;
  }

  it('chooses exactly as fitting one damping factor at a time, ties included', () => {
    // Small integers make equal errors (ties between grid points) common.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 2, maxLength: 60 }), fc.integer({ min: 2, max: 60 }), (values, fitSteps) => {
        const y = Float64Array.from(values);
        expect(forecastDampedHolt(y, 5, fitSteps, 4)).toEqual(oneAtATime(y, 5, fitSteps, 4));
      }),
    );
  });
});
