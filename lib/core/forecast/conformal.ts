/**
 * Quantiles from out-of-sample residuals. Residuals come from rolling
 * origins (actual − forecast, per horizon step); their spread grows with the
 * horizon, so each step gets a scale s(h) — the mean absolute residual near h,
 * made non-decreasing — and the SHAPE (the quantiles of residual / s(h)) is
 * pooled over all steps and origins, which gives hundreds of points for the
 * tails instead of a handful per step.
 */
import { normalQuantile, quantileSorted } from './numeric.ts';

export interface ResidualModel {
  /** Scale per horizon step. */
  readonly scale: Float64Array;
  /** Sorted normalised residuals (residual / scale). */
  readonly normalised: Float64Array;
}

/** Residual matrix rows are origins, columns horizon steps. */
export function fitResidualModel(residuals: readonly Float64Array[], horizonSteps: number, floor: number): ResidualModel {
  const halfWindow = Math.max(1, Math.round(horizonSteps / 12));
  const scale = new Float64Array(horizonSteps);
  for (let h = 0; h < horizonSteps; h++) {
    let sum = 0;
    let count = 0;
    for (let k = Math.max(0, h - halfWindow); k <= Math.min(horizonSteps - 1, h + halfWindow); k++) {
      for (const row of residuals) {
        const r = row[k];
        if (r !== undefined && Number.isFinite(r)) {
          sum += Math.abs(r);
          count++;
        }
      }
    }
    const local = count === 0 ? floor : sum / count;
    // Uncertainty does not shrink further out: hold the running maximum.
    scale[h] = Math.max(local, h > 0 ? scale[h - 1]! : floor, floor);
  }
  const normalised: number[] = [];
  for (const row of residuals) {
    for (let h = 0; h < Math.min(row.length, horizonSteps); h++) {
      const r = row[h]!;
      if (Number.isFinite(r)) normalised.push(r / scale[h]!);
    }
  }
  normalised.sort((a, b) => a - b);
  return { scale, normalised: Float64Array.from(normalised) };
}

/**
 * Offset from the point forecast at `level` for each step. With fewer than
 * `minResiduals` residuals the shape is a normal one scaled by the mean
 * absolute residual (σ ≈ 1.25 × MAE), widened by `widen`.
 */
export function quantileOffsets(model: ResidualModel, level: number, minResiduals = 40, widen = 1): Float64Array {
  const { scale, normalised } = model;
  let z: number;
  if (normalised.length >= minResiduals) {
    // Finite-sample conformal correction: aim at (N+1)·level / N of the way out.
    const n = normalised.length;
    const adjusted = level >= 0.5 ? Math.min(1, ((n + 1) * level) / n) : Math.max(0, 1 - ((n + 1) * (1 - level)) / n);
    z = quantileSorted(normalised, adjusted) * widen;
  } else {
    z = 1.2533 * normalQuantile(level) * widen;
  }
  const out = new Float64Array(scale.length);
  for (let h = 0; h < scale.length; h++) out[h] = z * scale[h]!;
  return out;
}
