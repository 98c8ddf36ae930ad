/**
 * A short-horizon model of the next few periods given the latest ones. The
 * seasonal engine fits long histories at a coarse internal step and refits
 * once an hour, so what the last few minutes say (a burst in progress, a
 * level that moved) reaches the plan only as a mean offset, while its
 * intervals are as wide as the whole day's noise. The nowcast is the direct
 * answer to "what will period k + h be, given period k": for each h, least
 * squares on [1, latest, mean of the last hour, the same period a day
 * before], fitted at the metric's own period over the last week, and the
 * empirical quantiles of its fitting errors for the intervals (in-sample,
 * but four weights on at least 200 rows leave them little optimism).
 */
import { quantileSorted, solveLinear } from './numeric.ts';
import type { DemandHistory } from './types.ts';

const DAY_SECONDS = 86_400;
const HOUR_SECONDS = 3_600;
/** Fit over the last week (recent dynamics, not last month's), or the last MIN_ROWS periods if a week holds fewer. */
const FIT_WINDOW_DAYS = 7;
/** Fewer fitted rows than this per horizon step: no nowcast (intervals need a tail). */
const MIN_ROWS = 200;
const FEATURES = 4;
/**
 * The latest period may be missing (a metric published late): the nowcast
 * then starts from the latest finite one up to this many periods older, so
 * it is fitted this many steps further than the window needs.
 */
export const NOWCAST_LAG_STEPS = 2;

export interface NowcastModel {
  readonly stepSeconds: number;
  /** Periods averaged for the "mean of the last hour" feature. */
  readonly meanPeriods: number;
  /** weights[h − 1]: for period k + h, on [1, v_k, mean of the last meanPeriods, the same period a day before]. */
  readonly weights: readonly (readonly number[])[];
  /** The levels of `offsets`, ascending. */
  readonly levels: readonly number[];
  /** offsets[h − 1][l]: the levels[l] quantile of the errors at step h. */
  readonly offsets: readonly (readonly number[])[];
  /** Demand a day before each period from startMs on (NaN where unknown): the seasonal feature for periods after the fit. */
  readonly dayBefore: { readonly startMs: number; readonly values: readonly number[] };
}

export interface NowcastRequest {
  readonly history: DemandHistory;
  /** Horizon steps fitted (h = 1..maxSteps). */
  readonly maxSteps: number;
  readonly levels: readonly number[];
  /** Periods after the history for which to keep the day-before values. */
  readonly aheadSteps: number;
}

export function meanPeriodsFor(stepSeconds: number): number {
  return Math.max(3, Math.round(HOUR_SECONDS / stepSeconds));
}

/**
 * History a fit needs, in milliseconds: the fitting window, a day before it
 * (the day-before feature) and an hour (the recent mean). Read on its own at
 * the metric's period: the seasonal forecast's four weeks come back coarser
 * for 1-minute metrics (CloudWatch keeps 1-minute data 15 days), and a model
 * fitted at another period cannot read the planner's recent demand.
 */
export function nowcastHistoryMs(stepSeconds: number, maxSteps: number): number {
  const fitSeconds = Math.max(FIT_WINDOW_DAYS * DAY_SECONDS, (MIN_ROWS + maxSteps) * stepSeconds);
  return (fitSeconds + DAY_SECONDS + meanPeriodsFor(stepSeconds) * stepSeconds) * 1000;
}

/** Mean of the finite values among values[from..to], NaN when none. */
function finiteMean(values: readonly number[], from: number, to: number): number {
  let sum = 0;
  let count = 0;
  for (let i = Math.max(0, from); i <= to; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** The feature row for predicting period `target` from period `latest`; undefined when the latest value is missing. */
export function nowcastFeatures(latest: number, recentMean: number, dayBefore: number): number[] | undefined {
  if (!Number.isFinite(latest)) return undefined;
  // A missing value stands in as the latest one, the same way at fit and at use.
  return [1, latest, Number.isFinite(recentMean) ? recentMean : latest, Number.isFinite(dayBefore) ? dayBefore : latest];
}

/** Undefined when the history is too short, or its period does not divide a day. */
export function fitNowcast(request: NowcastRequest): NowcastModel | undefined {
  const { history, maxSteps, levels } = request;
  const values = history.values;
  const n = values.length;
  const step = history.stepSeconds;
  if (DAY_SECONDS % step !== 0 || maxSteps < 1) return undefined;
  const daySteps = DAY_SECONDS / step;
  const meanPeriods = meanPeriodsFor(step);
  const firstLatest = Math.max(daySteps, n - Math.max(FIT_WINDOW_DAYS * daySteps, MIN_ROWS + maxSteps));
  const weights: number[][] = [];
  const offsets: number[][] = [];
  for (let h = 1; h <= maxSteps; h++) {
    const rows: number[][] = [];
    const targets: number[] = [];
    for (let k = firstLatest; k + h < n; k++) {
      const y = values[k + h]!;
      if (!Number.isFinite(y)) continue;
      const row = nowcastFeatures(values[k]!, finiteMean(values, k - meanPeriods + 1, k), values[k + h - daySteps]!);
      if (row === undefined) continue;
      rows.push(row);
      targets.push(y);
    }
    if (rows.length < MIN_ROWS) return undefined;
    const w = leastSquares(rows, targets);
    if (w === undefined) return undefined;
    const errors = Float64Array.from(rows.map((row, i) => targets[i]! - dot(w, row))).sort();
    weights.push(w);
    offsets.push(levels.map((level) => quantileSorted(errors, conformalLevel(level, errors.length))));
  }
  const aheadStartMs = history.startMs + n * step * 1000;
  const dayBefore: number[] = [];
  for (let j = 0; j < request.aheadSteps; j++) {
    const index = n + j - daySteps;
    dayBefore.push(index >= 0 && index < n ? values[index]! : Number.NaN);
  }
  return { stepSeconds: step, meanPeriods, weights, levels: [...levels], offsets, dayBefore: { startMs: aheadStartMs, values: dayBefore } };
}

/** Finite-sample conformal correction: aim (N + 1)·level / N of the way out, as conformal.ts does. */
function conformalLevel(level: number, n: number): number {
  return level >= 0.5 ? Math.min(1, ((n + 1) * level) / n) : Math.max(0, 1 - ((n + 1) * (1 - level)) / n);
}

function dot(w: readonly number[], row: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < row.length; i++) s += w[i]! * row[i]!;
  return s;
}

/** Normal equations with a tiny ridge, so a flat series (collinear features) still solves. */
function leastSquares(rows: readonly number[][], targets: readonly number[]): number[] | undefined {
  const xtx = new Float64Array(FEATURES * FEATURES);
  const xty = new Float64Array(FEATURES);
  rows.forEach((row, r) => {
    for (let i = 0; i < FEATURES; i++) {
      xty[i] = xty[i]! + row[i]! * targets[r]!;
      for (let j = 0; j < FEATURES; j++) xtx[i * FEATURES + j] = xtx[i * FEATURES + j]! + row[i]! * row[j]!;
    }
  });
  let trace = 0;
  for (let i = 0; i < FEATURES; i++) trace += xtx[i * FEATURES + i]!;
  for (let i = 0; i < FEATURES; i++) xtx[i * FEATURES + i] = xtx[i * FEATURES + i]! + 1e-9 * trace + 1e-12;
  const solved = solveLinear(xtx, xty, FEATURES);
  return solved === undefined ? undefined : [...solved];
}

/** Offset at `level`, interpolating between the fitted levels (clamped at the ends). */
function offsetAt(model: NowcastModel, h: number, level: number): number {
  const row = model.offsets[h - 1]!;
  const { levels } = model;
  if (level <= levels[0]!) return row[0]!;
  for (let l = 1; l < levels.length; l++) {
    if (level <= levels[l]!) {
      const t = (level - levels[l - 1]!) / (levels[l]! - levels[l - 1]!);
      return row[l - 1]! + t * (row[l]! - row[l - 1]!);
    }
  }
  return row[row.length - 1]!;
}

/** The latest finite period at or before `index`, at most NOWCAST_LAG_STEPS older; −1 when none. */
export function nowcastLatestIndex(recent: DemandHistory, index: number): number {
  for (let i = index; i >= Math.max(0, index - NOWCAST_LAG_STEPS); i--) if (Number.isFinite(recent.values[i])) return i;
  return -1;
}

/**
 * The `level` quantile of the period starting `h` periods after the latest
 * observed one (index `latestIndex` of `recent`), or undefined when the model
 * does not reach h or the latest value is missing.
 */
export function nowcastQuantile(model: NowcastModel, recent: DemandHistory, latestIndex: number, h: number, level: number): number | undefined {
  if (h < 1 || h > model.weights.length || recent.stepSeconds !== model.stepSeconds || latestIndex < 0) return undefined;
  const stepMs = model.stepSeconds * 1000;
  const targetStartMs = recent.startMs + (latestIndex + h) * stepMs;
  const dayIndex = Math.round((targetStartMs - model.dayBefore.startMs) / stepMs);
  const dayBefore = dayIndex >= 0 && dayIndex < model.dayBefore.values.length ? model.dayBefore.values[dayIndex]! : Number.NaN;
  const row = nowcastFeatures(recent.values[latestIndex]!, finiteMean(recent.values, latestIndex - model.meanPeriods + 1, latestIndex), dayBefore);
  if (row === undefined) return undefined;
  return Math.max(0, dot(model.weights[h - 1]!, row) + offsetAt(model, h, level));
}
