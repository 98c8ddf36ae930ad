/**
 * The reweight run of one cluster, the one loop for ALB weights:
 * lease → observe (rule, target health, node groups, SLO metrics) → plan
 * (lib/core/traffic) → act (setWeights, only on a change; the adapter reads
 * back and verifies) → record (one audit entry per change).
 *
 * Target health is the signal that must be there; ready capacity and SLO
 * metrics refine it. When they cannot be read the rule is planned without them
 * (the outcome says so) rather than left alone: a spot notice gives two minutes.
 * One failing rule (a controller-managed rule, a missing target group) does not
 * stop the others.
 */
import type { AlbRuleConfig, PrescaleConfig } from '../config/schema.ts';
import { commandTarget } from '../core/commands.ts';
import { controllerManagedMessage } from '../core/traffic/managed.ts';
import { planReweight, type TargetGroupObservation } from '../core/traffic/reweight.ts';
import { capacityPerTargetFrom, latestSloSignals, readyCapacityMillicores, sloQueries, sloWindow, type SloSignals } from '../core/traffic/signals.ts';
import { targetGroupName } from '../core/traffic/weights.ts';
import { isPrescaleError, PrescaleError, reportedError } from '../errors.ts';
import { LEASE_TTL_MS } from '../pipeline/run.ts';
import type { CapacityActuator, Clock, Lease, MetricsSource, NodeGroupState, StateStore, TrafficActuator } from '../ports.ts';
import type { DemandHistory } from '../core/forecast/types.ts';
import { compareStrings } from '../core/canonical.ts';

export interface RuleOutcome {
  readonly rule: string;
  readonly result: 'applied' | 'unchanged' | 'failed';
  readonly reason: string;
}

export interface ReweightRun {
  /** `lease-held`: another run has the cluster; nothing was read or changed. */
  readonly status: 'done' | 'lease-held';
  readonly rules: RuleOutcome[];
}

export interface ReweightPorts {
  readonly clock: Clock;
  readonly traffic: TrafficActuator;
  readonly capacity: CapacityActuator;
  readonly metrics: MetricsSource;
  readonly state: StateStore;
}

export interface ReweightOptions {
  /** Audit actor, `reweight` for the scheduled function. */
  readonly actor: string;
  /** Lease owner: unique per invocation (the Lambda request id). */
  readonly runId: string;
}

function byName<T extends { readonly name: string }>(a: T, b: T): number {
  return compareStrings(a.name, b.name);
}

/** Ready node counts of every node group behind a target group, one call; an error is reported, not thrown. */
async function observeNodeGroups(config: PrescaleConfig, capacity: CapacityActuator): Promise<{ states: Map<string, NodeGroupState>; note: string | undefined }> {
  const names = [...new Set(config.albRules.flatMap((rule) => rule.targetGroups.map((tg) => tg.nodeGroup)))].sort();
  if (names.length === 0) return { states: new Map(), note: undefined };
  try {
    const states = await capacity.describeNodeGroups(config.cluster.name, names);
    return { states: new Map(states.map((s) => [s.name, s])), note: undefined };
  } catch (error) {
    if (!isPrescaleError(error)) throw error;
    return { states: new Map(), note: `node groups not read (${reportedError(error)}), planned on target health alone` };
  }
}

async function observeSlo(rule: AlbRuleConfig, targetGroupArn: string, metrics: MetricsSource, nowMs: number): Promise<{ signals: SloSignals; note: string | undefined }> {
  const unjudged: SloSignals = { http5xxPercent: undefined, p95ResponseSeconds: undefined };
  // Without an SLO there is nothing to judge: no CloudWatch call (GetMetricData is billed per metric).
  if (rule.slo === undefined || (rule.slo.p95Seconds === undefined && rule.slo.max5xxPercent === undefined)) return { signals: unjudged, note: undefined };
  const queries = sloQueries(rule.listenerArn, targetGroupArn);
  if (queries === undefined) return { signals: unjudged, note: `${targetGroupName(targetGroupArn)}: no ALB metric dimensions in the ARNs, SLO not judged` };
  const { startMs, endMs } = sloWindow(nowMs);
  try {
    // One GetMetricData for the three series; any unreadable one leaves the SLO unjudged (the first, in query order, is named).
    const settled = await metrics.getDemandMany([queries.requests, queries.errors5xx, queries.p95].map((query) => ({ query, startMs, endMs })));
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [requests, errors5xx, p95] = settled.map((r) => (r as PromiseFulfilledResult<DemandHistory>).value);
    return { signals: latestSloSignals({ requests: requests!, errors5xx: errors5xx!, p95: p95! }), note: undefined };
  } catch (error) {
    if (!isPrescaleError(error)) throw error;
    return { signals: unjudged, note: `${targetGroupName(targetGroupArn)}: SLO metrics not read (${reportedError(error)}), SLO not judged` };
  }
}

async function observeRule(
  config: PrescaleConfig,
  rule: AlbRuleConfig,
  ports: ReweightPorts,
  nodeGroups: ReadonlyMap<string, NodeGroupState>,
  nowMs: number,
): Promise<{ observations: TargetGroupObservation[]; notes: string[] }> {
  const notes: string[] = [];
  const observations = await Promise.all(
    rule.targetGroups.map(async (tg): Promise<TargetGroupObservation> => {
      const health = await ports.traffic.describeTargetHealth(tg.arn);
      const state = nodeGroups.get(tg.nodeGroup);
      const group = config.nodeGroups.find((g) => g.name === tg.nodeGroup);
      const readyCapacity = state === undefined || group === undefined ? undefined : readyCapacityMillicores(state, group);
      const slo = await observeSlo(rule, tg.arn, ports.metrics, nowMs);
      if (slo.note !== undefined) notes.push(slo.note);
      return { ...health, readyCapacity, capacityPerTarget: capacityPerTargetFrom(readyCapacity, health.counts), ...slo.signals };
    }),
  );
  return { observations, notes: notes.sort() };
}

async function reweightRule(config: PrescaleConfig, rule: AlbRuleConfig, ports: ReweightPorts, nodeGroups: ReadonlyMap<string, NodeGroupState>, extraNotes: readonly string[], actor: string, nowMs: number): Promise<RuleOutcome> {
  const state = await ports.traffic.describeRule(rule.listenerArn, rule.ruleArn);
  // Refused before anything else is read: the controller would overwrite our weights on its next sync.
  if (state.managedByController) throw new PrescaleError('conflict', controllerManagedMessage(rule.name));
  const { observations, notes } = await observeRule(config, rule, ports, nodeGroups, nowMs);
  const allNotes = [...extraNotes, ...notes];
  const command = planReweight({ cluster: config.cluster.name, rule, state, observations });
  if (command === undefined) return { rule: rule.name, result: 'unchanged', reason: ['weights stay', ...allNotes].join('; ') };
  const reason = [command.reason, ...allNotes].join('; ');
  let result: RuleOutcome['result'] = 'applied';
  let message: string | undefined;
  try {
    await ports.traffic.setWeights(command.listenerArn, command.ruleArn, command.toWeights);
  } catch (error) {
    if (!isPrescaleError(error)) throw error;
    result = 'failed';
    message = reportedError(error);
  }
  await ports.state.appendAudit({
    cluster: config.cluster.name,
    atMs: nowMs,
    actor,
    target: commandTarget(command),
    reason,
    before: command.fromWeights,
    after: command.toWeights,
    result,
    message,
  });
  return { rule: rule.name, result, reason: message ?? reason };
}

/**
 * Reweighting has its own lease: it touches only ALB rules, and a capacity run
 * that holds the cluster lease through a forecast refit must not cost a spot
 * notice one of its two minutes.
 */
export function reweightLeaseName(cluster: string): string {
  return `${cluster}#reweight`;
}

export async function runReweight(config: PrescaleConfig, ports: ReweightPorts, options: ReweightOptions): Promise<ReweightRun> {
  const nowMs = ports.clock.nowMs();
  const cluster = config.cluster.name;
  let lease: Lease;
  try {
    lease = await ports.state.acquireLease(reweightLeaseName(cluster), options.runId, nowMs, LEASE_TTL_MS);
  } catch (error) {
    if (error instanceof PrescaleError && error.code === 'lease-held') return { status: 'lease-held', rules: [] };
    throw error;
  }
  try {
    const { states, note } = await observeNodeGroups(config, ports.capacity);
    const rules: RuleOutcome[] = [];
    for (const rule of [...config.albRules].sort(byName)) {
      try {
        rules.push(await reweightRule(config, rule, ports, states, note === undefined ? [] : [note], options.actor, nowMs));
      } catch (error) {
        if (!isPrescaleError(error)) throw error;
        rules.push({ rule: rule.name, result: 'failed', reason: reportedError(error) });
      }
    }
    return { status: 'done', rules };
  } finally {
    await ports.state.releaseLease(lease);
  }
}
