import { describe, expect, it } from 'vitest';
import { perMinuteFromHistories, ReplayMetrics, SteppedClock } from '../../../lib/sim/cloud.ts';
import type { DemandHistory } from '../../../lib/core/forecast/types.ts';
import type { MetricQuery } from '../../../lib/ports.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 1440 * MINUTE_MS;
// t0 two minutes past a 5-minute epoch boundary, so an epoch-aligned grid starts at minute 3.
const T0_MS = Date.UTC(2026, 0, 1, 0, 2);
const metric = { namespace: 'Sim', name: 'Demand', dimensions: {} } as const;

/** 20 days of a 1-minute metric whose value at minute m is m; now at the start of day 20. */
function replay(): ReplayMetrics {
  const clock = new SteppedClock(T0_MS + 20 * DAY_MS);
  const metrics = new ReplayMetrics(clock, T0_MS);
  metrics.add(metric, Float64Array.from({ length: 20 * 1440 + 1 }, (_, m) => m));
  return metrics;
}

describe('ReplayMetrics serves history at the resolution CloudWatch keeps', () => {
  it.each([
    // 1-minute data is kept 15 days: a 14-day window stays at 60 s, on the trace's own minutes.
    { stat: 'Average', daysBack: 14, stepSeconds: 60, firstMinute: 6 * 1440, firstValue: 6 * 1440 },
    // 16 days back is past it: 300 s, epoch-aligned (first boundary at or after minute 4·1440 is 4·1440 + 3),
    // each value the mean of minutes 5763..5767 = 5765.
    { stat: 'Average', daysBack: 16, stepSeconds: 300, firstMinute: 4 * 1440 + 3, firstValue: 4 * 1440 + 5 },
    // A Sum keeps its per-requested-period unit: mean per minute 5765 × 5 minutes × (60 / 300) = 5765.
    { stat: 'Sum', daysBack: 16, stepSeconds: 300, firstMinute: 4 * 1440 + 3, firstValue: 4 * 1440 + 5 },
  ])('$stat, $daysBack days back → $stepSeconds s steps from minute $firstMinute', async ({ stat, daysBack, stepSeconds, firstMinute, firstValue }) => {
    const nowMs = T0_MS + 20 * DAY_MS;
    const query: MetricQuery = { ...metric, stat, periodSeconds: 60 };
    const history = await replay().getDemand(query, nowMs - daysBack * DAY_MS, nowMs + 1);
    expect(history.stepSeconds).toBe(stepSeconds);
    expect(history.startMs).toBe(T0_MS + firstMinute * MINUTE_MS);
    expect(history.values[0]).toBeCloseTo(firstValue, 9);
  });

  it('a coarsened history still ends with the period in progress', async () => {
    const nowMs = T0_MS + 20 * DAY_MS;
    const history = await replay().getDemand({ ...metric, stat: 'Average', periodSeconds: 60 }, nowMs - 16 * DAY_MS, nowMs + 1);
    // Now is minute 28 800 = epoch-aligned start 28 798 + 2, so the last period holds minutes 28 798..28 800: mean 28 799.
    const lastStartMs = history.startMs + (history.values.length - 1) * history.stepSeconds * 1000;
    expect(lastStartMs).toBe(T0_MS + 28_798 * MINUTE_MS);
    expect(history.values.at(-1)).toBe(28_799);
  });
});

describe('ReplayMetrics serves a Sum only once settled, as CloudWatch publishes it', () => {
  it.each([
    // Now = minute 28 800 (its start). 1-minute Sum: 28 800 is in progress, 28 799 ended 0 s ago — both unsettled;
    // 28 798 ended 60 s ago (≤ now − 60 s) → served: its value is its minute, 28 798.
    { stat: 'Sum', periodSeconds: 60, tail: [28_797, 28_798, Number.NaN, Number.NaN] },
    // An Average is a gauge: served as it comes, the minute in progress included (the protocol's d[m] at minute m).
    { stat: 'Average', periodSeconds: 60, tail: [28_797, 28_798, 28_799, 28_800] },
    // 5-minute Sum on the trace's anchor (minute 0): periods start at 28 790 and 28 795 (ended now, unsettled) and
    // 28 800 (in progress). 28 790..28 794 sum to 143 960.
    { stat: 'Sum', periodSeconds: 300, tail: [143_960, Number.NaN, Number.NaN] },
  ])('$stat at $periodSeconds s', async ({ stat, periodSeconds, tail }) => {
    const nowMs = T0_MS + 20 * DAY_MS;
    const history = await replay().getDemand({ ...metric, stat, periodSeconds }, nowMs - 20 * MINUTE_MS, nowMs + 1);
    expect(history.values.slice(-tail.length)).toEqual(tail);
  });
});

describe('perMinuteFromHistories turns read histories back into the minutes ReplayMetrics replays', () => {
  const AVERAGE = { stat: 'Average', periodSeconds: 60 };
  const SUM_5MIN = { stat: 'Sum', periodSeconds: 300 };
  it.each<[string, DemandHistory[], number, { stat: string; periodSeconds: number }, number[]]>([
    // 1-minute Average from t0 + 1 min: minute 0 has no datapoint, NaN stays a gap.
    ['1-min Average, one gap', [{ startMs: T0_MS + MINUTE_MS, stepSeconds: 60, values: [5, Number.NaN, 7] }], 5, AVERAGE, [NaN, 5, NaN, 7, NaN]],
    // A 5-min Average step is held over its five minutes.
    ['5-min step of an Average, held', [{ startMs: T0_MS, stepSeconds: 300, values: [4] }], 6, AVERAGE, [4, 4, 4, 4, 4, NaN]],
    // A 5-min Sum of 50 (per requested 5-min period) spreads 50 × 60/300 = 10 a minute; the replay adds five back to 50.
    ['5-min Sum, spread', [{ startMs: T0_MS, stepSeconds: 300, values: [50] }], 5, SUM_5MIN, [10, 10, 10, 10, 10]],
    // Retention gave 5-min steps of a 1-min Sum: its values are already per requested minute (scaled by 60/300), so held.
    ['1-min Sum served at 5 min, held', [{ startMs: T0_MS, stepSeconds: 300, values: [3] }], 5, { stat: 'Sum', periodSeconds: 60 }, [3, 3, 3, 3, 3]],
    // The finer, later read overrides the coarse one over the minutes it spans, gaps included.
    [
      'a later read overrides',
      [
        { startMs: T0_MS, stepSeconds: 300, values: [4] },
        { startMs: T0_MS + 2 * MINUTE_MS, stepSeconds: 60, values: [9, Number.NaN] },
      ],
      5,
      AVERAGE,
      [4, 4, 9, NaN, 4],
    ],
    // A step starting before t0 fills only its minutes from t0 on; one past the end is cut.
    ['clipped at both ends', [{ startMs: T0_MS - 2 * MINUTE_MS, stepSeconds: 300, values: [1, 2] }], 4, AVERAGE, [1, 1, 1, 2]],
  ])('%s', (_, histories, minutes, metric, expected) => {
    expect(Array.from(perMinuteFromHistories(histories, T0_MS, minutes, metric))).toEqual(expected);
  });
});
