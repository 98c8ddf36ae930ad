/**
 * Adaptive conformal calibration (Gibbs & Candès, 2021): the configured
 * service level is a promise about how often capacity covers demand, and a
 * forecast's own quantiles may be too wide or too narrow for the next period
 * of this particular series. Each time a predicted period is observed, the
 * level read from the forecast moves by γ × (miss − (1 − target)): a miss
 * raises it, a hit lowers it slightly, so in the long run the share of
 * covered periods converges to the target whatever the forecast's bias.
 */
import { clamp } from '../forecast/numeric.ts';

/** Step size per observed period: about 1 / γ = 100 periods to correct a 1-point bias. */
export const CALIBRATION_STEP = 0.01;
export const MIN_CALIBRATED_LEVEL = 0.5;
export const MAX_CALIBRATED_LEVEL = 0.995;

/** Each demand source's recent pinball loss at the level it was read at (exponentially weighted). */
export interface SourceLosses {
  readonly seasonal: number;
  readonly nowcast: number;
  readonly observations: number;
}

/** What each source said for the pending period. */
export interface Candidates {
  readonly seasonal: number;
  readonly nowcast: number;
}

export interface Calibration {
  /** The level read from the forecast now. */
  readonly level: number;
  /** The prediction waiting for its period to be observed. */
  readonly pendingStartMs: number | undefined;
  readonly pendingValue: number | undefined;
  readonly pendingCandidates?: Candidates | undefined;
  readonly losses?: SourceLosses | undefined;
}

export function initialCalibration(targetLevel: number): Calibration {
  return { level: targetLevel, pendingStartMs: undefined, pendingValue: undefined };
}

/** Pinball (quantile) loss of `quantile` at `level` when `actual` happens: the proper score for a quantile. */
export function pinballLoss(actual: number, quantile: number, level: number): number {
  return actual >= quantile ? level * (actual - quantile) : (1 - level) * (quantile - actual);
}

/**
 * Weight of one new observation in the losses: about a day of periods of
 * memory, at least 20 and at most 1000 periods.
 */
export function lossWeight(stepSeconds: number): number {
  return 1 / clamp(86_400 / stepSeconds, 20, 1000);
}

/** The nowcast is used once it has a day's worth of evidence (at least 20 periods) and scores better. */
export function prefersNowcast(losses: SourceLosses | undefined, stepSeconds: number): boolean {
  return losses !== undefined && losses.observations * lossWeight(stepSeconds) >= 1 && losses.nowcast < losses.seasonal;
}

/** One ACI step: α ← α + γ (α_target − miss), level = 1 − α, kept within bounds. */
export function calibrateLevel(level: number, targetLevel: number, missed: boolean, step = CALIBRATION_STEP): number {
  const alpha = 1 - level + step * (1 - targetLevel - (missed ? 1 : 0));
  return clamp(1 - alpha, MIN_CALIBRATED_LEVEL, MAX_CALIBRATED_LEVEL);
}

/**
 * Resolves the pending prediction once its period's demand is known, and
 * returns the calibration to use now (the pending slot is cleared).
 */
export function resolvePending(calibration: Calibration, targetLevel: number, observedDemand: (startMs: number) => number | undefined, stepSeconds = 60): Calibration {
  if (calibration.pendingStartMs === undefined || calibration.pendingValue === undefined) return calibration;
  const actual = observedDemand(calibration.pendingStartMs);
  if (actual === undefined) return calibration;
  const candidates = calibration.pendingCandidates;
  let losses = calibration.losses;
  if (candidates !== undefined) {
    const w = lossWeight(stepSeconds);
    const before = losses ?? { seasonal: 0, nowcast: 0, observations: 0 };
    // The first observation sets the mean; after that each one weighs w.
    const weight = before.observations === 0 ? 1 : w;
    losses = {
      seasonal: before.seasonal + weight * (pinballLoss(actual, candidates.seasonal, calibration.level) - before.seasonal),
      nowcast: before.nowcast + weight * (pinballLoss(actual, candidates.nowcast, calibration.level) - before.nowcast),
      observations: before.observations + 1,
    };
  }
  return {
    level: calibrateLevel(calibration.level, targetLevel, actual > calibration.pendingValue),
    pendingStartMs: undefined,
    pendingValue: undefined,
    ...(losses === undefined ? {} : { losses }),
  };
}

/** Records the prediction for the next period (a later run before it starts overwrites it). */
export function withPending(calibration: Calibration, startMs: number | undefined, value: number | undefined, candidates?: Candidates): Calibration {
  if (startMs === undefined || value === undefined) return calibration;
  return { ...calibration, pendingStartMs: startMs, pendingValue: value, pendingCandidates: candidates };
}
