/**
 * Wiring helpers, still pure: build the budget guard's input from the config,
 * the observed fleet and the ledger, and combine the budget verdict with the
 * bounds verdict of lib/core/guard.ts.
 */
import type { BudgetConfig, PrescaleConfig } from '../../config/schema.ts';
import type { Command, GuardedCommand, GuardVerdict } from '../commands.ts';
import { sortByTarget } from '../commands.ts';
import type { BudgetGuardInput, BudgetNodeGroup, BudgetOverride } from './guard.ts';
import { guardBudget } from './guard.ts';
import type { Ledger } from './ledger.ts';
import { hoursLeftInMonth, monthToDateUsd } from './ledger.ts';
import type { NodeGroupPricing, PriceTable } from './prices.ts';
import { usdPerHourOf } from './prices.ts';
import { errorMessage } from '../../errors.ts';

/**
 * Every node group the table (or an override) cannot price, as config
 * problems; the config loader runs it so a missing price fails at load.
 * An undefined group (one not yet well-formed) is skipped, keeping the others' indexes.
 */
export function priceProblems(config: { readonly cluster: { readonly region: string }; readonly nodeGroups: readonly (NodeGroupPricing | undefined)[] }, table: PriceTable): string[] {
  const problems: string[] = [];
  config.nodeGroups.forEach((group, index) => {
    if (group === undefined) return;
    try {
      usdPerHourOf(group, config.cluster.region, table);
    } catch (error) {
      problems.push(`nodeGroups[${index}] ${errorMessage(error)}`);
    }
  });
  return problems;
}

export interface BudgetInputSource {
  readonly config: Pick<PrescaleConfig, 'cluster' | 'nodeGroups' | 'budget'>;
  /** Observed desired nodes per group (booting nodes bill too). Groups not observed count their configured minimum. */
  readonly desiredNodes: Readonly<Record<string, number>>;
  readonly ledger: Ledger;
  readonly nowMs: number;
  readonly priceTable: PriceTable;
  readonly commands: readonly Command[];
  readonly override?: BudgetOverride | undefined;
}

/**
 * The guard's input, or undefined when the config sets no budget (then there is nothing to guard).
 * `usdPerHourByGroup`: prices the caller already has (nodeGroupPricesUsdPerHour); a group it lacks is priced by the table.
 */
export function budgetGuardInputFor(source: BudgetInputSource, usdPerHourByGroup?: Readonly<Record<string, number>>): BudgetGuardInput | undefined {
  const budget = source.config.budget;
  return budget === undefined ? undefined : budgetGuardInput(budget, source, usdPerHourByGroup);
}

/** The guard's input for a budget the caller already has (see budgetGuardInputFor). */
export function budgetGuardInput(budget: BudgetConfig, source: BudgetInputSource, usdPerHourByGroup?: Readonly<Record<string, number>>): BudgetGuardInput {
  const nodeGroups: Record<string, BudgetNodeGroup> = {};
  for (const group of source.config.nodeGroups) {
    const usdPerHour = usdPerHourByGroup?.[group.name] ?? usdPerHourOf(group, source.config.cluster.region, source.priceTable);
    nodeGroups[group.name] = { usdPerHour, currentNodes: source.desiredNodes[group.name] ?? group.minNodes };
  }
  return {
    commands: source.commands,
    nodeGroups,
    monthToDateUsd: monthToDateUsd(source.ledger, source.nowMs),
    hoursLeftInMonth: hoursLeftInMonth(source.nowMs),
    budget,
    override: source.override,
  };
}

const SEVERITY: Readonly<Record<GuardVerdict, number>> = { allow: 0, clamp: 1, 'needs-approval': 2, deny: 3 };

export interface AppliedBudgetGuard {
  /** In the order act runs them (sortCommands). */
  readonly guarded: GuardedCommand[];
  /** Month-end spend if every command that may run does (allowed, clamped, and those awaiting approval): what the guard checked. */
  readonly projectedMonthEndAfterUsd: number;
  /** Month-end spend if the fleet stays as it is (groups not observed at their minimum, as the guard counts them). */
  readonly projectedMonthEndBeforeUsd: number;
}

/**
 * Run the budget guard on what the bounds guard let through and merge the two
 * verdicts: the stricter wins (deny > needs-approval > clamp > allow), the
 * effective command is the budget's, and the reason carries both.
 * `budget` without `commands`: the commands are the bounds guard's effective ones.
 */
export function applyBudgetGuard(bounded: readonly GuardedCommand[], budget: Omit<BudgetGuardInput, 'commands'>): AppliedBudgetGuard {
  const passing = bounded.filter((b) => b.verdict !== 'deny' && b.effective !== undefined);
  const effectiveCommands = passing.map((b) => b.effective as Command);
  const result = guardBudget({ ...budget, commands: effectiveCommands });
  const byEffective = new Map(result.guarded.map((g) => [g.command, g]));
  const merged = bounded.map((b): GuardedCommand => {
    if (b.verdict === 'deny' || b.effective === undefined) return b;
    const g = byEffective.get(b.effective);
    if (g === undefined) return b;
    // The merged verdict is never deny where the budget's is not (bounds denials were filtered out above),
    // so the commands the budget counted as running are exactly the ones that still may: its projection stands.
    const verdict: GuardVerdict = SEVERITY[g.verdict] >= SEVERITY[b.verdict] ? g.verdict : b.verdict;
    return {
      command: b.command,
      verdict,
      effective: verdict === 'deny' ? undefined : g.effective,
      reason: b.verdict === 'allow' ? `budget: ${g.reason}` : `bounds: ${b.reason}; budget: ${g.reason}`,
    };
  });
  return {
    guarded: sortByTarget(merged, (g) => g.command),
    projectedMonthEndAfterUsd: result.projectedMonthEndAfterUsd,
    projectedMonthEndBeforeUsd: result.projectedMonthEndBeforeUsd,
  };
}
