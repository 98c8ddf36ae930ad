/**
 * CloudWatch's retention, as a pure rule shared by the CloudWatch adapter and
 * the simulated metrics: a backtest must read history at the resolution
 * CloudWatch would still serve, or a 1-minute trace's four weeks of history
 * would look finer than any real deployment ever sees.
 * - sub-minute (high-resolution) data is kept 3 hours, 1-minute data 15 days,
 *   5-minute data 63 days, then 1-hour data for 455 days;
 * - a query reaching further back must use a period that is a multiple of
 *   300 s (past 15 days) or 3600 s (past 63 days).
 */
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const HIGH_RESOLUTION_RETENTION_MS = 3 * HOUR_MS;
const MINUTE_RETENTION_MS = 15 * DAY_MS;
const FIVE_MINUTE_RETENTION_MS = 63 * DAY_MS;

/** The shortest period CloudWatch still holds for data `ageMs` old: 1 (high resolution), 60, 300 or 3600 s. */
export function minimumPeriodSeconds(ageMs: number): number {
  if (ageMs > FIVE_MINUTE_RETENTION_MS) return 3600;
  if (ageMs > MINUTE_RETENTION_MS) return 300;
  if (ageMs > HIGH_RESOLUTION_RETENTION_MS) return 60;
  return 1;
}

/**
 * The period to ask for: the requested one, coarsened to what retention still
 * holds at `startMs`. CloudWatch wants a multiple of 60 from one minute up, and
 * of 300 / 3600 past 15 / 63 days, so we round up to the multiple rather than
 * fail the call.
 */
export function choosePeriodSeconds(requestedSeconds: number, startMs: number, nowMs: number): number {
  const minimumSeconds = minimumPeriodSeconds(nowMs - startMs);
  if (requestedSeconds < 60 && minimumSeconds === 1) return requestedSeconds;
  const unitSeconds = Math.max(60, minimumSeconds);
  return Math.max(1, Math.ceil(requestedSeconds / unitSeconds)) * unitSeconds;
}

/**
 * Whether a CloudWatch statistic adds up over its period: Sum, SampleCount and
 * the trimmed sum and count (`TS(…)`/`ts99`, `TC(…)`/`tc99`). Such a value
 * grows with the period, and for the period in progress it is only the part
 * so far: a Sum of requests read 10 s into a minute is about a sixth of the
 * minute's. Averages, extremes and percentiles are read the same from part of
 * a period as from all of it.
 */
export function accumulatesOverPeriod(stat: string): boolean {
  return growsAsDataArrives(stat) || /^t[sc](\(|\d)/i.test(stat);
}

/**
 * Sum and SampleCount only grow as datapoints arrive, so a partial value is a
 * lower bound on the final one. A trimmed sum or count is not: more data may
 * trim a value it held.
 */
export function growsAsDataArrives(stat: string): boolean {
  return /^(sum|samplecount)$/i.test(stat);
}

/**
 * Accumulating statistics grow with the period; when retention forced a
 * coarser period we scale them back to "per requested period" so values keep
 * the unit the config's `perPod` is written in.
 */
export function computeValueScale(stat: string, requestedSeconds: number, actualSeconds: number): number {
  return accumulatesOverPeriod(stat) ? requestedSeconds / actualSeconds : 1;
}
