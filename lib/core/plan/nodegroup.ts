/**
 * From a recommended node count to the node group's next desired count:
 * bounds, scale-down stabilisation, step limits and cooldowns. Each rule is a
 * small function so its table test reads like the rule.
 */
import type { PolicyConfig } from '../../config/schema.ts';
import { clamp } from '../forecast/numeric.ts';

const MINUTE_MS = 60_000;

export interface NodeGroupDecisionInput {
  readonly nowMs: number;
  readonly currentDesiredNodes: number;
  readonly recommendedNodes: number;
  /**
   * Nodes the plan still needs over the decision window plus one metric
   * period (≥ recommendedNodes). Scale-in never goes below it: a node released
   * now that the next period claims back is relaunched within a period, so
   * the release saves less than a period of one node and costs a launch.
   */
  readonly keepNodes: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  /** Recent recommendations, oldest first, as [epoch ms, nodes]. */
  readonly recentRecommendations: readonly (readonly [number, number])[];
  readonly lastScaleOutMs: number | undefined;
  readonly lastScaleInMs: number | undefined;
  /** No scale-in for this long after a scale-out (scaleInDelayAfterScaleOutMinutes). */
  readonly scaleInDelayAfterScaleOutMinutes: number;
  /**
   * Why capacity may only grow on this run (an alarm run, or `demand
   * unknown for gateway`), quoted in the reason; undefined when scale-in is
   * allowed.
   */
  readonly scaleInBlockedBy: string | undefined;
  readonly policy: Pick<PolicyConfig, 'scaleDownStabilizationMinutes' | 'maxScaleOutNodes' | 'maxScaleInNodes' | 'scaleOutCooldownMinutes' | 'scaleInCooldownMinutes'>;
}

export interface NodeGroupDecision {
  readonly desiredNodes: number;
  /** The recommendations to remember, pruned to the stabilisation window. */
  readonly recommendations: readonly (readonly [number, number])[];
  readonly reason: string;
}

/** The core's one clamp (forecast/numeric.ts), re-exported for plan.ts. */
export { clamp };

/** Recommendations still inside the window ending now (the newest included). */
export function pruneRecommendations(
  recommendations: readonly (readonly [number, number])[],
  nowMs: number,
  windowMinutes: number,
): (readonly [number, number])[] {
  const oldestMs = nowMs - windowMinutes * MINUTE_MS;
  return recommendations.filter(([atMs]) => atMs > oldestMs && atMs <= nowMs);
}

/** Kubernetes-style stabilisation: scale down only to the highest recommendation of the window. */
export function stabilizedNodes(recommendations: readonly (readonly [number, number])[]): number {
  return recommendations.reduce((highest, [, nodes]) => Math.max(highest, nodes), 0);
}

/**
 * How long a scale-out holds off scale-in: until the nodes it launched have
 * been ready a while, so the first run to release any comes after they
 * serve. A release sooner may take back nodes that served nothing (the
 * backtest terminates the newest first), and their launch bought nothing:
 * on a 1-minute metric the reactive floor would otherwise launch for one
 * noisy minute and release a minute later, again and again. A slower
 * metric's periods already hold a launch that long. Cluster Autoscaler's
 * scale-down-delay-after-add (10 minutes by default) is the same rule,
 * longer.
 *
 * Half a minute past the boot: runs come on whole minutes (a schedule, or
 * an alarm or an approval at any minute), so the run at the boot minute is
 * held and the next one is not, even when it fires a few seconds early.
 */
export function scaleInDelayAfterScaleOutMinutes(bootMinutes: number): number {
  return bootMinutes + 0.5;
}

function isCoolingDown(nowMs: number, lastMs: number | undefined, cooldownMinutes: number): boolean {
  return lastMs !== undefined && nowMs - lastMs < cooldownMinutes * MINUTE_MS;
}

export function decideNodeGroup(input: NodeGroupDecisionInput): NodeGroupDecision {
  const { nowMs, currentDesiredNodes: current, policy } = input;
  const recommended = clamp(input.recommendedNodes, input.minNodes, input.maxNodes);
  const recommendations = pruneRecommendations([...input.recentRecommendations, [nowMs, recommended]], nowMs, Math.max(policy.scaleDownStabilizationMinutes, 1));
  const outOfBounds = clamp(current, input.minNodes, input.maxNodes);
  if (outOfBounds !== current) {
    return { desiredNodes: outOfBounds, recommendations, reason: `desired ${current} is outside [${input.minNodes}, ${input.maxNodes}]: set to ${outOfBounds}` };
  }
  if (recommended > current) {
    if (isCoolingDown(nowMs, input.lastScaleOutMs, policy.scaleOutCooldownMinutes)) {
      return { desiredNodes: current, recommendations, reason: `needs ${recommended} but scale-out cooldown (${policy.scaleOutCooldownMinutes} min) holds ${current}` };
    }
    const target = Math.min(recommended, current + policy.maxScaleOutNodes);
    const limited = target < recommended ? ` (step limit ${policy.maxScaleOutNodes})` : '';
    return { desiredNodes: target, recommendations, reason: `scale out ${current} → ${target}${limited}: needs ${recommended}` };
  }
  if (recommended === current) return { desiredNodes: current, recommendations, reason: `holds ${current}` };
  if (input.scaleInBlockedBy !== undefined) {
    return { desiredNodes: current, recommendations, reason: `holds ${current}: scale-in not allowed on this run (${input.scaleInBlockedBy})` };
  }
  const keep = clamp(input.keepNodes, input.minNodes, input.maxNodes);
  const stabilized = Math.max(recommended, keep, stabilizedNodes(recommendations));
  if (stabilized >= current) {
    const why = keep >= stabilized && keep > recommended ? `the next period needs ${keep}` : `needed ${stabilized} within the last ${policy.scaleDownStabilizationMinutes} min`;
    return { desiredNodes: current, recommendations, reason: `holds ${current}: ${why}` };
  }
  if (isCoolingDown(nowMs, input.lastScaleOutMs, input.scaleInDelayAfterScaleOutMinutes)) {
    const ago = Math.round((nowMs - input.lastScaleOutMs!) / MINUTE_MS);
    return { desiredNodes: current, recommendations, reason: `holds ${current}: the nodes launched ${ago} min ago are not yet past their first run ready` };
  }
  const lastChangeMs = Math.max(input.lastScaleOutMs ?? Number.NEGATIVE_INFINITY, input.lastScaleInMs ?? Number.NEGATIVE_INFINITY);
  if (isCoolingDown(nowMs, Number.isFinite(lastChangeMs) ? lastChangeMs : undefined, policy.scaleInCooldownMinutes)) {
    return { desiredNodes: current, recommendations, reason: `holds ${current}: scale-in cooldown (${policy.scaleInCooldownMinutes} min)` };
  }
  const target = Math.max(stabilized, current - policy.maxScaleInNodes);
  const limited = target > stabilized ? ` (step limit ${policy.maxScaleInNodes})` : '';
  return { desiredNodes: target, recommendations, reason: `scale in ${current} → ${target}${limited}: needs ${stabilized}` };
}
