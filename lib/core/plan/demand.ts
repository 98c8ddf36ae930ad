/**
 * The demand a decision must cover. A decision made now is the last word
 * until the next run, one schedule interval later, and the capacity that run
 * buys serves from now + horizon (horizon = schedule interval + node boot +
 * pod start). So this decision must cover every metric period overlapping
 * [now, now + horizon): a period that starts exactly at now + horizon is the
 * next run's to buy, and buying it now pays a node for a minute it is not
 * needed, at every period boundary.
 * - the latest observed period: its demand is known (no forecast needed);
 * - later periods: the forecast's quantile at the service level, moved by
 *   the level error the forecast has shown since it was fitted, less what
 *   noise explains of it (shrunkLevelOffset) (a cached fit
 *   an hour old must not miss a level shift the data already shows).
 * Which periods count as observed depends on the statistic (see
 * `observedHistory`): a gauge-like statistic is known for the period in
 * progress, an accumulating one only once its period has ended and settled;
 * until then the period is covered by the forecast like any later one.
 */
import type { DemandHistory, Forecast } from '../forecast/types.ts';
import { quantileAt } from '../forecast/types.ts';
import { accumulatesOverPeriod, growsAsDataArrives } from '../cloudwatch-retention.ts';
import { compareStrings } from '../canonical.ts';

const MINUTE_MS = 60_000;

/**
 * How long after its period ends a CloudWatch datapoint is complete:
 * CloudWatch documents data as generally available within one minute of the
 * period's end, and its consoles hide younger points of Sum and SampleCount
 * for the same reason (they dip while still aggregating).
 */
export const SETTLE_MS = MINUTE_MS;

/** The metric's own settle time (`settleSeconds`), CloudWatch's minute by default. */
export function settleMsOf(metric: { readonly settleSeconds?: number | undefined }): number {
  return metric.settleSeconds === undefined ? SETTLE_MS : metric.settleSeconds * 1000;
}

/**
 * The periods of `history` that count as observed at `nowMs`. For an
 * accumulating statistic (Sum, SampleCount…) the period in progress holds
 * only the part so far, and a period that ended less than the settle time
 * ago (`settleSeconds`, CloudWatch's minute by default) may still be
 * aggregating: both would read as a drop in demand, so they are cut
 * off and left to the forecast. Other statistics are read as they come.
 */
export function observedHistory(history: DemandHistory, stat: string, nowMs: number, settleMs = SETTLE_MS): DemandHistory {
  if (!accumulatesOverPeriod(stat)) return history;
  const settled = Math.max(0, Math.min(history.values.length, periodsEndedBy(history, nowMs - settleMs)));
  return settled === history.values.length ? history : { ...history, values: history.values.slice(0, settled) };
}

/** How many periods from the history's start have ended at or before `endMs` (period i ends at start + (i + 1) × step). */
function periodsEndedBy(history: DemandHistory, endMs: number): number {
  return Math.floor((endMs - history.startMs) / (history.stepSeconds * 1000));
}

/**
 * `missingData: zero`: the periods of a settled history with no datapoint,
 * read as zero demand. A counting metric such as ALB `RequestCount`
 * publishes nothing for a period without events, so its absence means
 * idle; but only when the series is known to exist, and only once the data
 * has had time to arrive:
 * - a gap counts only after a datapoint of the same series, in this history
 *   or (for a short recent read) at `seenSinceMs`, the start of a period an
 *   earlier run saw. A series never seen stays unknown, so a misnamed metric
 *   holds capacity instead of scaling in, and a forecast history that starts
 *   before the metric existed keeps its leading gap;
 * - a period counts only once the next one has settled too (it ended a
 *   period and the settle time ago): a datapoint later than the settle time
 *   is then still read as late, not as zero; the freshness rule bridges it
 *   as one missing period.
 */
export function missingAsZero(history: DemandHistory, nowMs: number, seenSinceMs?: number, settleMs = SETTLE_MS): DemandHistory {
  const stepMs = history.stepSeconds * 1000;
  // Period i is due once period i + 1 has settled too.
  const due = Math.min(history.values.length, periodsEndedBy(history, nowMs - settleMs) - 1);
  let seenInHistory = false;
  let values: number[] | undefined;
  for (let i = 0; i < due; i++) {
    if (!Number.isNaN(history.values[i]!)) {
      seenInHistory = true;
      continue;
    }
    const seenEarlier = seenSinceMs !== undefined && seenSinceMs < history.startMs + i * stepMs;
    if (!seenInHistory && !seenEarlier) continue;
    values ??= [...history.values];
    values[i] = 0;
  }
  return values === undefined ? history : { ...history, values };
}

/** How a demand metric is read (the config's `demand.metric`). */
export interface DemandMetric {
  readonly stat: string;
  readonly missingData?: 'missing' | 'zero';
  readonly settleSeconds?: number;
}

/**
 * Demand as the planner counts it: settled periods only (observedHistory),
 * with gaps read as zero when the metric says so (missingAsZero).
 */
export function demandAsRead(
  history: DemandHistory,
  metric: DemandMetric,
  nowMs: number,
  seenSinceMs?: number,
): DemandHistory {
  return withGapsRead(observedHistory(history, metric.stat, nowMs, settleMsOf(metric)), metric, nowMs, seenSinceMs);
}

/** A settled history with its gaps read as the metric says (zero, or left as gaps). */
function withGapsRead(settled: DemandHistory, metric: DemandMetric, nowMs: number, seenSinceMs: number | undefined): DemandHistory {
  return metric.missingData === 'zero' ? missingAsZero(settled, nowMs, seenSinceMs, settleMsOf(metric)) : settled;
}

/**
 * The one rule for when gaps read as zero: the metric says so and the
 * service's HPA is readable, whose replicas guard the inference (without
 * it nothing says how many pods still run, and the gap stays unknown).
 */
export function readsGapsAsZero(metric: DemandMetric, hpaReadable: boolean): boolean {
  return metric.missingData === 'zero' && hpaReadable;
}

/** What the reactive floor reads now (see reactiveReading). */
export interface ReactiveReading {
  /** Demand of the latest settled period, gaps read as zero if so configured; undefined when unknown (nothing scales in). */
  readonly demandNow: number | undefined;
  /** demandNow is a gap read as zero (missingData: zero), not a datapoint. */
  readonly inferredZero: boolean;
  /** The highest partial count of the periods still settling, when it exceeds demandNow (a lower bound: raises the floor only). */
  readonly settlingAtLeast: number | undefined;
  /** Start of the latest settled period with a datapoint, when there is one. */
  readonly latestDatapointMs: number | undefined;
  /** The settled periods with their datapoints only (no gap read as zero): what calibration and the level correction score. */
  readonly settled: DemandHistory;
}

/**
 * The reactive floor's reading of a raw recent read. Gaps read as zero feed
 * only this (and the forecast's history): calibration and the forecast's
 * level correction score real datapoints, so a late datapoint read as zero
 * cannot drag the forecast or the service level down.
 */
export function reactiveReading(raw: DemandHistory, metric: DemandMetric, nowMs: number, seenSinceMs?: number): ReactiveReading {
  const settleMs = settleMsOf(metric);
  const settled = observedHistory(raw, metric.stat, nowMs, settleMs);
  const read = withGapsRead(settled, metric, nowMs, seenSinceMs);
  const index = latestDemandIndex(read, nowMs, observationLagMs(metric.stat, raw.stepSeconds, settleMs));
  const demandNow = index === undefined ? undefined : read.values[index]!;
  const settling = unsettledLowerBound(raw, metric.stat, nowMs, settleMs);
  return {
    demandNow,
    // The read keeps the settled periods' indices: a value the settled history lacks was a gap.
    inferredZero: index !== undefined && Number.isNaN(settled.values[index]!),
    settlingAtLeast: settling !== undefined && settling > (demandNow ?? 0) ? settling : undefined,
    latestDatapointMs: latestSeenStartMs(settled),
    settled,
  };
}

/** A metric's identity, whatever statistic or period is read: where a sighting of it is valid. */
export function metricKey(query: { readonly namespace: string; readonly name: string; readonly dimensions: Readonly<Record<string, string>> }): string {
  const dims = Object.entries(query.dimensions)
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${query.namespace}/${query.name}{${dims}}`;
}

/** Start of the latest period with a datapoint, or undefined when there is none. */
export function latestSeenStartMs(history: DemandHistory): number | undefined {
  for (let i = history.values.length - 1; i >= 0; i--) {
    if (!Number.isNaN(history.values[i]!)) return history.startMs + i * history.stepSeconds * 1000;
  }
  return undefined;
}

/**
 * What a Sum still settling has already counted: the periods observedHistory
 * cuts (the one in progress, any that ended under the settle time ago) hold
 * partial counts, which only grow as CloudWatch aggregates, so each is a
 * lower bound on its period's demand. Undefined for other statistics (a
 * trimmed sum TS(…) may trim a value it held once more arrive) or
 * when none of those periods has a datapoint. Only ever raises a floor: an
 * alarm on a Sum fires on a period the settled history does not yet hold,
 * and this is how the run it triggers sees it.
 */
export function unsettledLowerBound(history: DemandHistory, stat: string, nowMs: number, settleMs = SETTLE_MS): number | undefined {
  if (!growsAsDataArrives(stat)) return undefined;
  const settled = Math.max(0, periodsEndedBy(history, nowMs - settleMs));
  const current = currentPeriodIndex(history, nowMs);
  let bound: number | undefined;
  for (let i = settled; i <= current; i++) {
    const value = history.values[i]!;
    if (!Number.isNaN(value)) bound = Math.max(bound ?? value, value);
  }
  return bound;
}

export interface DemandNeedInput {
  /** Recent demand at the metric's own period, as observed (observedHistory). */
  readonly history: DemandHistory;
  readonly forecast: Forecast | undefined;
  readonly serviceLevel: number;
  readonly nowMs: number;
  readonly horizonMinutes: number;
  /** From a period's start to when it can first be observed (observationLagMs); 0 for a gauge. */
  readonly observationLagMs?: number;
}

export interface DemandNeed {
  /** Demand of the latest period, or undefined when the data stopped (then nothing scales in). */
  readonly demandNow: number | undefined;
  /** Highest corrected forecast quantile over the later periods of [now, now + horizon); undefined when none is due or the forecast does not reach. */
  readonly forecastNeed: number | undefined;
  /** Mean of actual − forecast point over the periods observed since the forecast began, shrunk by its noise (shrunkLevelOffset). */
  readonly levelOffset: number;
  /** Later periods the window reaches. */
  readonly periodsAhead: number;
  /**
   * Highest corrected quantile over the later periods of [now, now + horizon
   * + one period): what capacity must not be released for (undefined as
   * forecastNeed is, or when the forecast does not reach that far).
   */
  readonly keepNeed: number | undefined;
  /** The corrected quantile for the first period not yet observed (what calibration checks later). */
  readonly nextPeriod: { readonly startMs: number; readonly value: number } | undefined;
}

/** Index of the latest period that has started at `nowMs`, or −1. */
export function currentPeriodIndex(history: DemandHistory, nowMs: number): number {
  const stepMs = history.stepSeconds * 1000;
  return Math.min(history.values.length - 1, Math.floor((nowMs - history.startMs) / stepMs));
}

/**
 * How long after a period starts it can first be observed: at once for a
 * gauge (the period in progress), a period and the settle time for an
 * accumulating statistic.
 */
export function observationLagMs(stat: string, stepSeconds: number, settleMs = SETTLE_MS): number {
  return accumulatesOverPeriod(stat) ? stepSeconds * 1000 + settleMs : 0;
}

/**
 * The latest finite demand, unless it started more than two periods before
 * the newest period that could be observed by now (`nowMs − lagMs`): a
 * metric that stopped reporting means demand is unknown, not zero. Counting
 * from the newest observable period, not from now, lets a settled Sum miss
 * one period as a gauge may, instead of every run looking stale.
 */
export function latestDemand(history: DemandHistory, nowMs: number, lagMs = 0): number | undefined {
  const index = latestDemandIndex(history, nowMs, lagMs);
  return index === undefined ? undefined : history.values[index]!;
}

/** Index of the period `latestDemand` reads, or undefined when demand is unknown. */
export function latestDemandIndex(history: DemandHistory, nowMs: number, lagMs = 0): number | undefined {
  const stepMs = history.stepSeconds * 1000;
  for (let i = currentPeriodIndex(history, nowMs); i >= 0; i--) {
    if (Number.isNaN(history.values[i]!)) continue;
    return nowMs - lagMs - (history.startMs + i * stepMs) <= 2 * stepMs ? i : undefined;
  }
  return undefined;
}

/** The forecast's level error so far: mean of actual − point over the history periods it covers, up to and including `lastIndex`. */
export function forecastLevelError(history: DemandHistory, forecast: Forecast, lastIndex: number): { readonly meanError: number; readonly periods: number } {
  const stepMs = forecast.stepSeconds * 1000;
  let sum = 0;
  let periods = 0;
  for (let i = 0; i <= lastIndex; i++) {
    const actual = history.values[i]!;
    const k = Math.round((history.startMs + i * history.stepSeconds * 1000 - forecast.startMs) / stepMs);
    if (Number.isNaN(actual) || k < 0 || k >= forecast.point.length) continue;
    sum += actual - forecast.point[k]!;
    periods++;
  }
  return { meanError: periods === 0 ? 0 : sum / periods, periods };
}

/**
 * The level correction: the mean error shrunk toward 0 by how much of it
 * one period's transient noise explains (positive-part James–Stein):
 * meanError × max(0, 1 − σ² / (n × meanError²)). Right after a refit the
 * mean is of one or two periods, mostly noise, and moving every decision
 * by it buys and returns nodes for nothing; a real level shift soon stands
 * clear of σ/√n and is kept almost whole. σ unknown (0): no shrinkage.
 */
export function shrunkLevelOffset(meanError: number, periods: number, noiseSd: number): number {
  if (periods === 0 || meanError === 0) return 0;
  if (!(noiseSd > 0)) return meanError;
  const kept = 1 - (noiseSd * noiseSd) / (periods * meanError * meanError);
  return kept > 0 ? meanError * kept : 0;
}

/**
 * One period's noise read from a forecast's 95 % interval at the first step
 * over 2 × 1.96 (0 when it has no interval): the fallback when the forecast
 * carries no measured noiseSd. An interval holds the model's persistent
 * error too, so it overstates the noise on a smooth series.
 */
export function firstStepNoiseSd(forecast: Forecast): number {
  const upper = quantileAt(forecast, 0.975)[0];
  const lower = quantileAt(forecast, 0.025)[0];
  return upper === undefined || lower === undefined ? 0 : Math.max(0, upper - lower) / (2 * 1.96);
}

/**
 * One period's noise for the shrinkage: what the forecast measured
 * (`noiseSd`), or, for a forecast cached by an older release or read back
 * damaged, what its interval says (firstStepNoiseSd).
 */
export function periodNoiseSd(forecast: Forecast): number {
  const measured = forecast.noiseSd;
  return measured !== undefined && Number.isFinite(measured) && measured >= 0 ? measured : firstStepNoiseSd(forecast);
}

/** Periods of `stepMs` starting at or after `firstStartMs` and strictly before `endMs`. */
export function periodsStartingBefore(firstStartMs: number, endMs: number, stepMs: number): number {
  return firstStartMs >= endMs ? 0 : Math.ceil((endMs - firstStartMs) / stepMs);
}

export function demandNeed(input: DemandNeedInput): DemandNeed {
  const { history, forecast, nowMs } = input;
  const demandNow = latestDemand(history, nowMs, input.observationLagMs ?? 0);
  const stepMs = history.stepSeconds * 1000;
  const current = currentPeriodIndex(history, nowMs);
  const windowEndMs = nowMs + input.horizonMinutes * MINUTE_MS;
  // The first period not observed that still has time to serve: the one after
  // the latest observed, or (when the latest observed ended a while ago, as a
  // settled Sum's does) the period in progress — an ended period needs nothing.
  const inProgress = Math.floor((nowMs - history.startMs) / stepMs);
  const firstLaterStartMs = history.startMs + Math.max(current + 1, inProgress) * stepMs;
  const periodsAhead = periodsStartingBefore(firstLaterStartMs, windowEndMs, stepMs);
  const periodsToKeep = periodsStartingBefore(firstLaterStartMs, windowEndMs + stepMs, stepMs);
  if (forecast === undefined) return { demandNow, forecastNeed: undefined, keepNeed: undefined, levelOffset: 0, periodsAhead, nextPeriod: undefined };
  const error = forecastLevelError(history, forecast, current);
  const levelOffset = shrunkLevelOffset(error.meanError, error.periods, periodNoiseSd(forecast));
  const quantile = quantileAt(forecast, input.serviceLevel);
  const forecastStepMs = forecast.stepSeconds * 1000;
  const correctedAt = (startMs: number): number | undefined => {
    const k = Math.floor((startMs - forecast.startMs) / forecastStepMs);
    const value = k < 0 ? undefined : quantile[k];
    return value === undefined ? undefined : Math.max(0, value + levelOffset);
  };
  const nextValue = correctedAt(firstLaterStartMs);
  const nextPeriod = nextValue === undefined ? undefined : { startMs: firstLaterStartMs, value: nextValue };
  /** Highest corrected quantile over the first `count` later periods; undefined if the forecast stops short. */
  const highest = (count: number): number | undefined => {
    let need = 0;
    for (let j = 0; j < count; j++) {
      const value = correctedAt(firstLaterStartMs + j * stepMs);
      if (value === undefined) return undefined;
      need = Math.max(need, value);
    }
    return need;
  };
  const forecastNeed = periodsAhead === 0 ? undefined : highest(periodsAhead);
  const keepNeed = periodsToKeep === 0 ? undefined : highest(periodsToKeep);
  return { demandNow, forecastNeed, keepNeed, levelOffset, periodsAhead, nextPeriod };
}

/** Demand of the period starting at `startMs`, once it has been observed. */
export function observedDemandAt(history: DemandHistory, startMs: number, nowMs: number): number | undefined {
  const stepMs = history.stepSeconds * 1000;
  const index = Math.round((startMs - history.startMs) / stepMs);
  if (index < 0 || index > currentPeriodIndex(history, nowMs)) return undefined;
  const value = history.values[index];
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

export { MINUTE_MS };
