/**
 * Robust multi-seasonal decomposition (MSTL-style, daily then weekly):
 * y = trend + daily + weekly + remainder. Seasonal profiles are per-phase
 * MEDIANS of the detrended series over recent seasons, so one spike or one
 * odd day moves them little; a first pass finds remainder outliers, which are
 * clipped before the second pass so they poison neither the profile nor the
 * level the smoothing models fit afterwards.
 */
import { centredMovingAverage, median, medianOfRangeInPlace, positiveModulo } from './numeric.ts';

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

/**
 * Phase of every index in [0, n): the calendar's phase where it gives one,
 * else index mod period. Built once per decomposition, so the passes below
 * look phases up instead of recomputing them per point.
 */
function phaseTable(n: number, period: number, calendarPhase?: Int32Array): Int32Array {
  const phases = new Int32Array(n);
  for (let i = 0; i < n; i++) phases[i] = calendarPhase?.[i] ?? i % period;
  return phases;
}

interface Phases {
  readonly daily: Int32Array;
  /** Undefined when the weekly component is skipped. */
  readonly weekly: Int32Array | undefined;
}

/**
 * Per-phase medians of `values` over the last `seasons` seasons, centred to
 * mean zero; non-finite values are left out. The values are grouped by phase
 * into one buffer (a counting sort, index order kept within a phase) rather
 * than an array per phase: this runs four times per decomposition at every
 * validation origin.
 */
function phaseMedians(values: Float64Array, period: number, seasons: number, phases: Int32Array): Float64Array {
  const n = values.length;
  const from = Math.max(0, n - seasons * period);
  // starts[p] is where phase p's values begin; starts[period] is their total.
  const starts = new Int32Array(period + 1);
  for (let i = from; i < n; i++) if (Number.isFinite(values[i]!)) starts[phases[i]! + 1]!++;
  for (let p = 0; p < period; p++) starts[p + 1]! += starts[p]!;
  const grouped = new Float64Array(starts[period]!);
  const next = starts.slice(0, period);
  for (let i = from; i < n; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) grouped[next[phases[i]!]!++] = v;
  }
  const profile = new Float64Array(period);
  let total = 0;
  let filled = 0;
  for (let p = 0; p < period; p++) {
    const m = medianOfRangeInPlace(grouped, starts[p]!, starts[p + 1]!);
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
  phases: Phases,
): { trend: Float64Array; daily: Float64Array; weekly: Float64Array | undefined; seasonal: Float64Array } {
  const n = y.length;
  const { dailySteps, weeklySteps } = options;
  const useWeekly = weeklySteps > 0;
  const seasonal = new Float64Array(n);
  let weekly: Float64Array | undefined;
  let daily: Float64Array = new Float64Array(dailySteps);
  let trend: Float64Array = new Float64Array(n);
  const work = new Float64Array(n);
  // Two passes: the weekly estimate improves the trend, which improves the
  // daily profile. Without a weekly component the second pass would repeat
  // the first exactly.
  const passes = useWeekly ? 2 : 1;
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < n; i++) work[i] = y[i]! - (weekly ? weekly[phases.weekly![i]!]! : 0);
    trend = centredMovingAverage(work, dailySteps);
    for (let i = 0; i < n; i++) work[i] = work[i]! - trend[i]!;
    daily = phaseMedians(work, dailySteps, options.recentDays, phases.daily);
    if (useWeekly) {
      for (let i = 0; i < n; i++) work[i] = y[i]! - trend[i]! - daily[phases.daily[i]!]!;
      weekly = phaseMedians(work, weeklySteps, options.recentWeeks, phases.weekly!);
    }
  }
  for (let i = 0; i < n; i++) seasonal[i] = daily[phases.daily[i]!]! + (weekly ? weekly[phases.weekly![i]!]! : 0);
  return { trend, daily, weekly, seasonal };
}

export function decompose(y: Float64Array, options: DecomposeOptions): Decomposition {
  const n = y.length;
  const phases: Phases = {
    daily: phaseTable(n, options.dailySteps),
    weekly: options.weeklySteps > 0 ? phaseTable(n, options.weeklySteps, options.weeklyPhase) : undefined,
  };
  const first = estimate(y, options, phases);
  const remainder = new Float64Array(n);
  for (let i = 0; i < n; i++) remainder[i] = y[i]! - first.trend[i]! - first.seasonal[i]!;
  const centre = median(remainder);
  const absDeviation = new Float64Array(n);
  for (let i = 0; i < n; i++) absDeviation[i] = Math.abs(remainder[i]! - centre);
  // 1.4826 × MAD estimates σ for normal noise.
  // …but never below half the typical level: on smooth, quantised series the
  // MAD is tiny and real day-to-day swings would be clipped (measured on M4).
  const magnitudes = new Float64Array(n);
  for (let i = 0; i < n; i++) magnitudes[i] = Math.abs(y[i]!);
  const typicalLevel = median(magnitudes);
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
  const final = cleaned === y ? first : estimate(cleaned, options, phases);
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
