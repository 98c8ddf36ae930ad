/**
 * The budget half of the guard stage: accrue the spend ledger for the time
 * since the last run, guard the plan against the caps, and say which budget
 * alerts are due. Pure; the ledger lives in the planner memory (one fenced
 * item per cluster), so it needs no extra write.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import type { GuardedCommand } from '../core/commands.ts';
import type { BudgetOverride } from '../core/budget/guard.ts';
import { applyBudgetGuard, budgetGuardInput } from '../core/budget/input.ts';
import { accrualWindows, accrueFleet, alertsSentThisMonth, emptyLedger, estimatedUsdThisMonth, monthKeyOf, pruneLedger, recordAlertsSent, type Ledger } from '../core/budget/ledger.ts';
import { budgetAlerts, highestAlert, spendPercentOf } from '../core/budget/alerts.ts';
import type { PriceTable } from '../core/budget/prices.ts';
import { budgetAlertMessage } from '../slack/messages.ts';
import type { NodeGroupState, Notifier, NotifierMessage, PlannerMemory } from '../ports.ts';
import { reportedError } from '../errors.ts';

/** Since the previous run, at most this long is charged as observed; earlier unwatched time is an estimate. */
const MAX_OBSERVED_GAP_MS = 15 * 60_000;
const LEDGER_MONTHS_KEPT = 3;

export interface BudgetStageInput {
  readonly config: PrescaleConfig;
  readonly nowMs: number;
  readonly nodeGroups: readonly NodeGroupState[];
  readonly memory: PlannerMemory;
  readonly bounded: readonly GuardedCommand[];
  readonly priceTable: PriceTable;
  /** Every node group's price by `priceTable`, computed once per run (nodeGroupPricesUsdPerHour). */
  readonly usdPerHourByGroup: Readonly<Record<string, number>>;
  readonly override: BudgetOverride | undefined;
}

/** Where the month stands, for the approval message's month-end line. */
export interface MonthSpend {
  readonly monthToDateUsd: number;
  /** The part of monthToDateUsd estimated for time no run observed. */
  readonly estimatedUsd: number;
  readonly monthlyUsd: number;
  /** Month-end spend if every command this run lets through runs and those awaiting approval are approved (the guard's own figure). */
  readonly projectedMonthEndIfApprovedUsd: number;
}

export interface BudgetStageOutput {
  readonly guarded: GuardedCommand[];
  /** Undefined without a budget. */
  readonly spend: MonthSpend | undefined;
  /** The accrued ledger with `alerts` recorded as sent: to keep once they are posted. */
  readonly ledger: Ledger | undefined;
  /** The same ledger without them: to keep when posting failed, so the next run sends them again. */
  readonly ledgerWithoutAlerts: Ledger | undefined;
  readonly ledgerAtMs: number | undefined;
  readonly alerts: NotifierMessage[];
}

export function budgetStage(input: BudgetStageInput): BudgetStageOutput {
  const { config, nowMs } = input;
  if (config.budget === undefined) return { guarded: [...input.bounded], spend: undefined, ledger: undefined, ledgerWithoutAlerts: undefined, ledgerAtMs: undefined, alerts: [] };
  const prices = input.usdPerHourByGroup;
  const desiredNodes = Object.fromEntries(input.nodeGroups.map((g) => [g.name, g.desiredNodes]));
  const fleet = input.nodeGroups.map((g) => ({ nodeGroup: g.name, nodes: g.desiredNodes, usdPerHour: prices[g.name] ?? 0 }));
  const windows = accrualWindows(input.memory.ledgerAtMs, nowMs, MAX_OBSERVED_GAP_MS);
  let ledger = input.memory.ledger ?? emptyLedger;
  if (windows.estimated !== undefined) ledger = accrueFleet(ledger, fleet, windows.estimated.fromMs, windows.estimated.toMs, true);
  if (windows.observed !== undefined) ledger = accrueFleet(ledger, fleet, windows.observed.fromMs, windows.observed.toMs);
  const guardInput = budgetGuardInput(config.budget, { config, desiredNodes, ledger, nowMs, priceTable: input.priceTable, commands: [], override: input.override }, prices);
  const applied = applyBudgetGuard(input.bounded, guardInput);
  // The alert and the approval message quote the guard's own figures, so they cannot disagree with what it decided.
  const spent = guardInput.monthToDateUsd;
  const spend: MonthSpend = {
    monthToDateUsd: spent,
    estimatedUsd: estimatedUsdThisMonth(ledger, nowMs),
    monthlyUsd: config.budget.monthlyUsd,
    projectedMonthEndIfApprovedUsd: applied.projectedMonthEndAfterUsd,
  };
  const due = budgetAlerts(alertsSentThisMonth(ledger, nowMs), spendPercentOf(spent, config.budget.monthlyUsd), config.budget.alertPercents);
  const alerts: NotifierMessage[] = [];
  const ledgerWithoutAlerts = pruneLedger(ledger, nowMs, LEDGER_MONTHS_KEPT);
  const top = highestAlert(due);
  if (top !== undefined) {
    alerts.push(
      budgetAlertMessage({
        cluster: config.cluster.name,
        percent: top,
        monthKey: monthKeyOf(nowMs),
        monthToDateUsd: spent,
        estimatedUsd: spend.estimatedUsd,
        monthlyUsd: config.budget.monthlyUsd,
        projectedMonthEndUsd: applied.projectedMonthEndBeforeUsd,
        channel: config.slack?.channel,
      }),
    );
    ledger = recordAlertsSent(ledger, nowMs, due);
  }
  return { guarded: applied.guarded, spend, ledger: pruneLedger(ledger, nowMs, LEDGER_MONTHS_KEPT), ledgerWithoutAlerts, ledgerAtMs: nowMs, alerts };
}

/**
 * Posts the alerts due, then says which ledger to keep: the one marking them
 * sent when they went out, the one without them when a post failed, so the
 * next run sends them again instead of losing them. A failed post does not
 * fail the caller (its commands already ran): it is returned.
 */
export async function postAlertsForLedger(notifier: Notifier | undefined, stage: Pick<BudgetStageOutput, 'alerts' | 'ledger' | 'ledgerWithoutAlerts'>): Promise<{ readonly ledger: Ledger | undefined; readonly notPosted: string | undefined }> {
  if (notifier !== undefined) {
    for (const alert of stage.alerts) {
      try {
        await notifier.post(alert);
      } catch (error) {
        return { ledger: stage.ledgerWithoutAlerts, notPosted: reportedError(error) };
      }
    }
  }
  return { ledger: stage.ledger, notPosted: undefined };
}
