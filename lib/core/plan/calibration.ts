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

/** At most this many predictions wait at once; a 1-minute metric settles two or three runs after its prediction. */
export const MAX_PENDING_PREDICTIONS = 8;

export interface PendingPrediction {
  /** Start of the predicted period. */
  readonly startMs: number;
  /** The corrected quantile the decision used for it. */
  readonly value: number;
}

export interface Calibration {
  /**
   * The calibrated level. Read through levelToRead: a changed target may
   * carry it past [0.5, 0.995] until observations bring it back.
   */
  readonly level: number;
  /**
   * The service level `level` was calibrated toward. Absent in memory an
   * older release wrote, which is read as calibrated toward today's target.
   */
  readonly target?: number;
  /**
   * Predictions waiting for their period to be observed, oldest first, one per
   * period. A settled Sum is observed a minute after its period ends, so a
   * prediction can outlive the run after it and must not be overwritten by it.
   */
  readonly pending: readonly PendingPrediction[];
}

export function initialCalibration(targetLevel: number): Calibration {
  return { level: targetLevel, target: targetLevel, pending: [] };
}

/**
 * The pending list's invariant: one prediction per period (the last recorded
 * wins — a duplicate would move the level twice for one observation), oldest
 * first, at most MAX_PENDING_PREDICTIONS (the oldest go).
 */
function onePerPeriod(predictions: readonly PendingPrediction[]): PendingPrediction[] {
  const byStart = new Map(predictions.map((p) => [p.startMs, p]));
  return [...byStart.values()].sort((a, b) => a.startMs - b.startMs).slice(-MAX_PENDING_PREDICTIONS);
}

const isPrediction = (p: unknown): p is PendingPrediction =>
  typeof p === 'object' && p !== null && Number.isFinite((p as PendingPrediction).startMs) && Number.isFinite((p as PendingPrediction).value);

const isProbability = (value: unknown): value is number => typeof value === 'number' && value > 0 && value < 1;

/**
 * Memory whose level is this far or more from its target is not a
 * calibration (calibration keeps |level − target| ≤ 0.495 for any target in
 * [0.5, 0.995]) and restarts at the target.
 */
const MAX_LEARNED_BIAS = 0.5;

/**
 * The calibration as remembered, in today's shape. Memory is JSON from the
 * state store: an older release kept one prediction as `pendingStartMs` /
 * `pendingValue` and no target (it calibrated toward `legacyTarget`, the
 * policy's level, the only one it had), and a level that is not a
 * calibration restarts at the target rather than steering every later
 * decision. When the configured target has changed since, the level moves
 * by the same amount at once: it keeps the forecast's learned bias and
 * serves the new target from this run, instead of reaching it a γ-step per
 * observed period (from 0.9 to 0.99 that took about 100 periods). The
 * moved level is kept as it is, even past a bound (read through
 * levelToRead), so a target raised and lowered again gets its bias back.
 */
export function rememberedCalibration(remembered: unknown, targetLevel: number, legacyTarget = targetLevel): Calibration {
  if (typeof remembered !== 'object' || remembered === null) return initialCalibration(targetLevel);
  const raw = remembered as Record<string, unknown>;
  const remembers: unknown[] = Array.isArray(raw.pending) ? raw.pending : [{ startMs: raw.pendingStartMs, value: raw.pendingValue }];
  const pending = onePerPeriod(remembers.filter(isPrediction));
  const learned = learnedLevel(raw, legacyTarget);
  return { level: learned === undefined ? targetLevel : learned.level + (targetLevel - learned.toward), target: targetLevel, pending };
}

/**
 * What memory learned and toward which target, or undefined when it holds
 * no calibration. An older release's memory has no target: a level in
 * (0, 1), within the bounds it kept, learned toward the policy's level.
 */
function learnedLevel(raw: Record<string, unknown>, legacyTarget: number): { level: number; toward: number } | undefined {
  if (!isProbability(raw.target)) return isProbability(raw.level) ? { level: clamp(raw.level, MIN_CALIBRATED_LEVEL, MAX_CALIBRATED_LEVEL), toward: legacyTarget } : undefined;
  return typeof raw.level === 'number' && Math.abs(raw.level - raw.target) < MAX_LEARNED_BIAS ? { level: raw.level, toward: raw.target } : undefined;
}

/** Whether a target is one calibration can serve: the level it reads the forecast at stays within [0.5, 0.995]. */
export function isServiceLevel(level: number): boolean {
  return level >= MIN_CALIBRATED_LEVEL && level <= MAX_CALIBRATED_LEVEL;
}

/** The level the forecast is read at: the calibrated level within [0.5, 0.995] (a target change may carry it past a bound). */
export function levelToRead(calibration: Calibration): number {
  return clamp(calibration.level, MIN_CALIBRATED_LEVEL, MAX_CALIBRATED_LEVEL);
}

/**
 * One ACI step: α ← α + γ (α_target − miss), level = 1 − α, kept within
 * bounds. A level a target change carried past a bound is never pushed
 * further out (no wind-up while the bound holds), and comes back as hits
 * and misses say.
 */
export function calibrateLevel(level: number, targetLevel: number, missed: boolean, step = CALIBRATION_STEP): number {
  const alpha = 1 - level + step * (1 - targetLevel - (missed ? 1 : 0));
  return clamp(1 - alpha, Math.min(MIN_CALIBRATED_LEVEL, level), Math.max(MAX_CALIBRATED_LEVEL, level));
}

/**
 * Scores every pending prediction whose period's demand is now known, oldest
 * first, one ACI step each. A prediction for a period before
 * `oldestObservableMs` can never be read again (the recent window has moved
 * past it) and is dropped unscored; the rest keep waiting.
 */
export function resolvePending(
  calibration: Calibration,
  targetLevel: number,
  observedDemand: (startMs: number) => number | undefined,
  oldestObservableMs = Number.NEGATIVE_INFINITY,
): Calibration {
  if (calibration.pending.length === 0) return calibration;
  let level = calibration.level;
  const waiting: PendingPrediction[] = [];
  for (const prediction of calibration.pending) {
    const actual = observedDemand(prediction.startMs);
    if (actual !== undefined) level = calibrateLevel(level, targetLevel, actual > prediction.value);
    else if (prediction.startMs >= oldestObservableMs) waiting.push(prediction);
  }
  return { ...calibration, level, pending: waiting };
}

/**
 * Records the prediction for a period not yet observed. A later run's
 * prediction for the same period replaces the earlier one (the decision
 * nearest the period is the one it tests); the oldest is dropped past
 * MAX_PENDING_PREDICTIONS.
 */
export function withPending(calibration: Calibration, startMs: number | undefined, value: number | undefined): Calibration {
  if (startMs === undefined || value === undefined) return calibration;
  return { ...calibration, pending: onePerPeriod([...calibration.pending, { startMs, value }]) };
}
