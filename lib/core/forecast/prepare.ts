/**
 * Turning a raw history (NaN gaps, any sampling interval) into the regular,
 * gap-free internal series the models fit, and the internal forecast back
 * into the requested step.
 */

import type { DemandHistory } from './types.ts';

/** Short gaps are bridged by a straight line; longer ones copy the same time one season earlier. */
const LINEAR_GAP_MAX_STEPS = 3;

/** Seasons in steps for a sampling interval: daily = 86400 / step, weekly = 7 × daily. */
export function seasonSteps(stepSeconds: number): { dailySteps: number; weeklySteps: number } {
  const dailySteps = Math.max(1, Math.round(86_400 / stepSeconds));
  return { dailySteps, weeklySteps: 7 * dailySteps };
}

/** Index of the first finite value, or -1. */
export function firstFiniteIndex(values: readonly number[]): number {
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) return i;
  return -1;
}

/**
 * Fills NaN so every model sees a regular series. A short gap is a straight
 * line between its neighbours; a long one (an outage of the metric, not of
 * the demand) takes the value one season earlier, or one season later at the
 * start, because a line across hours would flatten the daily shape the
 * seasonal models are about to learn. Leading and trailing gaps with no
 * seasonal donor repeat the nearest value.
 */
export function fillGaps(values: readonly number[], seasonSteps: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    out[i] = Number.isFinite(v) ? v : Number.NaN;
  }
  // Pass 1: short interior gaps (NaN runs), linear.
  let i = 0;
  while (i < n) {
    if (!Number.isNaN(out[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && Number.isNaN(out[j]!)) j++;
    const gap = j - i;
    if (i > 0 && j < n && gap <= LINEAR_GAP_MAX_STEPS) {
      const left = out[i - 1]!;
      const right = out[j]!;
      for (let k = i; k < j; k++) out[k] = left + ((right - left) * (k - i + 1)) / (gap + 1);
    }
    i = j;
  }
  // Pass 2: seasonal donors, forward then backward so chains of missing seasons resolve.
  if (seasonSteps > 1 && seasonSteps < n) {
    for (let k = seasonSteps; k < n; k++) if (Number.isNaN(out[k]!) && !Number.isNaN(out[k - seasonSteps]!)) out[k] = out[k - seasonSteps]!;
    for (let k = n - 1 - seasonSteps; k >= 0; k--) if (Number.isNaN(out[k]!) && !Number.isNaN(out[k + seasonSteps]!)) out[k] = out[k + seasonSteps]!;
  }
  // Pass 3: whatever is left, linear inside and flat at the ends.
  let last = Number.NaN;
  for (let k = 0; k < n; k++) {
    if (!Number.isNaN(out[k]!)) {
      last = out[k]!;
      continue;
    }
    let j = k;
    while (j < n && Number.isNaN(out[j]!)) j++;
    const right = j < n ? out[j]! : last;
    const left = Number.isNaN(last) ? right : last;
    for (let m = k; m < j; m++) out[m] = left + ((right - left) * (m - k + 1)) / (j - k + 1);
    k = j - 1;
  }
  return out;
}

/**
 * Bucket means of `factor` consecutive points, aligned to the END of the
 * series so the last bucket holds the freshest data and is complete; up to
 * factor − 1 leading points are dropped.
 */
export function downsampleMean(values: Float64Array, factor: number): Float64Array {
  if (factor <= 1) return values;
  const buckets = Math.floor(values.length / factor);
  const offset = values.length - buckets * factor;
  const out = new Float64Array(buckets);
  for (let b = 0; b < buckets; b++) {
    let sum = 0;
    const from = offset + b * factor;
    for (let k = 0; k < factor; k++) sum += values[from + k]!;
    out[b] = sum / factor;
  }
  return out;
}

/** Internal steps that divide a day, so the daily season stays an integer number of buckets. */
const INTERNAL_STEP_CANDIDATES_SECONDS = [60, 120, 300, 600, 900, 1200, 1800, 3600];

/**
 * The downsampling factor: the smallest that keeps the internal series at
 * most `maxInternalPoints` long, using only internal steps that divide a day
 * and never coarser than hourly (nor coarser than needed for the horizon to
 * keep a few internal steps).
 */
export function chooseDownsampleFactor(stepSeconds: number, length: number, horizonSteps: number, maxInternalPoints: number): number {
  if (length <= maxInternalPoints) return 1;
  for (const candidate of INTERNAL_STEP_CANDIDATES_SECONDS) {
    if (candidate <= stepSeconds || candidate % stepSeconds !== 0) continue;
    const factor = candidate / stepSeconds;
    if (length / factor <= maxInternalPoints) return factor;
  }
  // Odd sampling intervals: plain integer factor, bounded so the horizon keeps ≥ 4 internal steps.
  const factor = Math.ceil(length / maxInternalPoints);
  return Math.max(1, Math.min(factor, Math.floor(horizonSteps / 4)));
}

/**
 * Back from internal buckets to the requested step. Internal value j is the
 * mean of future steps [j·f, (j+1)·f), so it sits at the bucket centre
 * j·f + (f−1)/2; steps between centres interpolate linearly. Before the first
 * centre the line starts from `anchor` (the last history bucket, centred at
 * −(f+1)/2), so the forecast joins the data without a jump; pass NaN to hold
 * the first value flat instead.
 */
export function upsampleLinear(internal: ArrayLike<number>, factor: number, horizonSteps: number, anchor: number): number[] {
  const out: number[] = new Array<number>(horizonSteps);
  if (factor <= 1) {
    for (let h = 0; h < horizonSteps; h++) out[h] = internal[Math.min(h, internal.length - 1)]!;
    return out;
  }
  const centre = (j: number): number => j * factor + (factor - 1) / 2;
  for (let h = 0; h < horizonSteps; h++) {
    const position = (h - (factor - 1) / 2) / factor; // fractional internal index
    const j = Math.floor(position);
    if (j < 0) {
      const first = internal[0]!;
      if (Number.isNaN(anchor)) out[h] = first;
      else {
        const anchorAt = -(factor + 1) / 2;
        out[h] = anchor + ((first - anchor) * (h - anchorAt)) / (centre(0) - anchorAt);
      }
      continue;
    }
    if (j >= internal.length - 1) {
      out[h] = internal[internal.length - 1]!;
      continue;
    }
    const w = position - j;
    out[h] = internal[j]! * (1 - w) + internal[j + 1]! * w;
  }
  return out;
}

/**
 * How much of the latest history the spread inside a coarse step is measured
 * over: two days, so every hour of the daily cycle counts twice and one odd
 * hour does not set it.
 */
export const FINE_SPREAD_DAYS = 2;

/** Points' deviations about the mean of their step, sorted, and their mean square. */
export interface StepSpread {
  readonly deviations: Float64Array;
  readonly meanSquare: number;
}

export const NO_STEP_SPREAD: StepSpread = { deviations: new Float64Array(0), meanSquare: 0 };

/**
 * Each point's deviation from the mean of its step, the steps being chunks
 * of `ratio` consecutive points from the first; only whole steps with every
 * point finite count (a mean of part of a step is not that step's).
 */
export function deviationsAboutStepMeans(values: ArrayLike<number>, ratio: number): StepSpread {
  const out: number[] = [];
  let sumSquares = 0;
  for (let from = 0; from + ratio <= values.length; from += ratio) {
    const points = Array.from({ length: ratio }, (_, k) => values[from + k]!);
    if (!points.every((v) => Number.isFinite(v))) continue;
    const mean = points.reduce((a, b) => a + b, 0) / ratio;
    for (const v of points) {
      out.push(v - mean);
      sumSquares += (v - mean) * (v - mean);
    }
  }
  out.sort((a, b) => a - b);
  return { deviations: Float64Array.from(out), meanSquare: out.length === 0 ? 0 : sumSquares / out.length };
}

/**
 * The spread of a finer history about its coarse steps' means
 * (deviationsAboutStepMeans), the steps of `coarseStepSeconds` lying on the
 * grid through `coarseStartMs`: a partial step at either end does not count.
 * Empty unless the fine step divides the coarse one at least twice. A
 * forecast of coarse steps forecasts their means; a period of the metric's
 * own varies about that mean by these.
 */
export function finerDeviations(fine: DemandHistory, coarseStartMs: number, coarseStepSeconds: number): StepSpread {
  const ratio = coarseStepSeconds / fine.stepSeconds;
  if (!Number.isInteger(ratio) || ratio < 2) return NO_STEP_SPREAD;
  const stepOf = (i: number): number => Math.floor((fine.startMs + i * fine.stepSeconds * 1000 - coarseStartMs) / (coarseStepSeconds * 1000));
  // The first point that starts a step: from there every `ratio` points are one step.
  let first = 0;
  while (first < fine.values.length && stepOf(first) === stepOf(first - 1)) first++;
  return deviationsAboutStepMeans(fine.values.slice(first), ratio);
}
