import { describe, expect, it } from 'vitest';
import {
  accrueCostCeiling,
  accrueHours,
  dayOverspend,
  type HourSpend,
  ceiledServiceLevel,
  COST_CEILING_GAIN_PER_MINUTE,
  demandPeakSince,
  lowestShift,
  rememberedCostCeiling,
  shadowHpaPods,
  shadowServicePods,
  withOurRate,
  shadowTargetUtilization,
  type CostCeiling,
} from '../../../lib/core/plan/cost-ceiling.ts';
import { fleetUsdPerHour } from '../../../lib/core/budget/cost.ts';

const MIN = 60_000;
const T = Date.UTC(2026, 10, 2, 12, 0);
const logistic = (z: number) => 1 / (1 + Math.exp(-z));

const H = 60 * MIN;
// T is on the hour.
const ceiling = (over: Partial<CostCeiling> = {}): CostCeiling => ({ hours: [], ourUsdPerHour: 12, reactiveUsdPerHour: 10, shift: 0, atMs: T, ...over });

describe('accrueHours', () => {
  it('splits an interval at the clock hour and adds each part to its hour', () => {
    // T − 10 min … T + 5 min at 12 and 6 USD/h: 10 min in the hour before T (2 and 1 USD), 5 min in T's hour (1 and 0.5 USD).
    expect(accrueHours([[T - H, 20, 3, 3]], T - 10 * MIN, T + 5 * MIN, 12, 6)).toEqual([
      [T - H, 30, 5, 4],
      [T, 5, 1, 0.5],
    ]);
  });

  it('keeps only the 24 clock hours ending with the current one', () => {
    // At T + 1 min the window is the hours T − 23 h … T: the hour T − 24 h drops out.
    const out = accrueHours([[T - 24 * H, 60, 1, 1], [T - 23 * H, 60, 1, 1]], T, T + MIN, 60, 60);
    expect(out.map(([h]) => (h - T) / H)).toEqual([-23, 0]);
  });
});

describe('dayOverspend', () => {
  it.each([
    // a whole day seen: (110 − 100) / 100 = 0.1
    { hours: [[T, 1440, 110, 100]] as HourSpend[], expected: 0.1 },
    // six hours seen, 50 % over: 0.5 × 360 / 1440 = 0.125 (the unseen 18 hours count as even)
    { hours: [[T, 360, 15, 10]] as HourSpend[], expected: 0.125 },
    // under: (90 − 100) / 100 = −0.1
    { hours: [[T, 720, 45, 50], [T + H, 720, 45, 50]] as HourSpend[], expected: -0.1 },
    // the shadow spent nothing: no evidence
    { hours: [[T, 60, 5, 0]] as HourSpend[], expected: 0 },
    { hours: [] as HourSpend[], expected: 0 },
  ])('$hours → $expected', ({ hours, expected }) => {
    expect(dayOverspend(hours)).toBeCloseTo(expected, 12);
  });
});

describe('accrueCostCeiling', () => {
  it('starts with no spend and no shift', () => {
    expect(accrueCostCeiling(undefined, T, -2)).toEqual({ hours: [], ourUsdPerHour: 0, reactiveUsdPerHour: 0, shift: 0, atMs: T });
  });

  // A day already seen: 24 hours of 60 min at 10 USD each side, the newest at T − 1 h.
  const evenDay: HourSpend[] = Array.from({ length: 24 }, (_, k) => [T - (24 - k) * H, 60, 10, 10] as const);
  it.each([
    {
      why: 'overspend steps the shift down',
      // 10 min at 12 and 10 USD/h: T's hour gets 2 and 1.6667; the hour T − 24 h drops out, so the day is 230 + 2 = 232 against 231.6667
      // over 23 × 60 + 10 = 1390 min: overspend 0.3333 / 231.6667 × 1390/1440 = 0.001389 → shift 0 − 0.003 × 0.001389 × 10 = −0.00004167
      previous: ceiling({ hours: evenDay }),
      minutes: 10,
      expected: -0.03 * (1 / 3 / (230 + 10 / 6)) * (1390 / 1440),
    },
    {
      why: 'a new ceiling steers by the share of a day it has seen',
      // 10 min seen, 20 % over: 0.2 × 10 / 1440 = 0.001389 → −0.003 × 0.001389 × 10 = −0.00004167 (−0.006 if unseen hours did not count)
      previous: ceiling(),
      minutes: 10,
      expected: -0.03 * 0.2 * (10 / 1440),
    },
    {
      why: 'underspend steps it back up, never above 0',
      // 15 min at 5 against 10 after a day 50 % under: −0.01 + 0.003 × ~0.5 × 15 = +0.0125 → 0
      previous: ceiling({ hours: evenDay.map(([h, m, , r]) => [h, m, r / 2, r] as const), ourUsdPerHour: 5, shift: -0.01 }),
      minutes: 15,
      expected: 0,
    },
    {
      why: 'a long pause accrues only 15 minutes',
      // 60 min → 15, the last 15 of the pause, all in the hour T + 0: at T + 60 the window keeps T − 23 h … T + 60 min, so of
      // evenDay only the 22 hours from T − 22 h (220 and 220) stay. T's hour gets 12 × 15/60 = 3 and 2.5: 223 against 222.5
      // over 22 × 60 + 15 = 1335 min: overspend 0.5 / 222.5 × 1335/1440 = 0.002083 → −0.003 × 0.002083 × 15 = −0.00009375
      previous: ceiling({ hours: evenDay }),
      minutes: 60,
      expected: -0.045 * (0.5 / 222.5) * (1335 / 1440),
    },
    {
      why: 'the shift stops at the floor',
      // a day twice the shadow's: overspend ~1 → −1.99 − 0.003 × 1 × 10 = −2.02 → floor −2
      previous: ceiling({ hours: evenDay.map(([h, m, , r]) => [h, m, 2 * r, r] as const), shift: -1.99 }),
      minutes: 10,
      expected: -2,
    },
  ])('$why', ({ previous, minutes, expected }) => {
    const next = accrueCostCeiling(previous, T + minutes * MIN, -2);
    expect(next.shift).toBeCloseTo(expected, 12);
    expect(next.atMs).toBe(T + minutes * MIN);
    // The rates stay until the run that accrued them sets this run's.
    expect([next.ourUsdPerHour, next.reactiveUsdPerHour]).toEqual([previous.ourUsdPerHour, previous.reactiveUsdPerHour]);
  });

  it('accrues nothing after a run that could not price the shadow (both rates 0), and relaxes the shift over a day', () => {
    // −0.5 × e^(−10/1440) = −0.49654: a shift nothing prices any more must not hold for good
    const previous = ceiling({ hours: [[T - H, 60, 50, 40]], ourUsdPerHour: 0, reactiveUsdPerHour: 0, shift: -0.5 });
    expect(accrueCostCeiling(previous, T + 10 * MIN, -2)).toEqual({ ...previous, shift: -0.5 * Math.exp(-10 / 1440), atMs: T + 10 * MIN });
  });

  it('relaxes by the real time since, not the capped accrual, after a long silence', () => {
    // 6 h without a run after an unpriced one: −1 × e^(−360/1440) = −0.7788 (capped at 15 min it would be −0.9897)
    const previous = ceiling({ ourUsdPerHour: 0, reactiveUsdPerHour: 0, shift: -1 });
    expect(accrueCostCeiling(previous, T + 360 * MIN, -2).shift).toBeCloseTo(-Math.exp(-360 / 1440), 12);
  });

  it('changes nothing when no time has passed', () => {
    const previous = ceiling({ hours: evenDay });
    expect(accrueCostCeiling(previous, T, -2)).toBe(previous);
  });

  it('holds the shift while the day is even', () => {
    const even = ceiling({ hours: evenDay, ourUsdPerHour: 10, shift: -0.3 });
    expect(accrueCostCeiling(even, T + MIN, -5).shift).toBeCloseTo(-0.3, 12);
    expect(COST_CEILING_GAIN_PER_MINUTE).toBe(0.003);
  });

  it('accrues up to two schedule intervals when the schedule is longer than 15 minutes', () => {
    // Hourly runs: 60 min at 12 and 10 after an even day. At T + 60 the window is T − 22 h … T + 1 h: 22 hours of evenDay
    // (220 and 220) and T's hour with 12 and 10 → 232 against 230 over 1380 min: 2 / 230 × 1380/1440 = 0.008333 →
    // −0.003 × 0.008333 × 60 = −0.0015 (capped at 15 min it would be about a sixteenth of that)
    const next = accrueCostCeiling(ceiling({ hours: evenDay }), T + 60 * MIN, -2, 60);
    expect(next.shift).toBeCloseTo(-0.003 * (2 / 230) * (1380 / 1440) * 60, 12);
  });
});

describe('ceiledServiceLevel', () => {
  it.each([
    // no shift: as configured
    [0.9, 0, 0.9],
    // logit(0.9) = ln 9 = 2.1972; − 1 = 1.1972 → 0.7680
    [0.9, -1, logistic(Math.log(9) - 1)],
    // − ln 9 → logit 0 → 0.5
    [0.9, -Math.log(9), 0.5],
    // further down stops at 0.5
    [0.9, -10, 0.5],
    // 0.99: ln 99 = 4.5951; − 1 = 3.5951 → 0.9733
    [0.99, -1, logistic(Math.log(99) - 1)],
  ])('%d shifted by %d → %d', (level, shift, expected) => {
    expect(ceiledServiceLevel(level, shift)).toBeCloseTo(expected, 12);
  });
});

describe('lowestShift', () => {
  it.each([
    // the highest level read at 0.5: −logit(0.95) = −ln 19 = −2.9444
    [[0.9, 0.95], -Math.log(19)],
    [[0.9], -Math.log(9)],
    // all at 0.5 already: nothing to lower
    [[0.5], 0],
    [[], 0],
  ])('%j → %d', (levels, expected) => {
    expect(lowestShift(levels)).toBeCloseTo(expected, 12);
  });
});

describe('rememberedCostCeiling', () => {
  const good = ceiling({ hours: [[T - H, 60, 5, 4]], shift: -0.2 });
  it('reads back what it wrote', () => {
    expect(rememberedCostCeiling(JSON.parse(JSON.stringify(good)), T + MIN)).toEqual(good);
  });
  it.each([
    ['not an object', 'x'],
    ['null', null],
    ['a negative rate', { ...good, ourUsdPerHour: -1 }],
    ['a rate that is not a number', { ...good, reactiveUsdPerHour: '10' }],
    ['a positive shift', { ...good, shift: 0.1 }],
    ['a missing field', { ...good, shift: undefined }],
    ['an hour that is not on the hour', { ...good, hours: [[T - H + 1, 60, 5, 4]] }],
    ['a negative spend', { ...good, hours: [[T - H, 60, -5, 4]] }],
    ['hours that are not a list', { ...good, hours: {} }],
    ['the older shape (decayed sums)', { ourUsd: 5, reactiveUsd: 4, ourUsdPerHour: 1, reactiveUsdPerHour: 1, shift: 0, atMs: T }],
  ])('starts over on %s', (_why, remembered) => {
    expect(rememberedCostCeiling(remembered, T + MIN)).toBeUndefined();
  });

  it('reads a time after now as now, keeping the day and the shift', () => {
    // Saved by a run whose clock read T + 2 min, read back at T + 1 min: nothing accrues until time passes it.
    const later = ceiling({ hours: [[T - H, 60, 12, 10]], shift: -1.5, atMs: T + 2 * MIN });
    const read = rememberedCostCeiling(JSON.parse(JSON.stringify(later)), T + MIN)!;
    expect(read).toEqual({ ...later, atMs: T + MIN });
    expect(accrueCostCeiling(read, T + MIN, -2.2).shift).toBe(-1.5);
  });
});

describe('withOurRate', () => {
  it.each<{ nodes: Record<string, number>; expected: number }>([
    // 3 nodes at $0.5 + 2 at $0.25 = $2/h; the shadow's rate stays
    { nodes: { a: 3, b: 2 }, expected: 2 },
    // a group without a price costs nothing here
    { nodes: { a: 3, c: 9 }, expected: 1.5 },
  ])('the fleet $nodes → $expected USD/h', ({ nodes, expected }) => {
    const next = withOurRate(ceiling({ ourUsdPerHour: 7, reactiveUsdPerHour: 4 }), fleetUsdPerHour(nodes, { a: 0.5, b: 0.25 }));
    expect(next.ourUsdPerHour).toBeCloseTo(expected, 12);
    expect(next.reactiveUsdPerHour).toBe(4);
  });

  it.each([
    // 7 + 0.672 (7 more m5.large at $0.096) = 7.672
    [7, 0.672, 7.672],
    // releasing more than is priced cannot go below 0
    [1, -2, 0],
  ])('%d USD/h moved by %d → %d', (rate, delta, expected) => {
    expect(withOurRate(ceiling({ ourUsdPerHour: rate }), rate + delta).ourUsdPerHour).toBeCloseTo(expected, 12);
  });

  it('leaves a run that priced nothing unpriced', () => {
    const unpriced = ceiling({ ourUsdPerHour: 0, reactiveUsdPerHour: 0 });
    expect(withOurRate(unpriced, fleetUsdPerHour({ a: 3 }, { a: 0.5 }))).toBe(unpriced);
    expect(withOurRate(unpriced, 3)).toBe(unpriced);
  });
});

describe('the shadow HPA', () => {
  it.each([
    // HPA runs the most replicas any metric asks for: the lowest of the CPU and memory targets
    [[{ type: 'cpu', targetUtilizationPercent: 60 }, { type: 'memory', targetUtilizationPercent: 70 }], 0.6],
    [[{ type: 'cpu', targetUtilizationPercent: 70 }, { type: 'pods', metric: 'q', targetAverageValue: 10 }], 0.7],
    // neither: unknown
    [[{ type: 'external', metric: 'latency', targetValue: 5 }], undefined],
  ] as const)('targets %j → %s', (metrics, expected) => {
    expect(shadowTargetUtilization({ minReplicas: 1, maxReplicas: 10, metrics: [...metrics] } as never)).toBe(expected);
  });

  it.each([
    // ceil(100 / (10 × 0.7)) = ceil(14.29) = 15
    [100, 10, 0.7, 1, 50, 15],
    // the minimum binds: 20
    [100, 10, 0.7, 20, 50, 20],
    // the maximum binds: 12
    [100, 10, 0.7, 1, 12, 12],
  ])('peak %d, %d per pod at %d, [%d, %d] → %d pods', (peak, perPod, target, min, max, expected) => {
    expect(shadowHpaPods(peak, perPod, target, min, max)).toBe(expected);
  });

  it('remembers the highest demand of the periods in progress during the window', () => {
    // 5-minute periods from T: 10 (T..T+5), 50 (T+5..T+10), NaN (T+10..T+15), 20 (T+15..T+20); now T+17.
    const history = { startMs: T, stepSeconds: 300, values: [10, 50, Number.NaN, 20] };
    // from T+13: periods 2 (no datapoint) and 3 → 20
    expect(demandPeakSince(history, T + 13 * MIN, T + 17 * MIN)).toBe(20);
    // from T+9: period 1 was in progress at T+9 → 50
    expect(demandPeakSince(history, T + 9 * MIN, T + 17 * MIN)).toBe(50);
    // from T+10: period 1 ended at T+10 → 20
    expect(demandPeakSince(history, T + 10 * MIN, T + 17 * MIN)).toBe(20);
    // a period that starts after now is not in the window yet
    expect(demandPeakSince(history, T + 13 * MIN, T + 14 * MIN)).toBeUndefined();
  });
});

describe('shadowServicePods', () => {
  // 5-minute periods from T: 700, 300, 200; 100 per pod at the CPU target of 70 %.
  const recent = { startMs: T, stepSeconds: 300, values: [700, 300, 200] };
  const service = (metrics: unknown[], stabilizationWindowSeconds?: number) =>
    ({ hpa: { minReplicas: 1, maxReplicas: 50, metrics, ...(stabilizationWindowSeconds === undefined ? {} : { behavior: { scaleDown: { stabilizationWindowSeconds } } }) }, demand: { perPod: 100 } }) as never;
  const cpu70 = [{ type: 'cpu', targetUtilizationPercent: 70 }];

  it.each([
    // a gauge (lag 0), default 300 s window, at T + 7: recommendations from T + 3, when 700 was in progress → ceil(700 / 70) = 10
    { why: 'the window remembers the last period', metrics: cpu70, window: undefined, at: 7, lag: 0, demandNow: 300, expected: 10 },
    // at T + 9 the oldest recommendation is T + 5: only 300 → ceil(300 / 70) = ceil(4.29) = 5
    { why: 'a period ended before the window is gone', metrics: cpu70, window: undefined, at: 9, lag: 0, demandNow: 300, expected: 5 },
    // a 60 s window remembers only the minute now: 5
    { why: 'a 60 s window', metrics: cpu70, window: 60, at: 7, lag: 0, demandNow: 300, expected: 5 },
    // demand now above the window's: ceil(1400 / 70) = 20
    { why: 'demand now above the window', metrics: cpu70, window: undefined, at: 7, lag: 0, demandNow: 1400, expected: 20 },
    // a settled Sum is seen a period and a minute late (6 min): at T + 12 the HPA sees T + 6 and remembers from T + 2,
    // when 700 was the latest it had seen → 10 (without the lag: from T + 8, 300 and 200 → 5)
    { why: 'a settled Sum is remembered from when it was seen', metrics: cpu70, window: undefined, at: 12, lag: 6, demandNow: 300, expected: 10 },
    { why: 'the same read as a gauge', metrics: cpu70, window: undefined, at: 12, lag: 0, demandNow: 300, expected: 5 },
    // scales on no CPU or memory target: not priced
    { why: 'no CPU or memory target', metrics: [{ type: 'external', metric: 'latency', targetValue: 5 }], window: undefined, at: 7, lag: 0, demandNow: 300, expected: undefined },
    // demand unknown: not priced
    { why: 'demand unknown', metrics: cpu70, window: undefined, at: 7, lag: 0, demandNow: undefined, expected: undefined },
  ])('$why → $expected', ({ metrics, window, at, lag, demandNow, expected }) => {
    expect(shadowServicePods(service(metrics, window), demandNow, recent, T + at * MIN, lag * MIN)).toBe(expected);
  });
});
