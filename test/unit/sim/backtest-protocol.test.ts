import { describe, expect, it } from 'vitest';
import { oraclePolicy, reactivePolicy, staticPolicy } from '../../../lib/sim/reference-policies.ts';
import { initialFleetNodes, scoreDecisions, type Scenario } from '../../../lib/sim/score.ts';
import { median } from '../../../lib/core/forecast/numeric.ts';
import { parseTraceCsv, percentile, toMinuteGrid } from '../../../lib/sim/trace.ts';
import { Fleet } from '../../../lib/sim/fleet.ts';

// warmupDays is a fraction of a day so that S is small: 2/1440 days → S = 2 minutes.
const scenario = (overrides: Partial<Scenario> = {}): Scenario => ({ capacityPerNode: 10, bootMinutes: 2, usdPerNodeHour: 0.6, warmupDays: 2 / 1440, ...overrides });

describe('reference policies (BACKTEST.md, hand-computed)', () => {
  // minute:  0   1   2   3   4   5   6   7
  const d = [50, 80, 15, 35, 12, 58, 0, 21];

  it('oracle = max over k in [m, m+B] of max(1, ceil(d[k]/C))', () => {
    // ceil(d/10), floored at 1: [5, 8, 2, 4, 2, 6, 1, 3]; S = 2, B = 2
    // m=2: max(2,4,2)=4; m=3: max(4,2,6)=6; m=4: max(2,6,1)=6; m=5: max(6,1,3)=6; m=6: max(1,3)=3 (k stops at 7); m=7: 3
    expect(Array.from(oraclePolicy(d, scenario()))).toEqual([4, 6, 6, 6, 3, 3]);
  });

  it('reactive = max(r[m-4..m]) with r = max(1, ceil(d/(0.7 C)))', () => {
    // r = ceil(d / 7): [ceil(7.14)=8, ceil(11.43)=12, ceil(2.14)=3, 5, ceil(1.71)=2, ceil(8.29)=9, max(1,0)=1, 3]
    // m=2: max(r0..r2)=12; m=3: max(r0..r3)=12; m=4: max(r0..r4)=12; m=5: max(r1..r5)=12; m=6: max(r2..r6)=9; m=7: max(r3..r7)=9
    expect(Array.from(reactivePolicy(d, scenario()))).toEqual([12, 12, 12, 12, 9, 9]);
  });

  it('static = max(1, ceil(1.2 * max(d[0..S)) / C))', () => {
    // max(d[0..2)) = 80; 1.2 * 80 = 96; ceil(96 / 10) = 10
    expect(Array.from(staticPolicy(d, scenario()))).toEqual([10, 10, 10, 10, 10, 10]);
  });
});

describe('physics and scores', () => {
  it('boots, bills per minute, terminates newest first, counts unserved demand', () => {
    // S = 2 with C = 10, B = 2, P = 0.6 USD/h (0.01 USD per node-minute).
    const d = [0, 0, 25, 25, 40, 40, 10];
    // initial fleet at S: max(1, ceil(25/10)) = 3 ready nodes
    expect(initialFleetNodes(d, scenario())).toBe(3);
    const desired = [3, 5, 5, 5, 2];
    // m=2: 3 alive, 3 ready → cap 30 ≥ 25, u=0
    // m=3: launch 2 (ready at 5): alive 5, ready 3 → cap 30, u=0
    // m=4: alive 5, ready 3 → cap 30 < 40 → u = 10
    // m=5: alive 5, ready 5 → cap 50, u=0
    // m=6: scale in to 2 (the two booted at m=3 go first): alive 2, ready 2 → cap 20 ≥ 10
    const scores = scoreDecisions(d, desired, scenario());
    expect(Array.from(scores.readyNodes)).toEqual([3, 3, 3, 5, 2]);
    expect(Array.from(scores.aliveNodes)).toEqual([3, 5, 5, 5, 2]);
    // cost = (3+5+5+5+2) node-minutes × 0.6/60 = 20 × 0.01 = 0.2
    expect(scores.cost).toBeCloseTo(0.2, 12);
    // unserved = 10 / (25+25+40+40+10) = 10/140
    expect(scores.unserved_fraction).toBeCloseTo(10 / 140, 12);
    expect(scores.violation_minutes).toBe(1);
    expect(scores.launches).toBe(2);
    // desired changes vs the previous minute (minute S compares with the initial fleet 3): 3→5 at m=3, 5→2 at m=6
    expect(scores.actions).toBe(2);
  });

  it('terminates booting nodes before ready ones', () => {
    const fleet = new Fleet(5, 2);
    fleet.setDesired(10, 4); // two booting, ready at 15
    fleet.setDesired(11, 3); // the newest (booting) goes
    expect(fleet.aliveNodes).toBe(3);
    expect(fleet.readyNodes(11)).toBe(2);
    expect(fleet.readyNodes(15)).toBe(3);
  });

  it('rejects a decision that is not an integer ≥ 1', () => {
    expect(() => scoreDecisions([1, 1, 1, 1], [1, 0], scenario())).toThrow(/desired\[3\] = 0/);
    expect(() => scoreDecisions([1, 1, 1, 1], [1], scenario())).toThrow(/expected 2 decisions/);
  });
});

describe('trace and minute grid', () => {
  it('step-holds samples onto the minute grid and ends one median interval after the last sample', () => {
    const samples = parseTraceCsv('timestamp,value\n2024-01-01 00:00:00,5\n2024-01-01 00:05:00,7\n2024-01-01 00:10:00,9\n2024-01-01 00:12:00,4\n');
    const grid = toMinuteGrid(samples);
    // intervals 300, 300, 120 s → median 300 s; last sample 00:12 + 5 min = 00:17 → minutes 0..16
    expect(grid.medianIntervalSeconds).toBe(300);
    expect(grid.demand.length).toBe(17);
    expect(Array.from(grid.demand)).toEqual([5, 5, 5, 5, 5, 7, 7, 7, 7, 7, 9, 9, 4, 4, 4, 4, 4]);
  });

  it('floors t0 to the minute and holds the first value until the first sample', () => {
    const grid = toMinuteGrid(parseTraceCsv('timestamp,value\n2015-02-26 21:42:53,57\n2015-02-26 21:47:53,43\n'));
    // t0 = 21:42:00; minutes 0..5 at 21:42..21:47 take 57 (the 21:47:53 sample is after 21:47:00); end = 21:52:53 → 11 minutes
    expect(grid.t0Ms).toBe(Date.UTC(2015, 1, 26, 21, 42));
    expect(Array.from(grid.demand)).toEqual([57, 57, 57, 57, 57, 57, 43, 43, 43, 43, 43]);
  });

  it.each([
    ['header', 'time,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,1', /line 1: header must be "timestamp,value"/],
    ['bad timestamp', 'timestamp,value\n2024-13-01 00:00:00,1\n2024-01-01 00:01:00,1', /line 2: timestamp "2024-13-01 00:00:00"/],
    ['impossible date', 'timestamp,value\n2024-02-30 00:00:00,1\n2024-03-01 00:01:00,1', /line 2: timestamp/],
    ['bad value', 'timestamp,value\n2024-01-01 00:00:00,abc\n2024-01-01 00:01:00,1', /line 2: value "abc" is not a number/],
    ['negative', 'timestamp,value\n2024-01-01 00:00:00,-3\n2024-01-01 00:01:00,1', /line 2: value -3 is negative/],
    ['descending', 'timestamp,value\n2024-01-01 00:05:00,1\n2024-01-01 00:01:00,1', /line 3: .*must ascend/],
    ['columns', 'timestamp,value\n2024-01-01 00:00:00,1,2\n2024-01-01 00:01:00,1', /line 2: expected 2 columns, got 3/],
    ['too short', 'timestamp,value\n2024-01-01 00:00:00,1\n', /needs at least 2 samples/],
  ])('rejects a trace with a bad %s, naming the line', (_name, csv, message) => {
    expect(() => parseTraceCsv(csv, 'my.csv')).toThrow(message);
  });

  it('percentile interpolates linearly between order statistics (NumPy default)', () => {
    // sorted [1,2,3,4]; p99 rank = 0.99 × 3 = 2.97 → 3 + 0.97 × (4 − 3) = 3.97
    expect(percentile([4, 1, 3, 2], 99)).toBeCloseTo(3.97, 12);
    expect(percentile([7], 50)).toBe(7);
    expect(median([300, 120, 300, 60])).toBe(210); // (120 + 300) / 2
  });
});
