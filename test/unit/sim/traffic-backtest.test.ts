import { describe, expect, it } from 'vitest';
import { parseSpotFlags } from '../../../lib/cli/backtest-spot.ts';
import { appendReportSection, stepPath } from '../../../lib/sim/report-traffic.ts';
import type { Scenario } from '../../../lib/sim/score.ts';
import { planSpotInterruptions } from '../../../lib/sim/spot.ts';
import type { MinuteGrid } from '../../../lib/sim/trace.ts';
import { NodePool, runSpotBacktest, runSpotScenario, splitNodes, weightsCsv } from '../../../lib/sim/traffic-backtest.ts';
import { createMemoryStateStore } from '../../../lib/state/memory.ts';

describe('splitNodes', () => {
  it.each([
    [10, 0.5, 5, 5],
    [11, 0.5, 6, 5], // ⌊5.5⌋ = 5 on spot, the half node on-demand
    [1, 0.5, 1, 0], // one node stays on-demand
    [100, 0.57, 43, 57], // 0.57 × 100 = 56.99… in floating point: still 57
    [7, 0, 7, 0],
    [7, 1, 0, 7],
  ])('%i nodes at share %f → %i on-demand, %i spot', (desired, share, onDemand, spot) => {
    expect(splitNodes(desired, share)).toEqual({ onDemand, spot });
  });
});

describe('NodePool', () => {
  it('notice marks the oldest live nodes; reclaim removes only those; booting nodes are not draining', () => {
    const pool = new NodePool(3, 2); // 2 ready from the start, boot 3 minutes
    pool.setDesired(10, 4); // 2 launched at 10, ready at 13
    expect(pool.notice(0, 3)).toBe(3); // the 2 ready ones and the oldest booting one
    expect([pool.readyNodes(11), pool.drainingNodes(11)]).toEqual([2, 2]);
    expect([pool.readyNodes(13), pool.drainingNodes(13)]).toEqual([4, 3]);
    pool.reclaim(0);
    expect(pool.aliveNodes).toBe(1);
    pool.setDesired(13, 4); // replacements launched at 13, ready at 16
    expect([pool.readyNodes(13), pool.readyNodes(16)]).toEqual([1, 4]);
  });
});

const MINUTES = 400;
/** A flat trace: 10 nodes' worth of demand all along, no warm-up. */
const grid: MinuteGrid = { t0Ms: Date.UTC(2024, 0, 1), demand: new Float64Array(MINUTES).fill(100), medianIntervalSeconds: 60, firstSampleMs: Date.UTC(2024, 0, 1) };
const scenario: Scenario = { capacityPerNode: 10, bootMinutes: 3, usdPerNodeHour: 0.192, warmupDays: 0 };
const desired = new Int32Array(MINUTES).fill(10);

describe('runSpotScenario', () => {
  it('the weights around one interruption, minute by minute', async () => {
    const run = await runSpotScenario({ grid, scenario, policy: 'oracle', desired, seed: 3, spotShare: 0.5, meanMinutesBetweenInterruptions: 150, createStateStore: createMemoryStateStore });
    const plan = planSpotInterruptions({ seed: 3, startMinute: 0, endMinute: MINUTES, meanMinutesBetween: 150, nodesPerInterruption: { min: 5, max: 5 } });
    expect(run.interruptions).toEqual(plan); // 5 spot nodes alive at every notice
    expect(run.interruptions.length).toBeGreaterThan(0);
    const n = run.interruptions[0]!.noticeMinute;
    const rows = weightsCsv(run).trim().split('\n').slice(1 + n - 1, 1 + n + 9);
    expect(rows).toEqual([
      `${n - 1},50,50`,
      `${n},70,0`, // notice: every spot target draining → spot off at once; on-demand +20 (step)
      `${n + 1},90,0`,
      `${n + 2},100,0`, // reclaim: nodes gone, 5 replacements launched, ready at n + 2 + 3
      `${n + 3},100,0`,
      `${n + 4},100,0`,
      `${n + 5},80,20`, // replacements ready: back toward 50 / 50 in steps of 20
      `${n + 6},60,40`,
      `${n + 7},50,50`,
      `${n + 8},50,50`,
    ]);
    expect(run.minutesWithTrafficOnDrainingGroup).toBe(0);
    // Each interruption: off, off, off (3 changes to 100 / 0) and back in 3 → 6 ModifyRule calls.
    expect(run.weightChanges).toBe(6 * run.interruptions.length);
  });

  it('an all-spot fleet cannot move traffic anywhere: the weights stay (fail open) and the minutes are counted', async () => {
    const run = await runSpotScenario({ grid, scenario, policy: 'oracle', desired, seed: 3, spotShare: 1, meanMinutesBetweenInterruptions: 150, createStateStore: createMemoryStateStore });
    // Two notice minutes per interruption with weight on a fully draining group (notice, notice + 1).
    expect(run.minutesWithTrafficOnDrainingGroup).toBe(2 * run.interruptions.length);
  });

  it('refuses a bad seed or share', async () => {
    const base = { grid, scenario, policy: 'oracle', desired, createStateStore: createMemoryStateStore };
    await expect(runSpotScenario({ ...base, seed: 1.5, spotShare: 0.5 })).rejects.toThrow('--spot-interruptions must be an integer seed');
    await expect(runSpotScenario({ ...base, seed: 1, spotShare: 1.5 })).rejects.toThrow('--spot-share must be between 0 and 1');
  });

  it('splits predictive when it ran, else the first policy', async () => {
    const flat = { policy: 'oracle', desired };
    const rising = { policy: 'predictive', desired: new Int32Array(MINUTES).fill(12) };
    const common = { grid, scenario, seed: 3, spotShare: 0.5, createStateStore: createMemoryStateStore };
    expect((await runSpotBacktest({ ...common, results: [flat, rising] })).run.policy).toBe('predictive');
    expect((await runSpotBacktest({ ...common, results: [flat] })).run.policy).toBe('oracle');
  });
});

describe('parseSpotFlags', () => {
  it.each([
    [undefined, undefined, undefined],
    ['42', undefined, { seed: 42, spotShare: 0.5 }],
    ['0', '0.3', { seed: 0, spotShare: 0.3 }],
  ])('%s %s', (seed, share, expected) => {
    expect(parseSpotFlags(seed, share)).toEqual(expected);
  });

  it.each([
    [undefined, '0.3', '--spot-share needs --spot-interruptions SEED'],
    ['x', undefined, '--spot-interruptions must be an integer seed in [0, 4294967295] (got "x")'],
    ['-1', undefined, '--spot-interruptions must be an integer seed'],
    ['1', '2', '--spot-share must be a number between 0 and 1 (got "2")'],
    ['1', '', '--spot-share must be a number between 0 and 1'],
  ])('%s %s → %s', (seed, share, message) => {
    expect(() => parseSpotFlags(seed, share)).toThrow(message);
  });
});

describe('report fragment helpers', () => {
  it('stepPath emits a point only where the value changes', () => {
    expect(stepPath([50, 50, 0, 0, 50], (i) => i * 10, (v) => 100 - v)).toBe('M0.0,50.0H20.0V100.0H40.0V50.0H40.0');
  });

  it('appendReportSection goes before </body>', () => {
    expect(appendReportSection('<html><body><p>a</p></body></html>\n', '<h2>b</h2>')).toBe('<html><body><p>a</p><h2>b</h2>\n</body></html>\n');
    expect(appendReportSection('<p>a</p>', '<h2>b</h2>')).toBe('<p>a</p><h2>b</h2>\n');
  });
});
