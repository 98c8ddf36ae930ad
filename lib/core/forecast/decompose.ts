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

/** Trend and daily profile of one pass. */
interface DailyPass {
  readonly trend: Float64Array;
  readonly daily: Float64Array;
}

/** Trend (a day's centred moving average) of `deweeklied` (the series less the weekly estimate, if any) and the daily profile around it. */
function dailyPass(deweeklied: Float64Array, options: DecomposeOptions, dailyPhases: Int32Array): DailyPass {
  const n = deweeklied.length;
  const trend = centredMovingAverage(deweeklied, options.dailySteps);
  const detrended = new Float64Array(n);
  for (let i = 0; i < n; i++) detrended[i] = deweeklied[i]! - trend[i]!;
  return { trend, daily: phaseMedians(detrended, options.dailySteps, options.recentDays, dailyPhases) };
}

/** Weekly profile of what the trend and the daily profile leave. */
function weeklyPass(y: Float64Array, pass: DailyPass, options: DecomposeOptions, phases: Phases, weeklyPhases: Int32Array): Float64Array {
  const n = y.length;
  const work = new Float64Array(n);
  for (let i = 0; i < n; i++) work[i] = y[i]! - pass.trend[i]! - pass.daily[phases.daily[i]!]!;
  return phaseMedians(work, options.weeklySteps, options.recentWeeks, weeklyPhases);
}

/**
 * `first` is the daily pass of y itself. A daily-only decomposition ends
 * there (a second pass would repeat the first exactly).
 */
function estimate(
  y: Float64Array,
  options: DecomposeOptions,
  phases: Phases,
  first: DailyPass,
): { trend: Float64Array; daily: Float64Array; weekly: Float64Array | undefined; seasonal: Float64Array } {
  const n = y.length;
  let { trend, daily } = first;
  let weekly: Float64Array | undefined;
  const weeklyPhases = phases.weekly;
  if (weeklyPhases) {
    // A second pass: the weekly estimate improves the trend, which improves the daily profile.
    const deweeklied = new Float64Array(n);
    const firstWeekly = weeklyPass(y, first, options, phases, weeklyPhases);
    for (let i = 0; i < n; i++) deweeklied[i] = y[i]! - firstWeekly[weeklyPhases[i]!]!;
    ({ trend, daily } = dailyPass(deweeklied, options, phases.daily));
    weekly = weeklyPass(y, { trend, daily }, options, phases, weeklyPhases);
  }
  const seasonal = new Float64Array(n);
  for (let i = 0; i < n; i++) seasonal[i] = daily[phases.daily[i]!]! + (weekly ? weekly[weeklyPhases![i]!]! : 0);
  return { trend, daily, weekly, seasonal };
}

/**
 * What the daily-only and the daily+weekly decompositions of one series
 * share: the daily pass of the series itself and its typical level. The
 * models decompose every validation prefix both ways, so they compute this
 * once per prefix and hand it to both.
 */
export interface DecompositionStart {
  readonly dailyPhases: Int32Array;
  readonly firstPass: DailyPass;
  /** Median |y|. */
  readonly typicalLevel: number;
}

/** Only `dailySteps` and `recentDays` of the options matter here. */
export function decompositionStart(y: Float64Array, options: DecomposeOptions): DecompositionStart {
  const n = y.length;
  const dailyPhases = phaseTable(n, options.dailySteps);
  const magnitudes = new Float64Array(n);
  for (let i = 0; i < n; i++) magnitudes[i] = Math.abs(y[i]!);
  return { dailyPhases, firstPass: dailyPass(y, options, dailyPhases), typicalLevel: median(magnitudes) };
}

/** `start` is decompositionStart(y, options), shared when y is decomposed more than one way. */
export function decompose(y: Float64Array, options: DecomposeOptions, start = decompositionStart(y, options)): Decomposition {
  const n = y.length;
  const phases: Phases = {
    daily: start.dailyPhases,
    weekly: options.weeklySteps > 0 ? phaseTable(n, options.weeklySteps, options.weeklyPhase) : undefined,
  };
  const first = estimate(y, options, phases, start.firstPass);
  const remainder = new Float64Array(n);
  for (let i = 0; i < n; i++) remainder[i] = y[i]! - first.trend[i]! - first.seasonal[i]!;
  const centre = median(remainder);
  const absDeviation = new Float64Array(n);
  for (let i = 0; i < n; i++) absDeviation[i] = Math.abs(remainder[i]! - centre);
  // 1.4826 × MAD estimates σ for normal noise.
  // …but never below half the typical level: on smooth, quantised series the
  // MAD is tiny and real day-to-day swings would be clipped (measured on M4).
  const limit = Math.max(options.clipSigmas * 1.4826 * median(absDeviation), 0.5 * start.typicalLevel);
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
  const final = cleaned === y ? first : estimate(cleaned, options, phases, dailyPass(cleaned, options, phases.daily));
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
