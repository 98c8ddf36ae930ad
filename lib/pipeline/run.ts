/**
 * The one loop every entry point runs:
 * lease → observe → forecast → plan → guard → act → record.
 * Handlers and the backtest differ only in the ports they pass and the trigger.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { DriftCheck } from '../approval/slack-approval.ts';
import type { PrescaleConfig, ServiceConfig } from '../config/schema.ts';
import type { BudgetOverride } from '../core/budget/guard.ts';
import { fleetUsdPerHour, planCost } from '../core/budget/cost.ts';
import { bundledPriceTable, nodeGroupPricesUsdPerHour } from '../core/budget/prices.ts';
import { pendingPlanMessage, type PlanCostSummary } from '../slack/messages.ts';
import { budgetStage, postAlertsForLedger, type BudgetStageInput, type MonthSpend } from './budget.ts';
import type { Command, GuardedCommand, ScaleNodeGroupCommand } from '../core/commands.ts';
import { commandTarget, isNoOp } from '../core/commands.ts';
import type { DemandHistory, Forecast, Forecaster } from '../core/forecast/types.ts';
import { historyEndMs, STANDARD_LEVELS } from '../core/forecast/types.ts';
import { FINE_SPREAD_DAYS } from '../core/forecast/prepare.ts';
import { choosePeriodSeconds } from '../core/cloudwatch-retention.ts';
import { floorRaiseGroups, guard, holdFloorsWithTheirNodes } from '../core/guard.ts';
import type { ServiceObservation, ServicePlan, Trigger } from '../core/plan/plan.ts';
import { accruedCostCeiling, plan, serviceHorizonMinutes, serviceLevelOf } from '../core/plan/plan.ts';
import { demandAsRead, readsGapsAsZero } from '../core/plan/demand.ts';
import { isCostCeilingPriced, rememberedCostCeiling, withOurRate } from '../core/plan/cost-ceiling.ts';
import { floorIntents, floorMemoryAfter, floorsRaisedOverBy } from '../core/plan/floors.ts';
import { rehearseCostCeiling } from './rehearse.ts';
import { errorMessage, isPrescaleError, PrescaleError, reportedError, settledOrThrow } from '../errors.ts';
import type {
  AuditEntry,
  CapacityActuator,
  Clock,
  CooldownState,
  DecisionRecord,
  DesiredNodesSet,
  Lease,
  ManifestApplier,
  MetricsSource,
  NodeGroupState,
  Notifier,
  PendingPlan,
  PlannerMemory,
  StateStore,
} from '../ports.ts';
import { compareStrings } from '../core/canonical.ts';

const MINUTE_MS = 60_000;
/** Demand points every run reads for the reactive floor. */
const RECENT_DEMAND_MINUTES = 30;
/** …and at least this many metric periods, for coarse metrics. */
const RECENT_DEMAND_PERIODS = 6;
/** A run holds the cluster lease at most this long; a crashed run frees it by expiry. */
export const LEASE_TTL_MS = 2 * MINUTE_MS;

export interface PipelinePorts {
  readonly clock: Clock;
  readonly metrics: MetricsSource;
  readonly capacity: CapacityActuator;
  readonly manifests: ManifestApplier | undefined;
  readonly state: StateStore;
  readonly forecaster: Forecaster;
  /** Where approval requests and budget alerts go; none in backtests. */
  readonly notifier?: Notifier | undefined;
}

export interface RunOptions {
  readonly trigger: Trigger;
  /** Who or what started the run (audit actor), e.g. `scheduled`, `alarm:high-utilisation`. */
  readonly actor: string;
  /** A unique id for the lease owner (the Lambda request id). */
  readonly runId: string;
  /** Plan and guard only: no command is carried out. */
  readonly dryRun?: boolean;
  /** An operator's budget override (emergency): recorded with its reason. */
  readonly override?: BudgetOverride | undefined;
  /** false: a cost ceiling missing from memory starts cold instead of rehearsed (the rehearsal's own runs). */
  readonly rehearse?: boolean;
  /**
   * True when the invocation has too little time left to send another
   * command and record it: the rest are requeued, never cut off mid-call.
   */
  readonly outOfTime?: () => boolean;
}

export interface CommandOutcome {
  readonly guarded: GuardedCommand;
  readonly result: AuditEntry['result'];
  readonly message: string | undefined;
  /**
   * What the cloud actually changed when the result is `applied`: the
   * guarded command, or less of it when the cloud's live bounds clamped it.
   */
  readonly applied?: Command;
  /** A state write that failed after the change was made (the change stands; only its bookkeeping is missing). */
  readonly bookkeepingError?: string;
}

export interface RunResult {
  readonly cluster: string;
  readonly atMs: number;
  readonly trigger: Trigger;
  readonly status: 'done' | 'lease-held';
  readonly outcomes: readonly CommandOutcome[];
  readonly forecasts: ReadonlyMap<string, Forecast>;
  readonly forecastModel: string | undefined;
  /** The plan waiting for a human, when the guard asked for approval. */
  readonly pendingPlan: PendingPlan | undefined;
  /** Services whose demand now is unknown (capacity held for them), and those read as zero from a gap; sorted. */
  readonly demandUnknown: readonly string[];
  readonly demandInferredZero: readonly string[];
  /** The cost ceiling's rehearsal (lib/pipeline/rehearse.ts), when this run found none in memory and tried one. */
  readonly costCeilingRehearsal?: CostCeilingRehearsal;
  /**
   * Refits whose read of their finer days failed (readsFinerDays), sorted by
   * service: their quantiles cover the window's coarse means until the next
   * refit. Absent when none failed.
   */
  readonly finerReadsFailed?: readonly FinerReadFailure[];
  /** Why the budget alert due could not be posted (the next run posts it again); absent when it was, or none was due. */
  readonly budgetAlertNotPosted?: string;
  /** Why the plan awaiting approval could not be posted to Slack (stored; the next run posts it again); absent when it was. */
  readonly approvalNotPosted?: string;
}

export interface FinerReadFailure {
  readonly service: string;
  readonly error: string;
}

export type CostCeilingRehearsal =
  | { readonly outcome: 'rehearsed'; readonly runs: number; readonly spanMinutes: number; readonly shift: number }
  /** No history to rehearse on, or it priced nothing: the ceiling starts cold. */
  | { readonly outcome: 'nothing-to-rehearse' }
  /** Reading the history, or saving the cold ceiling first, failed: the ceiling starts cold, and the run goes on. */
  | { readonly outcome: 'failed'; readonly error: string };

/** The forecast must reach this far past now: the refit cadence plus the longest decision horizon. */
export function forecastHorizonMinutes(config: PrescaleConfig, service: ServiceConfig): number {
  return config.policy.refitMinutes + serviceHorizonMinutes(config, service) + 1;
}

/** Every level calibration may move to, besides the standard ones and the configured level. */
const CALIBRATION_LEVELS = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.925, 0.95, 0.975, 0.99, 0.995];

export function forecastLevels(serviceLevel: number): number[] {
  return [...new Set([...STANDARD_LEVELS, ...CALIBRATION_LEVELS, serviceLevel])].sort((a, b) => a - b);
}

async function observeServices(config: PrescaleConfig, ports: PipelinePorts, nowMs: number): Promise<ServiceObservation[]> {
  const hpasByKey = new Map<string, Awaited<ReturnType<ManifestApplier['describeHpas']>>[number]>();
  if (ports.manifests !== undefined) {
    const namespaces = [...new Set(config.services.map((s) => s.namespace))].sort();
    for (const namespace of namespaces) {
      const names = config.services.filter((s) => s.namespace === namespace).map((s) => s.name);
      for (const hpa of await ports.manifests.describeHpas(namespace, names)) hpasByKey.set(`${hpa.namespace}/${hpa.name}`, hpa);
    }
  }
  const recent = await ports.metrics.getDemandMany(
    config.services.map((service) => {
      const windowMs = Math.max(RECENT_DEMAND_MINUTES * MINUTE_MS, RECENT_DEMAND_PERIODS * service.demand.metric.periodSeconds * 1000);
      // endMs is exclusive: + 1 ms includes the minute in progress.
      return { query: service.demand.metric, startMs: nowMs - windowMs, endMs: nowMs + 1 };
    }),
  );
  // As read: the planner keeps only the periods that count as observed (observedHistory).
  return config.services.map((service, i) => ({ service: service.name, recentDemand: settledOrThrow(recent[i]!), hpa: hpasByKey.get(`${service.namespace}/${service.name}`) }));
}

/**
 * Whether a refit also reads its last FINE_SPREAD_DAYS at the metric's own
 * period: when retention will serve the window coarser, in whole multiples
 * of that period (a minute of slack: the adapter reads its own, later,
 * clock), and the statistic's coarse value is the mean of its periods'
 * (Average, or a Sum or SampleCount scaled back per period). A coarse
 * Maximum or percentile already stands above its minutes; widening it by
 * their spread would count that twice.
 */
export function readsFinerDays(metric: Pick<ServiceConfig['demand']['metric'], 'stat' | 'periodSeconds'>, windowStartMs: number, nowMs: number): boolean {
  const servedSeconds = choosePeriodSeconds(metric.periodSeconds, windowStartMs - MINUTE_MS, nowMs);
  return servedSeconds > metric.periodSeconds && servedSeconds % metric.periodSeconds === 0 && /^(average|sum|samplecount)$/i.test(metric.stat);
}

/**
 * A cached forecast is reused until the refit cadence is due or it no longer
 * reaches the decision horizon; a Lambda refits once an hour, not every minute.
 */
async function forecastServices(
  config: PrescaleConfig,
  ports: PipelinePorts,
  nowMs: number,
  observed: readonly ServiceObservation[],
): Promise<{ forecasts: Map<string, Forecast>; windows: Map<string, DemandHistory>; finerReadsFailed: FinerReadFailure[] }> {
  const hpaReadable = new Set(observed.filter((o) => o.hpa !== undefined).map((o) => o.service));
  const cacheKey = (service: ServiceConfig) => `demand/${service.name}`;
  const cachedForecasts: (Forecast | undefined)[] = [];
  for (const service of config.services) {
    const cached = await ports.state.getForecastCache(config.cluster.name, cacheKey(service));
    const stepMs = service.demand.metric.periodSeconds * 1000;
    const fresh =
      cached !== undefined &&
      nowMs - cached.fittedAtMs < config.policy.refitMinutes * MINUTE_MS &&
      cached.forecast.startMs + cached.forecast.point.length * stepMs >= nowMs + (forecastHorizonMinutes(config, service) - config.policy.refitMinutes) * MINUTE_MS;
    cachedForecasts.push(fresh ? cached.forecast : undefined);
  }
  // The services to refit read their history in one batch (the same window for all)…
  const stale = config.services.filter((_, i) => cachedForecasts[i] === undefined);
  const windowStartMs = nowMs - config.policy.historyDays * 1440 * MINUTE_MS;
  // …and, where retention serves that window coarser than the metric's period, its last days at the period too.
  const finer = stale.filter((service) => readsFinerDays(service.demand.metric, windowStartMs, nowMs));
  // Only a window longer than retention's 15 days of minutes is read coarser, so these days lie inside it.
  const fineStartMs = nowMs - FINE_SPREAD_DAYS * 1440 * MINUTE_MS;
  const histories = await ports.metrics.getDemandMany([
    ...stale.map((service) => ({ query: service.demand.metric, startMs: windowStartMs, endMs: nowMs + 1 })),
    ...finer.map((service) => ({ query: service.demand.metric, startMs: fineStartMs, endMs: nowMs + 1 })),
  ]);
  const historyOf = new Map(stale.map((service, i) => [service.name, histories[i]!]));
  const fineHistoryOf = new Map(finer.map((service, i) => [service.name, histories[stale.length + i]!]));
  const forecasts = new Map<string, Forecast>();
  // The windows as read, for a rehearsal to reuse.
  const windows = new Map<string, DemandHistory>();
  const finerReadsFailed: FinerReadFailure[] = [];
  for (const [i, service] of config.services.entries()) {
    const cached = cachedForecasts[i];
    if (cached !== undefined) {
      forecasts.set(service.name, cached);
      continue;
    }
    // A partial last Sum would read as a drop, and the level models follow their last points;
    // a counting metric's gaps are idle periods (missingData: zero), not holes to bridge.
    // Gaps read as zero by the planner's own rule (readsGapsAsZero), or stay gaps.
    const metric = { ...service.demand.metric, missingData: readsGapsAsZero(service.demand.metric, hpaReadable.has(service.name)) ? ('zero' as const) : ('missing' as const) };
    const window = settledOrThrow(historyOf.get(service.name)!);
    windows.set(service.name, window);
    const history = demandAsRead(window, metric, nowMs);
    // The finer days only widen the quantiles: a failed read leaves them as the window gives them, not the run undone.
    const fine = fineHistoryOf.get(service.name);
    const fineHistory = fine?.status === 'fulfilled' ? demandAsRead(fine.value, metric, nowMs) : undefined;
    if (fine?.status === 'rejected') finerReadsFailed.push({ service: service.name, error: reportedError(fine.reason) });
    // A settled history ends before now: the forecast starts there and must still reach the horizon.
    const unobservedMs = Math.max(0, nowMs - historyEndMs(history));
    const horizonSteps = Math.ceil((forecastHorizonMinutes(config, service) * MINUTE_MS + unobservedMs) / (service.demand.metric.periodSeconds * 1000)) + 1;
    const forecast = ports.forecaster.forecast({
      history,
      horizonSteps,
      levels: forecastLevels(serviceLevelOf(config, service)),
      calendar: config.calendar,
      ...(fineHistory === undefined ? {} : { fineHistory }),
    });
    await ports.state.putForecastCache(config.cluster.name, cacheKey(service), { fittedAtMs: nowMs, forecast });
    forecasts.set(service.name, forecast);
  }
  return { forecasts, windows, finerReadsFailed: finerReadsFailed.sort((a, b) => compareStrings(a.service, b.service)) };
}

/** A skipped scale whose group already has the count: done, not withheld. */
export const ALREADY_AT_DESIRED_COUNT = 'already at the desired count';

interface ActResult {
  readonly result: AuditEntry['result'];
  readonly message: string | undefined;
  readonly applied: Command | undefined;
}

/**
 * A node-group scale's result from what the cloud left. The cloud clamps
 * desired to its own live bounds, which someone may have narrowed below the
 * configured ones, so the count asked for is not always the count set: the
 * result says which, and `applied` carries the count that was.
 */
export function scaleResult(command: ScaleNodeGroupCommand, set: DesiredNodesSet): ActResult {
  if (set.desiredNodes === command.toNodes) return { result: 'applied', message: undefined, applied: command };
  const bounds = `the node group's live bounds [${set.minNodes}, ${set.maxNodes}]`;
  if (set.desiredNodes === command.fromNodes) return { result: 'skipped', message: `${bounds} keep it at ${set.desiredNodes} (asked ${command.toNodes})`, applied: undefined };
  return { result: 'applied', message: `${bounds} limited it to ${set.desiredNodes} (asked ${command.toNodes})`, applied: { ...command, toNodes: set.desiredNodes } };
}

/**
 * Carries out one allowed command after re-reading the state it was planned
 * on: if someone else moved the node group meanwhile, the plan is stale and
 * the command is skipped (the next run plans from the new state).
 */
async function actOne(command: Command, config: PrescaleConfig, ports: PipelinePorts): Promise<ActResult> {
  switch (command.kind) {
    case 'scale-node-group': {
      const [fresh] = await ports.capacity.describeNodeGroups(config.cluster.name, [command.nodeGroup]);
      if (fresh === undefined) return { result: 'failed', message: `node group ${command.nodeGroup} not found`, applied: undefined };
      if (fresh.desiredNodes === command.toNodes) return { result: 'skipped', message: ALREADY_AT_DESIRED_COUNT, applied: undefined };
      if (fresh.desiredNodes !== command.fromNodes) return { result: 'skipped', message: `stale plan: desired moved from ${command.fromNodes} to ${fresh.desiredNodes} since observed`, applied: undefined };
      return scaleResult(command, await ports.capacity.setDesiredNodes(config.cluster.name, command.nodeGroup, command.toNodes));
    }
    case 'set-hpa-floor': {
      if (ports.manifests === undefined) return { result: 'skipped', message: 'no manifest applier configured', applied: undefined };
      await ports.manifests.setHpaMinReplicas(command.namespace, command.service, command.toMinReplicas);
      return { result: 'applied', message: undefined, applied: command };
    }
    case 'apply-manifest': {
      if (ports.manifests === undefined) return { result: 'skipped', message: 'no manifest applier configured', applied: undefined };
      const [outcome] = await ports.manifests.apply([command.manifest as never], { fieldManager: 'prescale', force: false });
      const failed = outcome?.outcome === 'failed';
      return { result: failed ? 'failed' : 'applied', message: outcome?.message, applied: failed ? undefined : command };
    }
    case 'set-alb-weights':
      return { result: 'skipped', message: 'ALB weights are set by the reweight function', applied: undefined };
  }
}

function beforeAfter(command: Command): { before: unknown; after: unknown } {
  switch (command.kind) {
    case 'scale-node-group':
      return { before: { desiredNodes: command.fromNodes }, after: { desiredNodes: command.toNodes } };
    case 'set-hpa-floor':
      return { before: { minReplicas: command.fromMinReplicas }, after: { minReplicas: command.toMinReplicas } };
    case 'set-alb-weights':
      return { before: command.fromWeights, after: command.toWeights };
    case 'apply-manifest':
      return { before: undefined, after: command.manifest };
  }
}

/**
 * The node group a floor raise's pods need whose scale-out did not happen
 * this run (failed, requeued, held by the live bounds, stale), if any: raised
 * anyway, the floor's pods would wait unscheduled, or have Cluster Autoscaler
 * buy the nodes on its own.
 */
export function floorWithoutItsNodes(command: Command, config: Pick<PrescaleConfig, 'services'>, unscaled: ReadonlySet<string>): string | undefined {
  return floorRaiseGroups(command, config.services).find((group) => unscaled.has(group));
}

/**
 * Writes the cooldown an applied scale starts (fenced by `lease`). `known`:
 * the cooldowns this lease already read, kept up to date, so a group's is
 * not read again.
 */
export async function recordScaleCooldown(state: StateStore, lease: Lease, scale: ScaleNodeGroupCommand, nowMs: number, known: Map<string, CooldownState> = new Map()): Promise<void> {
  const next = cooldownAfterScale(known.get(scale.nodeGroup) ?? (await state.getCooldown(scale.cluster, scale.nodeGroup)), scale, nowMs);
  await state.putCooldown(lease, scale.nodeGroup, next);
  known.set(scale.nodeGroup, next);
}

/** The cooldown after an applied scale of a node group: the timestamp of its direction moves to now. */
export function cooldownAfterScale(previous: CooldownState, command: { readonly fromNodes: number; readonly toNodes: number }, nowMs: number): CooldownState {
  return command.toNodes > command.fromNodes ? { ...previous, lastScaleOutMs: nowMs } : { ...previous, lastScaleInMs: nowMs };
}

/**
 * `cooldowns`: what the run already read under this lease (kept up to date
 * here), so an applied scale does not read its group's cooldown again.
 */
async function act(
  guarded: readonly GuardedCommand[],
  config: PrescaleConfig,
  ports: PipelinePorts,
  options: RunOptions,
  lease: Lease,
  nowMs: number,
  cooldowns: Map<string, CooldownState> = new Map(),
): Promise<{ readonly outcomes: CommandOutcome[]; readonly leaseLost: PrescaleError | undefined }> {
  const outcomes: CommandOutcome[] = [];
  // Set once a write finds another run holds the lease: the change it recorded stands, nothing more is sent.
  let lostLease: PrescaleError | undefined;
  // Groups whose scale-out did not happen this run: a floor raise asking pods of them waits (node groups act first).
  const unscaled = new Set<string>();
  for (const entry of guarded) {
    const command = entry.effective;
    let result: AuditEntry['result'] = 'skipped';
    let message: string | undefined = entry.reason;
    let applied: Command | undefined;
    let bookkeepingError: string | undefined;
    const sends = command !== undefined && (entry.verdict === 'allow' || entry.verdict === 'clamp') && !isNoOp(command) && !options.dryRun;
    const withoutNodes = sends ? floorWithoutItsNodes(command, config, unscaled) : undefined;
    if (sends && lostLease !== undefined) {
      result = 'requeued';
      message = `not sent: another run took the cluster's lease (${lostLease.message})`;
    } else if (sends && options.outOfTime?.() === true) {
      result = 'requeued';
      message = 'not sent: the invocation is running out of time; the next run plans it again';
    } else if (withoutNodes !== undefined) {
      result = 'requeued';
      message = `not sent: the scale-out of ${withoutNodes} its pods need did not run; the next run plans it again`;
    } else if (sends) {
      try {
        ({ result, message, applied } = await actOne(command, config, ports));
      } catch (error) {
        if (!isPrescaleError(error)) throw error;
        // A busy node group is requeued to the next run, not a failed run.
        result = error.code === 'busy' || error.code === 'throttling' ? 'requeued' : 'failed';
        message = reportedError(error);
      }
      // Apart from the change: a cooldown that cannot be written leaves the scale applied, and says so.
      if (applied?.kind === 'scale-node-group') {
        try {
          await recordScaleCooldown(ports.state, lease, applied, nowMs, cooldowns);
        } catch (error) {
          if (!isPrescaleError(error)) throw error;
          bookkeepingError = `cooldown not recorded (${reportedError(error)}): the next run may reverse this scale before its delay`;
          message = message === undefined ? bookkeepingError : `${message}; ${bookkeepingError}`;
          // A newer lease: this change is audited below, and no further command runs under the lost one.
          if (error.code === 'stale') lostLease = error;
        }
      }
    } else if (options.dryRun) {
      message = `dry run: ${entry.reason}`;
    }
    const subject = applied ?? command ?? entry.command;
    await ports.state.appendAudit({
      cluster: config.cluster.name,
      atMs: nowMs,
      actor: options.actor,
      target: commandTarget(subject),
      reason: `${subject.reason} [guard: ${entry.verdict}: ${entry.reason}]`,
      ...beforeAfter(subject),
      result,
      message,
    });
    // A scale-out that did not happen (failed, requeued, held by the live bounds, stale): its group's nodes are not coming.
    if (command?.kind === 'scale-node-group' && command.toNodes > command.fromNodes && result !== 'applied' && message !== ALREADY_AT_DESIRED_COUNT) unscaled.add(command.nodeGroup);
    outcomes.push({ guarded: entry, result, message, ...(applied === undefined ? {} : { applied }), ...(bookkeepingError === undefined ? {} : { bookkeepingError }) });
  }
  return { outcomes, leaseLost: lostLease };
}

/** A new deployment's planner memory. */
export const EMPTY_PLANNER_MEMORY: PlannerMemory = { recommendations: {}, raisedFloors: {} };

/** The cluster's planner memory, or an empty one (a new deployment). */
export async function readPlannerMemory(state: Pick<StateStore, 'getPlannerMemory'>, cluster: string): Promise<PlannerMemory> {
  return (await state.getPlannerMemory(cluster)) ?? EMPTY_PLANNER_MEMORY;
}

/** The decision log entry of one act step, fenced by the lease it ran under. */
function decisionRecord(cluster: string, lease: Lease, nowMs: number, trigger: string, forecastModel: string | undefined, outcomes: readonly CommandOutcome[]): DecisionRecord {
  return {
    cluster,
    atMs: nowMs,
    trigger,
    fencingToken: lease.fencingToken,
    forecastModel,
    commands: outcomes.map((o) => ({ command: o.guarded.command, verdict: o.guarded.verdict, reason: o.guarded.reason })),
  };
}

/** The longest an alarm's question for approval waits for the next scheduled run instead of replacing the open plan. */
export const ALARM_DEFERS_MINUTES = 5;

/** Minutes a human has to approve a plan before it goes stale. */
export const APPROVAL_TTL_MINUTES = 30;

/** What the plan was made on: if any of it changes before approval, the plan is stale. */
export function observedStateHash(nodeGroups: readonly NodeGroupState[]): string {
  const canonical = [...nodeGroups]
    .sort((a, b) => compareStrings(a.name, b.name))
    .map((g) => `${g.name}:${g.status}:${g.desiredNodes}:${g.minNodes}:${g.maxNodes}`)
    .join('|');
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * The plan's run-rate change and, with a budget, the month-end projection if
 * it is approved: the budget guard's own figure (the observed fleet plus every
 * command this run lets through, the plan's counted as committed), so the
 * approver sees the number the guard checked.
 */
function approvalCost(planCommands: readonly Command[], prices: Readonly<Record<string, number>>, spend: MonthSpend | undefined): PlanCostSummary {
  const cost = planCost(planCommands, prices);
  return spend === undefined ? cost : { ...cost, projectedMonthEndUsd: spend.projectedMonthEndIfApprovedUsd, monthlyUsd: spend.monthlyUsd };
}

/** The same changes: each command's target and before/after values, reasons aside (they quote figures that move every run). */
export function sameChanges(a: readonly Command[], b: readonly Command[]): boolean {
  const key = (commands: readonly Command[]): string =>
    commands
      .map((c) => `${commandTarget(c)} ${JSON.stringify(beforeAfter(c))}`)
      .sort(compareStrings)
      .join('\n');
  return key(a) === key(b);
}

/**
 * Commands the guard sent to a human become one pending plan, stored (the
 * first decision on it wins) and posted to Slack with Approve and Reject.
 *
 * One plan open at a time: while the plan the last run posted is pending and
 * asks for the same changes on the same state, it stays the question (no new
 * post each run). When this run wants something else, or nothing, that plan
 * is superseded first, so a click on it cannot execute changes prescale no
 * longer plans (demand fell while the plan waited, say). An alarm run plans
 * from current demand only (no forecast, no floors), so it never speaks for
 * the scheduled plan: it leaves an open plan alone, and posts one of its own
 * only when none is open (it then becomes the open plan), unless the next
 * scheduled run is more than ALARM_DEFERS_MINUTES away.
 */
async function requestApproval(
  config: PrescaleConfig,
  ports: PipelinePorts,
  guarded: readonly GuardedCommand[],
  nodeGroups: readonly NodeGroupState[],
  prices: Readonly<Record<string, number>>,
  spend: MonthSpend | undefined,
  nowMs: number,
  open: OpenPlan,
  actor: string,
  trigger: Trigger,
  scheduleMinutes: number,
  /** Saves the open plan (fenced) before it is stored or posted: a plan no memory names would be approvable unseen by any run. */
  remember: (open: OpenPlan) => Promise<void>,
): Promise<ApprovalRequest> {
  const commands = guarded.filter((g) => g.verdict === 'needs-approval').map((g) => g.effective ?? g.command);
  const stateHash = observedStateHash(nodeGroups);
  const none: ApprovalRequest = { pendingPlan: undefined, open: NO_OPEN_PLAN, postError: undefined };
  const supersede = async (plan: PendingPlan): Promise<void> => {
    try {
      await ports.state.decidePendingPlan(plan.id, 'pending', 'superseded', `prescale:${actor}`, nowMs);
    } catch (error) {
      // Decided or expired meanwhile: nothing left to supersede.
      if (!isPrescaleError(error) || !(error.code === 'conflict' || error.code === 'stale' || error.code === 'not-found')) throw error;
    }
  };
  const remembered = open.id === undefined ? undefined : await ports.state.getPendingPlan(open.id, nowMs);
  // The store reads a pending plan past its expiry as `expired`.
  const stillOpen = remembered?.status === 'pending' ? remembered : undefined;
  if (stillOpen !== undefined) {
    if (stillOpen.stateHash === stateHash && sameChanges(stillOpen.commands, commands)) {
      // Kept as the question (a retried run asks it again); one whose post failed is posted now.
      const postError = open.unposted ? await postPlanMessage(config, ports, guarded, stillOpen, prices, spend) : undefined;
      // A scheduled run asking the same question makes it the forecast's too: an alarm no longer replaces it.
      return { pendingPlan: stillOpen, open: { ...open, unposted: postError !== undefined, byAlarm: open.byAlarm && trigger === 'alarm' }, postError };
    }
    // An alarm plans from current demand only. A scheduled plan (made with the forecast) stays the question when the
    // alarm has nothing to ask, or when the next scheduled run is at most ALARM_DEFERS_MINUTES away to ask the
    // alarm's question too. An alarm's own plan answers to current demand, so a later alarm replaces it.
    if (trigger === 'alarm' && !open.byAlarm && (commands.length === 0 || scheduleMinutes <= ALARM_DEFERS_MINUTES)) {
      return { pendingPlan: undefined, open, postError: undefined };
    }
    await supersede(stillOpen);
  }
  if (commands.length === 0) return none;
  const id = `${config.cluster.name}-${nowMs}-${stateHash.slice(0, 8)}`;
  // Two runs in one millisecond on one state (the simulated clock): the id is taken, and this moment's question asked.
  if ((await ports.state.getPendingPlan(id, nowMs)) !== undefined) return none;
  const opened: OpenPlan = { id, unposted: true, byAlarm: trigger === 'alarm' };
  try {
    await remember(opened);
  } catch (error) {
    // No plan the memory does not name: this run asks nothing, says why, and finishes its bookkeeping; the next asks.
    // An alarm's question would wait for a scheduled run up to an hour away: the alarm fails instead, to be retried.
    if (!isPrescaleError(error) || error.code === 'stale' || trigger === 'alarm') throw error;
    return { ...none, postError: `not asked: the plan could not be named in the memory first (${reportedError(error)}); the next run asks again` };
  }
  const plan: PendingPlan = {
    id,
    cluster: config.cluster.name,
    createdAtMs: nowMs,
    expiresAtMs: nowMs + APPROVAL_TTL_MINUTES * MINUTE_MS,
    stateHash,
    commands,
    status: 'pending',
    decidedBy: undefined,
    decidedAtMs: undefined,
  };
  await ports.state.putPendingPlan(plan);
  const postError = await postPlanMessage(config, ports, guarded, plan, prices, spend);
  return { pendingPlan: plan, open: { ...opened, unposted: postError !== undefined }, postError };
}

/** The plan awaiting approval the planner memory names: later runs keep it or supersede it. */
interface OpenPlan {
  readonly id: string | undefined;
  /** Its Slack message is not out yet: the next run that keeps it posts it. */
  readonly unposted: boolean;
  /** An alarm run made it, from current demand only. */
  readonly byAlarm: boolean;
}

const NO_OPEN_PLAN: OpenPlan = { id: undefined, unposted: false, byAlarm: false };

/** An open plan as the memory holds it (absent fields: none). */
function openPlanOf(memory: PlannerMemory): OpenPlan {
  return memory.openPlanId === undefined ? NO_OPEN_PLAN : { id: memory.openPlanId, unposted: memory.openPlanUnposted === true, byAlarm: memory.openPlanByAlarm === true };
}

/** The memory fields of an open plan: only the true flags are written. */
function openPlanFields(open: OpenPlan): Pick<PlannerMemory, 'openPlanId' | 'openPlanUnposted' | 'openPlanByAlarm'> {
  return { openPlanId: open.id, openPlanUnposted: open.unposted ? true : undefined, openPlanByAlarm: open.byAlarm ? true : undefined };
}

interface ApprovalRequest {
  readonly pendingPlan: PendingPlan | undefined;
  /** The plan later runs keep or supersede, as the memory is to hold it. */
  readonly open: OpenPlan;
  /** Why Slack refused the open plan's message this run; the plan stands and the next run posts it again. */
  readonly postError: string | undefined;
}

/**
 * Posts a stored plan to Slack with Approve and Reject. A refused post does
 * not fail the run (the commands that ran are done): it is returned, and the
 * memory marks the open plan unposted so the next run posts it again.
 */
async function postPlanMessage(
  config: PrescaleConfig,
  ports: PipelinePorts,
  guarded: readonly GuardedCommand[],
  plan: PendingPlan,
  prices: Readonly<Record<string, number>>,
  spend: MonthSpend | undefined,
): Promise<string | undefined> {
  if (ports.notifier === undefined) return undefined;
  const reasons = guarded.filter((g) => g.verdict === 'needs-approval').map((g) => g.reason).join('; ');
  try {
    await ports.notifier.post(pendingPlanMessage(plan, approvalCost(plan.commands, prices, spend), reasons, { channel: config.slack?.channel }));
    return undefined;
  } catch (error) {
    return reportedError(error);
  }
}


export async function runPipeline(config: PrescaleConfig, ports: PipelinePorts, options: RunOptions): Promise<RunResult> {
  const nowMs = ports.clock.nowMs();
  const cluster = config.cluster.name;
  let lease: Lease;
  try {
    lease = await ports.state.acquireLease(cluster, options.runId, nowMs, LEASE_TTL_MS);
  } catch (error) {
    if (error instanceof PrescaleError && error.code === 'lease-held') {
      return { cluster, atMs: nowMs, trigger: options.trigger, status: 'lease-held', outcomes: [], forecasts: new Map(), forecastModel: undefined, pendingPlan: undefined, demandUnknown: [], demandInferredZero: [] };
    }
    throw error;
  }
  try {
    const nodeGroups: NodeGroupState[] = await ports.capacity.describeNodeGroups(cluster, config.nodeGroups.map((g) => g.name));
    const services = await observeServices(config, ports, nowMs);
    const { forecasts, windows, finerReadsFailed } =
      options.trigger === 'alarm' ? { forecasts: new Map<string, Forecast>(), windows: new Map<string, DemandHistory>(), finerReadsFailed: [] } : await forecastServices(config, ports, nowMs, services);
    const remembered = await readPlannerMemory(ports.state, cluster);
    const { memory, costCeilingRehearsal } = await withRehearsedCostCeiling(config, ports, options, lease, remembered, nodeGroups, services, windows, nowMs);
    const cooldowns = new Map<string, CooldownState>();
    for (const group of config.nodeGroups) cooldowns.set(group.name, await ports.state.getCooldown(cluster, group.name));
    // The bundled table is the one config load checked every group against, so every group has a price: priced once per run.
    const priceTable = bundledPriceTable();
    const prices = nodeGroupPricesUsdPerHour(config.nodeGroups, config.cluster.region, priceTable);
    const planned = plan({ config, nowMs, trigger: options.trigger, nodeGroups, services, forecasts, memory, cooldowns, usdPerHourByGroup: prices });
    const budget = budgetStage({
      config,
      nowMs,
      nodeGroups,
      memory,
      bounded: guard(planned.commands, { config }),
      priceTable,
      usdPerHourByGroup: prices,
      override: options.override,
    });
    const fated = holdFloorsWithTheirNodes(budget.guarded, config);
    const saved = options.dryRun ? { guarded: fated, stored: memory } : await withFloorIntentsSaved(ports, lease, memory, planned.memory.raisedFloors, fated, planned.memory.floorsRaisedOver);
    const guarded = saved.guarded;
    const acted = await act(guarded, config, ports, options, lease, nowMs, cooldowns);
    const outcomes = acted.outcomes;
    const forecastModelOf = (): string | undefined => [...new Set([...forecasts.values()].map((f) => f.model))].sort().join('+') || undefined;
    // A run that cannot go on (its lease lost, an alarm's plan not named) still logs what it did: that write is unfenced.
    const failAfterActing = async (error: unknown): Promise<never> => {
      if (outcomes.length > 0) await ports.state.appendDecision(decisionRecord(cluster, lease, nowMs, options.actor, forecastModelOf(), outcomes)).catch(() => undefined);
      throw error;
    };
    if (acted.leaseLost !== undefined) await failAfterActing(acted.leaseLost);
    let budgetAlertNotPosted: string | undefined;
    const remember = async (open: OpenPlan): Promise<void> => ports.state.putPlannerMemory(lease, { ...saved.stored, ...openPlanFields(open) });
    const approval = options.dryRun ? undefined : await requestApproval(config, ports, fated, nodeGroups, prices, budget.spend, nowMs, openPlanOf(memory), options.actor, options.trigger, config.policy.scheduleMinutes, remember).catch(failAfterActing);
    const pendingPlan = approval?.pendingPlan;
    if (!options.dryRun) {
      const ranUsdPerHour = fleetUsdPerHour(Object.fromEntries(nodeGroups.map((g) => [g.name, g.desiredNodes])), prices) + appliedRateChangeUsdPerHour(outcomes, prices);
      const costCeiling = planned.memory.costCeiling && withOurRate(planned.memory.costCeiling, ranUsdPerHour);
      const { ledger, notPosted } = await postAlertsForLedger(ports.notifier, budget);
      budgetAlertNotPosted = notPosted;
      // The floors prescale holds follow what act did, not what was planned.
      const floors = floorMemoryAfter(planned.memory.raisedFloors, outcomes, planned.memory.floorsRaisedOver);
      await ports.state.putPlannerMemory(lease, { ...planned.memory, ...floors, costCeiling, ledger, ledgerAtMs: budget.ledgerAtMs, ...openPlanFields(approval?.open ?? NO_OPEN_PLAN) });
    }
    const forecastModel = forecastModelOf();
    if (outcomes.length > 0) await ports.state.appendDecision(decisionRecord(cluster, lease, nowMs, options.actor, forecastModel, outcomes));
    const servicesIn = (state: ServicePlan['demandState']) => planned.services.filter((p) => p.demandState === state).map((p) => p.service).sort(compareStrings);
    return {
      cluster,
      atMs: nowMs,
      trigger: options.trigger,
      status: 'done',
      outcomes,
      forecasts,
      forecastModel,
      pendingPlan,
      demandUnknown: servicesIn('unknown'),
      demandInferredZero: servicesIn('inferred-zero'),
      ...(costCeilingRehearsal === undefined ? {} : { costCeilingRehearsal }),
      ...(finerReadsFailed.length === 0 ? {} : { finerReadsFailed }),
      ...(budgetAlertNotPosted === undefined ? {} : { budgetAlertNotPosted }),
      ...(approval?.postError === undefined ? {} : { approvalNotPosted: approval.postError }),
    };
  } finally {
    await ports.state.releaseLease(lease);
  }
}

/**
 * Saves the floors this run is about to set (fenced, `floorIntents`) before
 * any is sent: a run that then cannot save its memory still leaves the next
 * run knowing the value it set, so a raise is never stranded. `memory` is the
 * memory the run started from, with the floors held as observed. If the write
 * fails, the floor commands are not sent this run (the next plans them again)
 * and everything else still runs.
 */
async function withFloorIntentsSaved(
  ports: PipelinePorts,
  lease: Lease,
  memory: PlannerMemory,
  held: Readonly<Record<string, number>>,
  guarded: readonly GuardedCommand[],
  raisedOver: Readonly<Record<string, number>> = {},
  unresolvedIntents: Readonly<Record<string, number>> = {},
): Promise<{ readonly guarded: readonly GuardedCommand[]; readonly stored: PlannerMemory }> {
  const intents = floorIntents(guarded);
  if (Object.keys(intents).length === 0) return { guarded, stored: memory };
  try {
    // The floor a raise goes over is saved with it: a raise that lands but whose outcome is lost still gives it back.
    // Intents no run has resolved yet (the approval path observes no HPA) are kept beside the new ones.
    const floorIntentsNow = { ...unresolvedIntents, ...intents };
    const stored: PlannerMemory = { ...memory, raisedFloors: held, floorIntents: floorIntentsNow, floorsRaisedOver: { ...raisedOver, ...floorsRaisedOverBy(guarded) } };
    await ports.state.putPlannerMemory(lease, stored);
    return { guarded, stored };
  } catch (error) {
    // A newer lease: another run owns the cluster now, and nothing more may run under this one.
    if (!isPrescaleError(error) || error.code === 'stale') throw error;
    const why = `not sent: the floor could not be saved as intended first (${reportedError(error)}), and a floor prescale cannot remember it would never lower; the next run plans it again`;
    return { guarded: guarded.map((g) => (g.effective?.kind === 'set-hpa-floor' ? { ...g, effective: undefined, reason: `${g.reason}; ${why}` } : g)), stored: memory };
  }
}

/**
 * Memory with a rehearsed cost ceiling when it has none the planner would
 * read (a new deployment, or one read back invalid) and the ceiling is on.
 * Not in an alarm run, which must not wait for a replay to scale out (nor
 * starts a ceiling: plan.ts), a dry run, which keeps nothing, or the
 * rehearsal's own runs, which start cold by definition.
 */
async function withRehearsedCostCeiling(
  config: PrescaleConfig,
  ports: PipelinePorts,
  options: RunOptions,
  lease: Lease,
  memory: PlannerMemory,
  nodeGroups: readonly NodeGroupState[],
  services: readonly ServiceObservation[],
  /** The forecast windows this run read (services it refitted), so the rehearsal does not read them again. */
  windows: ReadonlyMap<string, DemandHistory>,
  nowMs: number,
): Promise<{ memory: PlannerMemory; costCeilingRehearsal: CostCeilingRehearsal | undefined }> {
  const wanted = options.trigger !== 'alarm' && options.rehearse !== false && !options.dryRun && isCostCeilingPriced(config) && rememberedCostCeiling(memory.costCeiling, nowMs) === undefined;
  if (!wanted) return { memory, costCeilingRehearsal: undefined };
  // What the store holds once the cold ceiling is written: later writes of this run start from it.
  let stored = memory;
  try {
    // One attempt per deployment: a cold ceiling is saved first, so a rehearsal the invocation does not outlive
    // (a timeout, a crash) leaves the next run to start cold instead of rehearsing again, and again.
    const cold = { ...memory, costCeiling: accruedCostCeiling(config, undefined, nowMs) };
    await ports.state.putPlannerMemory(lease, cold);
    stored = cold;
    const hpas = ports.manifests === undefined ? undefined : services.flatMap((s) => (s.hpa === undefined ? [] : [s.hpa]));
    const rehearsal = await rehearseCostCeiling(config, ports, nodeGroups, hpas, nowMs, runPipeline, windows);
    if (rehearsal === undefined) return { memory: stored, costCeilingRehearsal: { outcome: 'nothing-to-rehearse' } };
    const { ceiling, runs, spanMinutes } = rehearsal;
    return { memory: { ...memory, costCeiling: ceiling }, costCeilingRehearsal: { outcome: 'rehearsed', runs, spanMinutes, shift: ceiling.shift } };
  } catch (error) {
    // A newer lease: another run owns the cluster, and nothing more may run under this one.
    if (isPrescaleError(error) && error.code === 'stale') throw error;
    // Whatever else failed (that write included), the run itself goes on cold: a ceiling that could not be warmed must not stop scaling.
    return { memory: stored, costCeilingRehearsal: { outcome: 'failed', error: reportedError(error) } };
  }
}


// ---------------------------------------------------------------- approved plans

/** Observe the plan's node groups again: `drifted` when anything the plan was made on changed (its stateHash). */
export async function checkPlanDrift(config: PrescaleConfig, ports: PipelinePorts, plan: PendingPlan): Promise<DriftCheck> {
  const nodeGroups = await ports.capacity.describeNodeGroups(config.cluster.name, config.nodeGroups.map((g) => g.name));
  if (observedStateHash(nodeGroups) !== plan.stateHash) return 'drifted';
  const priceTable = bundledPriceTable();
  const memory = await readPlannerMemory(ports.state, config.cluster.name);
  const refusal = approvedPlanRefusal(plan.commands, {
    config,
    nowMs: ports.clock.nowMs(),
    nodeGroups,
    memory,
    priceTable,
    usdPerHourByGroup: nodeGroupPricesUsdPerHour(config.nodeGroups, config.cluster.region, priceTable),
  });
  return refusal === undefined ? 'unchanged' : 'drifted';
}

/**
 * Why the guard, run now on a pending plan's commands with the configuration
 * and spend of now, would not let them through as they were approved, or
 * undefined when it would. A plan waits up to APPROVAL_TTL_MINUTES; an
 * operator may narrow a group's bounds or cut the budget meanwhile (to stop
 * a runaway, say), and an approval answers "needs approval", never a bound
 * or a cap. Pure: the budget stage's ledger is only read here.
 */
export function approvedPlanRefusal(commands: readonly Command[], input: Omit<BudgetStageInput, 'bounded' | 'override'>): string | undefined {
  const rechecked = budgetStage({ ...input, bounded: guard(commands, { config: input.config }), override: undefined }).guarded;
  const refused = rechecked.filter((g) => !(g.verdict === 'allow' || g.verdict === 'needs-approval') || !isDeepStrictEqual(g.effective, g.command));
  return refused.length === 0 ? undefined : refused.map((g) => `${commandTarget(g.command)}: ${g.verdict}: ${g.reason}`).join('; ');
}

export interface ApprovedPlanResult {
  /** `drifted`: the state changed since the plan was made and nothing was executed. */
  readonly status: 'done' | 'drifted';
  readonly outcomes: readonly CommandOutcome[];
  /** Why the floors the plan set could not be recorded after it ran (their intents, saved first, still name them); absent when they were, or it set none. */
  readonly floorsNotRecorded?: string;
  /** Why the cost ceiling was not re-priced after the commands ran (the next run re-prices it); absent when it was, or had nothing to. */
  readonly costCeilingNotRepriced?: string;
}

/**
 * After an approved plan ran: the floor memory as act left it, re-read under
 * the lease (the intents were just saved). Intents of floors this plan did
 * not touch stay for the next run to resolve. A failed write is returned, not
 * thrown: the commands ran.
 */
async function recordApprovedFloors(
  ports: PipelinePorts,
  lease: Lease,
  /** The memory as the intents' write left it (this lease's own, so not read again). */
  memory: PlannerMemory,
  guarded: readonly GuardedCommand[],
  outcomes: readonly CommandOutcome[],
): Promise<{ readonly stored: PlannerMemory; readonly notRecorded: string | undefined }> {
  const sent = floorIntents(guarded);
  if (Object.keys(sent).length === 0) return { stored: memory, notRecorded: undefined };
  const after = floorMemoryAfter(memory.raisedFloors, outcomes, memory.floorsRaisedOver ?? {});
  const untouched = Object.fromEntries(Object.entries(memory.floorIntents ?? {}).filter(([key]) => sent[key] === undefined));
  const intents = { ...untouched, ...after.floorIntents };
  const { floorIntents: _replaced, ...rest } = memory;
  const stored: PlannerMemory = { ...rest, ...after, ...(Object.keys(intents).length === 0 ? {} : { floorIntents: intents }) };
  try {
    await ports.state.putPlannerMemory(lease, stored);
    return { stored, notRecorded: undefined };
  } catch (error) {
    if (!isPrescaleError(error)) throw error;
    return { stored: memory, notRecorded: reportedError(error) };
  }
}

/**
 * How much a run or an approval changed prescale's spend rate: the plan cost
 * (toNodes − fromNodes at each group's price) of the scale commands that
 * were applied. A held, failed, requeued or skipped command changed nothing.
 */
export function appliedRateChangeUsdPerHour(outcomes: readonly CommandOutcome[], usdPerHourByGroup: Readonly<Record<string, number>>): number {
  const applied = outcomes.flatMap((o) => (o.result === 'applied' && o.applied !== undefined ? [o.applied] : []));
  return planCost(applied, usdPerHourByGroup).deltaUsdPerHour;
}

/**
 * An approved plan changes what is spent from now on: the cost ceiling
 * accrues the old rate up to now, then takes the new one, so the time until
 * the next run accrues what runs (on an hourly schedule, up to two hours).
 * Only the state store is touched, no cloud call.
 */
async function repriceCostCeiling(config: PrescaleConfig, ports: PipelinePorts, lease: Lease, memory: PlannerMemory, outcomes: readonly CommandOutcome[], nowMs: number): Promise<void> {
  const delta = appliedRateChangeUsdPerHour(outcomes, nodeGroupPricesUsdPerHour(config.nodeGroups, config.cluster.region, bundledPriceTable()));
  if (delta === 0) return;
  const remembered = rememberedCostCeiling(memory.costCeiling, nowMs);
  if (remembered === undefined) return;
  const accrued = accruedCostCeiling(config, remembered, nowMs);
  await ports.state.putPlannerMemory(lease, { ...memory, costCeiling: withOurRate(accrued, accrued.ourUsdPerHour + delta) });
}

/**
 * Carries out a plan a human approved, through the same act step as a run
 * (each command re-checked against fresh state, audited with `actor`, e.g.
 * `slack:U012ABCDEF`). Under the cluster lease it observes once more and
 * refuses a drifted plan: never act on a stale plan. Pass `lease` when the
 * caller already holds it (it checked drift under it); otherwise one is taken
 * and released here (`lease-held` propagates: a run is in progress).
 */
export async function executeApprovedPlan(
  config: PrescaleConfig,
  ports: PipelinePorts,
  plan: PendingPlan,
  actor: string,
  options: { readonly lease?: Lease; readonly runId?: string; readonly outOfTime?: () => boolean } = {},
): Promise<ApprovedPlanResult> {
  const cluster = config.cluster.name;
  if (plan.cluster !== cluster) throw new PrescaleError('validation', `plan ${plan.id} is for cluster ${plan.cluster}, not ${cluster}`);
  const nowMs = ports.clock.nowMs();
  const lease = options.lease ?? (await ports.state.acquireLease(cluster, options.runId ?? `approval:${plan.id}`, nowMs, LEASE_TTL_MS));
  try {
    if ((await checkPlanDrift(config, ports, plan)) === 'drifted') return { status: 'drifted', outcomes: [] };
    const approvedBy = actor.replace(/^slack:/, '');
    const approved: GuardedCommand[] = plan.commands.map((command) => ({ command, verdict: 'allow', effective: command, reason: `approved by ${approvedBy} (plan ${plan.id})` }));
    // Floors it raises are remembered as a run's are (intents first, then what act did), or no run would ever lower them.
    const memory = await readPlannerMemory(ports.state, cluster);
    const saved = await withFloorIntentsSaved(ports, lease, memory, memory.raisedFloors, approved, memory.floorsRaisedOver ?? {}, memory.floorIntents ?? {});
    const guarded = saved.guarded;
    const { outcomes, leaseLost } = await act(guarded, config, ports, { trigger: 'approval', actor, runId: lease.owner, ...(options.outOfTime === undefined ? {} : { outOfTime: options.outOfTime }) }, lease, nowMs);
    if (leaseLost !== undefined) {
      // Another run holds the cluster: what ran is logged (unfenced) and reported; the fenced records are that run's now.
      await ports.state.appendDecision(decisionRecord(cluster, lease, nowMs, actor, undefined, outcomes));
      return { status: 'done', outcomes, floorsNotRecorded: `the lease was lost (${leaseLost.message}); the next run reads the floors it finds` };
    }
    const recorded = await recordApprovedFloors(ports, lease, saved.stored, guarded, outcomes);
    await ports.state.appendDecision(decisionRecord(cluster, lease, nowMs, actor, undefined, outcomes));
    const floors = recorded.notRecorded === undefined ? {} : { floorsNotRecorded: recorded.notRecorded };
    try {
      await repriceCostCeiling(config, ports, lease, recorded.stored, outcomes, nowMs);
    } catch (error) {
      // The commands ran and are recorded: a lost re-price must not turn a done approval into a failed one.
      return { status: 'done', outcomes, costCeilingNotRepriced: errorMessage(error), ...floors };
    }
    return { status: 'done', outcomes, ...floors };
  } finally {
    if (options.lease === undefined) await ports.state.releaseLease(lease);
  }
}
