/**
 * The backtest's level-steering hook (an experiment, lib/sim/shadow-steer.ts):
 * a hook that returns the configured level changes nothing, and a steered run
 * is still causal — it may use minute m only after minute m.
 */
import { describe, expect, it } from 'vitest';
import { createForecaster } from '../../lib/core/forecast/index.ts';
import { runPredictive, runReference } from '../../lib/sim/backtest.ts';
import { createShadowSteer } from '../../lib/sim/shadow-steer.ts';
import { scoringStartMinute, type Scenario } from '../../lib/sim/score.ts';
import { parseTraceCsv, toMinuteGrid, type MinuteGrid } from '../../lib/sim/trace.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';
import { syntheticTraceCsv } from '../support/backtest.ts';

const scenario: Scenario = { capacityPerNode: 90, bootMinutes: 3, usdPerNodeHour: 0.192, warmupDays: 2 };
const csv = syntheticTraceCsv({ spikeProbability: 0.01 });

function gridOf(text: string): MinuteGrid {
  return toMinuteGrid(parseTraceCsv(text, 'synthetic'));
}

async function steered(grid: MinuteGrid, ratio: number | undefined): Promise<Int32Array> {
  const steer =
    ratio === undefined
      ? () => 0.9
      : createShadowSteer({ demand: grid.demand, shadowReadyNodes: runReference('reactive', grid, scenario).readyNodes, capacityPerNode: scenario.capacityPerNode, startMinute: scoringStartMinute(scenario), ratio, gain: 0.05, initialLevel: 0.9 });
  return (await runPredictive({ grid, scenario, forecaster: createForecaster(), createStateStore: createMemoryStateStore, steerServiceLevel: steer })).desired;
}

describe('steerServiceLevel', () => {
  it('a hook that always answers the configured level (0.9) decides exactly as no hook', async () => {
    const grid = gridOf(csv);
    const plain = await runPredictive({ grid, scenario, forecaster: createForecaster(), createStateStore: createMemoryStateStore });
    expect(Array.from(await steered(grid, undefined))).toEqual(Array.from(plain.desired));
  });

  it('a shadow-steered run on the trace cut at minute T makes the same decisions before T', async () => {
    const lines = csv.trim().split('\n');
    // Cut after 2.5 of the 3 days: the first half scored day must match.
    const cut = gridOf(`${lines.slice(0, 1 + (2.5 * 1440) / 5).join('\n')}\n`);
    const full = await steered(gridOf(csv), 0.5);
    const partial = await steered(cut, 0.5);
    expect(partial.length).toBeGreaterThan(100);
    expect(Array.from(full.subarray(0, partial.length))).toEqual(Array.from(partial));
    // …and the steering acted: the decisions differ from the fixed level's.
    expect(Array.from(full)).not.toEqual(Array.from(await steered(gridOf(csv), undefined)));
  });
});
