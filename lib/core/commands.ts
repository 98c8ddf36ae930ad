/**
 * The only things prescale ever asks the cloud to do. Each carries the state
 * it was planned from (`from*`) so `act` can re-check against fresh state and
 * skip no-ops, and a human-readable reason that goes to the audit trail.
 */
import { compareStrings } from './canonical.ts';

export interface ScaleNodeGroupCommand {
  readonly kind: 'scale-node-group';
  readonly cluster: string;
  readonly nodeGroup: string;
  readonly fromNodes: number;
  readonly toNodes: number;
  readonly reason: string;
}

export interface SetHpaFloorCommand {
  readonly kind: 'set-hpa-floor';
  readonly cluster: string;
  readonly namespace: string;
  readonly service: string;
  readonly fromMinReplicas: number;
  readonly toMinReplicas: number;
  readonly reason: string;
  /** A raise over a floor someone else set (above the configured one): the value the ramp's end restores. */
  readonly raisedOverMinReplicas?: number;
}

export interface TargetGroupWeight {
  readonly targetGroupArn: string;
  readonly weight: number;
}

export interface SetAlbWeightsCommand {
  readonly kind: 'set-alb-weights';
  readonly cluster: string;
  readonly rule: string;
  readonly listenerArn: string;
  /** Undefined for the listener's default action. */
  readonly ruleArn: string | undefined;
  readonly fromWeights: readonly TargetGroupWeight[];
  readonly toWeights: readonly TargetGroupWeight[];
  readonly reason: string;
}

export interface ApplyManifestCommand {
  readonly kind: 'apply-manifest';
  readonly cluster: string;
  readonly apiVersion: string;
  readonly objectKind: string;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly reason: string;
}

export type Command = ScaleNodeGroupCommand | SetHpaFloorCommand | SetAlbWeightsCommand | ApplyManifestCommand;

/** A stable key: two commands with the same target compete for the same resource. */
export function commandTarget(command: Command): string {
  switch (command.kind) {
    case 'scale-node-group':
      return `${command.cluster}/nodegroup/${command.nodeGroup}`;
    case 'set-hpa-floor':
      return `${command.cluster}/hpa/${command.namespace}/${command.service}`;
    case 'set-alb-weights':
      return `${command.cluster}/alb/${command.rule}`;
    case 'apply-manifest':
      return `${command.cluster}/manifest/${command.apiVersion}/${command.objectKind}/${command.namespace ?? ''}/${command.name}`;
  }
}

/** True when carrying the command out would change nothing. */
export function isNoOp(command: Command): boolean {
  switch (command.kind) {
    case 'scale-node-group':
      return command.fromNodes === command.toNodes;
    case 'set-hpa-floor':
      return command.fromMinReplicas === command.toMinReplicas;
    case 'set-alb-weights':
      return sameWeights(command.fromWeights, command.toWeights);
    case 'apply-manifest':
      return false;
  }
}

export function sameWeights(a: readonly TargetGroupWeight[], b: readonly TargetGroupWeight[]): boolean {
  if (a.length !== b.length) return false;
  const byArn = new Map(a.map((w) => [w.targetGroupArn, w.weight]));
  return b.every((w) => byArn.get(w.targetGroupArn) === w.weight);
}

/**
 * Commands in the order `act` runs them: node groups first, so the capacity a
 * raised HPA floor schedules pods onto is asked for before the floor, then by
 * target, so logs and plans are reproducible.
 */
export function sortCommands<T extends Command>(commands: readonly T[]): T[] {
  return sortByTarget(commands, (command) => command);
}

/** 0 for capacity (node groups), 1 for what runs on it. */
function actRank(command: Command): number {
  return command.kind === 'scale-node-group' ? 0 : 1;
}

/** Items in `sortCommands` order of the command each carries (stable: equal targets keep their order); each target is built once. */
export function sortByTarget<T>(items: readonly T[], commandOf: (item: T) => Command): T[] {
  return items
    .map((item) => ({ item, rank: actRank(commandOf(item)), target: commandTarget(commandOf(item)) }))
    .sort((x, y) => x.rank - y.rank || compareStrings(x.target, y.target))
    .map(({ item }) => item);
}

export type GuardVerdict = 'allow' | 'clamp' | 'needs-approval' | 'deny';

export interface GuardedCommand {
  readonly command: Command;
  readonly verdict: GuardVerdict;
  /** For `clamp`, the command as it will run. */
  readonly effective: Command | undefined;
  readonly reason: string;
}
