/**
 * plan(observed, forecasts, config, now) → commands, each with a reason.
 * Pure: the pipeline hands it what it observed and what it remembered.
 */
import type { PrescaleConfig, ServiceConfig, NodeGroupConfig } from '../../config/schema.ts';
import type { Command, ScaleNodeGroupCommand } from '../commands.ts';
import { sortCommands } from '../commands.ts';
import type { DemandHistory, Forecast } from '../forecast/types.ts';
import type { CooldownState, DemandSighting, HpaState, NodeGroupState, PlannerMemory } from '../../ports.ts';
import { reactiveFloorPods } from './hpa.ts';
import { demandNeed, metricKey, observationLagMs, observedDemandAt, reactiveReading, readsGapsAsZero, settleMsOf } from './demand.ts';
import { levelToRead, rememberedCalibration, resolvePending, withPending, type Calibration } from './calibration.ts';
import { clamp, decideNodeGroup, scaleInDelayAfterScaleOutMinutes } from './nodegroup.ts';
import { packServices, podsPerNode } from './packing.ts';
import { floorKey, observedFloors, observedRaisedOver } from './floors.ts';
import { accrueCostCeiling, ceiledServiceLevel, isCostCeilingPriced, lowestShift, rememberedCostCeiling, shadowServicePods, shadowTargetUtilization, type CostCeiling } from './cost-ceiling.ts';

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
  /**
   * Node prices for choosing between groups, one for every configured group
   * (a missing one is a programming error, not a free group). Absent: the
   * config's usdPerHour, or 0.
   */
  readonly usdPerHourByGroup?: Readonly<Record<string, number>>;
}

/** How demand now was known: a datapoint, a gap read as zero (missingData: zero), or not at all (capacity held). */
export type DemandState = 'observed' | 'inferred-zero' | 'unknown';

export interface ServicePlan {
  readonly service: string;
  readonly demandNow: number | undefined;
  readonly demandState: DemandState;
  readonly forecastPeak: number | undefined;
  readonly pods: number;
  /** Pods the forecast alone asks for at the horizon (for predictive HPA floors). */
  readonly forecastPods: number | undefined;
  readonly reason: string;
}

export interface PlanOutput {
  readonly commands: Command[];
  /** `raisedFloors`: the floors prescale holds as observed, intents resolved; the pipeline adds what `act` did (floorMemoryAfter). */
  readonly memory: PlannerMemory;
  readonly services: readonly ServicePlan[];
}

/** Minutes from a decision to the moment the capacity it buys serves: node boot + pod start + the wait for the next run. */
export function decisionHorizonMinutes(group: NodeGroupConfig, service: ServiceConfig, scheduleMinutes: number): number {
  return group.bootMinutes + service.podStartMinutes + scheduleMinutes;
}


/** The service level a service is planned and calibrated for: its own, or the policy's. */
export function serviceLevelOf(config: PrescaleConfig, service: ServiceConfig): number {
  return service.serviceLevel ?? config.policy.serviceLevel;
}

/**
 * The longest of each service's decision horizons over its groups: capacity
 * bought on the slowest-booting allowed group must still arrive in time.
 */
export function serviceHorizonMinutes(config: PrescaleConfig, service: ServiceConfig): number {
  return Math.max(...service.nodeGroups.map((name) => decisionHorizonMinutes(config.nodeGroups.find((g) => g.name === name)!, service, config.policy.scheduleMinutes)));
}

function planService(
  input: PlanInput,
  service: ServiceConfig,
  observation: ServiceObservation | undefined,
  groupState: NodeGroupState | undefined,
  /** The cost ceiling's logit shift (0 when it is off). */
  levelShift: number,
  /** The ceiling is configured but some service's HPA has no CPU or memory target to price. */
  ceilingUnpriceable: boolean,
): ServicePlan & { calibration: Calibration; keepPods: number; demandSeen: DemandSighting | undefined; shadowPods: number | undefined } {
  const { config, nowMs } = input;
  // The preferred group sizes the HPA ratio when no HPA is observed (the backtest's one-group fleet).
  const group = config.nodeGroups.find((g) => g.name === service.nodeGroups[0])!;
  const perNode = Math.max(1, podsPerNode(service.requests, group.allocatable));
  const currentPods = observation?.hpa?.currentReplicas ?? (groupState?.readyNodes ?? 0) * perNode;
  const horizon = serviceHorizonMinutes(config, service);
  const forecast = input.trigger === 'alarm' ? undefined : input.forecasts.get(service.name);
  const configuredLevel = serviceLevelOf(config, service);
  const targetLevel = ceiledServiceLevel(configuredLevel, levelShift);
  const previous = rememberedCalibration(input.memory.calibration?.[service.name], targetLevel, config.policy.serviceLevel);
  // A partial Sum is not demand: only settled periods count (a no-op when the pipeline already cut them).
  const metric = service.demand.metric;
  const key = metricKey(metric);
  const sighting = rememberedSighting(input.memory.demandSeen?.[service.name], key, nowMs);
  const reading = observation === undefined ? undefined : reactiveReading(observation.recentDemand, metric, nowMs, sighting);
  const recent = reading?.settled;
  const demandSeenMs = metric.missingData === 'zero' ? latestOf(reading?.latestDatapointMs, sighting) : undefined;
  // Calibration and the forecast's level correction score datapoints only, never a gap read as zero.
  const calibration =
    recent === undefined ? previous : resolvePending(previous, targetLevel, (startMs) => observedDemandAt(recent, startMs, nowMs), recent.startMs);
  const readLevel = levelToRead(calibration);
  const need =
    recent === undefined
      ? { forecastNeed: undefined, keepNeed: undefined, levelOffset: 0, periodsAhead: 0, nextPeriod: undefined }
      : demandNeed({ history: recent, forecast, serviceLevel: readLevel, nowMs, horizonMinutes: horizon, observationLagMs: observationLagMs(metric.stat, recent.stepSeconds, settleMsOf(metric)) });
  const nextCalibration = withPending(calibration, need.nextPeriod?.startMs, need.nextPeriod?.value);
  const hpa = observation?.hpa;
  const since = demandSeenMs === undefined ? '' : ` since ${new Date(demandSeenMs).toISOString().slice(0, 16)}Z`;
  // A zero read from a gap is an inference, guarded by the pods the HPA runs; with no HPA to read there is no
  // guard (nodes say nothing about one service's pods on a shared group), so the gap stays unknown.
  const inferredZero = reading?.inferredZero ?? false;
  const unguardedZero = inferredZero && !readsGapsAsZero(metric, hpa !== undefined);
  const demandNow = unguardedZero ? undefined : reading?.demandNow;
  const settlingAtLeast = reading?.settlingAtLeast;
  const peak = need.forecastNeed;
  const reasons: string[] = [];
  let pods = service.hpa.minReplicas;
  let forecastPods: number | undefined;
  const reactiveDemand = settlingAtLeast ?? demandNow;
  if (ceilingUnpriceable && shadowTargetUtilization(service.hpa) === undefined) reasons.push('its HPA scales on no CPU or memory target: the reactive cost ceiling cannot price the baseline and is off');
  if (targetLevel < configuredLevel) reasons.push(`service level ${configuredLevel} → ${round(targetLevel)}: spend above the HPA + Cluster Autoscaler shadow's (reactive cost ceiling)`);
  if (unguardedZero) reasons.push(`no datapoint${since}: a gap reads as 0 (missingData: zero) only beside the HPA's replicas, and none is readable`);
  if (reactiveDemand === undefined) {
    reasons.push('no recent demand data: holding capacity');
  } else {
    const floor = reactiveFloorPods(reactiveDemand, service.demand.perPod, config.policy.reactiveTargetUtilization, currentPods);
    pods = Math.max(pods, floor);
    // A Sum still settling counts at least what it holds so far: the floor may rise on it, never fall.
    reasons.push(`demand ${settlingAtLeast === undefined ? '' : '≥ '}${round(reactiveDemand)}${settlingAtLeast === undefined ? '' : ' in a period still settling'} → reactive floor ${floor} pods`);
    if (demandNow === undefined) reasons.push('no settled demand data: holding capacity');
  }
  if (inferredZero && hpa !== undefined) {
    // …never taking nodes from the pods the HPA runs, so a metric that moved cannot evict a service with traffic.
    pods = Math.max(pods, hpa.currentReplicas);
    reasons.push(`no datapoint${since}: read as 0 (missingData: zero), keeping the ${hpa.currentReplicas} pods its HPA runs`);
  }
  if (peak !== undefined) {
    forecastPods = Math.ceil(peak / service.demand.perPod);
    pods = Math.max(pods, forecastPods);
    const offset = need.levelOffset === 0 ? '' : ` (level ${need.levelOffset > 0 ? '+' : ''}${round(need.levelOffset)})`;
    reasons.push(`p${round(readLevel * 100)} forecast ${round(peak)}${offset} within ${horizon} min → ${forecastPods} pods`);
  }
  pods = clamp(pods, service.hpa.minReplicas, service.hpa.maxReplicas);
  // The shadow HPA reads settled data only: a Sum still settling raises prescale's floor, not the baseline's.
  const shadowPods = shadowServicePods(service, demandNow, recent, nowMs, observationLagMs(metric.stat, metric.periodSeconds, settleMsOf(metric)));
  const keepPods = need.keepNeed === undefined ? pods : clamp(Math.max(pods, Math.ceil(need.keepNeed / service.demand.perPod)), service.hpa.minReplicas, service.hpa.maxReplicas);
  return {
    service: service.name,
    demandNow,
    demandState: demandNow === undefined ? 'unknown' : inferredZero ? 'inferred-zero' : 'observed',
    forecastPeak: peak,
    pods,
    keepPods,
    forecastPods,
    reason: reasons.join('; '),
    calibration: nextCalibration,
    demandSeen: demandSeenMs === undefined ? undefined : { metric: key, atMs: demandSeenMs },
    shadowPods,
  };
}

/** A spot group that cannot supply more: not ACTIVE, or already at its maximum. */
export function isSpotShort(group: NodeGroupConfig, state: NodeGroupState | undefined): boolean {
  return group.capacityType === 'spot' && (state === undefined || state.status !== 'ACTIVE' || state.desiredNodes >= group.maxNodes);
}

/**
 * Predictive HPA floors: while the forecast asks for more pods than the
 * configured minimum, minReplicas is raised to match, so pods are scheduled
 * on the nodes bought for the ramp instead of waiting for HPA to notice it;
 * once the forecast falls back, the configured value is restored.
 * `heldFloor`: the live minReplicas when prescale holds it (lib/core/plan/floors.ts),
 * undefined when someone else set it. `raisedOver`: someone else's floor
 * prescale raised over, which the ramp's end restores instead of the
 * configured one. A raise over a floor someone else set above the configured
 * one carries that floor (`raisedOverMinReplicas`) for the memory to keep.
 */
export function planHpaFloor(
  service: ServiceConfig,
  hpa: HpaState | undefined,
  forecastPods: number | undefined,
  heldFloor: number | undefined,
  raisedOver?: number,
): { toMinReplicas: number; reason: string; raisedOverMinReplicas?: number } | undefined {
  if (hpa === undefined) return undefined;
  const configured = service.hpa.minReplicas;
  const base = clamp(Math.max(configured, raisedOver ?? configured), configured, service.hpa.maxReplicas);
  const wanted = clamp(Math.max(base, forecastPods ?? base), configured, service.hpa.maxReplicas);
  if (wanted > hpa.minReplicas) {
    const over = heldFloor !== hpa.minReplicas && hpa.minReplicas > configured ? { raisedOverMinReplicas: hpa.minReplicas } : {};
    return { toMinReplicas: wanted, reason: `forecast needs ${wanted} pods within the horizon: floor ${hpa.minReplicas} → ${wanted}`, ...over };
  }
  // Only lower a floor prescale holds (the live value is the one it set); someone else's minReplicas is theirs.
  if (heldFloor === hpa.minReplicas && wanted < hpa.minReplicas) {
    const to = wanted === configured ? ` restored to the configured ${configured}` : wanted === base ? ` restored to the ${base} it was raised over (someone else's: theirs again)` : undefined;
    return { toMinReplicas: wanted, reason: to === undefined ? `forecast eases to ${wanted} pods: floor ${hpa.minReplicas} → ${wanted}` : `ramp over: floor ${hpa.minReplicas}${to}` };
  }
  return undefined;
}

function packingUsdPerHour(group: NodeGroupConfig, usdPerHourByGroup: PlanInput['usdPerHourByGroup']): number {
  if (usdPerHourByGroup === undefined) return group.usdPerHour ?? 0;
  const usdPerHour = usdPerHourByGroup[group.name];
  if (usdPerHour === undefined) throw new Error(`plan: usdPerHourByGroup has no price for node group "${group.name}"`);
  return usdPerHour;
}

export function plan(input: PlanInput): PlanOutput {
  const { config, nowMs } = input;
  const groupStates = new Map(input.nodeGroups.map((g) => [g.name, g]));
  const observations = new Map(input.services.map((s) => [s.service, s]));
  // Every service's HPA must scale on CPU or memory for the baseline to be priced; otherwise the ceiling is off, not frozen.
  const ceilingUnpriceable = config.policy.costCeiling === 'reactive' && !isCostCeilingPriced(config);
  const rememberedCeiling = rememberedCostCeiling(input.memory.costCeiling, nowMs);
  // An alarm run does not start a ceiling: the next scheduled run rehearses one (lib/pipeline/rehearse.ts).
  const ceiling = isCostCeilingPriced(config) && (rememberedCeiling !== undefined || input.trigger !== 'alarm') ? accruedCostCeiling(config, rememberedCeiling, nowMs) : undefined;
  const servicePlans = config.services.map((service) =>
    planService(input, service, observations.get(service.name), groupStates.get(service.nodeGroups[0]!), ceiling?.shift ?? 0, ceilingUnpriceable),
  );
  const groupsForPacking = config.nodeGroups.map((g) => ({
    name: g.name,
    allocatable: g.allocatable,
    capacityType: g.capacityType,
    usdPerHour: packingUsdPerHour(g, input.usdPerHourByGroup),
    maxNodes: g.maxNodes,
    short: isSpotShort(g, groupStates.get(g.name)),
  }));
  // servicePlans[i] is config.services[i].
  const packPods = (podsOf: (p: (typeof servicePlans)[number]) => number) =>
    packServices(
      config.services.map((service, i) => ({ name: service.name, pods: podsOf(servicePlans[i]!), request: service.requests, groups: service.nodeGroups })),
      groupsForPacking,
      config.policy.spotShare,
    );
  const packing = packPods((p) => p.pods);
  // The same packing for the pods the next period still claims: what scale-in must leave standing.
  // Packed on its own because packing is not additive (spot share, waste-based group choice, FFD across services).
  const keepPacking = packPods((p) => p.keepPods);
  // The shadow HPA's pods packed as prescale packs its own; unknown while any service's demand is.
  const shadowPacking = ceiling === undefined || servicePlans.some((p) => p.shadowPods === undefined) ? undefined : packPods((p) => p.shadowPods!);
  const commands: Command[] = [];
  const recommendations: Record<string, readonly (readonly [number, number])[]> = {};
  const decidedNodes = new Map<string, number>();
  for (const group of config.nodeGroups) {
    const state = groupStates.get(group.name);
    if (state === undefined) continue;
    const cooldown = input.cooldowns.get(group.name);
    // Any group a service with unknown demand may use, not only where this plan packs it: a plan made without its
    // demand may move it, and the group it leaves must not release the nodes it may still be running on.
    const unknownHere = servicePlans.filter((p, i) => p.demandState === 'unknown' && config.services[i]!.nodeGroups.includes(group.name)).map((p) => p.service);
    const scaleInBlockedBy = input.trigger === 'alarm' ? 'an alarm run only scales out' : unknownHere.length > 0 ? `demand unknown for ${unknownHere.join(', ')}` : undefined;
    const decision = decideNodeGroup({
      nowMs,
      currentDesiredNodes: state.desiredNodes,
      recommendedNodes: packing.nodesByGroup.get(group.name) ?? 0,
      keepNodes: keepPacking.nodesByGroup.get(group.name) ?? 0,
      minNodes: group.minNodes,
      maxNodes: group.maxNodes,
      recentRecommendations: input.memory.recommendations[group.name] ?? [],
      lastScaleOutMs: cooldown?.lastScaleOutMs,
      lastScaleInMs: cooldown?.lastScaleInMs,
      scaleInDelayAfterScaleOutMinutes: scaleInDelayAfterScaleOutMinutes(group.bootMinutes),
      scaleInBlockedBy,
      policy: config.policy,
    });
    recommendations[group.name] = decision.recommendations;
    decidedNodes.set(group.name, decision.desiredNodes);
    if (decision.desiredNodes !== state.desiredNodes) {
      const why = packing.placements
        .filter((p) => p.group === group.name)
        .map((p) => `${p.service}: ${p.pods} pods (${servicePlans.find((s) => s.service === p.service)!.reason})`)
        .join('; ');
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
  // What prescale holds as the cluster shows it; the pipeline records what the commands below do (floorMemoryAfter).
  const raisedFloors = observedFloors(input.memory, input.services.flatMap((s) => (s.hpa === undefined ? [] : [s.hpa])));
  const floorsRaisedOver = observedRaisedOver(input.memory, raisedFloors);
  if (config.policy.predictiveHpaFloors && input.trigger !== 'alarm') {
    for (const [i, plan] of servicePlans.entries()) {
      const service = config.services[i]!;
      const hpa = observations.get(service.name)?.hpa;
      const key = floorKey(service.namespace, service.name);
      const floor = planHpaFloor(service, hpa, plan.forecastPods, raisedFloors[key], floorsRaisedOver[key]);
      if (floor === undefined || hpa === undefined) continue;
      commands.push({
        kind: 'set-hpa-floor',
        cluster: config.cluster.name,
        namespace: service.namespace,
        service: service.name,
        fromMinReplicas: hpa.minReplicas,
        toMinReplicas: floor.toMinReplicas,
        reason: floor.reason,
        ...(floor.raisedOverMinReplicas === undefined ? {} : { raisedOverMinReplicas: floor.raisedOverMinReplicas }),
      });
    }
  }
  // Pods no allowed group can hold buy nothing; the decision log says so.
  const unplaced = new Map(packing.unplaced.map((u) => [u.service, u.pods]));
  const { floorIntents: _resolved, ...remembered } = input.memory;
  return {
    commands: sortCommands(commands),
    memory: {
      ...remembered,
      recommendations,
      raisedFloors,
      floorsRaisedOver,
      calibration: Object.fromEntries(servicePlans.map((p) => [p.service, p.calibration])),
      demandSeen: demandSeenMemory(servicePlans),
      costCeiling: ceiling === undefined ? undefined : { ...ceiling, ...pricedRates(config, decidedNodes, shadowPacking?.nodesByGroup, input.usdPerHourByGroup) },
    },
    services: servicePlans.map(({ calibration: _calibration, keepPods: _keepPods, demandSeen: _seen, shadowPods: _shadow, ...rest }) =>
      unplaced.has(rest.service) ? { ...rest, reason: `${rest.reason}; ${unplaced.get(rest.service)} pods fit on none of its node groups` } : rest,
    ),
  };
}

/**
 * The cost ceiling brought up to `nowMs` for this config: its floor reads the
 * highest configured level at 0.5, and a long schedule accrues up to two
 * intervals. A run and an approval accrue it alike.
 */
export function accruedCostCeiling(config: PrescaleConfig, remembered: CostCeiling | undefined, nowMs: number): CostCeiling {
  return accrueCostCeiling(remembered, nowMs, lowestShift(config.services.map((s) => serviceLevelOf(config, s))), config.policy.scheduleMinutes);
}

/**
 * This run's spend rates for the cost ceiling: the nodes decided for each
 * observed group, and the shadow's nodes within the group's bounds (Cluster
 * Autoscaler keeps them too), at the prices packing used. Both 0 when the
 * shadow is unknown, so the time until the next run accrues nothing.
 */
function pricedRates(
  config: PrescaleConfig,
  decidedNodes: ReadonlyMap<string, number>,
  shadowNodes: ReadonlyMap<string, number> | undefined,
  usdPerHourByGroup: PlanInput['usdPerHourByGroup'],
): Pick<CostCeiling, 'ourUsdPerHour' | 'reactiveUsdPerHour'> {
  if (shadowNodes === undefined) return { ourUsdPerHour: 0, reactiveUsdPerHour: 0 };
  let ourUsdPerHour = 0;
  let reactiveUsdPerHour = 0;
  for (const group of config.nodeGroups) {
    const ours = decidedNodes.get(group.name);
    if (ours === undefined) continue;
    const usdPerHour = packingUsdPerHour(group, usdPerHourByGroup);
    ourUsdPerHour += ours * usdPerHour;
    reactiveUsdPerHour += clamp(shadowNodes.get(group.name) ?? 0, group.minNodes, group.maxNodes) * usdPerHour;
  }
  return { ourUsdPerHour, reactiveUsdPerHour };
}

/** Memory of when each missingData-zero service's metric last had a datapoint; undefined when no service reads gaps as zero. */
function demandSeenMemory(servicePlans: readonly { readonly service: string; readonly demandSeen: DemandSighting | undefined }[]): PlannerMemory['demandSeen'] {
  const seen = servicePlans.flatMap((p) => (p.demandSeen === undefined ? [] : [[p.service, p.demandSeen] as const]));
  return seen.length === 0 ? undefined : Object.fromEntries(seen);
}

/**
 * A remembered sighting, trusted only for the metric it was made on (a
 * changed dimension is a new series, never seen) and only if it is a time
 * not after now (memory is data read back from a store).
 */
export function rememberedSighting(remembered: unknown, metric: string, nowMs: number): number | undefined {
  if (typeof remembered !== 'object' || remembered === null) return undefined;
  const { metric: key, atMs } = remembered as Record<string, unknown>;
  return key === metric && typeof atMs === 'number' && Number.isFinite(atMs) && atMs <= nowMs ? atMs : undefined;
}

/** The later of two times, either of which may be unknown. */
function latestOf(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
