import { describe, expect, it } from 'vitest';
import { seasonalDiffAr } from '../../../lib/core/forecast/models.ts';
import type { ModelMemo, SeasonContext } from '../../../lib/core/forecast/models.ts';
import { solveLinear } from '../../../lib/core/forecast/numeric.ts';
import { hourlySinusoid, seededNormal } from './support.ts';

const context: SeasonContext = { dailySteps: 24, weeklySteps: 168, weeklyPhase: undefined, recentDays: 7, recentWeeks: 3, clipSigmas: 8 };
const predict = (model: ReturnType<typeof seasonalDiffAr>, values: readonly number[], horizon = 48): Float64Array =>
  model.predict(Float64Array.from(values), horizon, context, new Map() as ModelMemo);

describe('small linear systems', () => {
  it('solves a 3×3 system that needs pivoting', () => {
    // 0·x + 2y + z = 7, x + y + z = 6, 2x + y − z = 1 → (1, 2, 3)
    const x = solveLinear(Float64Array.from([0, 2, 1, 1, 1, 1, 2, 1, -1]), Float64Array.from([7, 6, 1]), 3)!;
    expect(Array.from(x).map((v) => Math.round(v * 1e9) / 1e9)).toEqual([1, 2, 3]);
  });

  it('reports a singular system as undefined', () => {
    expect(solveLinear(Float64Array.from([1, 2, 2, 4]), Float64Array.from([1, 2]), 2)).toBeUndefined();
  });
});

describe('seasonal difference + AR', () => {
  it('repeats a purely daily pattern exactly', () => {
    const values = hourlySinusoid(21 * 24, 100, 30, 0);
    const truth = hourlySinusoid(23 * 24, 100, 30, 0).slice(21 * 24);
    for (const model of [seasonalDiffAr('daily'), seasonalDiffAr({ season: 'daily', lags: [1, 'day', 'week'], fitDays: 40, name: 'x' })]) {
      predict(model, values).forEach((p, h) => expect(p).toBeCloseTo(truth[h]!, 6));
    }
  });

  it('a weekly-periodic series: the weekly difference repeats it exactly, the week lag almost', () => {
    // weekdays at full level, weekends at 60 %: daily differences repeat weekly
    const week = (t: number): number => (Math.floor(t / 24) % 7 >= 5 ? 0.6 : 1) * (100 + 30 * Math.sin((2 * Math.PI * t) / 24));
    const values = Array.from({ length: 28 * 24 }, (_, t) => week(t));
    const truth = Array.from({ length: 48 }, (_, h) => week(28 * 24 + h));
    predict(seasonalDiffAr({ season: 'weekly', lags: [1, 2, 'day'], name: 'w' }), values).forEach((p, h) => expect(p).toBeCloseTo(truth[h]!, 6));
    // z_t = z_{t−168} exactly, fitted φ_week = 1 shrunk to 0.98: within 2 % of the largest daily change (≈ 52)
    const lagged = predict(seasonalDiffAr({ season: 'daily', lags: [1, 'week'], fitDays: 28, name: 'dw' }), values);
    lagged.forEach((p, h) => expect(Math.abs(p - truth[h]!)).toBeLessThan(0.02 * 53));
  });

  it('recovers the persistence of the departure from yesterday (AR(1) on daily differences)', () => {
    // x_t = x_{t−24} + z_t, z_t = 0.8·z_{t−1} + ε: tomorrow's departure decays by 0.8 a step
    const noise = seededNormal(7);
    const x: number[] = hourlySinusoid(24, 100, 30, 0);
    let z = 0;
    for (let t = 24; t < 30 * 24; t++) {
      z = 0.8 * z + noise();
      x.push(x[t - 24]! + z);
    }
    const n = x.length;
    const forecast = predict(seasonalDiffAr({ season: 'daily', lags: [1], fitDays: 29, name: 'ar1' }), x, 24);
    const departure = (h: number): number => forecast[h]! - x[n - 24 + h]!;
    const lastZ = x[n - 1]! - x[n - 25]!;
    const phi = departure(0) / lastZ;
    expect(phi).toBeGreaterThan(0.75);
    expect(phi).toBeLessThan(0.85);
    for (let h = 1; h < 24; h++) expect(departure(h)).toBeCloseTo(phi * departure(h - 1), 9);
  });

  it('an isolated recent spike is not repeated tomorrow', () => {
    const clean = hourlySinusoid(21 * 24, 100, 30, 0);
    const spiky = clean.map((v, t) => (t === clean.length - 10 ? v * 8 : v));
    const truth = hourlySinusoid(22 * 24, 100, 30, 0).slice(21 * 24);
    const forecast = predict(seasonalDiffAr('daily'), spiky, 24);
    expect(Math.abs(forecast[14]! - truth[14]!)).toBeLessThan(1);
  });

  it('needs a day, its largest lag and two more days of history', () => {
    expect(seasonalDiffAr('daily').minSteps(context)).toBe(24 + 24 + 48);
    expect(seasonalDiffAr({ season: 'daily', lags: [1, 'week'], name: 'dw' }).minSteps(context)).toBe(24 + 168 + 48);
  });
});
