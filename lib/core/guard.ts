/**
 * The last check before anything runs. The planner already respects bounds;
 * the guard re-checks them against the configuration (a planner bug must not
 * reach the cloud) and hands budget questions to the budget guard.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import type { Command, GuardedCommand } from './commands.ts';
import { clamp } from './forecast/numeric.ts';

export interface GuardContext {
  readonly config: PrescaleConfig;
}

/** Clamp node counts into the configured [min, max]; pass everything else on. */
export function guardBounds(command: Command, context: GuardContext): GuardedCommand {
  if (command.kind === 'scale-node-group') {
    const group = context.config.nodeGroups.find((g) => g.name === command.nodeGroup);
    if (group === undefined) return { command, verdict: 'deny', effective: undefined, reason: `node group "${command.nodeGroup}" is not in the configuration` };
    const bounded = clamp(command.toNodes, group.minNodes, group.maxNodes);
    if (bounded !== command.toNodes) {
      return { command, verdict: 'clamp', effective: { ...command, toNodes: bounded }, reason: `${command.toNodes} is outside [${group.minNodes}, ${group.maxNodes}]: clamped to ${bounded}` };
    }
  }
  if (command.kind === 'set-hpa-floor') {
    const service = context.config.services.find((s) => s.name === command.service);
    if (service === undefined) return { command, verdict: 'deny', effective: undefined, reason: `service "${command.service}" is not in the configuration` };
    const bounded = clamp(command.toMinReplicas, service.hpa.minReplicas, service.hpa.maxReplicas);
    if (bounded !== command.toMinReplicas) {
      return { command, verdict: 'clamp', effective: { ...command, toMinReplicas: bounded }, reason: `floor ${command.toMinReplicas} is outside [${service.hpa.minReplicas}, ${service.hpa.maxReplicas}]: clamped to ${bounded}` };
    }
  }
  return { command, verdict: 'allow', effective: command, reason: 'within bounds' };
}

export function guard(commands: readonly Command[], context: GuardContext): GuardedCommand[] {
  return commands.map((command) => guardBounds(command, context));
}

/**
 * A raised HPA floor asks the scheduler for pods, and Cluster Autoscaler
 * buys the nodes those pods need: a floor raised beside a scale-out the
 * budget held back would buy, unguarded, the very nodes the budget refused.
 * So a floor raise on a service whose node group's scale-out was not let
 * through as planned shares its fate: it waits for the same approval, or
 * does not run (denied, or clamped below the group's maximum: the HPA still
 * follows real load). A floor lowered, or raised beside a scale-out that
 * runs in full or up to the group's maximum, is untouched.
 */
export function holdFloorsWithTheirNodes(guarded: readonly GuardedCommand[], config: PrescaleConfig): GuardedCommand[] {
  const heldGroups = new Map<string, GuardedCommand>();
  for (const g of guarded) {
    const scale = g.command;
    if (scale.kind !== 'scale-node-group' || scale.toNodes <= scale.fromNodes || g.verdict === 'allow') continue;
    // Clamped at the group's maximum is the bounds, not the budget: there Cluster Autoscaler cannot buy past it either.
    const maxNodes = config.nodeGroups.find((n) => n.name === scale.nodeGroup)?.maxNodes;
    if (g.verdict === 'clamp' && g.effective?.kind === 'scale-node-group' && g.effective.toNodes === maxNodes) continue;
    heldGroups.set(scale.nodeGroup, g);
  }
  if (heldGroups.size === 0) return [...guarded];
  return guarded.map((g) => {
    const floor = g.effective;
    if (floor?.kind !== 'set-hpa-floor' || floor.toMinReplicas <= floor.fromMinReplicas || g.verdict === 'deny') return g;
    const groups = config.services.find((s) => s.name === floor.service)?.nodeGroups ?? [];
    const held = groups.map((name) => heldGroups.get(name)).find((h) => h !== undefined);
    if (held === undefined || held.command.kind !== 'scale-node-group') return g;
    const why = `held with the scale-out of ${held.command.nodeGroup} (${held.verdict}): its pods would have Cluster Autoscaler buy the nodes that scale-out was not given`;
    return held.verdict === 'needs-approval' ? { ...g, verdict: 'needs-approval', reason: `${g.reason}; ${why}` } : { ...g, verdict: 'deny', effective: undefined, reason: `${g.reason}; ${why}` };
  });
}
