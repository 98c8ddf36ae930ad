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
 * So a floor raise shares the fate of the strictest scale-out among its
 * service's node groups: it does not run when one was denied or cut below
 * what was planned (clamped, even one that also awaits approval: the HPA
 * still follows real load), and waits for the same approval when one awaits
 * it in full. A cut at the group's configured maximum is the bounds, which
 * Cluster Autoscaler cannot pass either, so it holds nothing back. A floor
 * lowered, or raised beside scale-outs that run in full, is untouched.
 */
export function holdFloorsWithTheirNodes(guarded: readonly GuardedCommand[], config: PrescaleConfig): GuardedCommand[] {
  const fates = new Map<string, { readonly nodeGroup: string; readonly fate: 'deny' | 'needs-approval'; readonly why: string }>();
  for (const g of guarded) {
    const scale = g.command;
    if (scale.kind !== 'scale-node-group' || scale.toNodes <= scale.fromNodes || g.verdict === 'allow') continue;
    const maxNodes = config.nodeGroups.find((n) => n.name === scale.nodeGroup)?.maxNodes;
    const to = g.effective?.kind === 'scale-node-group' ? g.effective.toNodes : undefined;
    const cut = to === undefined || (to < scale.toNodes && to !== maxNodes);
    if (g.verdict === 'deny' || cut) fates.set(scale.nodeGroup, { nodeGroup: scale.nodeGroup, fate: 'deny', why: g.verdict === 'deny' || to === undefined ? 'denied' : `cut to ${to} of ${scale.toNodes} nodes` });
    else if (g.verdict === 'needs-approval') fates.set(scale.nodeGroup, { nodeGroup: scale.nodeGroup, fate: 'needs-approval', why: 'awaiting approval' });
  }
  if (fates.size === 0) return [...guarded];
  return guarded.map((g) => {
    if (g.verdict === 'deny') return g;
    const held = floorRaiseGroups(g.effective, config.services).flatMap((name) => fates.get(name) ?? []);
    const strictest = held.find((h) => h.fate === 'deny') ?? held[0];
    if (strictest === undefined) return g;
    const why = `held with the scale-out of ${strictest.nodeGroup} (${strictest.why}): its pods would have Cluster Autoscaler buy the nodes that scale-out was not given`;
    return strictest.fate === 'needs-approval' ? { ...g, verdict: 'needs-approval', reason: `${g.reason}; ${why}` } : { ...g, verdict: 'deny', effective: undefined, reason: `${g.reason}; ${why}` };
  });
}

/** The node groups whose capacity a floor raise's pods need (its service's, in order); none for anything else. */
export function floorRaiseGroups(command: Command | undefined, services: PrescaleConfig['services']): readonly string[] {
  if (command?.kind !== 'set-hpa-floor' || command.toMinReplicas <= command.fromMinReplicas) return [];
  return services.find((s) => s.name === command.service)?.nodeGroups ?? [];
}
