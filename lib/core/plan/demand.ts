/**
 * The demand a decision must cover. A decision made now buys capacity that
 * serves from node boot onwards and is the last word until the next run, so
 * it must cover every metric period that overlaps [now, now + horizon]:
 * - the period in progress: its demand is observed (no forecast needed);
 * - later periods: the forecast's quantile at the service level, moved by
 *   the level error the forecast has shown since it was fitted (a cached fit
 *   an hour old must not miss a level shift the data already shows).
 */
import type { DemandHistory, Forecast } from '../forecast/types.ts';
import { quantileAt } from '../forecast/types.ts';

const MINUTE_MS = 60_000;

export interface DemandNeedInput {
  /** Recent demand at the metric's own period, the period in progress last. */
  readonly history: DemandHistory;
  readonly forecast: Forecast | undefined;
  readonly serviceLevel: number;
  readonly nowMs: number;
  readonly horizonMinutes: number;
}

export interface DemandNeed {
  /** Demand of the latest period, or undefined when the data stopped (then nothing scales in). */
  readonly demandNow: number | undefined;
  /** Highest corrected forecast quantile over the later periods of the window; undefined when none is due or the forecast does not reach. */
  readonly forecastNeed: number | undefined;
  /** Mean of actual − forecast point over the periods observed since the forecast began. */
  readonly levelOffset: number;
  /** Later periods the window reaches. */
  readonly periodsAhead: number;
}

/** Index of the latest period that has started at `nowMs`, or −1. */
export function currentPeriodIndex(history: DemandHistory, nowMs: number): number {
  const stepMs = history.stepSeconds * 1000;
  return Math.min(history.values.length - 1, Math.floor((nowMs - history.startMs) / stepMs));
}

/**
 * The latest finite demand, unless it is more than two periods old: a metric
 * that stopped reporting means demand is unknown, not zero.
 */
export function latestDemand(history: DemandHistory, nowMs: number): number | undefined {
  const stepMs = history.stepSeconds * 1000;
  for (let i = currentPeriodIndex(history, nowMs); i >= 0; i--) {
    const value = history.values[i]!;
    if (Number.isNaN(value)) continue;
    return nowMs - (history.startMs + i * stepMs) <= 2 * stepMs ? value : undefined;
  }
  return undefined;
}

/** Mean forecast error (actual − point) over history periods the forecast covers, up to and including `lastIndex`. */
export function forecastLevelOffset(history: DemandHistory, forecast: Forecast, lastIndex: number): number {
  const stepMs = forecast.stepSeconds * 1000;
  let sum = 0;
  let count = 0;
  for (let i = 0; i <= lastIndex; i++) {
    const actual = history.values[i]!;
    const k = Math.round((history.startMs + i * history.stepSeconds * 1000 - forecast.startMs) / stepMs);
    if (Number.isNaN(actual) || k < 0 || k >= forecast.point.length) continue;
    sum += actual - forecast.point[k]!;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

export function demandNeed(input: DemandNeedInput): DemandNeed {
  const { history, forecast, nowMs } = input;
  const demandNow = latestDemand(history, nowMs);
  const stepMs = history.stepSeconds * 1000;
  const current = currentPeriodIndex(history, nowMs);
  const windowEndMs = nowMs + input.horizonMinutes * MINUTE_MS;
  const firstLaterStartMs = history.startMs + (current + 1) * stepMs;
  const periodsAhead = firstLaterStartMs > windowEndMs ? 0 : Math.floor((windowEndMs - firstLaterStartMs) / stepMs) + 1;
  if (forecast === undefined || periodsAhead === 0) return { demandNow, forecastNeed: undefined, levelOffset: 0, periodsAhead };
  const levelOffset = forecastLevelOffset(history, forecast, current);
  const quantile = quantileAt(forecast, input.serviceLevel);
  const forecastStepMs = forecast.stepSeconds * 1000;
  let forecastNeed: number | undefined = 0;
  for (let j = 0; j < periodsAhead; j++) {
    const startMs = firstLaterStartMs + j * stepMs;
    const k = Math.floor((startMs - forecast.startMs) / forecastStepMs);
    const value = quantile[k];
    if (k < 0 || value === undefined) {
      forecastNeed = undefined;
      break;
    }
    forecastNeed = Math.max(forecastNeed, value + levelOffset);
  }
  return { demandNow, forecastNeed, levelOffset, periodsAhead };
}

export { MINUTE_MS };
