/**
 * The `aws-predictive` baseline: EC2 Auto Scaling predictive scaling beside a
 * target-tracking policy, as the AWS documentation describes them:
 * - an hourly load forecast for the next 48 hours from up to 14 days of
 *   history, regenerated every 6 hours;
 * - at the start of each hour, minus a 300 s scheduling buffer, capacity is
 *   raised to the forecast load at the target utilisation; predictive
 *   scaling never scales in;
 * - target tracking at 70 % follows actual load both ways (the reactive
 *   formula of BACKTEST.md), so desired = max(predictive floor, tracking).
 * The forecast comes from prescale's own forecasting engine (point forecast),
 * so the comparison isolates the scaling strategy, not the model.
 */
import type { Forecaster } from '../core/forecast/types.ts';
import { reactivePolicy } from './reference-policies.ts';
import { scoringStartMinute, type Scenario } from './score.ts';
import type { MinuteGrid } from './trace.ts';

const MINUTE_MS = 60_000;
const HOUR_MINUTES = 60;
export const AWS_PREDICTIVE = {
  historyDays: 14,
  horizonHours: 48,
  refreshHours: 6,
  schedulingBufferMinutes: 5,
  targetUtilization: 0.7,
} as const;

/** Hourly means of the minute grid for whole hours in [fromMinute, toMinute), aligned to UTC hours. */
export function hourlyMeans(grid: MinuteGrid, fromMinute: number, toMinute: number): { startMs: number; values: number[] } {
  const hourMs = HOUR_MINUTES * MINUTE_MS;
  const firstHourMs = Math.ceil((grid.t0Ms + fromMinute * MINUTE_MS) / hourMs) * hourMs;
  const values: number[] = [];
  for (let hourStartMs = firstHourMs; hourStartMs + hourMs <= grid.t0Ms + toMinute * MINUTE_MS; hourStartMs += hourMs) {
    const first = (hourStartMs - grid.t0Ms) / MINUTE_MS;
    let sum = 0;
    for (let m = first; m < first + HOUR_MINUTES; m++) sum += grid.demand[m]!;
    values.push(sum / HOUR_MINUTES);
  }
  return { startMs: firstHourMs, values };
}

export function awsPredictivePolicy(grid: MinuteGrid, scenario: Scenario, forecaster: Forecaster): Int32Array {
  const start = scoringStartMinute(scenario);
  const demand = grid.demand;
  const tracking = reactivePolicy(demand, scenario);
  const out = new Int32Array(demand.length - start);
  // Capacity per forecast hour, keyed by the hour's start (epoch ms).
  const plannedByHourMs = new Map<number, number>();
  const hourMs = HOUR_MINUTES * MINUTE_MS;
  let nextRefreshMs = Number.NEGATIVE_INFINITY;
  for (let m = start; m < demand.length; m++) {
    const nowMs = grid.t0Ms + m * MINUTE_MS;
    if (nowMs >= nextRefreshMs) {
      const history = hourlyMeans(grid, Math.max(0, m - AWS_PREDICTIVE.historyDays * 1440), m + 1);
      if (history.values.length >= 24) {
        const forecast = forecaster.forecast({ history: { startMs: history.startMs, stepSeconds: 3600, values: history.values }, horizonSteps: AWS_PREDICTIVE.horizonHours, levels: [0.5] });
        forecast.point.forEach((load, h) => {
          plannedByHourMs.set(forecast.startMs + h * hourMs, Math.max(1, Math.ceil(Math.max(0, load) / (scenario.capacityPerNode * AWS_PREDICTIVE.targetUtilization))));
        });
      }
      nextRefreshMs = Math.floor(nowMs / (AWS_PREDICTIVE.refreshHours * hourMs)) * AWS_PREDICTIVE.refreshHours * hourMs + AWS_PREDICTIVE.refreshHours * hourMs;
    }
    // The hour whose capacity is in place now: launched `schedulingBuffer` before it starts.
    const scheduledHourMs = Math.floor((nowMs + AWS_PREDICTIVE.schedulingBufferMinutes * MINUTE_MS) / hourMs) * hourMs;
    const floor = plannedByHourMs.get(scheduledHourMs) ?? 1;
    out[m - start] = Math.max(floor, tracking[m - start]!);
  }
  return out;
}
