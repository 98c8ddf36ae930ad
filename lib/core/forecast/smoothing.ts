/**
 * Exponential smoothing for a (deseasonalised) series: simple exponential
 * smoothing, damped additive Holt, and the Theta method (SES with half the
 * linear drift). Parameters come from a fixed grid minimising one-step
 * squared error, which is deterministic and, over a few hundred points,
 * as good as a numerical optimiser for choosing between forecasts.
 */

const ALPHA_GRID = [0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9];
const BETA_FRACTION_GRID = [0.02, 0.1, 0.3];
/** Exactly three: the damped Holt fit runs them side by side. */
const PHI_GRID: readonly [number, number, number] = [0.8, 0.9, 0.98];

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
  let bestPhi = PHI_GRID[0];
  const [phiA, phiB, phiC] = PHI_GRID;
  for (const alpha of ALPHA_GRID) {
    for (const betaFraction of BETA_FRACTION_GRID) {
      const beta = alpha * betaFraction;
      // The three damping factors are fitted side by side: each step of a fit
      // waits on the step before (a chain of dependent adds and multiplies),
      // so three independent chains in one loop let the CPU overlap them. The
      // arithmetic of each fit is unchanged; this fit was a fifth of a backtest.
      let levelA = y[from]!;
      let levelB = levelA;
      let levelC = levelA;
      let trendA = initialTrend;
      let trendB = initialTrend;
      let trendC = initialTrend;
      let sseA = 0;
      let sseB = 0;
      let sseC = 0;
      const bestBefore = bestSse;
      for (let t = from + 1; t < n; t++) {
        const actual = y[t]!;
        const predictedA = levelA + phiA * trendA;
        const predictedB = levelB + phiB * trendB;
        const predictedC = levelC + phiC * trendC;
        const errorA = actual - predictedA;
        const errorB = actual - predictedB;
        const errorC = actual - predictedC;
        sseA += errorA * errorA;
        sseB += errorB * errorB;
        sseC += errorC * errorC;
        levelA = predictedA + alpha * errorA;
        levelB = predictedB + alpha * errorB;
        levelC = predictedC + alpha * errorC;
        trendA = phiA * trendA + beta * errorA;
        trendB = phiB * trendB + beta * errorB;
        trendC = phiC * trendC + beta * errorC;
        // An error sum only grows: once none of the three can beat the best
        // so far, none will.
        if (sseA >= bestBefore && sseB >= bestBefore && sseC >= bestBefore) break;
      }
      // Taken in grid order, each only if it beats every fit before it, as
      // when the fits ran one at a time (a fit that would have stopped early
      // has an error at least the best before it, so it is not taken here either).
      if (sseA < bestSse) [bestSse, bestLevel, bestTrend, bestPhi] = [sseA, levelA, trendA, phiA];
      if (sseB < bestSse) [bestSse, bestLevel, bestTrend, bestPhi] = [sseB, levelB, trendB, phiB];
      if (sseC < bestSse) [bestSse, bestLevel, bestTrend, bestPhi] = [sseC, levelC, trendC, phiC];
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
