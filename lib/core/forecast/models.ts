/**
 * Point models. Each takes a regular, gap-free series (index 0 is the first
 * internal step) and returns H point forecasts. The engine runs every
 * applicable model at several validation origins, so they are cheap and
 * share the decomposition through a per-origin memo.
 */
import { decompose, decompositionStart } from './decompose.ts';
import type { DecomposeOptions, Decomposition, DecompositionStart } from './decompose.ts';
import { laggedProductSum, medianInPlace, solveLinear } from './numeric.ts';
import { forecastDampedHolt, forecastSes, forecastTheta } from './smoothing.ts';

export interface SeasonContext {
  readonly dailySteps: number;
  readonly weeklySteps: number;
  /** Weekly phase per index (history + horizon), with holidays remapped to a weekend day; undefined = index mod weekly. */
  readonly weeklyPhase: Int32Array | undefined;
  /** Decomposition tuning (recent seasons used, outlier clipping). */
  readonly recentDays: number;
  readonly recentWeeks: number;
  readonly clipSigmas: number;
}

/** Shares expensive intermediate results (the decomposition) between models fitted on the same series. */
export type ModelMemo = Map<string, unknown>;

export interface PointModel {
  readonly name: string;
  /** Fewest points this model needs. */
  minSteps(context: SeasonContext): number;
  predict(y: Float64Array, horizonSteps: number, context: SeasonContext, memo: ModelMemo): Float64Array;
}

/** Whether a weekly component can be estimated: two full weeks at least. */
function hasWeeklyHistory(length: number, context: SeasonContext): boolean {
  return length >= 2 * context.weeklySteps;
}

function seasonPeriod(season: 'daily' | 'weekly', context: SeasonContext): number {
  return season === 'daily' ? context.dailySteps : context.weeklySteps;
}

function smoothingWindowSteps(length: number, context: SeasonContext): number {
  // A few days of level history is enough; older data only slows the grid search.
  return Math.min(length, Math.max(6 * context.dailySteps, 48));
}

function decomposition(y: Float64Array, context: SeasonContext, memo: ModelMemo, weekly: boolean): Decomposition {
  const key = weekly ? 'mstl' : 'stl';
  const cached = memo.get(key) as Decomposition | undefined;
  if (cached) return cached;
  const options: DecomposeOptions = {
    dailySteps: context.dailySteps,
    weeklySteps: weekly ? context.weeklySteps : 0,
    weeklyPhase: context.weeklyPhase,
    recentDays: context.recentDays,
    recentWeeks: context.recentWeeks,
    clipSigmas: context.clipSigmas,
  };
  // The daily-only and daily+weekly decompositions of y begin alike.
  let start = memo.get('decomposition-start') as DecompositionStart | undefined;
  if (!start) {
    start = decompositionStart(y, options);
    memo.set('decomposition-start', start);
  }
  const result = decompose(y, options, start);
  memo.set(key, result);
  return result;
}

/** The cleaned series (spikes clipped) when a decomposition is possible, else the raw one. */
function cleanedSeries(y: Float64Array, context: SeasonContext, memo: ModelMemo): Float64Array {
  if (y.length < 2 * context.dailySteps) return y;
  return decomposition(y, context, memo, hasWeeklyHistory(y.length, context)).cleaned;
}

/** Tomorrow (or next week) repeats the last season, from the spike-clipped series. */
export function seasonalNaive(season: 'daily' | 'weekly'): PointModel {
  return {
    name: `snaive-${season}`,
    minSteps: (context) => seasonPeriod(season, context),
    predict(y, horizonSteps, context, memo) {
      const period = seasonPeriod(season, context);
      const source = cleanedSeries(y, context, memo);
      const n = y.length;
      const out = new Float64Array(horizonSteps);
      for (let h = 0; h < horizonSteps; h++) out[h] = source[n - period + (h % period)]!;
      return out;
    },
  };
}

/** Mean of the same phase over the last `days` days: seasonal naive with the day-to-day noise averaged out. */
export function seasonalMean(days: number): PointModel {
  return {
    name: `smean-${days}d`,
    minSteps: (context) => 2 * context.dailySteps,
    predict(y, horizonSteps, context, memo) {
      const period = context.dailySteps;
      const source = cleanedSeries(y, context, memo);
      const n = y.length;
      const usable = Math.min(days, Math.floor(n / period));
      const out = new Float64Array(horizonSteps);
      for (let h = 0; h < horizonSteps; h++) {
        let sum = 0;
        for (let d = 1; d <= usable; d++) sum += source[n - d * period + (h % period)]!;
        out[h] = sum / usable;
      }
      return out;
    },
  };
}

export type LevelModel = 'holt' | 'ses' | 'theta';

function levelForecast(kind: LevelModel, adjusted: Float64Array, horizonSteps: number, context: SeasonContext): Float64Array {
  const window = smoothingWindowSteps(adjusted.length, context);
  switch (kind) {
    case 'holt':
      return forecastDampedHolt(adjusted, horizonSteps, window, context.dailySteps);
    case 'ses':
      return forecastSes(adjusted, horizonSteps, window);
    case 'theta':
      return forecastTheta(adjusted, horizonSteps, window);
  }
}

/**
 * Decomposition + a level model on the seasonally adjusted series:
 * `mstl-*` uses daily and weekly seasons when two weeks exist (else daily
 * only), `stl-*` always daily only.
 */
export function decomposed(seasons: 'mstl' | 'stl', level: LevelModel): PointModel {
  return {
    name: `${seasons}-${level}`,
    minSteps: (context) => 2 * context.dailySteps,
    predict(y, horizonSteps, context, memo) {
      const weekly = seasons === 'mstl' && hasWeeklyHistory(y.length, context);
      const parts = decomposition(y, context, memo, weekly);
      const path = levelForecast(level, parts.adjusted, horizonSteps, context);
      const n = y.length;
      const out = new Float64Array(horizonSteps);
      for (let h = 0; h < horizonSteps; h++) out[h] = path[h]! + parts.seasonalAt(n + h);
      return out;
    },
  };
}

/**
 * The spike-clipped series with isolated one-step spikes also removed: a
 * point far from BOTH neighbours on the same side (beyond `sigmas` robust σ of
 * the one-step changes) that was not there a day earlier either (beyond
 * `sigmas` robust σ of the daily changes) becomes its neighbours' mean. The
 * decomposition's clipping stops at half the typical level so it cannot
 * remove a recent spike completely, and the copy-based models would repeat
 * what is left of it tomorrow.
 */
function despikedSeries(y: Float64Array, context: SeasonContext, memo: ModelMemo, sigmas = 6): Float64Array {
  const cached = memo.get('despiked') as Float64Array | undefined;
  if (cached) return cached;
  const x = cleanedSeries(y, context, memo);
  const n = x.length;
  const period = context.dailySteps;
  let result = x;
  if (n > 2 * period + 2) {
    const steps = new Float64Array(n - 1);
    for (let t = 1; t < n; t++) steps[t - 1] = Math.abs(x[t]! - x[t - 1]!);
    const seasonal = new Float64Array(n - period);
    for (let t = period; t < n; t++) seasonal[t - period] = Math.abs(x[t]! - x[t - period]!);
    const stepLimit = sigmas * 1.4826 * medianInPlace(steps);
    const seasonalLimit = sigmas * 1.4826 * medianInPlace(seasonal);
    if (stepLimit > 0 && seasonalLimit > 0) {
      for (let t = period; t < n - 1; t++) {
        const up = x[t]! - x[t - 1]!;
        const down = x[t]! - x[t + 1]!;
        if (Math.sign(up) === Math.sign(down) && Math.min(Math.abs(up), Math.abs(down)) > stepLimit && Math.abs(x[t]! - x[t - period]!) > seasonalLimit) {
          if (result === x) result = Float64Array.from(x);
          result[t] = (x[t - 1]! + x[t + 1]!) / 2;
        }
      }
    }
  }
  memo.set('despiked', result);
  return result;
}

/** A lag in steps, or in days / weeks of the context. */
export type Lag = number | 'day' | 'week' | '2day';

function lagSteps(lag: Lag, context: SeasonContext): number {
  if (lag === 'day') return context.dailySteps;
  if (lag === '2day') return 2 * context.dailySteps;
  if (lag === 'week') return context.weeklySteps;
  return lag;
}

export interface SeasonalDiffArOptions {
  /** Difference over a day or a week. */
  readonly season: 'daily' | 'weekly';
  /** Autoregressive lags of the differenced series. Default [1, 2, 'day']. */
  readonly lags?: readonly Lag[];
  /** Days of recent history the coefficients are fitted on. Default 10. */
  readonly fitDays?: number;
  readonly name?: string;
}

/**
 * Seasonal difference plus autoregression (SARIMA (2,0,0)(1,1,0)-like):
 * z_t = x_t − x_{t−P} with P a day (or a week), z_t = Σ φ_k·z_{t−lag_k},
 * fitted by least squares on the recent spike-clipped history, then
 * iterated: tomorrow is today's copy plus the decaying persistence of today's
 * departure from yesterday. Coefficients are shrunk to Σ|φ| ≤ 0.98 so the
 * recursion stays stable.
 */
export function seasonalDiffAr(seasonOrOptions: 'daily' | 'weekly' | SeasonalDiffArOptions): PointModel {
  const options: SeasonalDiffArOptions = typeof seasonOrOptions === 'string' ? { season: seasonOrOptions } : seasonOrOptions;
  const { season } = options;
  const lagSpec = options.lags ?? [1, 2, 'day'];
  const fitDays = options.fitDays ?? 10;
  const lagsOf = (context: SeasonContext): number[] => [...new Set(lagSpec.map((l) => lagSteps(l, context)))].filter((l) => l >= 1).sort((a, b) => a - b);
  return {
    name: options.name ?? `sar-${season}`,
    minSteps: (context) => seasonPeriod(season, context) + Math.max(...lagsOf(context)) + 2 * context.dailySteps,
    predict(y, horizonSteps, context, memo) {
      const period = seasonPeriod(season, context);
      const day = context.dailySteps;
      const x = despikedSeries(y, context, memo);
      const n = x.length;
      const lags = lagsOf(context);
      const k = lags.length;
      const maxLag = lags[k - 1]!;
      const z = new Float64Array(n + horizonSteps);
      for (let t = period; t < n; t++) z[t] = x[t]! - x[t - period]!;
      const from = Math.max(period + maxLag, n - fitDays * day);
      // Each entry is its own sum over t (in t order), one tight loop per
      // entry; a product does not depend on the order of its factors, so the
      // lower triangle mirrors the upper.
      const a = new Float64Array(k * k);
      const b = new Float64Array(k);
      const energy = laggedProductSum(z, from, n, 0, 0);
      for (let i = 0; i < k; i++) {
        b[i] = laggedProductSum(z, from, n, lags[i]!, 0);
        for (let j = i; j < k; j++) a[i * k + j] = laggedProductSum(z, from, n, lags[i]!, lags[j]!);
        for (let j = 0; j < i; j++) a[i * k + j] = a[j * k + i]!;
      }
      // A whisper of ridge keeps flat stretches (all-zero differences) solvable.
      const ridge = 1e-6 * energy + 1e-12;
      for (let i = 0; i < k; i++) a[i * k + i] = a[i * k + i]! + ridge;
      const phi = (from < n - 2 * k ? solveLinear(a, b, k) : undefined) ?? new Float64Array(k);
      let total = 0;
      for (let i = 0; i < k; i++) total += Math.abs(phi[i]!);
      if (total > 0.98) for (let i = 0; i < k; i++) phi[i] = (phi[i]! * 0.98) / total;
      const out = new Float64Array(horizonSteps);
      for (let h = 0; h < horizonSteps; h++) {
        const t = n + h;
        let zt = 0;
        for (let i = 0; i < k; i++) zt += phi[i]! * z[t - lags[i]!]!;
        z[t] = zt;
        const base = t - period < n ? x[t - period]! : out[t - period - n]!;
        out[h] = base + zt;
      }
      return out;
    },
  };
}

/** Non-seasonal damped Holt: for histories too short to see a season. */
export const dampedHolt: PointModel = {
  name: 'holt',
  minSteps: () => 8,
  predict(y, horizonSteps) {
    return forecastDampedHolt(y, horizonSteps, y.length, Math.max(1, Math.floor(y.length / 4)));
  },
};

/** Last value repeated: the end of the fallback chain. */
export const lastValue: PointModel = {
  name: 'naive',
  minSteps: () => 1,
  predict(y, horizonSteps) {
    return new Float64Array(horizonSteps).fill(y[y.length - 1]!);
  },
};

/**
 * Runs `model` on log(y) and exponentiates back, turning additive seasonality
 * into multiplicative (peaks scale with the level, as load does). Only for
 * strictly positive series; otherwise the model runs on y unchanged.
 */
export function onLogScale(model: PointModel): PointModel {
  return {
    name: `${model.name}-log`,
    minSteps: (context) => model.minSteps(context),
    predict(y, horizonSteps, context, memo) {
      const log = logSeries(y, memo);
      if (!log) return model.predict(y, horizonSteps, context, memo);
      const out = model.predict(log.y, horizonSteps, context, log.memo);
      for (let h = 0; h < horizonSteps; h++) out[h] = Math.exp(out[h]!);
      return out;
    },
  };
}

/** log(y) and the memo of the models fitted on it. */
interface LogSeries {
  readonly y: Float64Array;
  readonly memo: ModelMemo;
}

/** log(y), shared by every log-scale model on the same series; null when y is not strictly positive. */
function logSeries(y: Float64Array, memo: ModelMemo): LogSeries | null {
  const cached = memo.get('log') as LogSeries | null | undefined;
  if (cached !== undefined) return cached;
  let positive = true;
  for (let i = 0; i < y.length; i++) if (!(y[i]! > 0)) positive = false;
  const result: LogSeries | null = positive ? { y: y.map(Math.log), memo: new Map() } : null;
  memo.set('log', result);
  return result;
}

/** The default candidate set for seasonal histories; selection picks per series. */
export function defaultSeasonalModels(): PointModel[] {
  return [
    seasonalNaive('daily'),
    seasonalNaive('weekly'),
    seasonalMean(7),
    decomposed('mstl', 'holt'),
    decomposed('mstl', 'ses'),
    decomposed('mstl', 'theta'),
    decomposed('stl', 'holt'),
    onLogScale(decomposed('mstl', 'holt')),
    onLogScale(decomposed('mstl', 'ses')),
    onLogScale(decomposed('stl', 'holt')),
    // Seasonal difference + AR: the strongest single models on M4 hourly.
    seasonalDiffAr('daily'),
    seasonalDiffAr({ season: 'daily', lags: [1, 'day', 'week'], fitDays: 40, name: 'sar-1dw' }),
    seasonalDiffAr({ season: 'daily', lags: [1, 'week'], fitDays: 28, name: 'sar-1w' }),
    seasonalDiffAr({ season: 'daily', lags: [1, 2, 'day', '2day', 'week'], fitDays: 28, name: 'sar-12d2dw' }),
    seasonalDiffAr({ season: 'daily', lags: [1, 'day', '2day', 'week'], fitDays: 40, name: 'sar-1d2dw' }),
    seasonalDiffAr({ season: 'weekly', lags: [1, 2, 'day'], fitDays: 28, name: 'sar-weekly' }),
  ];
}
