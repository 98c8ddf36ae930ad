/**
 * ALB forward-action weights for the (up to 5) target groups of one rule:
 * proportional to healthy serving capacity cut by SLO misses, within each
 * group's floor and cap, moved at most `maxStepPoints` per run, held while the
 * target is within `hysteresisPoints` of where the weights are.
 *
 * Weights are points out of WEIGHT_TOTAL_POINTS, so a floor of 10 means "about
 * 10 % of the traffic" and a step of 20 "about 20 % of the traffic". ALB reads
 * them as relative, so a sum other than 100 while weights move is harmless.
 *
 * Two exceptions to the step limit and the hysteresis, both toward safety:
 * - a group with no healthy target drops to 0 at once (its traffic is failing
 *   already, and a spot notice gives two minutes: two runs at most);
 * - when no group has a healthy target the weights stay (fail open, as ALB does
 *   inside a target group): moving traffic between dead groups helps nobody.
 */
import { compareStrings } from '../canonical.ts';
import type { TargetGroupWeight } from '../commands.ts';
import { clamp } from '../forecast/numeric.ts';
import {
  hasHealthyTarget,
  healthyTargets,
  servingCapacity,
  sloFactor,
  type ServiceLevelObjective,
  type TargetHealthCounts,
} from './capacity.ts';

export const WEIGHT_TOTAL_POINTS = 100;
/** ALB's range for a target group weight. */
export const MAX_ALB_WEIGHT = 999;

export interface WeightBounds {
  /** Floor (canary minimum), points. */
  readonly minPoints: number;
  /** Cap, points. */
  readonly maxPoints: number;
}

export interface TargetGroupPlanInput {
  readonly targetGroupArn: string;
  readonly counts: TargetHealthCounts;
  /** See ServingSignals: demand one healthy target serves; undefined: all targets alike. */
  readonly capacityPerTarget?: number | undefined;
  /** Ready capacity of the node group behind the group, same unit. */
  readonly readyCapacity?: number | undefined;
  readonly http5xxPercent?: number | undefined;
  readonly p95ResponseSeconds?: number | undefined;
  /** From config: floor and cap in points, 0..999. */
  readonly minWeight: number;
  readonly maxWeight: number;
}

export interface PlanWeightsInput {
  readonly groups: readonly TargetGroupPlanInput[];
  /** The rule's weights now (as read back from the load balancer). A configured group missing here weighs 0. */
  readonly currentWeights: readonly TargetGroupWeight[];
  readonly maxStepPoints: number;
  readonly hysteresisPoints: number;
  readonly slo: ServiceLevelObjective;
}

export interface WeightPlan {
  /** The weights to set: configured groups in config order, then groups prescale does not manage (kept as they are) by ARN. */
  readonly weights: TargetGroupWeight[];
  /** Where the weights are heading (before step limits and hysteresis), configured groups only. */
  readonly targetWeights: TargetGroupWeight[];
  /** False when `weights` equal the current weights. */
  readonly changed: boolean;
  readonly reason: string;
}

/** A floor above the cap means the cap (config validation reports it; the core must not break on it). */
export function boundsOf(minWeight: number, maxWeight: number): WeightBounds {
  const maxPoints = clamp(Math.floor(maxWeight), 0, MAX_ALB_WEIGHT);
  return { minPoints: clamp(Math.floor(minWeight), 0, maxPoints), maxPoints };
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * Real-valued points proportional to `scores`, each within its bounds, summing
 * to `totalPoints` when the bounds allow (water-filling): find λ with
 * Σ clamp(λ·score_i, min_i, max_i) = total. The sum is piecewise linear and
 * non-decreasing in λ with breakpoints at min_i/score_i and max_i/score_i, so
 * λ is found exactly by linear interpolation inside the right segment.
 * A group with score 0 gets its floor. If the floors alone exceed the total,
 * every group gets its floor; if the caps fall short, every group its cap.
 */
export function distributeWithinBounds(scores: readonly number[], bounds: readonly WeightBounds[], totalPoints: number): number[] {
  const at = (lambda: number): number[] =>
    scores.map((score, i) => {
      const { minPoints, maxPoints } = bounds[i]!;
      return score > 0 ? clamp(lambda * score, minPoints, maxPoints) : minPoints;
    });
  const breakpoints = [0];
  scores.forEach((score, i) => {
    if (score > 0) breakpoints.push(bounds[i]!.minPoints / score, bounds[i]!.maxPoints / score);
  });
  breakpoints.sort((a, b) => a - b);
  let previous = 0;
  let previousSum = sum(at(0));
  if (previousSum >= totalPoints) return at(0);
  for (const lambda of breakpoints) {
    const lambdaSum = sum(at(lambda));
    if (lambdaSum >= totalPoints) {
      // Linear between the two breakpoints: interpolate to hit the total exactly.
      const exact = previous + ((totalPoints - previousSum) * (lambda - previous)) / (lambdaSum - previousSum);
      return at(exact);
    }
    previous = lambda;
    previousSum = lambdaSum;
  }
  return at(previous);
}

/**
 * Integer points from real ones, each within its (integer) bounds, keeping the
 * rounded total (largest remainder; ties to the earlier group, so the result is
 * deterministic): [33.3, 33.3, 33.3] → [34, 33, 33].
 */
export function roundPoints(values: readonly number[], bounds: readonly WeightBounds[]): number[] {
  const points = values.map((value, i) => clamp(Math.floor(value), bounds[i]!.minPoints, bounds[i]!.maxPoints));
  let remaining = Math.round(sum(values)) - sum(points);
  const order = values
    .map((value, i) => ({ i, fraction: value - Math.floor(value) }))
    .sort((a, b) => b.fraction - a.fraction || a.i - b.i);
  for (const { i } of order) {
    if (remaining <= 0) break;
    if (points[i]! < bounds[i]!.maxPoints) {
      points[i]! += 1;
      remaining--;
    }
  }
  return points;
}

/** At most `maxStepPoints` from `current` toward `target`: 50 → 0 with step 20 gives 30. */
export function stepToward(currentPoints: number, targetPoints: number, maxStepPoints: number): number {
  return currentPoints + clamp(targetPoints - currentPoints, -maxStepPoints, maxStepPoints);
}

/** The largest distance between where a group is and where it is heading. */
export function largestGapPoints(currentPoints: readonly number[], targetPoints: readonly number[]): number {
  return currentPoints.reduce((largest, current, i) => Math.max(largest, Math.abs((targetPoints[i] ?? 0) - current)), 0);
}

/** Hysteresis: move only when some group is at least `hysteresisPoints` from its target (and there is a gap at all). */
export function shouldMove(largestGap: number, hysteresisPoints: number): boolean {
  return largestGap > 0 && largestGap >= hysteresisPoints;
}

/** `arn:…:targetgroup/gateway-spot/2453ed029918f21f` → `gateway-spot`, for reasons a human reads. */
export function targetGroupName(targetGroupArn: string): string {
  const match = /:targetgroup\/([^/]+)\//.exec(targetGroupArn);
  return match?.[1] ?? targetGroupArn;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

const STATE_ORDER = ['healthy', 'initial', 'unhealthy', 'draining', 'unused', 'unavailable'] as const;

/** `healthy 4, draining 2` (zero counts left out; `no targets` when all are zero). */
export function describeCounts(counts: TargetHealthCounts): string {
  const parts = STATE_ORDER.filter((state) => counts[state] > 0).map((state) => `${state} ${counts[state]}`);
  return parts.length === 0 ? 'no targets' : parts.join(', ');
}

interface GroupAssessment {
  readonly input: TargetGroupPlanInput;
  readonly healthy: boolean;
  readonly capacity: number;
  readonly factor: number;
  readonly currentPoints: number;
}

function assess(input: PlanWeightsInput): GroupAssessment[] {
  const current = new Map(input.currentWeights.map((w) => [w.targetGroupArn, w.weight]));
  return input.groups.map((group) => ({
    input: group,
    healthy: hasHealthyTarget(group.counts),
    capacity: servingCapacity({ healthyTargets: healthyTargets(group.counts), capacityPerTarget: group.capacityPerTarget, readyCapacity: group.readyCapacity }),
    factor: sloFactor({ http5xxPercent: group.http5xxPercent, p95ResponseSeconds: group.p95ResponseSeconds }, input.slo),
    currentPoints: current.get(group.targetGroupArn) ?? 0,
  }));
}

/** Target points per group: proportional to capacity × SLO factor, within bounds; 0 for a group with no healthy target. */
function targetPoints(groups: readonly GroupAssessment[]): { points: number[]; fallback: boolean } {
  const bounds = groups.map((g) => (g.healthy ? boundsOf(g.input.minWeight, g.input.maxWeight) : { minPoints: 0, maxPoints: 0 }));
  let scores = groups.map((g) => (g.healthy ? g.capacity * g.factor : 0));
  // Healthy targets on node groups reported as having no ready capacity (a stale
  // or missing capacity signal): fall back to counting healthy targets rather than dividing by zero.
  const fallback = sum(scores) <= 0;
  if (fallback) scores = groups.map((g) => (g.healthy ? healthyTargets(g.input.counts) * g.factor : 0));
  return { points: roundPoints(distributeWithinBounds(scores, bounds, WEIGHT_TOTAL_POINTS), bounds), fallback };
}

function withUnmanaged(input: PlanWeightsInput, managed: readonly TargetGroupWeight[]): TargetGroupWeight[] {
  const configured = new Set(input.groups.map((g) => g.targetGroupArn));
  const unmanaged = input.currentWeights
    .filter((w) => !configured.has(w.targetGroupArn))
    .sort((a, b) => compareStrings(a.targetGroupArn, b.targetGroupArn));
  return [...managed, ...unmanaged];
}

function groupLine(group: GroupAssessment, targetPoint: number | undefined, nextPoint: number | undefined): string {
  const parts = [`${targetGroupName(group.input.targetGroupArn)}: ${describeCounts(group.input.counts)}`];
  if (group.healthy) {
    parts.push(`capacity ${formatNumber(group.capacity)}`);
    const observed: string[] = [];
    if (group.input.http5xxPercent !== undefined) observed.push(`5xx ${formatNumber(group.input.http5xxPercent)} %`);
    if (group.input.p95ResponseSeconds !== undefined) observed.push(`p95 ${formatNumber(group.input.p95ResponseSeconds)} s`);
    if (observed.length > 0 || group.factor < 1) parts.push(`${observed.join(' ')} → ×${group.factor.toFixed(2)}`.trim());
  }
  if (targetPoint !== undefined) parts.push(`target ${targetPoint}`);
  parts.push(nextPoint === undefined || nextPoint === group.currentPoints ? `stays ${group.currentPoints}` : `${group.currentPoints} → ${nextPoint}`);
  if (!group.healthy && nextPoint === 0 && group.currentPoints > 0) parts.push('(no healthy target: off at once)');
  return parts.join(', ');
}

export function planWeights(input: PlanWeightsInput): WeightPlan {
  const groups = assess(input);
  const currentManaged = groups.map((g) => ({ targetGroupArn: g.input.targetGroupArn, weight: g.currentPoints }));
  const keep = (why: string, target: readonly number[] | undefined): WeightPlan => ({
    weights: withUnmanaged(input, currentManaged),
    targetWeights: groups.map((g, i) => ({ targetGroupArn: g.input.targetGroupArn, weight: target?.[i] ?? g.currentPoints })),
    changed: false,
    reason: `${why}: ${groups.map((g, i) => groupLine(g, target?.[i], undefined)).join('; ')}`,
  });

  if (!groups.some((g) => g.healthy)) return keep('no target group has a healthy target, keeping the last weights (fail open, as ALB does)', undefined);

  const { points: target, fallback } = targetPoints(groups);
  if (sum(target) <= 0) return keep('every group with a healthy target is capped at 0, keeping the last weights', target);

  const current = groups.map((g) => g.currentPoints);
  const gap = largestGapPoints(current, target);
  // Safety first: a dead group carrying traffic, or no healthy group carrying any, moves regardless of hysteresis.
  const deadCarriesTraffic = groups.some((g) => !g.healthy && g.currentPoints > 0);
  const healthyCarryNothing = sum(groups.filter((g) => g.healthy).map((g) => g.currentPoints)) <= 0;
  if (!deadCarriesTraffic && !healthyCarryNothing && !shouldMove(gap, input.hysteresisPoints)) {
    return keep(`holding weights, largest gap ${gap} points < hysteresis ${input.hysteresisPoints}`, target);
  }

  const next = groups.map((g, i) => (g.healthy ? stepToward(g.currentPoints, target[i]!, input.maxStepPoints) : 0));
  const changed = next.some((points, i) => points !== current[i]);
  const header = [
    `moving weights toward capacity share (largest gap ${gap} points, hysteresis ${input.hysteresisPoints}, step ≤ ${input.maxStepPoints})`,
    ...(fallback ? ['no capacity signal, shares from healthy target counts'] : []),
  ].join(', ');
  return {
    weights: withUnmanaged(
      input,
      groups.map((g, i) => ({ targetGroupArn: g.input.targetGroupArn, weight: next[i]! })),
    ),
    targetWeights: groups.map((g, i) => ({ targetGroupArn: g.input.targetGroupArn, weight: target[i]! })),
    changed,
    reason: `${header}: ${groups.map((g, i) => groupLine(g, target[i], next[i])).join('; ')}`,
  };
}
