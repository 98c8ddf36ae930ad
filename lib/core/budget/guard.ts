/**
 * The budget guard: the last word on spend before `act`. For every command it
 * answers allow, clamp (to the largest affordable capacity), needs-approval or
 * deny, with the numbers behind the answer.
 *
 * Invariants (fast-check in test/unit/budget):
 * - scale-in and holds are never blocked (releasing capacity only lowers spend);
 * - without an override, the projected month-end spend
 *   `monthToDateUsd + runRateUsdPerHour × hoursLeftInMonth` after every command
 *   that may run (allow, clamp and needs-approval alike) stays ≤ monthlyUsd, and
 *   the run-rate stays ≤ hourlyUsd when set.
 *
 * Commands are taken in sorted order (`sortCommands`) after every scale-in has
 * been credited, so the verdicts do not depend on the planner's output order.
 * needs-approval commands count as committed: if they are approved later the
 * commands allowed now still fit under the cap together with them.
 */
import type { BudgetConfig } from '../../config/schema.ts';
import { compareStrings } from '../canonical.ts';
import type { Command, GuardedCommand, ScaleNodeGroupCommand } from '../commands.ts';
import { sortCommands } from '../commands.ts';
import { formatUsd } from './cost.ts';

export interface BudgetNodeGroup {
  readonly usdPerHour: number;
  /** Nodes the group runs (desired, booting included: they bill from launch). */
  readonly currentNodes: number;
}

/**
 * An operator's emergency override (the `emergency` function): it lifts the
 * monthly and hourly caps and the approval thresholds, because the operator
 * is the human in the loop. It counts only with a non-empty reason and
 * requester, and every verdict it produces says so (the audit trail keeps it).
 */
export interface BudgetOverride {
  readonly reason: string;
  readonly by: string;
}

export interface BudgetGuardInput {
  readonly commands: readonly Command[];
  /** Every node group of the cluster by name: the fleet run-rate is their sum. */
  readonly nodeGroups: Readonly<Record<string, BudgetNodeGroup>>;
  readonly monthToDateUsd: number;
  readonly hoursLeftInMonth: number;
  readonly budget: Pick<BudgetConfig, 'monthlyUsd' | 'hourlyUsd' | 'approval'>;
  readonly override?: BudgetOverride | undefined;
}

export interface BudgetGuardResult {
  /** In the order act runs them (sortCommands). */
  readonly guarded: GuardedCommand[];
  readonly runRateBeforeUsdPerHour: number;
  /** After every command that may run (allow, clamp, needs-approval). */
  readonly runRateAfterUsdPerHour: number;
  readonly projectedMonthEndBeforeUsd: number;
  readonly projectedMonthEndAfterUsd: number;
  /** True when an override with a reason was present (and so the caps were not enforced). */
  readonly overridden: boolean;
}

/** Floating-point slack for cap comparisons: a cent is 1e7 times larger. */
const EPSILON_USD = 1e-9;

export function projectedMonthEndUsd(monthToDateUsd: number, runRateUsdPerHour: number, hoursLeftInMonth: number): number {
  return monthToDateUsd + runRateUsdPerHour * Math.max(0, hoursLeftInMonth);
}

/** An override counts only with a non-empty reason: an unexplained override is no override. */
export function isValidOverride(override: BudgetOverride | undefined): override is BudgetOverride {
  return override !== undefined && override.reason.trim() !== '' && override.by.trim() !== '';
}

export function guardBudget(input: BudgetGuardInput): BudgetGuardResult {
  const sorted = sortCommands(input.commands);
  const overridden = isValidOverride(input.override);
  const nodes = new Map(Object.entries(input.nodeGroups).map(([name, g]) => [name, g.currentNodes]));
  let runRate = fleetRunRate(input.nodeGroups, nodes);
  const runRateBefore = runRate;
  const verdicts = new Array<GuardedCommand | undefined>(sorted.length);

  // Pass 1: everything that cannot add spend. Scale-in is credited first so scale-outs may use the room it frees.
  sorted.forEach((command, index) => {
    if (command.kind !== 'scale-node-group') {
      verdicts[index] = { command, verdict: 'allow', effective: command, reason: 'no direct cost: capacity is budgeted through node groups' };
      return;
    }
    const group = input.nodeGroups[command.nodeGroup];
    const fromNodes = nodes.get(command.nodeGroup) ?? command.fromNodes;
    if (command.toNodes > fromNodes) return;
    const savedUsdPerHour = group === undefined ? 0 : (fromNodes - command.toNodes) * group.usdPerHour;
    runRate -= savedUsdPerHour;
    nodes.set(command.nodeGroup, command.toNodes);
    verdicts[index] = {
      command,
      verdict: 'allow',
      effective: command,
      reason:
        command.toNodes === fromNodes
          ? `${command.nodeGroup} holds at ${fromNodes} nodes: no cost change`
          : `scale-in is never blocked: ${command.nodeGroup} ${fromNodes}→${command.toNodes} nodes saves ${formatUsd(savedUsdPerHour)}/h`,
    };
  });

  // Pass 2: scale-outs, each against the run-rate every earlier command left.
  sorted.forEach((command, index) => {
    if (verdicts[index] !== undefined || command.kind !== 'scale-node-group') return;
    const group = input.nodeGroups[command.nodeGroup];
    if (group === undefined) {
      verdicts[index] = { command, verdict: 'deny', effective: undefined, reason: `node group "${command.nodeGroup}" has no price: cannot budget a scale-out` };
      return;
    }
    const fromNodes = nodes.get(command.nodeGroup) ?? command.fromNodes;
    const decision = decideScaleOut({ command, fromNodes, usdPerHour: group.usdPerHour, runRateUsdPerHour: runRate, input, overridden });
    verdicts[index] = decision.guarded;
    runRate += decision.addedNodes * group.usdPerHour;
    nodes.set(command.nodeGroup, fromNodes + decision.addedNodes);
  });

  return {
    guarded: verdicts.map((v) => {
      if (v === undefined) throw new Error('budget guard left a command without a verdict');
      return v;
    }),
    runRateBeforeUsdPerHour: runRateBefore,
    runRateAfterUsdPerHour: runRate,
    projectedMonthEndBeforeUsd: projectedMonthEndUsd(input.monthToDateUsd, runRateBefore, input.hoursLeftInMonth),
    projectedMonthEndAfterUsd: projectedMonthEndUsd(input.monthToDateUsd, runRate, input.hoursLeftInMonth),
    overridden,
  };
}

function fleetRunRate(groups: Readonly<Record<string, BudgetNodeGroup>>, nodes: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [name, group] of Object.entries(groups).sort(([a], [b]) => compareStrings(a, b))) total += (nodes.get(name) ?? 0) * group.usdPerHour;
  return total;
}

export interface ScaleOutContext {
  readonly command: ScaleNodeGroupCommand;
  readonly fromNodes: number;
  readonly usdPerHour: number;
  /** Fleet run-rate before this command (after every earlier one). */
  readonly runRateUsdPerHour: number;
  readonly input: BudgetGuardInput;
  readonly overridden: boolean;
}

/** Whether a fleet run-rate keeps both caps. */
export function isWithinCaps(runRateUsdPerHour: number, input: Pick<BudgetGuardInput, 'monthToDateUsd' | 'hoursLeftInMonth' | 'budget'>): boolean {
  const projected = projectedMonthEndUsd(input.monthToDateUsd, runRateUsdPerHour, input.hoursLeftInMonth);
  if (projected > input.budget.monthlyUsd + EPSILON_USD) return false;
  return input.budget.hourlyUsd === undefined || runRateUsdPerHour <= input.budget.hourlyUsd + EPSILON_USD;
}

/**
 * Most nodes (≤ wanted) that can be added at `usdPerHour` each on top of
 * `runRateUsdPerHour` within both caps. Computed in closed form, then checked
 * with the same comparison the invariant uses, so rounding cannot let a node
 * through that the check would reject.
 */
export function affordableNodes(wanted: number, usdPerHour: number, runRateUsdPerHour: number, input: Pick<BudgetGuardInput, 'monthToDateUsd' | 'hoursLeftInMonth' | 'budget'>): number {
  if (wanted <= 0) return 0;
  if (usdPerHour <= 0) return isWithinCaps(runRateUsdPerHour, input) ? wanted : 0;
  const hours = Math.max(0, input.hoursLeftInMonth);
  const monthlyRoomUsd = input.budget.monthlyUsd - projectedMonthEndUsd(input.monthToDateUsd, runRateUsdPerHour, hours);
  let nodes = wanted;
  if (hours > 0) nodes = Math.min(nodes, Math.floor(monthlyRoomUsd / (usdPerHour * hours) + 1e-9));
  else if (monthlyRoomUsd < -EPSILON_USD) nodes = 0;
  if (input.budget.hourlyUsd !== undefined) nodes = Math.min(nodes, Math.floor((input.budget.hourlyUsd - runRateUsdPerHour) / usdPerHour + 1e-9));
  nodes = Math.max(0, nodes);
  while (nodes > 0 && !isWithinCaps(runRateUsdPerHour + nodes * usdPerHour, input)) nodes -= 1;
  return nodes;
}

interface ScaleOutDecision {
  readonly guarded: GuardedCommand;
  /** Nodes this command adds if it runs (0 when denied). */
  readonly addedNodes: number;
}

export function decideScaleOut(context: ScaleOutContext): ScaleOutDecision {
  const { command, fromNodes, usdPerHour, runRateUsdPerHour, input } = context;
  const wanted = command.toNodes - fromNodes;
  const { monthlyUsd, hourlyUsd } = input.budget;
  const hours = Math.max(0, input.hoursLeftInMonth);
  const step = (added: number): string => {
    const after = runRateUsdPerHour + added * usdPerHour;
    return (
      `${command.nodeGroup} ${fromNodes}→${fromNodes + added} nodes (+${added} × ${formatUsd(usdPerHour, { decimals: 4 })}/h = ${formatUsd(added * usdPerHour, { signed: true })}/h); ` +
      `run-rate ${formatUsd(runRateUsdPerHour)}/h → ${formatUsd(after)}/h${hourlyUsd === undefined ? '' : ` (hourly cap ${formatUsd(hourlyUsd)}/h)`}; ` +
      `projected month-end ${formatUsd(projectedMonthEndUsd(input.monthToDateUsd, after, hours))} = MTD ${formatUsd(input.monthToDateUsd)} + ${formatUsd(after)}/h × ${hours.toFixed(1)} h left ` +
      `(monthly cap ${formatUsd(monthlyUsd)})`
    );
  };

  if (context.overridden && context.input.override !== undefined) {
    const { reason, by } = context.input.override;
    const within = isWithinCaps(runRateUsdPerHour + wanted * usdPerHour, input);
    return {
      addedNodes: wanted,
      guarded: {
        command,
        verdict: 'allow',
        effective: command,
        reason: `emergency override by ${by} ("${reason.trim()}")${within ? '' : ', ABOVE THE BUDGET CAP'}: ${step(wanted)}`,
      },
    };
  }

  const affordable = affordableNodes(wanted, usdPerHour, runRateUsdPerHour, input);
  // Say so when an override was sent but does not count, or the operator will wonder why it was ignored.
  const ignored = input.override === undefined ? '' : ' (override ignored: it needs a non-empty reason and requester)';
  if (affordable === 0) {
    return { addedNodes: 0, guarded: { command, verdict: 'deny', effective: undefined, reason: `over budget: not one more node fits (without it: projected month-end ${formatUsd(projectedMonthEndUsd(input.monthToDateUsd, runRateUsdPerHour, hours))}, run-rate ${formatUsd(runRateUsdPerHour)}/h): ${step(wanted)}${ignored}` } };
  }
  const effective: ScaleNodeGroupCommand = affordable === wanted ? command : { ...command, toNodes: fromNodes + affordable };
  const clamped = affordable < wanted;
  const approvalReasons = approvalTriggers({ fromNodes, addedNodes: affordable, usdPerHour, runRateUsdPerHour, input });
  const head = clamped ? `clamped to the largest affordable capacity (${fromNodes + affordable} of ${command.toNodes} nodes): ${step(affordable)}${ignored}` : step(affordable);
  if (approvalReasons.length > 0) {
    return { addedNodes: affordable, guarded: { command, verdict: 'needs-approval', effective, reason: `needs approval: ${approvalReasons.join('; ')}. ${head}` } };
  }
  return { addedNodes: affordable, guarded: { command, verdict: clamped ? 'clamp' : 'allow', effective, reason: clamped ? head : `within budget: ${head}` } };
}

export interface ApprovalCheck {
  readonly fromNodes: number;
  readonly addedNodes: number;
  readonly usdPerHour: number;
  readonly runRateUsdPerHour: number;
  readonly input: Pick<BudgetGuardInput, 'monthToDateUsd' | 'hoursLeftInMonth' | 'budget'>;
}

/**
 * Which approval thresholds a scale-out reaches, each with its numbers; empty
 * when none. Capacity change is relative to the group's current nodes, with a
 * group at 0 counted as 1 (0 → 2 is +200 %): starting a group from nothing is
 * a large change.
 */
export function approvalTriggers(check: ApprovalCheck): string[] {
  const { capacityChangePercent, costChangeUsdPerHour, projectedSpendPercent } = check.input.budget.approval;
  const triggers: string[] = [];
  const changePercent = (check.addedNodes / Math.max(1, check.fromNodes)) * 100;
  if (changePercent >= capacityChangePercent) {
    triggers.push(`capacity +${round1(changePercent)} % (${check.fromNodes}→${check.fromNodes + check.addedNodes} nodes) ≥ ${capacityChangePercent} %`);
  }
  const costChange = check.addedNodes * check.usdPerHour;
  if (costChange >= costChangeUsdPerHour - EPSILON_USD) {
    triggers.push(`cost ${formatUsd(costChange, { signed: true })}/h ≥ ${formatUsd(costChangeUsdPerHour)}/h`);
  }
  const projected = projectedMonthEndUsd(check.input.monthToDateUsd, check.runRateUsdPerHour + costChange, check.input.hoursLeftInMonth);
  const projectedPercent = (projected / check.input.budget.monthlyUsd) * 100;
  if (projectedPercent >= projectedSpendPercent - 1e-9) {
    triggers.push(`projected month-end ${formatUsd(projected)} is ${round1(projectedPercent)} % of the ${formatUsd(check.input.budget.monthlyUsd)} cap ≥ ${projectedSpendPercent} %`);
  }
  return triggers;
}

function round1(value: number): string {
  return (Math.round(value * 10) / 10).toString();
}
