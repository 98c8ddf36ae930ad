/**
 * plan(observed, forecasts, config, now) → commands, each with a reason.
 * Pure: the pipeline hands it what it observed and what it remembered.
 */
import type { PrescaleConfig, ServiceConfig, NodeGroupConfig } from '../../config/schema.ts';
import type { Command, ScaleNodeGroupCommand } from '../commands.ts';
import { sortCommands } from '../commands.ts';
import type { DemandHistory, Forecast } from '../forecast/types.ts';
import type { CooldownState, HpaState, NodeGroupState, PlannerMemory } from '../../ports.ts';
import { reactiveFloorPods } from './hpa.ts';
import { demandNeed } from './demand.ts';
import { clamp, decideNodeGroup } from './nodegroup.ts';

export type Trigger = 'scheduled' | 'alarm' | 'emergency' | 'approval';

export interface ServiceObservation {
  readonly service: string;
  /** The most recent demand points (at least the last few periods). */
  readonly recentDemand: DemandHistory;
  readonly hpa: HpaState | undefined;
}

export interface PlanInput {
  readonly config: PrescaleConfig;
  readonly nowMs: number;
  readonly trigger: Trigger;
  readonly nodeGroups: readonly NodeGroupState[];
  readonly services: readonly ServiceObservation[];
  readonly forecasts: ReadonlyMap<string, Forecast>;
  readonly memory: PlannerMemory;
  readonly cooldowns: ReadonlyMap<string, CooldownState>;
}

export interface ServicePlan {
  readonly service: string;
  readonly demandNow: number | undefined;
  readonly forecastPeak: number | undefined;
  readonly pods: number;
  readonly nodeGroup: string;
  readonly reason: string;
}

export interface PlanOutput {
  readonly commands: Command[];
  readonly memory: PlannerMemory;
  readonly services: readonly ServicePlan[];
}

/** Minutes from a decision to the moment the capacity it buys serves: node boot + pod start + the wait for the next run. */
export function decisionHorizonMinutes(group: NodeGroupConfig, service: ServiceConfig, scheduleMinutes: number): number {
  return group.bootMinutes + service.podStartMinutes + scheduleMinutes;
}

/** How many pods of a service fit on one node of a group. */
export function podsPerNode(group: NodeGroupConfig, service: ServiceConfig): number {
  return Math.min(
    Math.floor(group.allocatable.cpuMillicores / service.requests.cpuMillicores),
    Math.floor(group.allocatable.memoryMiB / service.requests.memoryMiB),
    group.allocatable.pods,
  );
}

function planService(input: PlanInput, service: ServiceConfig, observation: ServiceObservation | undefined, groupState: NodeGroupState | undefined): ServicePlan & { demandMissing: boolean } {
  const { config, nowMs } = input;
  const group = config.nodeGroups.find((g) => g.name === service.nodeGroups[0])!;
  const perNode = Math.max(1, podsPerNode(group, service));
  const currentPods = observation?.hpa?.currentReplicas ?? (groupState?.readyNodes ?? 0) * perNode;
  const horizon = decisionHorizonMinutes(group, service, config.policy.scheduleMinutes);
  const forecast = input.trigger === 'alarm' ? undefined : input.forecasts.get(service.name);
  const need =
    observation === undefined
      ? { demandNow: undefined, forecastNeed: undefined, levelOffset: 0, periodsAhead: 0 }
      : demandNeed({ history: observation.recentDemand, forecast, serviceLevel: config.policy.serviceLevel, nowMs, horizonMinutes: horizon });
  const demandNow = need.demandNow;
  const peak = need.forecastNeed;
  const reasons: string[] = [];
  let pods = service.hpa.minReplicas;
  if (demandNow !== undefined) {
    const floor = reactiveFloorPods(demandNow, service.demand.perPod, config.policy.reactiveTargetUtilization, currentPods);
    pods = Math.max(pods, floor);
    reasons.push(`demand ${round(demandNow)} → reactive floor ${floor} pods`);
  } else {
    reasons.push('no recent demand data: holding capacity');
  }
  if (peak !== undefined) {
    const forecastPods = Math.ceil(peak / service.demand.perPod);
    pods = Math.max(pods, forecastPods);
    const offset = need.levelOffset === 0 ? '' : ` (level ${need.levelOffset > 0 ? '+' : ''}${round(need.levelOffset)})`;
    reasons.push(`p${round(config.policy.serviceLevel * 100)} forecast ${round(peak)}${offset} within ${horizon} min → ${forecastPods} pods`);
  }
  pods = clamp(pods, service.hpa.minReplicas, service.hpa.maxReplicas);
  return { service: service.name, demandNow, forecastPeak: peak, pods, nodeGroup: group.name, reason: reasons.join('; '), demandMissing: demandNow === undefined };
}

/** Nodes for a set of pods: the binding resource of CPU, memory and pod slots. */
export function nodesForPods(group: NodeGroupConfig, demands: readonly { service: ServiceConfig; pods: number }[]): number {
  let cpu = 0;
  let memory = 0;
  let slots = 0;
  for (const { service, pods } of demands) {
    cpu += pods * service.requests.cpuMillicores;
    memory += pods * service.requests.memoryMiB;
    slots += pods;
  }
  return Math.max(Math.ceil(cpu / group.allocatable.cpuMillicores), Math.ceil(memory / group.allocatable.memoryMiB), Math.ceil(slots / group.allocatable.pods));
}

export function plan(input: PlanInput): PlanOutput {
  const { config, nowMs } = input;
  const groupStates = new Map(input.nodeGroups.map((g) => [g.name, g]));
  const observations = new Map(input.services.map((s) => [s.service, s]));
  const servicePlans = config.services.map((service) =>
    planService(input, service, observations.get(service.name), groupStates.get(service.nodeGroups[0]!)),
  );
  const commands: Command[] = [];
  const recommendations: Record<string, readonly (readonly [number, number])[]> = {};
  for (const group of config.nodeGroups) {
    const state = groupStates.get(group.name);
    if (state === undefined) continue;
    const placed = servicePlans.filter((p) => p.nodeGroup === group.name);
    const demands = placed.map((p) => ({ service: config.services.find((s) => s.name === p.service)!, pods: p.pods }));
    const recommendedNodes = nodesForPods(group, demands);
    const cooldown = input.cooldowns.get(group.name);
    const decision = decideNodeGroup({
      nowMs,
      currentDesiredNodes: state.desiredNodes,
      recommendedNodes,
      minNodes: group.minNodes,
      maxNodes: group.maxNodes,
      recentRecommendations: input.memory.recommendations[group.name] ?? [],
      lastScaleOutMs: cooldown?.lastScaleOutMs,
      lastScaleInMs: cooldown?.lastScaleInMs,
      scaleInAllowed: input.trigger !== 'alarm' && !placed.some((p) => p.demandMissing),
      policy: config.policy,
    });
    recommendations[group.name] = decision.recommendations;
    if (decision.desiredNodes !== state.desiredNodes) {
      const why = placed.map((p) => `${p.service}: ${p.pods} pods (${p.reason})`).join('; ');
      const command: ScaleNodeGroupCommand = {
        kind: 'scale-node-group',
        cluster: config.cluster.name,
        nodeGroup: group.name,
        fromNodes: state.desiredNodes,
        toNodes: decision.desiredNodes,
        reason: `${decision.reason}${why === '' ? '' : ` — ${why}`}`,
      };
      commands.push(command);
    }
  }
  return {
    commands: sortCommands(commands),
    memory: { recommendations, raisedFloors: input.memory.raisedFloors },
    services: servicePlans.map(({ demandMissing: _missing, ...rest }) => rest),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
