/**
 * Exponential smoothing for a (deseasonalised) series: simple exponential
 * smoothing, damped additive Holt, and the Theta method (SES with half the
 * linear drift). Parameters come from a fixed grid minimising one-step
 * squared error, which is deterministic and, over a few hundred points,
 * as good as a numerical optimiser for choosing between forecasts.
 */

const ALPHA_GRID = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];
const BETA_FRACTION_GRID = [0.02, 0.1, 0.3];
const PHI_GRID = [0.8, 0.9, 0.98];

function sesSse(y: Float64Array, from: number, alpha: number): { sse: number; level: number } {
  let level = y[from]!;
  let sse = 0;
  for (let t = from + 1; t < y.length; t++) {
    const error = y[t]! - level;
    sse += error * error;
    level += alpha * error;
  }
  return { sse, level };
}

/** Simple exponential smoothing (flat forecast) fitted on the last `fitSteps` points. */
export function forecastSes(y: Float64Array, horizonSteps: number, fitSteps: number): Float64Array {
  const from = Math.max(0, y.length - fitSteps);
  let best = { sse: Number.POSITIVE_INFINITY, level: y[y.length - 1]! };
  for (const alpha of ALPHA_GRID) {
    const fit = sesSse(y, from, alpha);
    if (fit.sse < best.sse) best = fit;
  }
  return new Float64Array(horizonSteps).fill(best.level);
}

/**
 * Damped additive Holt: level ℓ, trend b, forecast ℓ + (φ + … + φ^h)·b.
 * The trend is damped because demand does not grow linearly for days on a
 * few hours of slope.
 */
export function forecastDampedHolt(y: Float64Array, horizonSteps: number, fitSteps: number, trendWindowSteps: number): Float64Array {
  const n = y.length;
  const from = Math.max(0, n - fitSteps);
  const window = Math.max(1, Math.min(trendWindowSteps, Math.floor((n - from) / 2)));
  // Initial slope over the first window avoids a level-jump at fit start.
  const initialTrend = n - from > window ? (y[from + window]! - y[from]!) / window : 0;
  let bestSse = Number.POSITIVE_INFINITY;
  let bestLevel = y[n - 1]!;
  let bestTrend = 0;
  let bestPhi = PHI_GRID[0]!;
  for (const alpha of ALPHA_GRID) {
    for (const betaFraction of BETA_FRACTION_GRID) {
      const beta = alpha * betaFraction;
      for (const phi of PHI_GRID) {
        let level = y[from]!;
        let trend = initialTrend;
        let sse = 0;
        for (let t = from + 1; t < n; t++) {
          const predicted = level + phi * trend;
          const error = y[t]! - predicted;
          sse += error * error;
          const nextLevel = predicted + alpha * error;
          trend = phi * trend + beta * error;
          level = nextLevel;
          if (sse >= bestSse) break;
        }
        if (sse < bestSse) {
          bestSse = sse;
          bestLevel = level;
          bestTrend = trend;
          bestPhi = phi;
        }
      }
    }
  }
  const out = new Float64Array(horizonSteps);
  let damping = 0;
  let power = 1;
  for (let h = 0; h < horizonSteps; h++) {
    power *= bestPhi;
    damping += power;
    out[h] = bestLevel + damping * bestTrend;
  }
  return out;
}

/**
 * Theta (Hyndman & Billah form): SES plus half the least-squares slope,
 * ŷ(h) = ℓ + b/2 · (h − 1 + 1/α − (1−α)^n / α).
 */
export function forecastTheta(y: Float64Array, horizonSteps: number, fitSteps: number): Float64Array {
  const n = y.length;
  const from = Math.max(0, n - fitSteps);
  const m = n - from;
  let bestSse = Number.POSITIVE_INFINITY;
  let bestLevel = y[n - 1]!;
  let bestAlpha = 0.5;
  for (const alpha of ALPHA_GRID) {
    const fit = sesSse(y, from, alpha);
    if (fit.sse < bestSse) {
      bestSse = fit.sse;
      bestLevel = fit.level;
      bestAlpha = alpha;
    }
  }
  // OLS slope over the fitted window.
  const tMean = (m - 1) / 2;
  let yMean = 0;
  for (let t = 0; t < m; t++) yMean += y[from + t]!;
  yMean /= m;
  let numerator = 0;
  let denominator = 0;
  for (let t = 0; t < m; t++) {
    numerator += (t - tMean) * (y[from + t]! - yMean);
    denominator += (t - tMean) * (t - tMean);
  }
  const slope = denominator > 0 ? numerator / denominator : 0;
  const out = new Float64Array(horizonSteps);
  const tail = 1 / bestAlpha - Math.pow(1 - bestAlpha, m) / bestAlpha;
  for (let h = 1; h <= horizonSteps; h++) out[h - 1] = bestLevel + (slope / 2) * (h - 1 + tail);
  return out;
}
