import { describe, expect, it } from 'vitest';
import {
  accrualWindows,
  accrue,
  accrueFleet,
  alertsSentThisMonth,
  emptyLedger,
  estimatedUsdThisMonth,
  hoursInMonth,
  hoursLeftInMonth,
  monthKeyOf,
  monthToDateUsd,
  pruneLedger,
  recordAlertsSent,
} from '../../../lib/core/budget/ledger.ts';
import { budgetAlerts, highestAlert, spendPercentOf } from '../../../lib/core/budget/alerts.ts';

const HOUR = 3_600_000;
const JUNE_10 = Date.UTC(2024, 5, 10, 12, 0, 0);
const JULY_1 = Date.UTC(2024, 6, 1);

describe('month keys and hours', () => {
  it.each<[number, string]>([
    [Date.UTC(2024, 0, 1), '2024-01'],
    [Date.UTC(2024, 5, 30, 23, 59, 59, 999), '2024-06'],
    [JULY_1, '2024-07'],
    [Date.UTC(2024, 11, 31, 23), '2024-12'],
  ])('monthKeyOf(%s) = %s (UTC)', (ms, key) => expect(monthKeyOf(ms)).toBe(key));

  it('hours left: June 10 12:00 → July 1 00:00 is 20 days 12 h = 492 h', () => {
    expect(hoursLeftInMonth(JUNE_10)).toBe(492);
  });

  it('hours in a month: June 720, February 2024 (leap) 696', () => {
    expect(hoursInMonth(JUNE_10)).toBe(720);
    expect(hoursInMonth(Date.UTC(2024, 1, 15))).toBe(696);
  });
});

describe('accrue', () => {
  it('adds node-minutes × price to the month', () => {
    // 4 nodes × 90 min = 360 node-minutes = 6 node-hours × $0.10 = $0.60
    const ledger = accrue(emptyLedger, { nodeGroup: 'general', nodes: 4, usdPerHour: 0.1, fromMs: JUNE_10, toMs: JUNE_10 + 1.5 * HOUR });
    expect(ledger.months['2024-06']?.nodeMinutes).toBe(360);
    expect(monthToDateUsd(ledger, JUNE_10)).toBeCloseTo(0.6, 9);
  });

  it('splits an interval that crosses into the next month', () => {
    // 2 nodes from June 30 23:00 to July 1 01:00 at $1/h: $2 in June, $2 in July
    const ledger = accrue(emptyLedger, { nodeGroup: 'general', nodes: 2, usdPerHour: 1, fromMs: JULY_1 - HOUR, toMs: JULY_1 + HOUR });
    expect(monthToDateUsd(ledger, JULY_1 - 1)).toBeCloseTo(2, 9);
    expect(monthToDateUsd(ledger, JULY_1)).toBeCloseTo(2, 9);
    expect(Object.keys(ledger.months)).toEqual(['2024-06', '2024-07']);
  });

  it('counts a retried interval once and trims an overlap', () => {
    const once = accrue(emptyLedger, { nodeGroup: 'g', nodes: 1, usdPerHour: 1, fromMs: JUNE_10, toMs: JUNE_10 + HOUR });
    const twice = accrue(once, { nodeGroup: 'g', nodes: 1, usdPerHour: 1, fromMs: JUNE_10, toMs: JUNE_10 + HOUR });
    expect(twice).toEqual(once);
    // overlapping [+30 min, +2 h): only [+1 h, +2 h) is new → $1 more
    const overlap = accrue(once, { nodeGroup: 'g', nodes: 1, usdPerHour: 1, fromMs: JUNE_10 + HOUR / 2, toMs: JUNE_10 + 2 * HOUR });
    expect(monthToDateUsd(overlap, JUNE_10)).toBeCloseTo(2, 9);
  });

  it('keeps groups apart and ignores empty intervals', () => {
    // general 3 × 1 h × 0.10 = 0.30; compute 1 × 1 h × 0.34 = 0.34 → 0.64
    const ledger = accrueFleet(
      emptyLedger,
      [
        { nodeGroup: 'general', nodes: 3, usdPerHour: 0.1 },
        { nodeGroup: 'compute', nodes: 1, usdPerHour: 0.34 },
        { nodeGroup: 'spot', nodes: 0, usdPerHour: 0.04 },
      ],
      JUNE_10,
      JUNE_10 + HOUR,
    );
    expect(monthToDateUsd(ledger, JUNE_10)).toBeCloseTo(0.64, 9);
    expect(Object.keys(ledger.months['2024-06']?.byNodeGroup ?? {})).toEqual(['compute', 'general']);
    expect(accrue(ledger, { nodeGroup: 'general', nodes: 3, usdPerHour: 0.1, fromMs: JUNE_10, toMs: JUNE_10 })).toBe(ledger);
  });

  it('keeps the estimated part apart, and leaves it out when nothing was estimated', () => {
    // estimated: 2 nodes × 10 h × $0.10 = $2.00; observed: 2 × 0.25 h × $0.10 = $0.05 → $2.05, $2.00 of it estimated
    const estimated = accrue(emptyLedger, { nodeGroup: 'g', nodes: 2, usdPerHour: 0.1, fromMs: JUNE_10 - 10 * HOUR, toMs: JUNE_10, estimated: true });
    const both = accrue(estimated, { nodeGroup: 'g', nodes: 2, usdPerHour: 0.1, fromMs: JUNE_10, toMs: JUNE_10 + HOUR / 4 });
    expect(monthToDateUsd(both, JUNE_10)).toBeCloseTo(2.05, 9);
    expect(estimatedUsdThisMonth(both, JUNE_10)).toBeCloseTo(2, 9);
    const observedOnly = accrue(emptyLedger, { nodeGroup: 'g', nodes: 2, usdPerHour: 0.1, fromMs: JUNE_10, toMs: JUNE_10 + HOUR });
    expect(observedOnly.months['2024-06']).not.toHaveProperty('estimatedUsd');
    expect(estimatedUsdThisMonth(observedOnly, JUNE_10)).toBe(0);
  });

  it('does not mutate its input', () => {
    const before = JSON.stringify(emptyLedger);
    accrue(emptyLedger, { nodeGroup: 'g', nodes: 1, usdPerHour: 1, fromMs: JUNE_10, toMs: JUNE_10 + HOUR });
    expect(JSON.stringify(emptyLedger)).toBe(before);
  });

  it('remembers alerts per month and prunes old months', () => {
    let ledger = recordAlertsSent(emptyLedger, JUNE_10, [80, 50]);
    ledger = recordAlertsSent(ledger, JUNE_10, [50]);
    expect(alertsSentThisMonth(ledger, JUNE_10)).toEqual([50, 80]);
    expect(alertsSentThisMonth(ledger, JULY_1)).toEqual([]);
    const old = accrue(ledger, { nodeGroup: 'g', nodes: 1, usdPerHour: 1, fromMs: Date.UTC(2022, 0, 1), toMs: Date.UTC(2022, 0, 1) + HOUR });
    expect(Object.keys(pruneLedger(old, JUNE_10, 1).months)).toEqual(['2024-06']);
  });
});

describe('accrualWindows', () => {
  const MIN = 60_000;
  const LIMIT = 15 * MIN;
  const JUNE_1 = Date.UTC(2024, 5, 1);
  const w = (fromMs: number, toMs: number) => ({ fromMs, toMs });
  it.each<[string, number | undefined, number, ReturnType<typeof accrualWindows>]>([
    // a run 5 min after the last: all 5 min observed
    ['a normal interval', JUNE_10 - 5 * MIN, JUNE_10, { observed: w(JUNE_10 - 5 * MIN, JUNE_10), estimated: undefined }],
    // exactly 15 min: still all observed
    ['at the limit', JUNE_10 - LIMIT, JUNE_10, { observed: w(JUNE_10 - LIMIT, JUNE_10), estimated: undefined }],
    // a 2 h pause: the last 15 min observed, the 1 h 45 min before estimated
    ['a pause', JUNE_10 - 2 * HOUR, JUNE_10, { observed: w(JUNE_10 - LIMIT, JUNE_10), estimated: w(JUNE_10 - 2 * HOUR, JUNE_10 - LIMIT) }],
    // first run ever, June 10 12:00: nothing observed, June 1 00:00 → now estimated (9.5 days)
    ['the first run', undefined, JUNE_10, { observed: undefined, estimated: w(JUNE_1, JUNE_10) }],
    // paused since May 20: May is closed; June 1 → June 10 11:45 estimated
    ['a pause from an earlier month', Date.UTC(2024, 4, 20), JUNE_10, { observed: w(JUNE_10 - LIMIT, JUNE_10), estimated: w(JUNE_1, JUNE_10 - LIMIT) }],
    // 23:58 → 00:02 across July 1: observed whole (accrue splits it between the months), nothing estimated
    ['across midnight on the 1st', JULY_1 - 2 * MIN, JULY_1 + 2 * MIN, { observed: w(JULY_1 - 2 * MIN, JULY_1 + 2 * MIN), estimated: undefined }],
    // a retried run at the same instant, or a clock that stepped back: nothing
    ['no time passed', JUNE_10, JUNE_10, { observed: undefined, estimated: undefined }],
    ['the clock stepped back', JUNE_10 + MIN, JUNE_10, { observed: undefined, estimated: undefined }],
  ])('%s', (_name, previousMs, nowMs, expected) => expect(accrualWindows(previousMs, nowMs, LIMIT)).toEqual(expected));
});

describe('budgetAlerts', () => {
  it.each<[string, number[], number, number[]]>([
    ['nothing below 50 %', [], 49.9, []],
    ['50 % at 50 %', [], 50, [50]],
    ['not twice', [50], 65, []],
    ['80 % next', [50], 80.1, [80]],
    ['a jump sends every threshold passed', [], 101, [50, 80, 100]],
    ['only the missing ones', [50, 100], 120, [80]],
  ])('%s', (_name, sent, percent, expected) => expect(budgetAlerts(sent, percent)).toEqual(expected));

  it('takes configured thresholds, deduplicated and sorted', () => {
    expect(budgetAlerts([], 95, [90, 25, 90])).toEqual([25, 90]);
  });

  it('spend percent and the highest alert', () => {
    // 750 / 1000 = 75 %
    expect(spendPercentOf(750, 1000)).toBe(75);
    expect(highestAlert([50, 80])).toBe(80);
    expect(highestAlert([])).toBeUndefined();
  });
});
