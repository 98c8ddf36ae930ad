/**
 * The emergency entry point: an operator sets a node group's capacity or a
 * service's HPA floor. The request is planned into an ordinary command, goes
 * through the same guard stage as a scheduled run — bounds, then the budget
 * (ledger accrued, caps and approval thresholds; the stricter verdict wins) —
 * holds the cluster lease like any run, and is audited with the requester and
 * the reason. Bounds always hold; `budgetOverride` (with its reason) is what
 * lifts the budget caps and approval thresholds.
 *
 * An emergency cannot wait for a Slack approval: a command the budget guard
 * would send to a human is not carried out, and the answer says to send the
 * request again (a new requestId) with a `budgetOverride` and its reason.
 *
 * Once the actuator has changed capacity the result is `applied`, whatever
 * happens to the bookkeeping after it (cooldown, ledger, audit, lease): those
 * failures are reported in `bookkeeping`, never hidden, never turned into
 * "not applied". A change refused before it ran (the node group is busy, the
 * call throttled) is audited and then thrown as a retryable error, so the
 * idempotency record is released and a retry with the same requestId retries.
 * Any other failure (a timeout or a 5xx may have landed) is answered as
 * failed, says the change may have landed, and is kept: a retried relative
 * `change` must not apply twice.
 */
import type { PrescaleConfig } from '../config/schema.ts';
import type { Command, GuardedCommand, ScaleNodeGroupCommand } from '../core/commands.ts';
import { commandTarget, isNoOp } from '../core/commands.ts';
import { guard, holdFloorsWithTheirNodes } from '../core/guard.ts';
import { podsPerNode } from '../core/plan/packing.ts';
import { bundledPriceTable, nodeGroupPricesUsdPerHour } from '../core/budget/prices.ts';
import { isPrescaleError, PrescaleError, reportedError, ValidationError } from '../errors.ts';
import { budgetStage, postAlertsForLedger } from '../pipeline/budget.ts';
import { EMPTY_PLANNER_MEMORY, LEASE_TTL_MS, readPlannerMemory, recordScaleCooldown, scaleResult } from '../pipeline/run.ts';
import type { AuditEntry, CapacityActuator, Clock, HpaState, Lease, ManifestApplier, NodeGroupState, Notifier, StateStore } from '../ports.ts';
import type { EmergencyPayload } from './schemas.ts';

/** The value the operator asked for: `set` as is, `change` added to the current value, never below 0. */
export function computeEmergencyTarget(current: number, target: EmergencyPayload['target']): number {
  if (target.set !== undefined) return target.set;
  return Math.max(0, current + (target.change ?? 0));
}

export function emergencyReason(payload: EmergencyPayload): string {
  const override = payload.budgetOverride === undefined ? '' : ` (budget override: ${payload.budgetOverride.reason})`;
  return `emergency by ${payload.requester}: ${payload.reason}${override}`;
}

/** Names the payload field that points at something the configuration does not have. */
export function checkEmergencyTarget(payload: EmergencyPayload, config: PrescaleConfig): void {
  if (payload.nodeGroup !== undefined && !config.nodeGroups.some((g) => g.name === payload.nodeGroup)) {
    throw new ValidationError('emergency payload', [`nodeGroup "${payload.nodeGroup}" is not a node group of cluster ${config.cluster.name} (known: ${config.nodeGroups.map((g) => g.name).join(', ')})`]);
  }
  if (payload.service !== undefined && !config.services.some((s) => s.name === payload.service)) {
    throw new ValidationError('emergency payload', [`service "${payload.service}" is not a service of cluster ${config.cluster.name} (known: ${config.services.map((s) => s.name).join(', ')})`]);
  }
}

export function planEmergency(payload: EmergencyPayload, config: PrescaleConfig, observed: { nodeGroup?: NodeGroupState; hpa?: HpaState }): Command {
  const reason = emergencyReason(payload);
  if (payload.nodeGroup !== undefined) {
    const group = observed.nodeGroup;
    if (group === undefined) throw new PrescaleError('not-found', `node group ${payload.nodeGroup} not found in cluster ${config.cluster.name}`);
    return { kind: 'scale-node-group', cluster: config.cluster.name, nodeGroup: payload.nodeGroup, fromNodes: group.desiredNodes, toNodes: computeEmergencyTarget(group.desiredNodes, payload.target), reason };
  }
  const service = config.services.find((s) => s.name === payload.service);
  if (service === undefined) throw new ValidationError('emergency payload', [`service "${String(payload.service)}" is not configured`]);
  const current = observed.hpa?.minReplicas ?? service.hpa.minReplicas;
  return { kind: 'set-hpa-floor', cluster: config.cluster.name, namespace: service.namespace, service: service.name, fromMinReplicas: current, toMinReplicas: computeEmergencyTarget(current, payload.target), reason };
}

export interface EmergencyPorts {
  readonly clock: Clock;
  readonly capacity: CapacityActuator;
  readonly manifests: ManifestApplier | undefined;
  readonly state: StateStore;
  /** Where a budget alert the ledger says is due goes (as in a scheduled run); none in some tests. */
  readonly notifier?: Notifier | undefined;
}

export interface EmergencyResult {
  readonly cluster: string;
  readonly target: string;
  /** The stricter of the bounds and the budget verdict. */
  readonly verdict: GuardedCommand['verdict'];
  /** Never `requeued`: a change not made for a retryable reason is thrown (see the file header). */
  readonly result: AuditEntry['result'];
  readonly from: number;
  readonly to: number;
  /** Null rather than undefined: the result is stored as JSON by idempotency. */
  readonly message: string | null;
  /** What failed after the change (cooldown, ledger, alert, audit, lease), `; `-joined; null when nothing did. */
  readonly bookkeeping: string | null;
}

function values(command: Command): { from: number; to: number } {
  if (command.kind === 'scale-node-group') return { from: command.fromNodes, to: command.toNodes };
  if (command.kind === 'set-hpa-floor') return { from: command.fromMinReplicas, to: command.toMinReplicas };
  return { from: 0, to: 0 };
}

const RESEND_WITH_OVERRIDE = 'send the request again with a new requestId and "budgetOverride": { "reason": "<why the spend is worth it>" }';

/**
 * Why the guarded command is not carried out, or undefined when it may run
 * (allow, clamp). `bounded` is the bounds verdict alone: when it let the
 * command through, the budget stopped it, and the answer says how to lift the
 * budget check. A `needs-approval` is refused: an emergency cannot wait for
 * Slack, and the operator asking is the approval once they give the override.
 */
export function emergencyRefusal(bounded: GuardedCommand, guarded: GuardedCommand, hasOverride: boolean): string | undefined {
  if (guarded.verdict === 'allow' || guarded.verdict === 'clamp') return undefined;
  const byBudget = bounded.verdict === 'allow' || bounded.verdict === 'clamp';
  if (guarded.verdict === 'needs-approval') {
    return `not applied: ${guarded.reason}. An emergency request cannot wait for a Slack approval: to go ahead, ${RESEND_WITH_OVERRIDE}`;
  }
  if (byBudget && !hasOverride) return `not applied: ${guarded.reason}. To go above the budget, ${RESEND_WITH_OVERRIDE}`;
  return `not applied: ${guarded.reason}`;
}

/**
 * A floor raise as the nodes it would buy: the pods above those the HPA runs
 * now, placed as Cluster Autoscaler would buy for them, on the service's
 * groups in order, each up to its configured maximum (a full group spills
 * onto the next). The budget prices those scale-outs and the floor shares
 * their fate (holdFloorsWithTheirNodes), as in a scheduled run. Empty for
 * anything that adds no pods. Free room on nodes already running is not
 * counted (a group's nodes may be any service's): it errs toward pricing.
 */
export function floorRaiseAsNodes(command: Command | undefined, config: PrescaleConfig, nodeGroups: readonly NodeGroupState[], hpa: HpaState | undefined): ScaleNodeGroupCommand[] {
  if (command?.kind !== 'set-hpa-floor' || command.toMinReplicas <= command.fromMinReplicas) return [];
  const service = config.services.find((s) => s.name === command.service);
  if (service === undefined) return [];
  let pods = command.toMinReplicas - Math.max(command.fromMinReplicas, hpa?.currentReplicas ?? 0);
  const scales: ScaleNodeGroupCommand[] = [];
  for (const name of service.nodeGroups) {
    const group = config.nodeGroups.find((g) => g.name === name);
    const state = nodeGroups.find((g) => g.name === name);
    if (pods <= 0 || group === undefined || state === undefined) continue;
    const perNode = podsPerNode(service.requests, group.allocatable);
    const nodes = perNode < 1 ? 0 : Math.min(Math.ceil(pods / perNode), Math.max(0, group.maxNodes - state.desiredNodes));
    if (nodes === 0) continue;
    const placed = Math.min(pods, nodes * perNode);
    scales.push({
      kind: 'scale-node-group',
      cluster: config.cluster.name,
      nodeGroup: name,
      fromNodes: state.desiredNodes,
      toNodes: state.desiredNodes + nodes,
      reason: `the ${nodes} node${nodes === 1 ? '' : 's'} ${placed} of the pods of floor ${command.toMinReplicas} need on ${name} (${perNode} a node)`,
    });
    pods -= placed;
  }
  return scales;
}

/** The verdict's reason as the audit and the result tell it (clamps say how; allows need no words). */
function appliedMessage(guarded: GuardedCommand): string | undefined {
  return guarded.verdict === 'clamp' ? guarded.reason : undefined;
}

/** An audit message with what failed in the bookkeeping, if anything did; the result it describes stands. */
export function withBookkeeping(message: string | undefined, bookkeeping: readonly string[]): string | undefined {
  if (bookkeeping.length === 0) return message;
  const note = `bookkeeping failed: ${bookkeeping.join('; ')}`;
  return message === undefined ? note : `${message} [${note}]`;
}

/** Runs a bookkeeping step whose failure must not undo what was already done: the failure is noted, not thrown. */
async function noting(notes: string[], what: string, step: () => Promise<unknown>): Promise<void> {
  try {
    await step();
  } catch (error) {
    notes.push(`${what}: ${reportedError(error)}`);
  }
}

interface Attempt {
  readonly result: EmergencyResult;
  /** Set when nothing changed for a retryable reason: thrown once the lease is released. */
  readonly retryable: PrescaleError | undefined;
  /** Filled as bookkeeping fails (the lease release included). */
  readonly notes: string[];
}

export async function executeEmergency(payload: EmergencyPayload, config: PrescaleConfig, ports: EmergencyPorts): Promise<EmergencyResult> {
  checkEmergencyTarget(payload, config);
  if (payload.service !== undefined && ports.manifests === undefined) {
    throw new PrescaleError('unavailable', 'setting a service floor needs the Kubernetes applier, which this deployment does not have');
  }
  const cluster = config.cluster.name;
  const nowMs = ports.clock.nowMs();
  // The lease makes the emergency wait for (never race) a scheduled run; lease-held is retryable.
  const lease = await ports.state.acquireLease(cluster, `emergency:${payload.requestId}`, nowMs, LEASE_TTL_MS);
  let attempt: Attempt | undefined;
  try {
    attempt = await attemptUnderLease(payload, config, ports, lease, nowMs);
  } finally {
    // A failure before anything changed propagates as it is (the lease released first).
    if (attempt === undefined) await ports.state.releaseLease(lease);
  }
  if (attempt.result.result === 'applied') await noting(attempt.notes, 'releasing the cluster lease (it expires by itself)', () => ports.state.releaseLease(lease));
  else await ports.state.releaseLease(lease);
  if (attempt.retryable !== undefined) throw attempt.retryable;
  return { ...attempt.result, bookkeeping: attempt.notes.length === 0 ? null : attempt.notes.join('; ') };
}

async function attemptUnderLease(payload: EmergencyPayload, config: PrescaleConfig, ports: EmergencyPorts, lease: Lease, nowMs: number): Promise<Attempt> {
  const cluster = config.cluster.name;
  const service = config.services.find((s) => s.name === payload.service);
  // The budget prices the whole fleet (an unobserved group would count at its minimum): every group when there is a budget.
  const groupNames = config.budget !== undefined ? config.nodeGroups.map((g) => g.name) : payload.nodeGroup === undefined ? [] : [payload.nodeGroup];
  const nodeGroups = groupNames.length === 0 ? [] : await ports.capacity.describeNodeGroups(cluster, groupNames);
  const observed = {
    nodeGroup: nodeGroups.find((g) => g.name === payload.nodeGroup),
    hpa: service === undefined || ports.manifests === undefined ? undefined : (await ports.manifests.describeHpas(service.namespace, [service.name]))[0],
  };
  const command = planEmergency(payload, config, observed);
  const [bounded] = guard([command], { config });
  if (bounded === undefined) throw new PrescaleError('internal', 'the guard returned no verdict');
  // The budget half of the guard stage, as in a scheduled run: the ledger (in the planner memory, read under the lease) accrued to now.
  const memory = config.budget === undefined ? EMPTY_PLANNER_MEMORY : await readPlannerMemory(ports.state, cluster);
  const priceTable = bundledPriceTable();
  const override = payload.budgetOverride === undefined ? undefined : { reason: payload.budgetOverride.reason, by: payload.requester };
  // A floor raise buys nodes through Cluster Autoscaler: the budget prices them, and the floor shares their fate.
  // Priced as bounds let it through (a floor clamped to maxReplicas buys only up to it); a denied one buys nothing.
  const floorNodes = config.budget === undefined ? [] : floorRaiseAsNodes(bounded.effective, config, nodeGroups, observed.hpa);
  const bounds = [bounded, ...guard(floorNodes, { config })];
  const budget = budgetStage({ config, nowMs, nodeGroups, memory, bounded: bounds, priceTable, usdPerHourByGroup: nodeGroupPricesUsdPerHour(config.nodeGroups, config.cluster.region, priceTable), override });
  // The budget stage orders commands (node groups first) and keeps each one's identity: find the request's own.
  const fated = floorNodes.length === 0 ? budget.guarded : holdFloorsWithTheirNodes(budget.guarded, config);
  const own = fated.find((g) => g.command === command);
  // The nodes' verdicts go in the floor's reason: the audit shows what the floor was priced at, an override above the cap included.
  const priced = fated.filter((g) => g.command !== command).map((g) => `${g.command.reason}: ${g.verdict}: ${g.reason}`);
  const guarded = own === undefined || priced.length === 0 ? own : { ...own, reason: `${own.reason}; priced as ${priced.join('; ')}` };
  if (guarded === undefined) throw new PrescaleError('internal', 'the budget guard returned no verdict');

  // What was asked of the cloud; `effective` becomes what it did (its live bounds may clamp a node count).
  let effective = guarded.effective;
  const notes: string[] = [];
  let result: AuditEntry['result'] = 'skipped';
  let message = emergencyRefusal(bounded, guarded, override !== undefined);
  let retryable: PrescaleError | undefined;
  if (effective !== undefined && message === undefined) {
    if (isNoOp(effective)) {
      message = 'already at the requested value';
    } else {
      try {
        if (effective.kind === 'scale-node-group') {
          const scaled = scaleResult(effective, await ports.capacity.setDesiredNodes(cluster, effective.nodeGroup, effective.toNodes));
          result = scaled.result;
          message = scaled.message ?? appliedMessage(guarded);
          effective = scaled.applied ?? effective;
        } else {
          if (effective.kind === 'set-hpa-floor') await ports.manifests?.setHpaMinReplicas(effective.namespace, effective.service, effective.toMinReplicas);
          result = 'applied';
          message = appliedMessage(guarded);
        }
      } catch (error) {
        if (!isPrescaleError(error)) throw error;
        message = reportedError(error);
        // Only a refusal before anything ran (busy, throttled) proves nothing changed; a timeout or a 5xx may have
        // landed, and a retried `change: +3` would add 3 again: that one is answered, with the doubt, and kept.
        if (error.code === 'busy' || error.code === 'throttling') {
          result = 'requeued';
          retryable = new PrescaleError(
            error.code,
            `emergency request ${payload.requestId}: ${commandTarget(effective)} was not changed (${message}); the attempt is audited and the request id released: send the same request again to retry`,
            { retryable: true, cause: error },
          );
        } else {
          result = 'failed';
          if (error.retryable) message = `${message}: the change may have landed; read the current value before sending a new request`;
        }
      }
    }
  }

  // From here on, a failure is bookkeeping when the change was made (noted), and an error when it was not.
  const afterChange = async (what: string, step: () => Promise<unknown>): Promise<void> => {
    if (result === 'applied') await noting(notes, what, step);
    else await step();
  };
  const scaled = effective;
  if (result === 'applied' && scaled?.kind === 'scale-node-group') {
    await noting(notes, `cooldown of ${scaled.nodeGroup}`, () => recordScaleCooldown(ports.state, lease, scaled, nowMs));
  }
  if (budget.ledger !== undefined) {
    // Posted before the ledger that marks them sent is kept, as in a run: a refused post is sent again by the next run.
    const { ledger, notPosted } = await postAlertsForLedger(ports.notifier, budget);
    if (notPosted !== undefined) notes.push(`budget alert: ${notPosted}`);
    // The ledger is advisory here: a lost write is accrued again by the next run from the ledger it finds.
    await noting(notes, 'budget ledger', () => ports.state.putPlannerMemory(lease, { ...memory, ledger, ledgerAtMs: budget.ledgerAtMs }));
  }
  const subject = effective ?? command;
  const { from, to } = values(subject);
  await afterChange('audit entry', () =>
    ports.state.appendAudit({
      cluster,
      atMs: nowMs,
      actor: `emergency:${payload.requester}`,
      target: commandTarget(subject),
      reason: `${subject.reason} [guard: ${guarded.verdict}: ${guarded.reason}] [request ${payload.requestId}]`,
      before: subject.kind === 'scale-node-group' ? { desiredNodes: from } : { minReplicas: from },
      after: subject.kind === 'scale-node-group' ? { desiredNodes: to } : { minReplicas: to },
      result,
      message: withBookkeeping(message, notes),
    }),
  );
  await afterChange('decision record', () =>
    ports.state.appendDecision({
      cluster,
      atMs: nowMs,
      trigger: `emergency:${payload.requester}`,
      fencingToken: lease.fencingToken,
      forecastModel: undefined,
      commands: [{ command, verdict: guarded.verdict, reason: guarded.reason }],
    }),
  );
  return {
    result: { cluster, target: commandTarget(subject), verdict: guarded.verdict, result, from, to, message: message ?? null, bookkeeping: null },
    retryable,
    notes,
  };
}
