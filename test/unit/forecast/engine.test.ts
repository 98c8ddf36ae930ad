import { describe, expect, it } from 'vitest';
import type { CalendarConfig } from '../../../lib/config/schema.ts';
import { createForecaster, fineNoiseVarianceOf, transientNoiseSd } from '../../../lib/core/forecast/engine.ts';
import { quantileAt, STANDARD_LEVELS } from '../../../lib/core/forecast/types.ts';
import type { Forecast, ForecastRequest } from '../../../lib/core/forecast/types.ts';
import { HOUR_SECONDS, hourlySinusoid, MONDAY_MS, seededNormal } from './support.ts';

const forecaster = createForecaster();

function hourly(values: readonly number[], horizonSteps = 48, calendar?: CalendarConfig): ForecastRequest {
  return { history: { startMs: MONDAY_MS, stepSeconds: HOUR_SECONDS, values }, horizonSteps, levels: STANDARD_LEVELS, calendar };
}

function expectWellFormed(forecast: Forecast, horizonSteps: number): void {
  expect(forecast.point).toHaveLength(horizonSteps);
  expect(forecast.quantiles.map((q) => q.level)).toEqual([...STANDARD_LEVELS]);
  for (const q of forecast.quantiles) for (const v of q.values) expect(Number.isFinite(v)).toBe(true);
  // quantiles never cross
  for (let i = 1; i < forecast.quantiles.length; i++) {
    forecast.quantiles[i]!.values.forEach((v, h) => expect(v).toBeGreaterThanOrEqual(forecast.quantiles[i - 1]!.values[h]!));
  }
}

describe('known answers', () => {
  it('forecasts a pure daily sinusoid plus trend almost exactly', () => {
    // 100 + 0.05·t + 20·sin(2πt/24) over 21 days; the next 48 h continue it.
    const all = hourlySinusoid(21 * 24 + 48, 100, 20, 0.05);
    const history = all.slice(0, 21 * 24);
    const actual = all.slice(21 * 24);
    const forecast = forecaster.forecast(hourly(history));
    expectWellFormed(forecast, 48);
    forecast.point.forEach((p, h) => expect(Math.abs(p - actual[h]!) / actual[h]!).toBeLessThan(0.01));
  });

  it('forecasts a constant as that constant, with a zero-width interval', () => {
    const forecast = forecaster.forecast(hourly(new Array<number>(15 * 24).fill(42)));
    expectWellFormed(forecast, 48);
    for (const p of forecast.point) expect(p).toBeCloseTo(42, 6);
    for (const q of forecast.quantiles) for (const v of q.values) expect(v).toBeCloseTo(42, 3);
  });

  it('starts the forecast at the step after the last history point', () => {
    const forecast = forecaster.forecast(hourly(new Array<number>(100).fill(1)));
    expect(forecast.startMs).toBe(MONDAY_MS + 100 * HOUR_SECONDS * 1000);
    expect(forecast.stepSeconds).toBe(HOUR_SECONDS);
  });
});

describe('fallback chain', () => {
  const seasonal = hourlySinusoid(21 * 24, 100, 30, 0);
  const gappy = seasonal.map((v, t) => (t % 5 === 0 || t >= seasonal.length - 6 ? Number.NaN : v));
  const cases: { name: string; values: number[]; model: RegExp }[] = [
    { name: 'no data at all', values: [], model: /^no-data$/ },
    { name: 'only NaN', values: [Number.NaN, Number.NaN], model: /^no-data$/ },
    { name: 'one point → last value', values: [50], model: /^naive$/ },
    { name: 'ten points → last value', values: [5, 6, 5, 7, 6, 5, 6, 7, 6, 5], model: /^naive$/ },
    { name: '40 h (< 2 days) → non-seasonal (holt / naive)', values: seasonal.slice(0, 40), model: /^(holt|naive|combo\((holt|naive)\+(holt|naive)\))$/ },
    { name: 'four days → seasonal candidates', values: seasonal.slice(0, 24 * 4), model: /snaive|stl|smean/ },
    { name: '21 days with every 5th point and the last 6 h missing', values: gappy, model: /snaive|stl|smean/ },
  ];
  it.each(cases)('$name', ({ values, model }) => {
    const forecast = forecaster.forecast(hourly(values, 24));
    expect(forecast.model).toMatch(model);
    expectWellFormed(forecast, 24);
  });

  it('the last-value fallback has wide intervals (at least ±25 % of the level)', () => {
    const forecast = forecaster.forecast(hourly([100], 6));
    expect(forecast.point).toEqual(new Array(6).fill(100));
    expect(quantileAt(forecast, 0.975)[0]!).toBeGreaterThanOrEqual(125);
    expect(quantileAt(forecast, 0.025)[0]!).toBeLessThanOrEqual(75);
  });

  it('forecasts through a gap at the end as if the day had been there', () => {
    const forecast = forecaster.forecast(hourly(gappy, 24));
    const truth = hourlySinusoid(21 * 24 + 24, 100, 30, 0).slice(21 * 24);
    forecast.point.forEach((p, h) => expect(Math.abs(p - truth[h]!)).toBeLessThan(3));
  });

  it('never forecasts below zero for non-negative demand', () => {
    const values = hourlySinusoid(14 * 24, 10, 10, -0.02).map((v) => Math.max(0, v));
    const forecast = forecaster.forecast(hourly(values));
    for (const q of forecast.quantiles) for (const v of q.values) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('robustness', () => {
  it('a spike in the history does not poison tomorrow', () => {
    const clean = hourlySinusoid(21 * 24, 100, 30, 0);
    const spiky = clean.map((v, t) => (t === clean.length - 10 ? v * 8 : v));
    const forecast = forecaster.forecast(hourly(spiky, 24));
    // the spike sat at hour (21·24 − 10) mod 24 = 14; its repeat is step 14 of the forecast
    const truth = hourlySinusoid(22 * 24, 100, 30, 0).slice(21 * 24);
    expect(Math.abs(forecast.point[14]! - truth[14]!)).toBeLessThan(15);
  });

  it('follows a level shift', () => {
    const values = hourlySinusoid(21 * 24, 100, 20, 0).map((v, t) => (t >= 18 * 24 ? v + 100 : v));
    const forecast = forecaster.forecast(hourly(values, 24));
    const truth = hourlySinusoid(22 * 24, 200, 20, 0).slice(21 * 24);
    const meanError = forecast.point.reduce((s, p, h) => s + Math.abs(p - truth[h]!), 0) / 24;
    expect(meanError).toBeLessThan(10);
  });

  it.each([
    { stepSeconds: 60, days: 14, horizonSteps: 180 },
    { stepSeconds: 300, days: 14, horizonSteps: 24 },
    { stepSeconds: 3600, days: 21, horizonSteps: 48 },
  ])('handles $stepSeconds s sampling ($days days, $horizonSteps steps)', ({ stepSeconds, days, horizonSteps }) => {
    const perDay = 86_400 / stepSeconds;
    const values = Array.from({ length: days * perDay }, (_, i) => 100 + 40 * Math.sin((2 * Math.PI * i) / perDay));
    const forecast = forecaster.forecast({ history: { startMs: MONDAY_MS, stepSeconds, values }, horizonSteps, levels: STANDARD_LEVELS });
    expectWellFormed(forecast, horizonSteps);
    forecast.point.forEach((p, h) => expect(Math.abs(p - (100 + 40 * Math.sin((2 * Math.PI * (values.length + h)) / perDay)))).toBeLessThan(3));
  });
});

describe('calibration', () => {
  it('the 95 % interval covers about 95 % of a noisy seasonal series', () => {
    // 100 + 30·sin + N(0, 5²): ten forecasts a day apart, 24 h each → 240 checks.
    const normal = seededNormal(7);
    const values = hourlySinusoid(40 * 24, 100, 30, 0).map((v) => v + 5 * normal());
    let inside = 0;
    let total = 0;
    for (let k = 0; k < 10; k++) {
      const cut = 28 * 24 + k * 24;
      const forecast = forecaster.forecast(hourly(values.slice(0, cut), 24));
      const lower = quantileAt(forecast, 0.025);
      const upper = quantileAt(forecast, 0.975);
      for (let h = 0; h < 24; h++) {
        const y = values[cut + h]!;
        if (y >= lower[h]! && y <= upper[h]!) inside++;
        total++;
      }
    }
    expect(inside / total).toBeGreaterThan(0.88);
    expect(inside / total).toBeLessThan(0.995);
  });
});

describe('business calendar', () => {
  const base = hourlySinusoid(21 * 24, 100, 30, 0);
  const forecastStartMs = MONDAY_MS + base.length * HOUR_SECONDS * 1000;
  const hour = (h: number): string => new Date(forecastStartMs + h * HOUR_SECONDS * 1000).toISOString();
  const calendar = (events: CalendarConfig['events']): CalendarConfig => ({ timeZone: 'UTC', holidays: [], events });

  it('an event multiplies the forecast inside its window and nowhere else', () => {
    const plain = forecaster.forecast(hourly(base, 24));
    const withEvent = forecaster.forecast(hourly(base, 24, calendar([{ name: 'launch', start: hour(10), end: hour(14), multiplier: 2 }])));
    withEvent.point.forEach((p, h) => {
      // steps 10, 11, 12, 13 are inside [start, end); the rest are unchanged
      if (h >= 10 && h < 14) expect(p).toBeCloseTo(2 * plain.point[h]!, 6);
      else expect(p).toBeCloseTo(plain.point[h]!, 6);
    });
    expect(quantileAt(withEvent, 0.95)[12]!).toBeCloseTo(2 * quantileAt(plain, 0.95)[12]!, 6);
  });

  it('a past event is divided out of the history so it does not repeat', () => {
    const pastStart = new Date(forecastStartMs - 12 * HOUR_SECONDS * 1000).toISOString();
    const pastEnd = new Date(forecastStartMs - 8 * HOUR_SECONDS * 1000).toISOString();
    const boosted = base.map((v, t) => (t >= base.length - 12 && t < base.length - 8 ? 3 * v : v));
    const forecast = forecaster.forecast(hourly(boosted, 24, calendar([{ name: 'campaign', start: pastStart, end: pastEnd, multiplier: 3 }])));
    const plain = forecaster.forecast(hourly(base, 24));
    forecast.point.forEach((p, h) => expect(p).toBeCloseTo(plain.point[h]!, 6));
  });
});

describe('a history read coarser than its metric', () => {
  // Three days of 5-minute means of 100 (retention served the 1-minute metric coarser), and the last two days at
  // 1 minute: 98 99 100 101 102 in every 5 minutes, so each minute is off its step's mean by −2…2 (mean square
  // (4 + 1 + 0 + 1 + 4) / 5 = 2) while every mean is exactly 100.
  const coarse = { startMs: MONDAY_MS, stepSeconds: 300, values: new Array<number>(3 * 288).fill(100) };
  const fineStartMs = MONDAY_MS + 288 * 300_000;
  const fine = { startMs: fineStartMs, stepSeconds: 60, values: Array.from({ length: 2 * 1440 }, (_, i) => 98 + (i % 5)) };
  const request = (fineHistory?: typeof fine): ForecastRequest => ({ history: coarse, horizonSteps: 12, levels: STANDARD_LEVELS, ...(fineHistory ? { fineHistory } : {}) });

  it('widens the quantiles by a minute’s spread about its step’s mean, and counts it as noise', () => {
    const plain = forecaster.forecast(request());
    const widened = forecaster.forecast(request(fine));
    expect(widened.point).toEqual(plain.point);
    // A constant forecasts itself with no spread…
    expect(quantileAt(plain, 0.975)[0]! - plain.point[0]!).toBeCloseTo(0, 3);
    // …the minutes' spread puts the 97.5 % and 2.5 % quantiles of −2…2 (2 and −2) around it, and the noise is √2.
    for (let h = 0; h < 12; h++) {
      expect(quantileAt(widened, 0.975)[h]! - widened.point[h]!).toBeCloseTo(2, 3);
      expect(quantileAt(widened, 0.025)[h]! - widened.point[h]!).toBeCloseTo(-2, 3);
    }
    expect(widened.noiseSd).toBeCloseTo(Math.SQRT2, 3);
  });

  it('ignores a "finer" history at the same step', () => {
    const same = { startMs: fineStartMs, stepSeconds: 300, values: Array.from({ length: 576 }, (_, i) => 98 + (i % 5)) };
    expect(forecaster.forecast(request(same as typeof fine))).toEqual(forecaster.forecast(request()));
  });
});

describe('transient noise', () => {
  const rows = (...values: number[][]) => values.map((v) => Float64Array.from(v));
  it.each<[string, Float64Array[], number]>([
    // a level error that persists across steps cancels in every difference
    ['a persistent level error', rows([5, 5, 5], [-3, -3, -3]), 0],
    // differences −2, 2, 2, −2 → mean square 4 → √(4 / 2) = √2
    ['errors that flip every step', rows([1, -1, 1], [-1, 1, -1]), Math.SQRT2],
    // differences 3, 0, 3 (5 → 8 → 8 → 11): mean square 6 → √(6 / 2) = √3
    ['a level error plus steps', rows([5, 8, 8, 11]), Math.sqrt(3)],
    ['fewer than 3 differences', rows([1, 2], [3, 4]), Number.NaN],
    // the NaN difference is skipped: 1 → 2 → NaN → 4 → 5 leaves differences 1, 1 only
    ['a non-finite residual', rows([1, 2, Number.NaN, 4, 5]), Number.NaN],
  ])('%s', (_name, residuals, expected) => {
    if (Number.isNaN(expected)) expect(transientNoiseSd(residuals)).toBeNaN();
    else expect(transientNoiseSd(residuals)).toBeCloseTo(expected, 12);
  });

  it('a forecast carries the noise that does not persist, not its level error', () => {
    // 100 + 30·sin + N(0, 5²) hourly for 28 days: the transient noise is the N(0, 5²).
    const normal = seededNormal(11);
    const values = hourlySinusoid(28 * 24, 100, 30, 0).map((v) => v + 5 * normal());
    const forecast = forecaster.forecast(hourly(values, 24));
    expect(forecast.noiseSd).toBeGreaterThan(3.5);
    expect(forecast.noiseSd).toBeLessThan(7);
    // A constant has none.
    expect(forecaster.forecast(hourly(new Array<number>(15 * 24).fill(42))).noiseSd).toBeCloseTo(0, 9);
  });

  it('counts day-to-day level shifts as level error, not noise, unlike the interval', () => {
    // Each day's level moves by N(0, 40²); within a day, N(0, 5²) noise.
    const normal = seededNormal(3);
    let level = 0;
    const values = hourlySinusoid(28 * 24, 200, 30, 0).map((v, t) => (t % 24 === 0 ? (level += 40 * normal()) : 0, v + level + 5 * normal()));
    const forecast = forecaster.forecast(hourly(values, 24));
    const intervalSd = (quantileAt(forecast, 0.975)[0]! - quantileAt(forecast, 0.025)[0]!) / 3.92;
    expect(forecast.noiseSd).toBeLessThan(10);
    expect(intervalSd).toBeGreaterThan(20);
  });

  it('on a downsampled history, a smooth wave inside a bucket is not noise', () => {
    // 28 days of 1-minute data (factor > 1 internally), 1000 + 300·sin(daily), no noise; then with N(0, 5²).
    const minutes = 28 * 1440;
    const wave = Array.from({ length: minutes }, (_, t) => 1000 + 300 * Math.sin((2 * Math.PI * t) / 1440));
    const perMinute = (values: number[]): ForecastRequest => ({ history: { startMs: MONDAY_MS, stepSeconds: 60, values }, horizonSteps: 60, levels: STANDARD_LEVELS });
    expect(forecaster.forecast(perMinute(wave)).noiseSd).toBeLessThan(1);
    const normal = seededNormal(5);
    const noisy = forecaster.forecast(perMinute(wave.map((v) => v + 5 * normal()))).noiseSd;
    expect(noisy).toBeGreaterThan(3.5);
    expect(noisy).toBeLessThan(7);
  });

  it.each<[string, number[], number, number]>([
    ['no downsampling', [1, 5, 2], 1, 0],
    // buckets of 3: means 1, 4, 7, 10 at points 1, 4, 7, 10 — the line through them is the series itself
    ['a straight line', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 3, 0],
    // buckets of 2: means 0, 0, 0 — every point is ±1 off the line
    ['alternating noise', [1, -1, 1, -1, 1, -1], 2, 1],
  ])('fine noise about the line through the buckets: %s', (_name, values, factor, expected) => {
    const original = Float64Array.from(values);
    const buckets = Float64Array.from({ length: values.length / factor }, (_, b) => values.slice(b * factor, (b + 1) * factor).reduce((a, v) => a + v, 0) / factor);
    expect(fineNoiseVarianceOf(original, buckets, factor, 100)).toBeCloseTo(expected, 9);
  });

  it('is scaled by an event under way, as the forecast is', () => {
    // 1 % multiplicative noise; an event ×3 over the first 6 forecast hours triples the noise there.
    const normal = seededNormal(9);
    const values = hourlySinusoid(28 * 24, 1000, 300, 0).map((v) => v * (1 + 0.01 * normal()));
    const startMs = MONDAY_MS + values.length * HOUR_SECONDS * 1000;
    const at = (h: number) => new Date(startMs + h * HOUR_SECONDS * 1000).toISOString();
    const plain = forecaster.forecast(hourly(values, 24)).noiseSd!;
    const during = forecaster.forecast(hourly(values, 24, { timeZone: 'UTC', holidays: [], events: [{ name: 'launch', start: at(0), end: at(6), multiplier: 3 }] })).noiseSd!;
    expect(during).toBeCloseTo(3 * plain, 9);
  });
});
