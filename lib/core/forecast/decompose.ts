/**
 * Robust multi-seasonal decomposition (MSTL-style, daily then weekly):
 * y = trend + daily + weekly + remainder. Seasonal profiles are per-phase
 * MEDIANS of the detrended series over recent seasons, so one spike or one
 * odd day moves them little; a first pass finds remainder outliers, which are
 * clipped before the second pass so they poison neither the profile nor the
 * level the smoothing models fit afterwards.
 */
import { centredMovingAverage, median, positiveModulo } from './numeric.ts';

export interface DecomposeOptions {
  readonly dailySteps: number;
  /** 0 to skip the weekly component. */
  readonly weeklySteps: number;
  /** Weekly phase per index (history then horizon); holidays remap to a weekend phase. Default index mod weekly. */
  readonly weeklyPhase?: Int32Array | undefined;
  /** Only the most recent seasons shape the profiles, so they can drift. */
  readonly recentDays: number;
  readonly recentWeeks: number;
  /** Remainder points beyond this many robust standard deviations are clipped. */
  readonly clipSigmas: number;
}

export interface Decomposition {
  /** The series with outliers clipped. */
  readonly cleaned: Float64Array;
  /** cleaned − daily − weekly: what the level/trend models fit. */
  readonly adjusted: Float64Array;
  readonly dailyProfile: Float64Array;
  readonly weeklyProfile: Float64Array | undefined;
  /** Seasonal component at any index, past or future. */
  seasonalAt(index: number): number;
}

function weeklyPhaseOf(options: DecomposeOptions, index: number): number {
  const phase = options.weeklyPhase?.[index];
  return phase ?? positiveModulo(index, options.weeklySteps);
}

/** Per-phase medians of `values` over the last `seasons` seasons, centred to mean zero. */
function phaseMedians(values: Float64Array, period: number, seasons: number, phaseOf: (index: number) => number): Float64Array {
  const n = values.length;
  const from = Math.max(0, n - seasons * period);
  const buckets: number[][] = Array.from({ length: period }, () => []);
  for (let i = from; i < n; i++) buckets[phaseOf(i)]!.push(values[i]!);
  const profile = new Float64Array(period);
  let total = 0;
  let filled = 0;
  for (let p = 0; p < period; p++) {
    const m = median(buckets[p]!);
    profile[p] = Number.isNaN(m) ? 0 : m;
    if (!Number.isNaN(m)) {
      total += m;
      filled++;
    }
  }
  const centre = filled === 0 ? 0 : total / filled;
  for (let p = 0; p < period; p++) profile[p] = profile[p]! - centre;
  return profile;
}

function estimate(
  y: Float64Array,
  options: DecomposeOptions,
): { trend: Float64Array; daily: Float64Array; weekly: Float64Array | undefined; seasonal: Float64Array } {
  const n = y.length;
  const { dailySteps, weeklySteps } = options;
  const useWeekly = weeklySteps > 0;
  const seasonal = new Float64Array(n);
  let weekly: Float64Array | undefined;
  let daily: Float64Array = new Float64Array(dailySteps);
  let trend: Float64Array = new Float64Array(n);
  const work = new Float64Array(n);
  // Two passes: the weekly estimate improves the trend, which improves the daily profile.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < n; i++) work[i] = y[i]! - (weekly ? weekly[weeklyPhaseOf(options, i)]! : 0);
    trend = centredMovingAverage(work, dailySteps);
    for (let i = 0; i < n; i++) work[i] = work[i]! - trend[i]!;
    daily = phaseMedians(work, dailySteps, options.recentDays, (i) => i % dailySteps);
    if (useWeekly) {
      for (let i = 0; i < n; i++) work[i] = y[i]! - trend[i]! - daily[i % dailySteps]!;
      weekly = phaseMedians(work, weeklySteps, options.recentWeeks, (i) => weeklyPhaseOf(options, i));
    }
  }
  for (let i = 0; i < n; i++) seasonal[i] = daily[i % dailySteps]! + (weekly ? weekly[weeklyPhaseOf(options, i)]! : 0);
  return { trend, daily, weekly, seasonal };
}

export function decompose(y: Float64Array, options: DecomposeOptions): Decomposition {
  const n = y.length;
  const first = estimate(y, options);
  const remainder = new Float64Array(n);
  for (let i = 0; i < n; i++) remainder[i] = y[i]! - first.trend[i]! - first.seasonal[i]!;
  const centre = median(remainder);
  const absDeviation = new Float64Array(n);
  for (let i = 0; i < n; i++) absDeviation[i] = Math.abs(remainder[i]! - centre);
  // 1.4826 × MAD estimates σ for normal noise.
  // …but never below half the typical level: on smooth, quantised series the
  // MAD is tiny and real day-to-day swings would be clipped (measured on M4).
  const typicalLevel = median(y.map(Math.abs));
  const limit = Math.max(options.clipSigmas * 1.4826 * median(absDeviation), 0.5 * typicalLevel);
  let cleaned = y;
  if (limit > 0 && Number.isFinite(limit)) {
    let clipped = 0;
    const candidate = new Float64Array(y);
    for (let i = 0; i < n; i++) {
      const r = remainder[i]! - centre;
      if (r > limit || r < -limit) {
        candidate[i] = y[i]! - r + Math.sign(r) * limit;
        clipped++;
      }
    }
    if (clipped > 0) cleaned = candidate;
  }
  const final = cleaned === y ? first : estimate(cleaned, options);
  const adjusted = new Float64Array(n);
  for (let i = 0; i < n; i++) adjusted[i] = cleaned[i]! - final.seasonal[i]!;
  const { daily, weekly } = final;
  return {
    cleaned,
    adjusted,
    dailyProfile: daily,
    weeklyProfile: weekly,
    seasonalAt: (index) => daily[positiveModulo(index, options.dailySteps)]! + (weekly ? weekly[weeklyPhaseOf(options, index)]! : 0),
  };
}
