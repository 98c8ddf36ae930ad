/**
 * Yardsticks: simple causal policies that say how far any forecaster of
 * their kind can go on a trace. Each covers the next sample period with a
 * centre (the last value, or an exponentially weighted mean) plus z × the
 * centre's own recent one-period error (root mean square over a window),
 * and chases the current period's demand at once. Scored as BACKTEST.md
 * scores any policy. The benchmark (bench/frontier.ts) sweeps z, the centre
 * and the window on the very trace it scores, so the best yardstick is
 * tuned in hindsight: an optimistic reference for what a 1-period-ahead
 * forecast with a spread can buy, not a policy to ship.
 */
import type { samplingPeriod } from './trace.ts';
import { nodesFor } from './reference-policies.ts';
import { scoringStartMinute, type Scenario } from './score.ts';

export interface YardstickFamily {
  /** Exponential weight of the newest period in the centre; 1 is the last value. */
  readonly alpha: number;
  /** How many past periods the error spread is measured over. */
  readonly windowPeriods: number;
  /** Multiples of the spread added to the centre. */
  readonly z: number;
}

/** The trace's sample periods on its minute grid (`samplingPeriod`): period k starts at anchorMinute + k × periodMinutes. */
export type SamplePeriods = ReturnType<typeof samplingPeriod>;

/**
 * Per period k, the forecast of period k + h is centre[k] + z × spread[k] × √h
 * (a random walk's spread grows with √h). centre[k] = α v[k] + (1 − α)
 * centre[k − 1]; spread[k] = the root mean square of v[j] − centre[j − 1]
 * over the window's periods j in (k − window, k], 0 before the first error.
 */
export function yardstickForecasts(periodValues: ArrayLike<number>, family: Pick<YardstickFamily, 'alpha' | 'windowPeriods'>): { centre: Float64Array; spread: Float64Array } {
  const n = periodValues.length;
  const centre = new Float64Array(n);
  const spread = new Float64Array(n);
  const squaredErrors = new Float64Array(n);
  let windowSum = 0;
  for (let k = 0; k < n; k++) {
    const value = periodValues[k]!;
    if (k > 0) {
      const error = value - centre[k - 1]!;
      squaredErrors[k] = error * error;
      windowSum += squaredErrors[k]!;
      if (k - family.windowPeriods >= 1) windowSum -= squaredErrors[k - family.windowPeriods]!;
      const count = Math.min(k, family.windowPeriods);
      spread[k] = Math.sqrt(Math.max(0, windowSum) / count);
    }
    centre[k] = k === 0 ? value : family.alpha * value + (1 - family.alpha) * centre[k - 1]!;
  }
  return { centre, spread };
}

/**
 * desired[m] for every scored minute: the nodes for the demand of minute m,
 * and for the highest forecast among the later periods that start in
 * (m, m + max(boot, period)]. The next period is always among them, so its
 * capacity is held all through the current one instead of being released
 * and bought again at every period boundary.
 */
export function yardstickPolicy(demand: ArrayLike<number>, scenario: Scenario, periods: SamplePeriods, family: YardstickFamily): Int32Array {
  const start = scoringStartMinute(scenario);
  const { periodMinutes: step, anchorMinute: first } = periods;
  if (start < first) throw new RangeError(`scoring starts at minute ${start}, before the first period (minute ${first})`);
  const periodCount = Math.floor((demand.length - 1 - first) / step) + 1;
  const values = new Float64Array(periodCount);
  for (let k = 0; k < periodCount; k++) values[k] = demand[first + k * step]!;
  const { centre, spread } = yardstickForecasts(values, family);
  const reach = Math.max(scenario.bootMinutes, step);
  const out = new Int32Array(demand.length - start);
  for (let m = start; m < demand.length; m++) {
    const k = Math.floor((m - first) / step);
    const nextStart = first + (k + 1) * step;
    // Later periods starting in (m, m + reach]: the next one and every step after it that fits.
    const stepsAhead = Math.floor((m + reach - nextStart) / step) + 1;
    const forecast = centre[k]! + family.z * spread[k]! * Math.sqrt(stepsAhead);
    out[m - start] = Math.max(nodesFor(demand[m]!, scenario.capacityPerNode), nodesFor(forecast, scenario.capacityPerNode));
  }
  return out;
}

/**
 * How concentrated a policy's unserved demand is: the share of it that falls
 * in the `top` sample periods where the policy fell shortest, given its
 * ready nodes per scored minute (scoreDecisions' timeline). 0 when it
 * served everything.
 */
export function shortfallShareOfWorstPeriods(
  demand: ArrayLike<number>,
  readyNodes: ArrayLike<number>,
  scenario: Scenario,
  periods: SamplePeriods,
  top: number,
): { readonly share: number; readonly periodsShort: number } {
  const start = scoringStartMinute(scenario);
  const byPeriod = new Map<number, number>();
  let total = 0;
  for (let m = start; m < demand.length; m++) {
    const unserved = Math.max(0, demand[m]! - readyNodes[m - start]! * scenario.capacityPerNode);
    if (unserved === 0) continue;
    const k = Math.floor((m - periods.anchorMinute) / periods.periodMinutes);
    byPeriod.set(k, (byPeriod.get(k) ?? 0) + unserved);
    total += unserved;
  }
  if (total === 0) return { share: 0, periodsShort: 0 };
  const worst = [...byPeriod.values()].sort((a, b) => b - a).slice(0, top);
  return { share: worst.reduce((sum, u) => sum + u, 0) / total, periodsShort: byPeriod.size };
}
