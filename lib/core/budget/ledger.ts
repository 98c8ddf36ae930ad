/**
 * Month-to-date spend from a ledger of node-minutes. Each run accrues what the
 * fleet cost since the previous run into the UTC month it was spent in (a run
 * spanning midnight on the 1st is split). The ledger is a plain value the
 * state store persists; these helpers never mutate it.
 */
import { compareStrings } from '../canonical.ts';

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

export interface LedgerGroupBucket {
  readonly nodeMinutes: number;
  readonly usd: number;
  /** The latest instant accrued for this group: a retried run cannot count the same minutes twice. */
  readonly accruedUntilMs: number;
}

export interface LedgerMonth {
  readonly usd: number;
  readonly nodeMinutes: number;
  readonly byNodeGroup: Readonly<Record<string, LedgerGroupBucket>>;
  /** Budget alert thresholds (percent of the cap) already sent this month. */
  readonly alertsSentPercents: readonly number[];
  /**
   * The part of `usd` estimated for time no run observed (before the first
   * run of the month, or a pause between runs), at the fleet found after it.
   * Absent when every minute was observed.
   */
  readonly estimatedUsd?: number;
}

export interface Ledger {
  /** Keyed by `YYYY-MM` (UTC). */
  readonly months: Readonly<Record<string, LedgerMonth>>;
}

export interface Accrual {
  readonly nodeGroup: string;
  readonly nodes: number;
  readonly usdPerHour: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** No run observed the fleet over the interval: the spend is an estimate. */
  readonly estimated?: boolean;
}

export const emptyLedger: Ledger = { months: {} };

const emptyMonth: LedgerMonth = { usd: 0, nodeMinutes: 0, byNodeGroup: {}, alertsSentPercents: [] };

/** `2024-06` for any instant in June 2024 UTC. Budgets are monthly in UTC, as AWS bills. */
export function monthKeyOf(epochMs: number): string {
  const date = new Date(epochMs);
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function monthStartMs(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

export function nextMonthStartMs(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
}

/** Hours from `nowMs` to the start of next month (UTC), fractional. */
export function hoursLeftInMonth(nowMs: number): number {
  return (nextMonthStartMs(nowMs) - nowMs) / HOUR_MS;
}

export function hoursInMonth(epochMs: number): number {
  return (nextMonthStartMs(epochMs) - monthStartMs(epochMs)) / HOUR_MS;
}

/**
 * Add `nodes × usdPerHour` over [fromMs, toMs) to the ledger, split at month
 * boundaries. Several groups accrued for the same interval are independent,
 * so the duplicate guard is per month and group: an interval that ends at or
 * before what a group already accrued is ignored, one that overlaps is trimmed.
 */
export function accrue(ledger: Ledger, accrual: Accrual): Ledger {
  if (!(accrual.toMs > accrual.fromMs) || accrual.nodes <= 0) return ledger;
  const months: Record<string, LedgerMonth> = { ...ledger.months };
  let startMs = accrual.fromMs;
  while (startMs < accrual.toMs) {
    const endMs = Math.min(accrual.toMs, nextMonthStartMs(startMs));
    const key = monthKeyOf(startMs);
    const month = months[key] ?? emptyMonth;
    const previous = month.byNodeGroup[accrual.nodeGroup] ?? { nodeMinutes: 0, usd: 0, accruedUntilMs: 0 };
    const fromMs = Math.max(startMs, previous.accruedUntilMs);
    if (endMs > fromMs) {
      const nodeMinutes = (accrual.nodes * (endMs - fromMs)) / MINUTE_MS;
      const usd = (nodeMinutes / 60) * accrual.usdPerHour;
      months[key] = {
        ...month,
        ...(accrual.estimated === true ? { estimatedUsd: (month.estimatedUsd ?? 0) + usd } : {}),
        usd: month.usd + usd,
        nodeMinutes: month.nodeMinutes + nodeMinutes,
        byNodeGroup: sortRecord({ ...month.byNodeGroup, [accrual.nodeGroup]: { nodeMinutes: previous.nodeMinutes + nodeMinutes, usd: previous.usd + usd, accruedUntilMs: endMs } }),
      };
    }
    startMs = endMs;
  }
  return { months: sortRecord(months) };
}

/** Accrue a whole fleet for one interval. */
export function accrueFleet(
  ledger: Ledger,
  fleet: readonly { readonly nodeGroup: string; readonly nodes: number; readonly usdPerHour: number }[],
  fromMs: number,
  toMs: number,
  estimated = false,
): Ledger {
  return [...fleet].sort((a, b) => compareStrings(a.nodeGroup, b.nodeGroup)).reduce((acc, g) => accrue(acc, { ...g, fromMs, toMs, estimated }), ledger);
}

export interface TimeWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

export interface AccrualWindows {
  /** Time a run watched closely enough to charge at the fleet seen now. */
  readonly observed: TimeWindow | undefined;
  /** Earlier time in this month nobody watched: charged at the fleet seen now, as an estimate. */
  readonly estimated: TimeWindow | undefined;
}

/**
 * What a run accrues for the time since the previous one (`previousMs`;
 * undefined before the first run). Runs come every few minutes, so the fleet
 * seen now ran since the previous run; past `observedMaxMs` that no longer
 * holds. Counting nothing for the rest would let the guard spend what the
 * month already cost (a deployment on the 20th would start at $0), so the
 * rest of this month back to the previous run, or to the 1st before any run,
 * is estimated at the fleet seen now and marked so. Unwatched time in an
 * earlier month is left out: that month is closed and guards nothing.
 */
export function accrualWindows(previousMs: number | undefined, nowMs: number, observedMaxMs: number): AccrualWindows {
  const window = (fromMs: number, toMs: number): TimeWindow | undefined => (toMs > fromMs ? { fromMs, toMs } : undefined);
  if (previousMs === undefined) return { observed: undefined, estimated: window(monthStartMs(nowMs), nowMs) };
  const observedFromMs = Math.max(previousMs, nowMs - observedMaxMs);
  return {
    observed: window(observedFromMs, nowMs),
    estimated: window(Math.max(previousMs, monthStartMs(nowMs)), Math.min(observedFromMs, nowMs)),
  };
}

export function monthToDateUsd(ledger: Ledger, nowMs: number): number {
  return ledger.months[monthKeyOf(nowMs)]?.usd ?? 0;
}

/** The part of this month's spend that is an estimate (see LedgerMonth.estimatedUsd). */
export function estimatedUsdThisMonth(ledger: Ledger, nowMs: number): number {
  return ledger.months[monthKeyOf(nowMs)]?.estimatedUsd ?? 0;
}

export function alertsSentThisMonth(ledger: Ledger, nowMs: number): readonly number[] {
  return ledger.months[monthKeyOf(nowMs)]?.alertsSentPercents ?? [];
}

export function recordAlertsSent(ledger: Ledger, nowMs: number, percents: readonly number[]): Ledger {
  if (percents.length === 0) return ledger;
  const key = monthKeyOf(nowMs);
  const month = ledger.months[key] ?? emptyMonth;
  const sent = [...new Set([...month.alertsSentPercents, ...percents])].sort((a, b) => a - b);
  return { months: sortRecord({ ...ledger.months, [key]: { ...month, alertsSentPercents: sent } }) };
}

/** Keep only the latest `keepMonths` months: the ledger lives in one item and must stay small. */
export function pruneLedger(ledger: Ledger, nowMs: number, keepMonths = 13): Ledger {
  const keys = Object.keys(ledger.months).sort();
  const current = monthKeyOf(nowMs);
  const kept = keys.filter((k) => k <= current).slice(-keepMonths);
  return { months: Object.fromEntries(kept.map((k) => [k, ledger.months[k] as LedgerMonth])) };
}

function sortRecord<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareStrings(a, b)));
}
