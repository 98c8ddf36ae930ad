/**
 * The pipeline's only ways out of the process. Each port has an AWS or
 * Kubernetes implementation (lib/aws, lib/k8s, lib/state) and a simulated one
 * (lib/sim). The core never sees either: handlers wire them.
 */
import type { TargetGroupWeight } from './core/commands.ts';
import type { Command, GuardVerdict } from './core/commands.ts';
import type { DemandHistory, Forecast } from './core/forecast/types.ts';
import type { Ledger } from './core/budget/ledger.ts';
import type { Calibration } from './core/plan/calibration.ts';
import type { CostCeiling } from './core/plan/cost-ceiling.ts';

export interface Clock {
  /** Epoch milliseconds. */
  nowMs(): number;
}

export interface MetricQuery {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly periodSeconds: number;
}

/** One `getDemand` read, for `getDemandMany`. */
export interface DemandRequest {
  readonly query: MetricQuery;
  readonly startMs: number;
  readonly endMs: number;
}

export interface MetricsSource {
  /**
   * Demand on a regular grid of `query.periodSeconds` from `startMs` (inclusive)
   * to `endMs` (exclusive), NaN where no datapoint exists.
   */
  getDemand(query: MetricQuery, startMs: number, endMs: number): Promise<DemandHistory>;
  /**
   * Many `getDemand` reads in as few calls as the source allows; one result
   * per request, in request order, each settled on its own: a series that
   * fails is `rejected` with the error `getDemand` would throw, the others
   * still arrive.
   */
  getDemandMany(requests: readonly DemandRequest[]): Promise<PromiseSettledResult<DemandHistory>[]>;
}

export type NodeGroupStatus = 'ACTIVE' | 'UPDATING' | 'CREATING' | 'DELETING' | 'DEGRADED' | 'UNKNOWN';

export interface NodeGroupState {
  readonly name: string;
  readonly status: NodeGroupStatus;
  readonly desiredNodes: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  /** Nodes that serve (booted). */
  readonly readyNodes: number;
  /** Nodes launched and still booting. */
  readonly bootingNodes: number;
}

/**
 * What a desired-count change left: the group's desired count once the call
 * returns and the live bounds that held it. The cloud clamps to its own live
 * [min, max], which someone may have narrowed below prescale's configured
 * bounds, so the count may differ from the one asked for (and equal the old
 * one, when no call was made).
 */
export interface DesiredNodesSet {
  readonly desiredNodes: number;
  readonly minNodes: number;
  readonly maxNodes: number;
}

export interface CapacityActuator {
  describeNodeGroups(cluster: string, names: readonly string[]): Promise<NodeGroupState[]>;
  /** Throws a PrescaleError with code `busy` when the group cannot take a change now. */
  setDesiredNodes(cluster: string, nodeGroup: string, desiredNodes: number): Promise<DesiredNodesSet>;
}

export type TargetHealthState = 'initial' | 'healthy' | 'unhealthy' | 'unused' | 'draining' | 'unavailable';

export interface TargetGroupHealth {
  readonly targetGroupArn: string;
  readonly counts: Readonly<Record<TargetHealthState, number>>;
}

export interface RuleState {
  readonly listenerArn: string;
  readonly ruleArn: string | undefined;
  readonly weights: readonly TargetGroupWeight[];
  /** True when the AWS Load Balancer Controller owns the rule (its tags). */
  readonly managedByController: boolean;
}

export interface TrafficActuator {
  describeRule(listenerArn: string, ruleArn: string | undefined): Promise<RuleState>;
  describeTargetHealth(targetGroupArn: string): Promise<TargetGroupHealth>;
  setWeights(listenerArn: string, ruleArn: string | undefined, weights: readonly TargetGroupWeight[]): Promise<void>;
}

export interface HpaState {
  readonly namespace: string;
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly currentReplicas: number;
  readonly desiredReplicas: number;
}

export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Readonly<Record<string, string>> };
  readonly [field: string]: unknown;
}

export interface ApplyResult {
  readonly key: string;
  readonly outcome: 'applied' | 'unchanged' | 'failed';
  readonly message: string | undefined;
}

export interface ManifestApplier {
  apply(objects: readonly ManifestObject[], options: { readonly fieldManager: string; readonly force: boolean }): Promise<ApplyResult[]>;
  describeHpas(namespace: string, names: readonly string[]): Promise<HpaState[]>;
  /** Server-side apply of `spec.minReplicas` alone. */
  setHpaMinReplicas(namespace: string, name: string, minReplicas: number): Promise<void>;
}

export interface NotifierMessage {
  readonly channel: string | undefined;
  readonly text: string;
  readonly blocks?: readonly unknown[];
}

export interface Notifier {
  post(message: NotifierMessage): Promise<{ readonly id: string }>;
  /** Replaces an interactive message through its Slack `response_url`. */
  respond(responseUrl: string, message: NotifierMessage): Promise<void>;
}

// ---------------------------------------------------------------- state

export interface Lease {
  readonly cluster: string;
  readonly owner: string;
  /** Strictly increases with every acquisition: writes carry it so a stale holder cannot overwrite newer state. */
  readonly fencingToken: number;
  readonly expiresAtMs: number;
}

export interface CooldownState {
  readonly lastScaleOutMs: number | undefined;
  readonly lastScaleInMs: number | undefined;
}

/** What the planner remembers between runs (scale-down stabilisation, HPA floors it raised). */
export interface PlannerMemory {
  /** Per node group: recent recommendations, oldest first, as [epoch ms, nodes]. */
  readonly recommendations: Readonly<Record<string, readonly (readonly [number, number])[]>>;
  /**
   * Per service (`namespace/name`): the HPA minReplicas prescale last set and
   * still holds, raised or restored to the configured value (so a lowered
   * configuration still reaches it: lib/core/plan/floors.ts). Written from
   * what `act` did, never from what was planned; dropped once the live value
   * differs (someone else moved it: theirs).
   */
  readonly raisedFloors: Readonly<Record<string, number>>;
  /**
   * Per service: a floor a run was about to set, saved (fenced) before the
   * call and kept after one that failed or was requeued (it may have landed),
   * so a run that cannot save its memory afterwards does not lose the floor
   * it set. The next run resolves it against the live value.
   */
  readonly floorIntents?: Readonly<Record<string, number>> | undefined;
  /**
   * Per service: someone else's floor (an operator's emergency floor, say)
   * that prescale raised over for a ramp, while prescale holds the raise. The
   * ramp's end restores that value, not the configured one, and hands the
   * floor back (lib/core/plan/floors.ts).
   */
  readonly floorsRaisedOver?: Readonly<Record<string, number>> | undefined;
  /** The pending plan the last run posted for approval, if any: the next run keeps it or supersedes it (one open at a time). */
  readonly openPlanId?: string | undefined;
  /** The open plan's Slack message was refused: the next run posts it again. */
  readonly openPlanUnposted?: true | undefined;
  /** An alarm run made the open plan, from current demand only: a later alarm replaces it. */
  readonly openPlanByAlarm?: true | undefined;
  /** The month's spend, accrued run by run (budget guard). */
  readonly ledger?: Ledger | undefined;
  /** When the ledger was last accrued up to. */
  readonly ledgerAtMs?: number | undefined;
  /** Per service: the adaptive calibration of the forecast level. */
  readonly calibration?: Readonly<Record<string, Calibration>> | undefined;
  /**
   * Per service reading gaps as zero (missingData: zero): when its metric
   * last had a datapoint, so a gap longer than the recent read is still known
   * to be idle, not a metric that never existed.
   */
  readonly demandSeen?: Readonly<Record<string, DemandSighting>> | undefined;
  /** The reactive cost ceiling's discounted spends and level shift (policy.costCeiling: reactive). */
  readonly costCeiling?: CostCeiling | undefined;
}

/** The start of the latest period a metric had a datapoint for, valid only for that metric (`metricKey`). */
export interface DemandSighting {
  readonly metric: string;
  readonly atMs: number;
}

export interface DecisionRecord {
  readonly cluster: string;
  readonly atMs: number;
  readonly trigger: string;
  readonly fencingToken: number;
  readonly forecastModel: string | undefined;
  readonly commands: readonly { readonly command: Command; readonly verdict: GuardVerdict; readonly reason: string }[];
}

export interface AuditEntry {
  readonly cluster: string;
  readonly atMs: number;
  /** Who or what: `scheduled`, `alarm:<name>`, `emergency:<requester>`, `slack:<user>`. */
  readonly actor: string;
  readonly target: string;
  readonly reason: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly result: 'applied' | 'skipped' | 'failed' | 'requeued';
  readonly message: string | undefined;
}

export type PendingPlanStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'executed' | 'superseded';

export interface PendingPlan {
  readonly id: string;
  readonly cluster: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  /** Hash of the observed state the plan was made on: a drifted state means re-plan. */
  readonly stateHash: string;
  readonly commands: readonly Command[];
  readonly status: PendingPlanStatus;
  readonly decidedBy: string | undefined;
  readonly decidedAtMs: number | undefined;
}

export interface ForecastCacheEntry {
  readonly fittedAtMs: number;
  readonly forecast: Forecast;
}

export interface StateStore {
  /** Throws PrescaleError `lease-held` while another owner holds an unexpired lease. */
  acquireLease(cluster: string, owner: string, nowMs: number, ttlMs: number): Promise<Lease>;
  /** Releases only if `lease` is still the current one; a no-op otherwise. */
  releaseLease(lease: Lease): Promise<void>;

  getCooldown(cluster: string, target: string): Promise<CooldownState>;
  /** Fenced: rejected with `stale` if a newer lease already wrote this item. */
  putCooldown(lease: Lease, target: string, cooldown: CooldownState): Promise<void>;

  getPlannerMemory(cluster: string): Promise<PlannerMemory | undefined>;
  putPlannerMemory(lease: Lease, memory: PlannerMemory): Promise<void>;

  getForecastCache(cluster: string, key: string): Promise<ForecastCacheEntry | undefined>;
  putForecastCache(cluster: string, key: string, entry: ForecastCacheEntry): Promise<void>;

  appendDecision(record: DecisionRecord): Promise<void>;
  listDecisions(cluster: string, sinceMs: number, limit: number): Promise<DecisionRecord[]>;
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(cluster: string, sinceMs: number, limit: number): Promise<AuditEntry[]>;

  /** Fails with `conflict` if a plan with that id exists. */
  putPendingPlan(plan: PendingPlan): Promise<void>;
  /** Expired plans read back with status `expired` (DynamoDB TTL deletes lazily, dynalite never). */
  getPendingPlan(id: string, nowMs: number): Promise<PendingPlan | undefined>;
  /**
   * Conditional transition `from` → `to` (first decision wins): pending → approved | rejected | superseded,
   * approved → executed. Throws `conflict` if the plan is no longer in `from`, `stale` if it expired
   * (only checked when leaving `pending`), `not-found` if unknown.
   */
  decidePendingPlan(id: string, from: PendingPlanStatus, to: PendingPlanStatus, by: string, nowMs: number): Promise<PendingPlan>;
}
