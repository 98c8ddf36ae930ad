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
