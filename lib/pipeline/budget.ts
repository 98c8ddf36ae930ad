/**
 * The budget half of the guard stage: accrue the spend ledger for the time
 * since the last run, guard the plan against the caps, and say which budget
 * alerts are due. Pure; the ledger lives in the planner memory (one fenced
 * item per cluster), so it needs no extra write.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import type { GuardedCommand } from '../core/commands.ts';
import type { BudgetOverride } from '../core/budget/guard.ts';
import { projectedMonthEndUsd } from '../core/budget/guard.ts';
import { applyBudgetGuard, budgetGuardInputFor } from '../core/budget/input.ts';
import { accrueFleet, alertsSentThisMonth, emptyLedger, monthKeyOf, monthToDateUsd, pruneLedger, recordAlertsSent, type Ledger } from '../core/budget/ledger.ts';
import { budgetAlerts, highestAlert, spendPercentOf } from '../core/budget/alerts.ts';
import { fleetUsdPerHour } from '../core/budget/cost.ts';
import type { PriceTable } from '../core/budget/prices.ts';
import { budgetAlertMessage } from '../slack/messages.ts';
import type { NodeGroupState, NotifierMessage, PlannerMemory } from '../ports.ts';

/** A run that comes after a long pause accrues at most this long: the fleet before the gap is unknown. */
const MAX_ACCRUAL_GAP_MS = 15 * 60_000;
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

/** Where the month stands before this run's commands, for the approval message's month-end line. */
export interface MonthSpend {
  readonly monthToDateUsd: number;
  readonly hoursLeftInMonth: number;
  readonly monthlyUsd: number;
  /** The observed fleet's run-rate. */
  readonly runRateUsdPerHour: number;
}

export interface BudgetStageOutput {
  readonly guarded: GuardedCommand[];
  /** Undefined without a budget. */
  readonly spend: MonthSpend | undefined;
  readonly ledger: Ledger | undefined;
  readonly ledgerAtMs: number | undefined;
  readonly alerts: NotifierMessage[];
}

export function budgetStage(input: BudgetStageInput): BudgetStageOutput {
  const { config, nowMs } = input;
  if (config.budget === undefined) return { guarded: [...input.bounded], spend: undefined, ledger: undefined, ledgerAtMs: undefined, alerts: [] };
  const prices = input.usdPerHourByGroup;
  const desiredNodes = Object.fromEntries(input.nodeGroups.map((g) => [g.name, g.desiredNodes]));
  const lastMs = input.memory.ledgerAtMs ?? nowMs;
  const fromMs = Math.max(lastMs, nowMs - MAX_ACCRUAL_GAP_MS);
  const fleet = input.nodeGroups.map((g) => ({ nodeGroup: g.name, nodes: g.desiredNodes, usdPerHour: prices[g.name] ?? 0 }));
  let ledger = fromMs < nowMs ? accrueFleet(input.memory.ledger ?? emptyLedger, fleet, fromMs, nowMs) : (input.memory.ledger ?? emptyLedger);
  const guardInput = budgetGuardInputFor({ config, desiredNodes, ledger, nowMs, priceTable: input.priceTable, commands: [], override: input.override }, prices);
  const guarded = guardInput === undefined ? [...input.bounded] : applyBudgetGuard(input.bounded, guardInput);
  const spent = monthToDateUsd(ledger, nowMs);
  const spend: MonthSpend = {
    monthToDateUsd: spent,
    hoursLeftInMonth: guardInput?.hoursLeftInMonth ?? 0,
    monthlyUsd: config.budget.monthlyUsd,
    runRateUsdPerHour: fleetUsdPerHour(desiredNodes, prices),
  };
  const due = budgetAlerts(alertsSentThisMonth(ledger, nowMs), spendPercentOf(spent, config.budget.monthlyUsd), config.budget.alertPercents);
  const alerts: NotifierMessage[] = [];
  const top = highestAlert(due);
  if (top !== undefined) {
    alerts.push(
      budgetAlertMessage({
        cluster: config.cluster.name,
        percent: top,
        monthKey: monthKeyOf(nowMs),
        monthToDateUsd: spent,
        monthlyUsd: config.budget.monthlyUsd,
        projectedMonthEndUsd: projectedMonthEndUsd(spent, spend.runRateUsdPerHour, spend.hoursLeftInMonth),
        channel: config.slack?.channel,
      }),
    );
    ledger = recordAlertsSent(ledger, nowMs, due);
  }
  return { guarded, spend, ledger: pruneLedger(ledger, nowMs, LEDGER_MONTHS_KEPT), ledgerAtMs: nowMs, alerts };
}
