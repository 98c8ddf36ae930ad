/**
 * The simulated cloud: every port of lib/ports.ts backed by a trace replayed
 * on a stepped clock. It is the cloud `prescale backtest` and local mode run
 * against; the pipeline cannot tell it from AWS.
 */
import type { NodeGroupConfig, PrescaleConfig } from '../config/schema.ts';
import { accumulatesOverPeriod, choosePeriodSeconds, computeValueScale } from '../core/cloudwatch-retention.ts';
import { clamp, positiveModulo } from '../core/forecast/numeric.ts';
import { metricKey, SETTLE_MS } from '../core/plan/demand.ts';
import type { DemandHistory } from '../core/forecast/types.ts';
import { PrescaleError } from '../errors.ts';
import type {
  ApplyResult,
  CapacityActuator,
  Clock,
  DemandRequest,
  DesiredNodesSet,
  HpaState,
  ManifestApplier,
  ManifestObject,
  MetricQuery,
  MetricsSource,
  NodeGroupState,
  Notifier,
  NotifierMessage,
} from '../ports.ts';
import { Fleet } from './fleet.ts';
import { manifestKey } from '../core/manifests/render.ts';

const MINUTE_MS = 60_000;

/** A clock that only moves when told to. */
export class SteppedClock implements Clock {
  constructor(private currentMs: number) {}
  nowMs(): number {
    return this.currentMs;
  }
  set(ms: number): void {
    this.currentMs = ms;
  }
}

/**
 * Minute series replayed up to the clock: a point after "now" does not exist
 * yet, so a policy cannot peek at the future even by accident. Periods longer
 * than a minute start at `anchorMinute + k × period` (the trace's own sampling
 * phase); the period in progress reports what has happened of it so far,
 * except for a Sum, which (like CloudWatch's) is only served once settled.
 */
export class ReplayMetrics implements MetricsSource {
  private readonly series = new Map<string, { perMinute: Float64Array; anchorMinute: number }>();

  constructor(
    private readonly clock: Clock,
    readonly t0Ms: number,
  ) {}

  add(query: Pick<MetricQuery, 'namespace' | 'name' | 'dimensions'>, perMinute: Float64Array, anchorMinute = 0): void {
    this.series.set(metricKey(query), { perMinute, anchorMinute });
  }

  async getDemand(query: MetricQuery, startMs: number, endMs: number): Promise<DemandHistory> {
    const found = this.series.get(metricKey(query));
    if (found === undefined) throw new PrescaleError('not-found', `no simulated metric ${metricKey(query)}`);
    const { perMinute } = found;
    // History older than CloudWatch keeps at this period comes back coarser, as from CloudWatch itself.
    const periodSeconds = choosePeriodSeconds(query.periodSeconds, startMs, this.clock.nowMs());
    const minutesPerStep = Math.max(1, Math.round(periodSeconds / 60));
    // CloudWatch aligns a period it chose to the epoch; the trace's own period keeps the trace's sampling anchor.
    const anchorMinute = periodSeconds === query.periodSeconds ? found.anchorMinute : positiveModulo(-Math.round(this.t0Ms / MINUTE_MS), minutesPerStep);
    const valueScale = computeValueScale(query.stat, query.periodSeconds, periodSeconds);
    const nowMinute = Math.floor((this.clock.nowMs() - this.t0Ms) / MINUTE_MS);
    const startMinute = Math.ceil((startMs - this.t0Ms) / MINUTE_MS);
    const endMinute = Math.min(Math.ceil((endMs - this.t0Ms) / MINUTE_MS), nowMinute + 1);
    // First period start at or after startMinute on the anchored grid.
    const offset = positiveModulo(startMinute - anchorMinute, minutesPerStep);
    const firstMinute = startMinute + (offset === 0 ? 0 : minutesPerStep - offset);
    const steps = Math.max(0, Math.ceil((endMinute - firstMinute) / minutesPerStep));
    const values = new Array<number>(steps);
    const sum = accumulatesOverPeriod(query.stat);
    for (let i = 0; i < steps; i++) {
      const first = firstMinute + i * minutesPerStep;
      let total = 0;
      let count = 0;
      for (let k = Math.max(0, first); k < Math.min(first + minutesPerStep, perMinute.length, nowMinute + 1); k++) {
        total += perMinute[k]!;
        count++;
      }
      // A Sum is published once its period has ended and settled; whatever CloudWatch holds of it before then is
      // a partial count, and how much of it has arrived is not modelled: the replay serves nothing until then.
      const unsettled = sum && this.t0Ms + (first + minutesPerStep) * MINUTE_MS > this.clock.nowMs() - SETTLE_MS;
      values[i] = count === 0 || unsettled ? Number.NaN : sum ? (total / count) * minutesPerStep * valueScale : total / count;
    }
    return { startMs: this.t0Ms + firstMinute * MINUTE_MS, stepSeconds: periodSeconds, values };
  }

  /** One replay per request: nothing to batch in memory. */
  async getDemandMany(requests: readonly DemandRequest[]): Promise<PromiseSettledResult<DemandHistory>[]> {
    return Promise.allSettled(requests.map((r) => this.getDemand(r.query, r.startMs, r.endMs)));
  }
}

/**
 * Histories as ReplayMetrics replays them: one value per minute from t0Ms,
 * `minutes` long. Each period's value is held over its minutes (an Average)
 * or spread evenly over them (a Sum, whose minutes the replay adds back up;
 * a history's values are per requested period, whatever step retention
 * forced). A minute no history covers, or whose period had no datapoint,
 * stays a gap. A later history overrides an earlier one over the minutes it
 * spans: pass the coarsest first.
 */
export function perMinuteFromHistories(histories: readonly DemandHistory[], t0Ms: number, minutes: number, metric: Pick<MetricQuery, 'stat' | 'periodSeconds'>): Float64Array {
  const perMinute = new Float64Array(minutes).fill(Number.NaN);
  const perMinuteOfValue = accumulatesOverPeriod(metric.stat) ? MINUTE_MS / (metric.periodSeconds * 1000) : 1;
  for (const history of histories) {
    const stepMinutes = history.stepSeconds / 60;
    for (let i = 0; i < history.values.length; i++) {
      const first = (history.startMs - t0Ms) / MINUTE_MS + i * stepMinutes;
      const value = history.values[i]! * perMinuteOfValue;
      for (let m = Math.max(0, Math.ceil(first)); m < Math.min(minutes, first + stepMinutes); m++) perMinute[m] = value;
    }
  }
  return perMinute;
}

interface SimNodeGroup {
  readonly config: NodeGroupConfig;
  readonly fleet: Fleet;
  status: NodeGroupState['status'];
  /** The cloud's own bounds, the configured ones unless someone narrowed them (setLiveBounds). */
  liveMinNodes: number;
  liveMaxNodes: number;
}

/** Node groups with boot delay and per-minute billing, exactly the physics the scores use. */
export class SimCapacity implements CapacityActuator {
  private readonly groups = new Map<string, SimNodeGroup>();
  readonly calls: { atMs: number; nodeGroup: string; desiredNodes: number }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly t0Ms: number,
    private readonly cluster: string,
  ) {}

  addGroup(config: NodeGroupConfig, initialReadyNodes: number): void {
    this.groups.set(config.name, { config, fleet: new Fleet(config.bootMinutes, initialReadyNodes), status: 'ACTIVE', liveMinNodes: config.minNodes, liveMaxNodes: config.maxNodes });
  }

  /** Someone changed the group's bounds in the cloud (the console, Terraform): desired is clamped to them, as EKS does. */
  setLiveBounds(nodeGroup: string, minNodes: number, maxNodes: number): void {
    const group = this.group(nodeGroup);
    group.liveMinNodes = minNodes;
    group.liveMaxNodes = maxNodes;
  }

  setStatus(nodeGroup: string, status: NodeGroupState['status']): void {
    this.group(nodeGroup).status = status;
  }

  fleet(nodeGroup: string): Fleet {
    return this.group(nodeGroup).fleet;
  }

  private minute(): number {
    return Math.floor((this.clock.nowMs() - this.t0Ms) / MINUTE_MS);
  }

  private group(name: string): SimNodeGroup {
    const group = this.groups.get(name);
    if (group === undefined) throw new PrescaleError('not-found', `node group ${name} not found in cluster ${this.cluster}`);
    return group;
  }

  async describeNodeGroups(cluster: string, names: readonly string[]): Promise<NodeGroupState[]> {
    if (cluster !== this.cluster) throw new PrescaleError('not-found', `cluster ${cluster} not found`);
    const minute = this.minute();
    return names.map((name) => {
      const { fleet, status, liveMinNodes, liveMaxNodes } = this.group(name);
      const ready = fleet.readyNodes(minute);
      return { name, status, desiredNodes: fleet.aliveNodes, minNodes: liveMinNodes, maxNodes: liveMaxNodes, readyNodes: ready, bootingNodes: fleet.aliveNodes - ready };
    });
  }

  async setDesiredNodes(cluster: string, nodeGroup: string, desiredNodes: number): Promise<DesiredNodesSet> {
    if (cluster !== this.cluster) throw new PrescaleError('not-found', `cluster ${cluster} not found`);
    const group = this.group(nodeGroup);
    if (group.status !== 'ACTIVE') throw new PrescaleError('busy', `node group ${nodeGroup} is ${group.status}`, { retryable: true });
    if (!Number.isInteger(desiredNodes) || desiredNodes < group.config.minNodes || desiredNodes > group.config.maxNodes) {
      throw new PrescaleError('validation', `desired ${desiredNodes} is outside [${group.config.minNodes}, ${group.config.maxNodes}] for ${nodeGroup}`);
    }
    // Like EKS: desired is clamped to the live bounds, and nothing is sent when that changes nothing.
    const set = { desiredNodes: clamp(desiredNodes, group.liveMinNodes, group.liveMaxNodes), minNodes: group.liveMinNodes, maxNodes: group.liveMaxNodes };
    if (set.desiredNodes === group.fleet.aliveNodes) return set;
    group.fleet.setDesired(this.minute(), set.desiredNodes);
    this.calls.push({ atMs: this.clock.nowMs(), nodeGroup, desiredNodes: set.desiredNodes });
    return set;
  }
}

const hpaKey = (namespace: string, name: string): string => manifestKey({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name, namespace } });

/** An in-memory object store standing in for the Kubernetes API, keyed as the renderer keys objects. */
export class SimManifests implements ManifestApplier {
  readonly objects = new Map<string, ManifestObject>();

  async apply(objects: readonly ManifestObject[]): Promise<ApplyResult[]> {
    return objects.map((object) => {
      const key = manifestKey(object);
      const before = this.objects.get(key);
      this.objects.set(key, object);
      const unchanged = before !== undefined && JSON.stringify(before) === JSON.stringify(object);
      return { key, outcome: unchanged ? 'unchanged' : 'applied', message: undefined };
    });
  }

  async describeHpas(namespace: string, names: readonly string[]): Promise<HpaState[]> {
    const found: HpaState[] = [];
    for (const name of names) {
      const hpa = this.objects.get(hpaKey(namespace, name));
      if (hpa === undefined) continue;
      const spec = hpa.spec as { minReplicas?: number; maxReplicas: number };
      const status = (hpa.status ?? {}) as { currentReplicas?: number; desiredReplicas?: number };
      const minReplicas = spec.minReplicas ?? 1;
      found.push({ namespace, name, minReplicas, maxReplicas: spec.maxReplicas, currentReplicas: status.currentReplicas ?? minReplicas, desiredReplicas: status.desiredReplicas ?? minReplicas });
    }
    return found;
  }

  /** Stores an HPA as described elsewhere (its bounds and replicas), so this store describes it the same way. */
  seedHpa(hpa: HpaState): void {
    this.objects.set(hpaKey(hpa.namespace, hpa.name), {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: hpa.name, namespace: hpa.namespace },
      spec: { minReplicas: hpa.minReplicas, maxReplicas: hpa.maxReplicas },
      status: { currentReplicas: hpa.currentReplicas, desiredReplicas: hpa.desiredReplicas },
    });
  }

  async setHpaMinReplicas(namespace: string, name: string, minReplicas: number): Promise<void> {
    const key = hpaKey(namespace, name);
    const hpa = this.objects.get(key);
    if (hpa === undefined) throw new PrescaleError('not-found', `HorizontalPodAutoscaler ${namespace}/${name} not found`);
    this.objects.set(key, { ...hpa, spec: { ...(hpa.spec as object), minReplicas } });
  }
}

/** Keeps every message so tests and the report can show what Slack would have seen. */
export class RecordingNotifier implements Notifier {
  readonly posted: NotifierMessage[] = [];
  readonly responses: { responseUrl: string; message: NotifierMessage }[] = [];

  async post(message: NotifierMessage): Promise<{ id: string }> {
    this.posted.push(message);
    return { id: `sim-${this.posted.length}` };
  }

  async respond(responseUrl: string, message: NotifierMessage): Promise<void> {
    this.responses.push({ responseUrl, message });
  }
}

export interface AlarmDefinition {
  readonly name: string;
  /** Breaching when the value is at or above the threshold. */
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
}

/**
 * CloudWatch alarm semantics on one datapoint per minute: ALARM when at least
 * N of the last M datapoints breach; a transition into ALARM fires once.
 */
export class SimAlarm {
  private readonly window: boolean[] = [];
  state: 'OK' | 'ALARM' = 'OK';

  constructor(readonly definition: AlarmDefinition) {
    if (definition.datapointsToAlarm > definition.evaluationPeriods) {
      throw new PrescaleError('validation', `alarm ${definition.name}: datapointsToAlarm must be ≤ evaluationPeriods (${definition.evaluationPeriods})`);
    }
  }

  /** Feeds one datapoint; returns true when the alarm moves from OK to ALARM. */
  observe(value: number): boolean {
    this.window.push(value >= this.definition.threshold);
    if (this.window.length > this.definition.evaluationPeriods) this.window.shift();
    const breaching = this.window.filter(Boolean).length;
    const next = breaching >= this.definition.datapointsToAlarm ? 'ALARM' : 'OK';
    const fired = this.state === 'OK' && next === 'ALARM';
    this.state = next;
    return fired;
  }
}

export interface SimCloud {
  readonly clock: SteppedClock;
  readonly metrics: ReplayMetrics;
  readonly capacity: SimCapacity;
  readonly manifests: SimManifests;
  readonly notifier: RecordingNotifier;
  /** Moves the clock to grid minute `minute`. */
  goToMinute(minute: number): void;
}

export function createSimCloud(config: PrescaleConfig, t0Ms: number, initialReadyNodes: Readonly<Record<string, number>>): SimCloud {
  const clock = new SteppedClock(t0Ms);
  const metrics = new ReplayMetrics(clock, t0Ms);
  const capacity = new SimCapacity(clock, t0Ms, config.cluster.name);
  for (const group of config.nodeGroups) capacity.addGroup(group, initialReadyNodes[group.name] ?? group.minNodes);
  return {
    clock,
    metrics,
    capacity,
    manifests: new SimManifests(),
    notifier: new RecordingNotifier(),
    goToMinute: (minute) => clock.set(t0Ms + minute * MINUTE_MS),
  };
}
