/**
 * Forecast accuracy measures as defined for the M4 competition
 * (Makridakis et al. 2020): MASE, sMAPE (in %), MSIS, interval coverage, OWA.
 */

/** Mean absolute seasonal difference of the in-sample series: the MASE/MSIS denominator. */
export function seasonalNaiveScale(insample: readonly number[], seasonSteps: number): number {
  const period = insample.length > seasonSteps ? seasonSteps : 1;
  let sum = 0;
  let count = 0;
  for (let t = period; t < insample.length; t++) {
    sum += Math.abs(insample[t]! - insample[t - period]!);
    count++;
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** Mean absolute scaled error. */
export function computeMase(insample: readonly number[], actual: readonly number[], forecast: readonly number[], seasonSteps: number): number {
  let sum = 0;
  for (let h = 0; h < actual.length; h++) sum += Math.abs(actual[h]! - forecast[h]!);
  return sum / actual.length / seasonalNaiveScale(insample, seasonSteps);
}

/** Symmetric MAPE in percent: mean of 200·|y − ŷ| / (|y| + |ŷ|); a step where both are 0 counts as 0. */
export function computeSmape(actual: readonly number[], forecast: readonly number[]): number {
  let sum = 0;
  for (let h = 0; h < actual.length; h++) {
    const denominator = Math.abs(actual[h]!) + Math.abs(forecast[h]!);
    sum += denominator === 0 ? 0 : (200 * Math.abs(actual[h]! - forecast[h]!)) / denominator;
  }
  return sum / actual.length;
}

/**
 * Mean scaled interval score for a (1 − alpha) interval [lower, upper]:
 * mean of (U − L) + (2/α)(L − y)·[y < L] + (2/α)(y − U)·[y > U], over the seasonal-naive scale.
 */
export function computeMsis(
  insample: readonly number[],
  actual: readonly number[],
  lower: readonly number[],
  upper: readonly number[],
  seasonSteps: number,
  alpha = 0.05,
): number {
  let sum = 0;
  for (let h = 0; h < actual.length; h++) {
    const y = actual[h]!;
    const l = lower[h]!;
    const u = upper[h]!;
    sum += u - l + (y < l ? (2 / alpha) * (l - y) : 0) + (y > u ? (2 / alpha) * (y - u) : 0);
  }
  return sum / actual.length / seasonalNaiveScale(insample, seasonSteps);
}

/** Fraction of actual values inside [lower, upper] (inclusive). */
export function computeCoverage(actual: readonly number[], lower: readonly number[], upper: readonly number[]): number {
  let inside = 0;
  for (let h = 0; h < actual.length; h++) if (actual[h]! >= lower[h]! && actual[h]! <= upper[h]!) inside++;
  return inside / actual.length;
}

/** Overall weighted average: the mean of MASE and sMAPE, each relative to Naive2's. */
export function computeOwa(mase: number, smape: number, naive2Mase: number, naive2Smape: number): number {
  return 0.5 * (mase / naive2Mase + smape / naive2Smape);
}
