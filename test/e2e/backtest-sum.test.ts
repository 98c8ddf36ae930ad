/**
 * `--metric-stat Sum`: the predictive policy reads demand as CloudWatch serves
 * a count, each period only once it has ended and settled a minute, so a
 * backtest on a RequestCount-like metric does not credit the policy with
 * seeing the period in progress.
 */
import { describe, expect, it } from 'vitest';
import { createForecaster } from '../../lib/core/forecast/index.ts';
import { runPredictive, type MetricStat } from '../../lib/sim/backtest.ts';
import { scoringStartMinute, type Scenario } from '../../lib/sim/score.ts';
import { parseTraceCsv, toMinuteGrid } from '../../lib/sim/trace.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';

const scenario: Scenario = { capacityPerNode: 100, bootMinutes: 3, usdPerNodeHour: 0.192, warmupDays: 2 };
/** Minute 3600 (day 2.5, a 5-minute boundary): demand steps from 500 to 1500 per 5-minute sample. */
const STEP_MINUTE = 3600;

function stepTrace(cutAtMinute = 3 * 1440): string {
  const t0 = Date.UTC(2024, 0, 1);
  const lines = ['timestamp,value'];
  for (let minute = 0; minute < cutAtMinute; minute += 5) {
    const value = minute < STEP_MINUTE ? 500 : 1500;
    lines.push(`${new Date(t0 + minute * 60_000).toISOString().slice(0, 19).replace('T', ' ')},${value}`);
  }
  return `${lines.join('\n')}\n`;
}

async function desired(metricStat: MetricStat, csv = stepTrace()): Promise<Int32Array> {
  const grid = toMinuteGrid(parseTraceCsv(csv, 'step'));
  return (await runPredictive({ grid, scenario, forecaster: createForecaster(), createStateStore: createMemoryStateStore, knobs: { metricStat } })).desired;
}

/** The first minute from `from` whose decision exceeds the one just before the step. */
function firstRise(decisions: Int32Array, from: number): number {
  const start = scoringStartMinute(scenario);
  const before = decisions[STEP_MINUTE - 1 - start]!;
  for (let minute = from; minute - start < decisions.length; minute++) if (decisions[minute - start]! > before) return minute;
  return -1;
}

describe('backtest reading demand as a settled Sum', () => {
  it('a gauge sees the step in its minute; a Sum once its period has ended and settled', async () => {
    const gauge = await desired('Average');
    const sum = await desired('Sum');
    // Average: the period [3600, 3605) is in progress and read at minute 3600 → the reactive floor rises then.
    expect(firstRise(gauge, STEP_MINUTE - 10)).toBe(STEP_MINUTE);
    // Sum: [3600, 3605) ends at 3605 and settles a minute later → first read at 3606.
    expect(firstRise(sum, STEP_MINUTE - 10)).toBe(STEP_MINUTE + 6);
    // The same demand in the same units: before the step and once both have caught up, the fleets agree.
    const start = scoringStartMinute(scenario);
    // flat 500 per 5 minutes, 100 per node: the reactive floor alone is ceil(500 / (100 × 0.9)) = 6 nodes
    expect(sum[STEP_MINUTE - 1 - start]).toBe(gauge[STEP_MINUTE - 1 - start]);
    expect(gauge[STEP_MINUTE - 1 - start]).toBeGreaterThanOrEqual(6);
    expect(sum[STEP_MINUTE + 60 - start]).toBe(gauge[STEP_MINUTE + 60 - start]);
  });

  it('is causal: a run on the trace cut at minute T makes the same decisions before T', async () => {
    const cutMinute = 2.5 * 1440 + 300;
    const full = await desired('Sum');
    const cut = await desired('Sum', stepTrace(cutMinute));
    const start = scoringStartMinute(scenario);
    expect(Array.from(cut.slice(0, cutMinute - start))).toEqual(Array.from(full.slice(0, cutMinute - start)));
  });
});
