/**
 * Scores a decision series under the physics of BACKTEST.md. Every policy,
 * the project's own and each baseline, goes through this one function.
 */
import { Fleet } from './fleet.ts';

export interface Scenario {
  /** Demand one ready node serves. */
  readonly capacityPerNode: number;
  readonly bootMinutes: number;
  readonly usdPerNodeHour: number;
  readonly warmupDays: number;
}

export interface Scores {
  readonly cost: number;
  readonly unserved_fraction: number;
  readonly violation_minutes: number;
  readonly launches: number;
  readonly actions: number;
}

export interface FleetTimeline {
  readonly readyNodes: Int32Array;
  readonly aliveNodes: Int32Array;
}

export function scoringStartMinute(scenario: Scenario): number {
  return Math.round(scenario.warmupDays * 1440);
}

/** At minute S the fleet is max(1, ceil(d[S]/C)) nodes, all ready. */
export function initialFleetNodes(demand: ArrayLike<number>, scenario: Scenario): number {
  const start = scoringStartMinute(scenario);
  return Math.max(1, Math.ceil((demand[start] ?? 0) / scenario.capacityPerNode));
}

/**
 * `desired[i]` is the decision for minute S + i. Returns the scores and, per
 * scored minute, ready and alive nodes (for charts).
 */
export function scoreDecisions(demand: ArrayLike<number>, desired: ArrayLike<number>, scenario: Scenario): Scores & FleetTimeline {
  const start = scoringStartMinute(scenario);
  const scoredMinutes = demand.length - start;
  if (scoredMinutes <= 0) throw new RangeError(`the trace has ${demand.length} minutes, not more than the ${start}-minute warm-up`);
  if (desired.length !== scoredMinutes) throw new RangeError(`expected ${scoredMinutes} decisions, got ${desired.length}`);
  const fleet = new Fleet(scenario.bootMinutes, initialFleetNodes(demand, scenario));
  const readyNodes = new Int32Array(scoredMinutes);
  const aliveNodes = new Int32Array(scoredMinutes);
  let aliveNodeMinutes = 0;
  let unserved = 0;
  let total = 0;
  let violationMinutes = 0;
  let actions = 0;
  let previous = fleet.aliveNodes;
  for (let i = 0; i < scoredMinutes; i++) {
    const minute = start + i;
    const want = desired[i]!;
    if (!Number.isInteger(want) || want < 1) throw new RangeError(`desired[${minute}] = ${want} is not an integer ≥ 1`);
    if (want !== previous) actions++;
    previous = want;
    fleet.setDesired(minute, want);
    const ready = fleet.readyNodes(minute);
    readyNodes[i] = ready;
    aliveNodes[i] = fleet.aliveNodes;
    aliveNodeMinutes += fleet.aliveNodes;
    const d = demand[minute]!;
    const u = Math.max(0, d - ready * scenario.capacityPerNode);
    if (u > 0) violationMinutes++;
    unserved += u;
    total += d;
  }
  return {
    cost: (aliveNodeMinutes * scenario.usdPerNodeHour) / 60,
    unserved_fraction: total > 0 ? unserved / total : 0,
    violation_minutes: violationMinutes,
    launches: fleet.launches,
    actions,
    readyNodes,
    aliveNodes,
  };
}
