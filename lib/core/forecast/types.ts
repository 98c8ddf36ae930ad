/**
 * The forecast stage's contract. Every model takes a regular history (NaN
 * marks a missing point) and returns, per future step, a point forecast and
 * the requested quantiles. Implementations are pure: no clock, no I/O.
 */
import type { CalendarConfig } from '../../config/schema.ts';

export interface DemandHistory {
  /** Epoch milliseconds of values[0]. */
  readonly startMs: number;
  /** Sampling interval: 60 for CloudWatch 1-minute data, 300 for 5-minute, 3600 for hourly. */
  readonly stepSeconds: number;
  /** Demand per step; NaN where the source had no datapoint. */
  readonly values: readonly number[];
}

/** Epoch milliseconds where the history ends: the start of the step after its last value. */
export function historyEndMs(history: DemandHistory): number {
  return history.startMs + history.values.length * history.stepSeconds * 1000;
}

export interface QuantileSeries {
  /** Probability level in (0, 1), e.g. 0.95. */
  readonly level: number;
  readonly values: readonly number[];
}

export interface Forecast {
  /** The model (or combination) that produced it, for the decision log. */
  readonly model: string;
  /** Epoch milliseconds of the first forecast step (the step after the last history point). */
  readonly startMs: number;
  readonly stepSeconds: number;
  readonly point: readonly number[];
  /** Sorted by level; always includes every level requested. */
  readonly quantiles: readonly QuantileSeries[];
  /**
   * One history period's transient noise, the part of an error that does not
   * persist to the next period (same unit as the values). Absent when it
   * could not be told (too little history), and in a forecast an older
   * release cached.
   */
  readonly noiseSd?: number;
}

export interface ForecastRequest {
  readonly history: DemandHistory;
  readonly horizonSteps: number;
  /** Levels wanted besides the point, e.g. [0.025, 0.5, 0.9, 0.95, 0.975, 0.99]. */
  readonly levels: readonly number[];
  readonly calendar?: CalendarConfig;
  /**
   * The latest demand at a finer step than `history`, when the history had
   * to be read coarser than its metric's period (CloudWatch serves 1-minute
   * data for 15 days, then 5-minute means). A forecast of coarse steps
   * forecasts their means; a period of the metric's own also varies about
   * its step's mean, and the quantiles must cover that too
   * (`finerDeviations`). Ignored unless its step divides the history's.
   */
  readonly fineHistory?: DemandHistory;
}

export interface Forecaster {
  readonly name: string;
  forecast(request: ForecastRequest): Forecast;
}

/** The levels every forecast carries: p50, p90, p95, p99 and the 95 % interval. */
export const STANDARD_LEVELS: readonly number[] = [0.025, 0.5, 0.9, 0.95, 0.975, 0.99];

/** Values of the quantile at `level`, interpolating linearly between the levels present. */
export function quantileAt(forecast: Forecast, level: number): readonly number[] {
  const exact = forecast.quantiles.find((q) => Math.abs(q.level - level) < 1e-9);
  if (exact) return exact.values;
  const sorted = [...forecast.quantiles].sort((a, b) => a.level - b.level);
  const upper = sorted.find((q) => q.level > level);
  const lower = sorted.findLast((q) => q.level < level);
  if (!upper && !lower) return forecast.point;
  if (!upper) return lower!.values;
  if (!lower) return upper.values;
  const weight = (level - lower.level) / (upper.level - lower.level);
  return lower.values.map((v, i) => v + weight * ((upper.values[i] ?? v) - v));
}
