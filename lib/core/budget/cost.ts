/**
 * USD/hour of a fleet and of a plan. Only node groups cost money directly:
 * HPA floors, ALB weights and manifests spend through the nodes they need,
 * and the planner turns that need into scale-node-group commands.
 */
import type { Command } from '../commands.ts';

export interface PlanCost {
  /** Run-rate of the groups the plan touches, before the plan. */
  readonly beforeUsdPerHour: number;
  readonly afterUsdPerHour: number;
  /** after − before: positive for scale-out. */
  readonly deltaUsdPerHour: number;
  /** Groups the plan scales that have no price (their cost is unknown, not zero). */
  readonly unpricedNodeGroups: readonly string[];
}

/** Σ nodes × USD/hour per node, over the groups given. */
export function fleetUsdPerHour(nodesByGroup: Readonly<Record<string, number>>, usdPerHourByGroup: Readonly<Record<string, number>>): number {
  let total = 0;
  for (const [group, nodes] of Object.entries(nodesByGroup)) total += nodes * (usdPerHourByGroup[group] ?? 0);
  return total;
}

/** The plan's cost, from each command's `fromNodes` → `toNodes`. */
export function planCost(commands: readonly Command[], usdPerHourByGroup: Readonly<Record<string, number>>): PlanCost {
  let beforeUsdPerHour = 0;
  let afterUsdPerHour = 0;
  const unpriced = new Set<string>();
  for (const command of commands) {
    if (command.kind !== 'scale-node-group') continue;
    const price = usdPerHourByGroup[command.nodeGroup];
    if (price === undefined) {
      unpriced.add(command.nodeGroup);
      continue;
    }
    beforeUsdPerHour += command.fromNodes * price;
    afterUsdPerHour += command.toNodes * price;
  }
  return { beforeUsdPerHour, afterUsdPerHour, deltaUsdPerHour: afterUsdPerHour - beforeUsdPerHour, unpricedNodeGroups: [...unpriced].sort() };
}

/** `$1,234.56`; `+$0.38` with `signed`; `decimals: 4` for per-node prices ($0.0960). Sub-cent amounts get 4 decimals. */
export function formatUsd(usd: number, options: { signed?: boolean; decimals?: number } = {}): string {
  const sign = usd < 0 ? '−' : options.signed === true ? '+' : '';
  const abs = Math.abs(usd);
  const digits = options.decimals ?? (abs !== 0 && abs < 0.01 ? 4 : 2);
  return `${sign}$${abs.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`;
}
