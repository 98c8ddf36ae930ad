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

export interface Calibration {
  /** The level read from the forecast now. */
  readonly level: number;
  /** The prediction waiting for its period to be observed. */
  readonly pendingStartMs: number | undefined;
  readonly pendingValue: number | undefined;
}

export function initialCalibration(targetLevel: number): Calibration {
  return { level: targetLevel, pendingStartMs: undefined, pendingValue: undefined };
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
export function resolvePending(calibration: Calibration, targetLevel: number, observedDemand: (startMs: number) => number | undefined): Calibration {
  if (calibration.pendingStartMs === undefined || calibration.pendingValue === undefined) return calibration;
  const actual = observedDemand(calibration.pendingStartMs);
  if (actual === undefined) return calibration;
  return { level: calibrateLevel(calibration.level, targetLevel, actual > calibration.pendingValue), pendingStartMs: undefined, pendingValue: undefined };
}

/** Records the prediction for the next period (a later run before it starts overwrites it). */
export function withPending(calibration: Calibration, startMs: number | undefined, value: number | undefined): Calibration {
  if (startMs === undefined || value === undefined) return calibration;
  return { ...calibration, pendingStartMs: startMs, pendingValue: value };
}
