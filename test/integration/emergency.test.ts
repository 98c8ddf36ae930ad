/**
 * The emergency path on the simulated cloud and the in-memory state store:
 * the same guard stage as a scheduled run (bounds, then the budget with its
 * ledger), under the cluster lease.
 */
import { describe, expect, it } from 'vitest';
import type { PrescaleConfig } from '../../lib/config/schema.ts';
import { alertsSentThisMonth, monthToDateUsd } from '../../lib/core/budget/ledger.ts';
import { executeEmergency, floorRaiseAsNodes, type EmergencyPorts } from '../../lib/handlers/emergency.ts';
import { emergencyPayloadSchema } from '../../lib/handlers/schemas.ts';
import { createSimCloud, type SimCloud } from '../../lib/sim/cloud.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';
import type { StateStore } from '../../lib/ports.ts';
import { PrescaleError } from '../../lib/errors.ts';
import { webClusterConfig, webService } from '../support/web-cluster.ts';

const METRIC = { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 };
/** Nov 2 00:00 UTC; every test acts at minute 10. */
const T0 = Date.UTC(2026, 10, 2);

/**
 * The figures every budget case below starts from, at Nov 2 00:10 with 2 m5.large ($0.096/h) running:
 * month-to-date (estimated from Nov 1 00:00): 2 × 0.096 × 24.1667 h = $4.64;
 * hours left to Dec 1: 720 − 24.1667 = 695.8333 h, so one node to month-end costs 0.096 × 695.8333 = $66.80;
 * projected month-end as is: 4.64 + 2 × 66.80 = $138.24.
 */
const budget = (monthlyUsd: number, capacityChangePercent = 1000) => ({ budget: { monthlyUsd, approval: { capacityChangePercent, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } } });
const config = (overrides: Record<string, unknown> = {}): PrescaleConfig => webClusterConfig(40, { services: [webService('api', METRIC)], ...overrides });

interface Harness {
  readonly cloud: SimCloud;
  readonly state: StateStore;
  readonly ports: EmergencyPorts;
}

function harness(cfg: PrescaleConfig, state: StateStore = createMemoryStateStore()): Harness {
  const cloud = createSimCloud(cfg, T0, { web: 2 });
  cloud.goToMinute(10);
  return { cloud, state, ports: { clock: cloud.clock, capacity: cloud.capacity, manifests: undefined, state, notifier: cloud.notifier } };
}

const request = (target: Record<string, number>, extra: Record<string, unknown> = {}) =>
  emergencyPayloadSchema.parse({ requestId: 'req-00000001', cluster: 'test', nodeGroup: 'web', target, reason: 'traffic spike on launch', requester: 'bob', ...extra });
const OVERRIDE = { budgetOverride: { reason: 'launch day, the VP agreed' } };

async function desired(h: Harness): Promise<number | undefined> {
  return (await h.cloud.capacity.describeNodeGroups('test', ['web']))[0]?.desiredNodes;
}

describe('emergency: the budget guard', () => {
  it.each<[string, PrescaleConfig, Record<string, number>, Record<string, unknown>, { verdict: string; result: string; to: number }, number]>([
    // 2 → 30 against a $5 cap already passed ($138.24 projected): not one node fits, nothing changes.
    ['denies a scale-out past the cap without an override', config(budget(5)), { set: 30 }, {}, { verdict: 'deny', result: 'skipped', to: 30 }, 2],
    // The same with an override: the cap is lifted (30 × $66.80 is far above $5), and bounds still hold.
    ['lets an override with a reason through the cap', config(budget(5)), { set: 30 }, OVERRIDE, { verdict: 'allow', result: 'applied', to: 30 }, 30],
    // Cap $400: room 400 − 138.24 = $261.76 → floor(261.76 / 66.80) = 3 nodes: 2 → 5 of the 10 asked.
    ['clamps to what the cap affords', config(budget(400)), { set: 10 }, {}, { verdict: 'clamp', result: 'applied', to: 5 }, 5],
    // Bounds clamp 50 to 40, the budget denies: the stricter verdict wins (a denied command reports what was asked).
    ['keeps the stricter of the bounds and the budget verdict', config(budget(5)), { set: 50 }, {}, { verdict: 'deny', result: 'skipped', to: 50 }, 2],
    // 2 → 3 is +50 % ≥ the 50 % threshold: a scheduled run would ask Slack; an emergency is refused instead.
    ['refuses what would need an approval', config(budget(100_000, 50)), { change: 1 }, {}, { verdict: 'needs-approval', result: 'skipped', to: 3 }, 2],
    // The override lifts the approval thresholds too: the operator asking is the human in the loop.
    ['lets an override through the approval thresholds', config(budget(100_000, 50)), { change: 1 }, OVERRIDE, { verdict: 'allow', result: 'applied', to: 3 }, 3],
    // No budget configured: bounds only.
    ['guards bounds only without a budget', config(), { set: 30 }, {}, { verdict: 'allow', result: 'applied', to: 30 }, 30],
  ])('%s', async (_name, cfg, target, extra, expected, nodesAfter) => {
    const h = harness(cfg);
    const result = await executeEmergency(request(target, extra), cfg, h.ports);
    expect(result).toMatchObject({ cluster: 'test', target: 'test/nodegroup/web', from: 2, ...expected });
    expect(await desired(h)).toBe(nodesAfter);
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit).toMatchObject({ actor: 'emergency:bob', result: expected.result });
    expect(audit!.reason).toContain(`[guard: ${expected.verdict}: `);
  });

  it('says how to go ahead when the budget refuses', async () => {
    const denied = harness(config(budget(5)));
    const deny = await executeEmergency(request({ set: 30 }), config(budget(5)), denied.ports);
    expect(deny.message).toMatch(/^not applied: budget: over budget: not one more node fits/);
    expect(deny.message).toContain('To go above the budget, send the request again with a new requestId and "budgetOverride": { "reason": "<why the spend is worth it>" }');
    const asked = harness(config(budget(100_000, 50)));
    const approval = await executeEmergency(request({ change: 1 }), config(budget(100_000, 50)), asked.ports);
    expect(approval.message).toContain('capacity +50 % (2→3 nodes) ≥ 50 %');
    expect(approval.message).toContain('An emergency request cannot wait for a Slack approval: to go ahead, send the request again with a new requestId and "budgetOverride"');
    // Nothing is posted for approval: there is no pending plan to approve.
    expect(asked.cloud.notifier.posted).toEqual([]);
  });

  it('records the override and its requester in the audit when it lifts the cap', async () => {
    const h = harness(config(budget(5)));
    await executeEmergency(request({ set: 30 }, OVERRIDE), config(budget(5)), h.ports);
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit!.reason).toContain('emergency override by bob ("launch day, the VP agreed"), ABOVE THE BUDGET CAP');
  });

  it('records the count the live bounds let through: asked 30, the live max of 6 set 6', async () => {
    const h = harness(config());
    h.cloud.capacity.setLiveBounds('web', 1, 6);
    const result = await executeEmergency(request({ set: 30 }), config(), h.ports);
    expect(result).toMatchObject({ result: 'applied', from: 2, to: 6, message: "the node group's live bounds [1, 6] limited it to 6 (asked 30)" });
    expect(await desired(h)).toBe(6);
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit).toMatchObject({ after: { desiredNodes: 6 }, result: 'applied' });
  });

  it('keeps a budget alert Slack refused unsent in the ledger, so the next run posts it', async () => {
    // $5 cap, $4.64 spent: 92.8 % → the 50 and 80 % alerts are due; Slack answers 503.
    const h = harness(config(budget(5)));
    h.cloud.notifier.post = async () => {
      throw new PrescaleError('unavailable', 'Slack answered 503', { retryable: true });
    };
    const result = await executeEmergency(request({ change: -1 }), config(budget(5)), h.ports);
    expect(result.bookkeeping).toBe('budget alert: unavailable: Slack answered 503');
    const ledger = (await h.state.getPlannerMemory('test'))!.ledger!;
    expect(alertsSentThisMonth(ledger, h.cloud.clock.nowMs())).toEqual([]);
  });

  it('accrues the ledger to now in the planner memory, as a scheduled run does', async () => {
    const h = harness(config(budget(400)));
    const nowMs = h.cloud.clock.nowMs();
    await executeEmergency(request({ set: 10 }), config(budget(400)), h.ports);
    const memory = await h.state.getPlannerMemory('test');
    expect(memory?.ledgerAtMs).toBe(nowMs);
    // 2 nodes × $0.096 × 24.1667 h (Nov 1 00:00 → Nov 2 00:10, at the nodes found before the change) = $4.64
    expect(monthToDateUsd(memory!.ledger!, nowMs)).toBeCloseTo(4.64, 6);
  });

  it('writes the ledger under its lease: a write with a superseded fencing token is refused', async () => {
    const base = createMemoryStateStore();
    let stolen = false;
    const writes: string[] = [];
    // Another run takes the lease (it expired) between the emergency's read of the memory and its write.
    const state: StateStore = {
      ...base,
      getPlannerMemory: async (cluster) => {
        const memory = await base.getPlannerMemory(cluster);
        if (!stolen) {
          stolen = true;
          const other = await base.acquireLease(cluster, 'scheduled-run', Date.UTC(2026, 11, 1), 60_000);
          await base.putPlannerMemory(other, { recommendations: {}, raisedFloors: {} });
        }
        return memory;
      },
      putPlannerMemory: async (lease, memory) => {
        try {
          await base.putPlannerMemory(lease, memory);
          writes.push(`written with token ${lease.fencingToken}`);
        } catch (error) {
          writes.push(`refused with token ${lease.fencingToken}: ${(error as Error).message}`);
          throw error;
        }
      },
    };
    const h = harness(config(budget(5)), state);
    await executeEmergency(request({ set: 30 }), config(budget(5)), h.ports).catch(() => undefined);
    // The emergency held token 1; the other run's token 2 wrote first, so the emergency's write was refused.
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/^refused with token 1: /);
    expect((await base.getPlannerMemory('test'))?.ledger).toBeUndefined();
  });
});

describe('emergency: a change made stands, whatever fails in the bookkeeping after it', () => {
  const throttled = async (): Promise<never> => {
    throw new PrescaleError('throttling', 'DynamoDB throttled', { retryable: true });
  };
  // 2 → 2 + 5 = 7 web nodes; a $100,000 cap and thresholds at 1000 % let it through.
  it.each<[keyof StateStore, string]>([
    ['getCooldown', 'cooldown of web: throttling: DynamoDB throttled'],
    ['putCooldown', 'cooldown of web: throttling: DynamoDB throttled'],
    ['putPlannerMemory', 'budget ledger: throttling: DynamoDB throttled'],
    ['appendAudit', 'audit entry: throttling: DynamoDB throttled'],
    ['appendDecision', 'decision record: throttling: DynamoDB throttled'],
    ['releaseLease', 'releasing the cluster lease (it expires by itself): throttling: DynamoDB throttled'],
  ])('%s fails: applied, and the failure reported', async (method, expected) => {
    const base = createMemoryStateStore();
    const h = harness(config(budget(100_000)), { ...base, [method]: throttled });
    const result = await executeEmergency(request({ change: 5 }), config(budget(100_000)), h.ports);
    expect(result).toMatchObject({ verdict: 'allow', result: 'applied', from: 2, to: 7, bookkeeping: expected });
    expect(await desired(h)).toBe(7);
    const audit = await base.listAudit('test', 0, 10);
    // The audit says applied too, with the failures noted before it was written (the decision record and the lease come after).
    if (method !== 'appendAudit') expect(audit.map((a) => a.result)).toEqual(['applied']);
    if (method === 'getCooldown' || method === 'putCooldown' || method === 'putPlannerMemory') expect(audit[0]!.message).toBe(`bookkeeping failed: ${expected}`);
  });

  it('reports nothing when nothing failed', async () => {
    const h = harness(config(budget(100_000)));
    expect(await executeEmergency(request({ change: 5 }), config(budget(100_000)), h.ports)).toMatchObject({ result: 'applied', to: 7, bookkeeping: null });
    // The cooldown moved with the scale-out.
    expect(await h.state.getCooldown('test', 'web')).toMatchObject({ lastScaleOutMs: h.cloud.clock.nowMs() });
  });

  it('a lost lease (stale fencing token) is bookkeeping too: the nodes were set', async () => {
    const base = createMemoryStateStore();
    // Another run took the lease (this one's expired) after the nodes were set, and wrote the cooldown with its newer token.
    const state: StateStore = {
      ...base,
      getCooldown: async (cluster, target) => {
        const other = await base.acquireLease(cluster, 'scheduled-run', Date.UTC(2026, 11, 1), 60_000);
        await base.putCooldown(other, target, { lastScaleOutMs: undefined, lastScaleInMs: undefined });
        return base.getCooldown(cluster, target);
      },
    };
    const h = harness(config(), state);
    const result = await executeEmergency(request({ change: 5 }), config(), h.ports);
    expect(result).toMatchObject({ result: 'applied', to: 7 });
    expect(result.bookkeeping).toMatch(/^cooldown of web: stale: /);
    expect(await desired(h)).toBe(7);
  });
});

describe('emergency: a change not made for a retryable reason fails the invocation', () => {
  const failingScale = (h: Harness, error: PrescaleError): EmergencyPorts => ({
    ...h.ports,
    capacity: Object.assign(Object.create(h.cloud.capacity) as SimCloud['capacity'], {
      setDesiredNodes: async () => {
        throw error;
      },
    }),
  });

  it.each([
    ['busy', new PrescaleError('busy', 'nodegroup web is UPDATING', { retryable: true })],
    ['throttling', new PrescaleError('throttling', 'Rate exceeded', { retryable: true })],
  ])('%s: thrown as retryable once audited, nothing changed, the lease free', async (code, cause) => {
    const h = harness(config());
    const error = await executeEmergency(request({ change: 5 }), config(), failingScale(h, cause)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PrescaleError);
    expect(error).toMatchObject({ code, retryable: true });
    expect((error as Error).message).toBe(
      `emergency request req-00000001: test/nodegroup/web was not changed (${code}: ${cause.message}); the attempt is audited and the request id released: send the same request again to retry`,
    );
    expect(await desired(h)).toBe(2);
    const audit = await h.state.listAudit('test', 0, 10);
    expect(audit.map((a) => [a.result, a.message])).toEqual([['requeued', `${code}: ${cause.message}`]]);
    // The lease was released: the retry (or the next run) takes it at once.
    await expect(h.state.acquireLease('test', 'next', h.cloud.clock.nowMs(), 60_000)).resolves.toMatchObject({ owner: 'next' });
  });

  it('a failure that may have landed (a timeout) is answered, not thrown: a retried change would apply twice', async () => {
    const h = harness(config());
    // the call reaches EKS and scales 2 → 7, then the answer times out
    const ports = { ...h.ports, capacity: { ...h.cloud.capacity, describeNodeGroups: h.cloud.capacity.describeNodeGroups.bind(h.cloud.capacity), setDesiredNodes: async (cluster: string, group: string, nodes: number) => {
      await h.cloud.capacity.setDesiredNodes(cluster, group, nodes);
      throw new PrescaleError('unavailable', 'EKS UpdateNodegroupConfig: TimeoutError', { retryable: true });
    } } };
    const result = await executeEmergency(request({ change: 5 }), config(), ports);
    expect(result).toMatchObject({ result: 'failed', message: 'unavailable: EKS UpdateNodegroupConfig: TimeoutError: the change may have landed; read the current value before sending a new request' });
    expect(await desired(h)).toBe(7);
  });

  it('a failure retrying cannot help is answered, not thrown: a retry would fail the same way', async () => {
    const h = harness(config());
    const result = await executeEmergency(request({ change: 5 }), config(), failingScale(h, new PrescaleError('access-denied', 'not authorized to perform eks:UpdateNodegroupConfig')));
    expect(result).toMatchObject({ result: 'failed', message: 'access-denied: not authorized to perform eks:UpdateNodegroupConfig', bookkeeping: null });
  });
});

describe('emergency: a floor raise under a budget', () => {
  // api: 1 CPU pods on 2-CPU web nodes → 2 a node; its HPA runs 4 pods with a floor of 1
  const floorRequest = (extra: Record<string, unknown> = {}) =>
    emergencyPayloadSchema.parse({ requestId: 'req-00000002', cluster: 'test', service: 'api', target: { set: 20 }, reason: 'incident 321', requester: 'bob', ...extra });
  const withHpa = (cfg: PrescaleConfig) => {
    const h = harness(cfg);
    h.cloud.manifests.seedHpa({ namespace: 'prod', name: 'api', minReplicas: 1, maxReplicas: 80, currentReplicas: 4, desiredReplicas: 4 });
    return { ...h, ports: { ...h.ports, manifests: h.cloud.manifests } };
  };

  it.each<[string, Record<string, unknown>, string, string, number]>([
    // floor 20 over the 4 pods running = 16 more pods = 8 more nodes, which a $5 cap (already passed) refuses
    ['is refused when the nodes its pods need do not fit', {}, 'deny', 'skipped', 1],
    // the override lifts the cap for those nodes, and so for the floor
    ['goes through with an override', OVERRIDE, 'allow', 'applied', 20],
  ])('%s', async (_why, extra, verdict, result, floorAfter) => {
    const h = withHpa(config(budget(5)));
    const answer = await executeEmergency(floorRequest(extra), config(budget(5)), h.ports);
    expect(answer).toMatchObject({ verdict, result });
    expect((await h.cloud.manifests.describeHpas('prod', ['api']))[0]!.minReplicas).toBe(floorAfter);
    if (verdict === 'deny') expect(answer.message).toContain('held with the scale-out of web (denied)');
  });

  it('prices the pods above those running, on the service\'s preferred group', () => {
    const cfg = config(budget(5));
    const floor = { kind: 'set-hpa-floor' as const, cluster: 'test', namespace: 'default', service: 'api', fromMinReplicas: 1, toMinReplicas: 20, reason: 'x' };
    const groups = [{ name: 'web', status: 'ACTIVE' as const, desiredNodes: 2, minNodes: 1, maxNodes: 40, readyNodes: 2, bootingNodes: 0 }];
    const hpa = (currentReplicas: number) => ({ namespace: 'default', name: 'api', minReplicas: 1, maxReplicas: 80, currentReplicas, desiredReplicas: currentReplicas });
    // 20 − 4 running = 16 pods / 2 a node = 8 nodes: 2 → 10
    expect(floorRaiseAsNodes(floor, cfg, groups, hpa(4))).toMatchObject([{ nodeGroup: 'web', fromNodes: 2, toNodes: 10 }]);
    // 20 − 15 running = 5 pods → ceil(5 / 2) = 3 nodes: 2 → 5
    expect(floorRaiseAsNodes(floor, cfg, groups, hpa(15))).toMatchObject([{ toNodes: 5 }]);
    // 25 pods already run: the floor adds none
    expect(floorRaiseAsNodes(floor, cfg, groups, hpa(25))).toEqual([]);
    // lowering a floor adds nothing
    expect(floorRaiseAsNodes({ ...floor, fromMinReplicas: 20, toMinReplicas: 1 }, cfg, groups, hpa(4))).toEqual([]);
  });

  it('spills what the preferred group cannot hold onto the service\'s next group', () => {
    // web is at its maximum of 40 but for 3 nodes; api runs on web, then extra
    const base = config(budget(5));
    const cfg = { ...base, nodeGroups: [...base.nodeGroups, { ...base.nodeGroups[0]!, name: 'extra', minNodes: 0 }], services: [{ ...base.services[0]!, nodeGroups: ['web', 'extra'] }] };
    const floor = { kind: 'set-hpa-floor' as const, cluster: 'test', namespace: 'prod', service: 'api', fromMinReplicas: 1, toMinReplicas: 40, reason: 'x' };
    const groups = [
      { name: 'web', status: 'ACTIVE' as const, desiredNodes: 37, minNodes: 1, maxNodes: 40, readyNodes: 37, bootingNodes: 0 },
      { name: 'extra', status: 'ACTIVE' as const, desiredNodes: 0, minNodes: 0, maxNodes: 40, readyNodes: 0, bootingNodes: 0 },
    ];
    // 40 − 4 running = 36 pods: web takes its last 3 nodes (6 pods), extra the other 30 pods on 15 nodes
    expect(floorRaiseAsNodes(floor, cfg, groups, { namespace: 'prod', name: 'api', minReplicas: 1, maxReplicas: 80, currentReplicas: 4, desiredReplicas: 4 })).toMatchObject([
      { nodeGroup: 'web', fromNodes: 37, toNodes: 40 },
      { nodeGroup: 'extra', fromNodes: 0, toNodes: 15 },
    ]);
  });

  it('prices the floor bounds let through, not the one asked: set 100 clamped to maxReplicas 10 buys what 10 buys', async () => {
    // maxReplicas 10, 4 running: 6 more pods = 3 nodes, which a $400 cap affords (room for 3, see the first table)
    const base = config(budget(400));
    const cfg = { ...base, services: [{ ...base.services[0]!, hpa: { ...base.services[0]!.hpa, maxReplicas: 10 } }] };
    const h = harness(cfg);
    h.cloud.manifests.seedHpa({ namespace: 'prod', name: 'api', minReplicas: 1, maxReplicas: 10, currentReplicas: 4, desiredReplicas: 4 });
    const ports = { ...h.ports, manifests: h.cloud.manifests };
    const answer = await executeEmergency(emergencyPayloadSchema.parse({ requestId: 'req-00000003', cluster: 'test', service: 'api', target: { set: 100 }, reason: 'incident 4711', requester: 'bob' }), cfg, ports);
    expect(answer).toMatchObject({ verdict: 'clamp', result: 'applied', to: 10 });
    const [audit] = await h.state.listAudit('test', 0, 10);
    expect(audit!.reason).toContain('priced as the 3 nodes 6 of the pods of floor 10 need on web (2 a node): allow');
  });
});

