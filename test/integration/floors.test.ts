/**
 * Predictive HPA floors through the whole loop on the simulated cloud: the
 * floors prescale holds follow what was applied, survive a lost memory write,
 * and never take a floor someone else set.
 */
import { describe, expect, it } from 'vitest';
import type { PrescaleConfig } from '../../lib/config/schema.ts';
import type { Forecaster } from '../../lib/core/forecast/types.ts';
import { PrescaleError } from '../../lib/errors.ts';
import { executeEmergency } from '../../lib/handlers/emergency.ts';
import type { EmergencyPayload } from '../../lib/handlers/schemas.ts';
import { executeApprovedPlan, floorWithoutItsNodes, runPipeline, type PipelinePorts } from '../../lib/pipeline/run.ts';
import type { ManifestApplier, PlannerMemory, StateStore } from '../../lib/ports.ts';
import { createSimCloud } from '../../lib/sim/cloud.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';
import { webClusterConfig, webService } from '../support/web-cluster.ts';

const METRIC = { namespace: 'Test', name: 'Requests', dimensions: {}, stat: 'Average', periodSeconds: 60 };
const T0 = Date.UTC(2026, 10, 2);
/** 1500 demand at 100 per pod → 15 pods: the floor a ramp raises to. */
const HIGH = 1500;
const LOW = 50;

/** The demand of the minute it runs at, over the whole history and horizon: the floor follows the trace. */
function flatForecaster(level: () => number): Forecaster {
  return {
    name: 'flat',
    forecast: ({ history, horizonSteps, levels }) => {
      const point = Array<number>(history.values.length + horizonSteps).fill(level());
      return { model: 'flat', startMs: history.startMs, stepSeconds: history.stepSeconds, point, quantiles: levels.map((l) => ({ level: l, values: point })) };
    },
  };
}

function configWithMin(minReplicas: number): PrescaleConfig {
  const service = webService('api', METRIC);
  return webClusterConfig(40, { services: [{ ...service, hpa: { ...service.hpa, minReplicas } }], policy: { costCeiling: 'off' } });
}

interface Options {
  /** Refuse setting minReplicas to this value (an SSA conflict). */
  readonly refuseFloor?: (minReplicas: number) => boolean;
  /** Fail this planner memory write (throttling). */
  readonly failMemoryWrite?: (memory: PlannerMemory) => boolean;
  readonly configuredMin?: number;
}

function harness(demand: readonly number[], options: Options = {}) {
  const configured = options.configuredMin ?? 1;
  const cfg = configWithMin(configured);
  const cloud = createSimCloud(cfg, T0, { web: 2 });
  cloud.metrics.add(METRIC, Float64Array.from(demand));
  cloud.manifests.seedHpa({ namespace: 'prod', name: 'api', minReplicas: configured, maxReplicas: 80, currentReplicas: 2, desiredReplicas: 2 });
  const floorsSet: number[] = [];
  const manifests: ManifestApplier = {
    apply: (objects) => cloud.manifests.apply(objects),
    describeHpas: (namespace, names) => cloud.manifests.describeHpas(namespace, names),
    setHpaMinReplicas: async (namespace, name, minReplicas) => {
      if (options.refuseFloor?.(minReplicas)) throw new PrescaleError('conflict', `HPA ${namespace}/${name}: cannot set minReplicas to ${minReplicas}: conflict with "keda"`);
      floorsSet.push(minReplicas);
      return cloud.manifests.setHpaMinReplicas(namespace, name, minReplicas);
    },
  };
  const inner = createMemoryStateStore();
  const state: StateStore = {
    ...inner,
    putPlannerMemory: async (lease, memory) => {
      if (options.failMemoryWrite?.(memory)) throw new PrescaleError('throttling', 'DynamoDB: rate of requests exceeds the allowed throughput', { retryable: true });
      return inner.putPlannerMemory(lease, memory);
    },
  };
  let minute = 0;
  const ports: PipelinePorts = { clock: cloud.clock, metrics: cloud.metrics, capacity: cloud.capacity, manifests, state, forecaster: flatForecaster(() => demand[Math.min(minute, demand.length - 1)]!), notifier: cloud.notifier };
  return {
    cloud,
    state,
    ports,
    floorsSet,
    floor: async () => (await cloud.manifests.describeHpas('prod', ['api']))[0]!.minReplicas,
    memory: async () => state.getPlannerMemory('test'),
    run: (at: number, config: PrescaleConfig = cfg) => {
      minute = at;
      cloud.goToMinute(at);
      return runPipeline(config, ports, { trigger: 'scheduled', actor: 'scheduled', runId: `r${at}`, rehearse: false });
    },
  };
}

const floorOutcomes = (result: Awaited<ReturnType<typeof runPipeline>>) => result.outcomes.filter((o) => o.guarded.command.kind === 'set-hpa-floor').map((o) => `${o.result}: ${o.message ?? ''}`);

describe('predictive HPA floors in the pipeline', () => {
  // 30 minutes at 1500 (15 pods), then 50 (1 pod): the floor is raised to 15, then restored to the configured 1.
  const ramp = [...Array<number>(30).fill(HIGH), ...Array<number>(200).fill(LOW)];

  it('asks for the nodes before it raises the floor whose pods they hold', async () => {
    const h = harness(ramp);
    const result = await h.run(20);
    // the ramp asks for nodes and for a floor of 15 in the same run: the nodes first
    expect(result.outcomes.map((o) => `${o.guarded.command.kind}: ${o.result}`)).toEqual(['scale-node-group: applied', 'set-hpa-floor: applied']);
  });

  it('holds the floor raise with a scale-out the budget refused: its pods would have Cluster Autoscaler buy those nodes', async () => {
    // A $5 cap is already passed by the month so far (2 × $0.096 × 24 h = $4.6 by Nov 2 00:20, plus what 2 nodes
    // cost to month-end): not one more node fits, so 2 → 8 is denied, and the floor of 15 with it.
    const h = harness(ramp);
    const budgeted = webClusterConfig(40, { services: [webService('api', METRIC)], policy: { costCeiling: 'off' }, budget: { monthlyUsd: 5 } });
    const result = await h.run(20, budgeted);
    expect(result.outcomes.map((o) => `${o.guarded.command.kind}: ${o.guarded.verdict}: ${o.result}`)).toEqual(['scale-node-group: deny: skipped', 'set-hpa-floor: deny: skipped']);
    expect(result.outcomes[1]!.guarded.reason).toContain('held with the scale-out of web (denied)');
    expect(await h.floor()).toBe(1);
  });

  it('remembers a floor raise a human approved, so the ramp\'s end restores it', async () => {
    // 2 → 8 nodes is +300 % ≥ 50 %: it waits for approval, and the floor of 15 its pods need waits with it.
    const h = harness(ramp);
    const budgeted = webClusterConfig(40, { services: [webService('api', METRIC)], policy: { costCeiling: 'off' }, budget: { monthlyUsd: 100_000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } } });
    const asked = await h.run(20, budgeted);
    expect(asked.pendingPlan!.commands.map((c) => c.kind)).toEqual(['scale-node-group', 'set-hpa-floor']);
    h.cloud.goToMinute(21);
    const approved = await executeApprovedPlan(budgeted, h.ports, asked.pendingPlan!, 'slack:U012ABCDEF');
    expect(approved.outcomes.map((o) => o.result)).toEqual(['applied', 'applied']);
    expect(await h.floor()).toBe(15);
    expect((await h.memory())?.raisedFloors).toStrictEqual({ 'prod/api': 15 });
    // the ramp over (demand 50 → 1 pod): the floor comes back down
    await h.run(60, budgeted);
    expect(await h.floor()).toBe(1);
  });

  it('an approval keeps the floor intents of other services it did not touch', async () => {
    const h = harness(ramp);
    const budgeted = webClusterConfig(40, { services: [webService('api', METRIC)], policy: { costCeiling: 'off' }, budget: { monthlyUsd: 100_000, approval: { capacityChangePercent: 50, costChangeUsdPerHour: 1000, projectedSpendPercent: 100 } } });
    const asked = await h.run(20, budgeted);
    // a run before kept an intent for batch (its raise to 15 timed out, and may have landed)
    h.cloud.goToMinute(21);
    const lease = await h.state.acquireLease('test', 'earlier-run', h.cloud.clock.nowMs(), 60_000);
    await h.state.putPlannerMemory(lease, { ...(await h.memory())!, floorIntents: { 'prod/batch': 15 } });
    await h.state.releaseLease(lease);
    await executeApprovedPlan(budgeted, h.ports, asked.pendingPlan!, 'slack:U012ABCDEF');
    expect((await h.memory())?.floorIntents).toStrictEqual({ 'prod/batch': 15 });
    expect((await h.memory())?.raisedFloors).toMatchObject({ 'prod/api': 15 });
  });

  it("gives an operator's floor back even when the raise over it landed but its outcome was lost", async () => {
    // the operator holds 10; 5000 demand (50 pods) comes; the run's write after act fails
    const demand = [...Array<number>(40).fill(5000), ...Array<number>(100).fill(LOW)];
    let failAfterAct = true;
    const h = harness(demand, { failMemoryWrite: (memory) => failAfterAct && memory.floorIntents === undefined && memory.raisedFloors['prod/api'] === 50 });
    await h.cloud.manifests.setHpaMinReplicas('prod', 'api', 10);
    await expect(h.run(30)).rejects.toMatchObject({ code: 'throttling' });
    expect(await h.floor()).toBe(50);
    failAfterAct = false;
    // the intent names the 50 and what it went over: the ramp's end gives back 10, not the configured 1
    await h.run(31);
    await h.run(120);
    expect(await h.floor()).toBe(10);
  });

  it('holds a floor raise back when the scale-out its pods need did not run, and raises it once the nodes come', async () => {
    const h = harness(ramp);
    h.cloud.capacity.setStatus('web', 'UPDATING');
    const busy = await h.run(20);
    expect(busy.outcomes.map((o) => `${o.guarded.command.kind}: ${o.result}`)).toEqual(['scale-node-group: requeued', 'set-hpa-floor: requeued']);
    expect(busy.outcomes[1]!.message).toBe('not sent: the scale-out of web its pods need did not run; the next run plans it again');
    expect(await h.floor()).toBe(1);
    h.cloud.capacity.setStatus('web', 'ACTIVE');
    await h.run(21);
    expect(await h.floor()).toBe(15);
  });

  it('holds a floor raise back when the live bounds keep its group where it is', async () => {
    // someone narrowed web to [1, 2]: 2 → 8 is skipped, and 15 pods of 1 CPU cannot fit on 2 two-CPU nodes
    const h = harness(ramp);
    h.cloud.capacity.setLiveBounds('web', 1, 2);
    const held = await h.run(20);
    expect(held.outcomes.map((o) => `${o.guarded.command.kind}: ${o.result}`)).toEqual(['scale-node-group: skipped', 'set-hpa-floor: requeued']);
    expect(await h.floor()).toBe(1);
  });

  it.each<[string, number, number, string[], string | undefined]>([
    // 1 → 15 on api (groups: web) while web's scale-out did not run: held, naming web
    ['a raise beside an unscaled group', 1, 15, ['web'], 'web'],
    // web scaled: nothing to hold
    ['a raise beside scaled groups', 1, 15, [], undefined],
    // lowering a floor asks for no pods
    ['a lowering', 15, 1, ['web'], undefined],
  ])('floorWithoutItsNodes: %s', (_why, from, to, unscaled, expected) => {
    const command = { kind: 'set-hpa-floor' as const, cluster: 'test', namespace: 'prod', service: 'api', fromMinReplicas: from, toMinReplicas: to, reason: 'x' };
    expect(floorWithoutItsNodes(command, configWithMin(1), new Set(unscaled))).toBe(expected);
  });

  it('a failed restore keeps the raised floor held, and the next run restores it', async () => {
    let refuse = true;
    const h = harness(ramp, { refuseFloor: (min) => refuse && min === 1 });
    await h.run(20);
    expect(await h.floor()).toBe(15);
    const failed = await h.run(60);
    expect(floorOutcomes(failed)).toEqual([expect.stringMatching(/^failed: conflict: .*minReplicas to 1/)]);
    // still 15, still prescale's; the 1 it tried is kept as an intent in case it landed
    expect(await h.memory()).toMatchObject({ raisedFloors: { 'prod/api': 15 }, floorIntents: { 'prod/api': 1 } });
    refuse = false;
    await h.run(61);
    expect(await h.floor()).toBe(1);
  });

  it('a failed raise is not held: a floor someone else sets afterwards is theirs', async () => {
    const demand = [...Array<number>(30).fill(HIGH), ...Array<number>(200).fill(1000)];
    const h = harness(demand, { refuseFloor: (min) => min === 15 });
    const refused = await h.run(20);
    expect(floorOutcomes(refused)).toEqual([expect.stringMatching(/^failed: /)]);
    expect(await h.floor()).toBe(1);
    // the other manager sets its own floor of 30; the forecast then eases to 10 pods (1000 / 100)
    await h.cloud.manifests.setHpaMinReplicas('prod', 'api', 30);
    await h.run(21);
    expect((await h.memory())?.raisedFloors).toStrictEqual({});
    const eased = await h.run(40);
    expect(floorOutcomes(eased)).toEqual([]);
    expect(await h.floor()).toBe(30);
  });

  it("leaves an operator's emergency floor where the operator put it", async () => {
    const h = harness(Array<number>(60).fill(HIGH));
    await h.run(20);
    expect(await h.floor()).toBe(15);
    h.cloud.goToMinute(21);
    const payload: EmergencyPayload = { requestId: 'req-1', cluster: 'test', service: 'api', target: { set: 40 }, reason: 'incident 123', requester: 'ops@example.com' } as EmergencyPayload;
    const emergency = await executeEmergency(payload, configWithMin(1), { clock: h.cloud.clock, capacity: h.cloud.capacity, manifests: h.ports.manifests, state: h.state });
    expect(emergency.result).toBe('applied');
    // the forecast still asks for 15 pods: before, the next run lowered the operator's 40 to 15
    const next = await h.run(22);
    expect(floorOutcomes(next)).toEqual([]);
    expect(await h.floor()).toBe(40);
    expect((await h.memory())?.raisedFloors).toStrictEqual({});
  });

  it("raises over an operator's emergency floor for a ramp and gives it back afterwards, not the configured value", async () => {
    // the operator holds 40 during an incident; demand of 5000 (50 pods) comes and goes
    const demand = [...Array<number>(40).fill(5000), ...Array<number>(100).fill(LOW)];
    const h = harness(demand);
    h.cloud.goToMinute(10);
    const payload = { requestId: 'req-2', cluster: 'test', service: 'api', target: { set: 40 }, reason: 'incident 124', requester: 'ops@example.com' } as EmergencyPayload;
    await executeEmergency(payload, configWithMin(1), { clock: h.cloud.clock, capacity: h.cloud.capacity, manifests: h.ports.manifests, state: h.state });
    await h.run(30);
    expect(await h.floor()).toBe(50);
    expect(await h.memory()).toMatchObject({ raisedFloors: { 'prod/api': 50 }, floorsRaisedOver: { 'prod/api': 40 } });
    const over = await h.run(60);
    expect(floorOutcomes(over)).toEqual(['applied: ']);
    expect(await h.floor()).toBe(40);
    // handed back: the 40 is the operator's again, and later runs leave it
    expect(await h.memory()).toMatchObject({ raisedFloors: {}, floorsRaisedOver: {} });
    await h.run(80);
    expect(await h.floor()).toBe(40);
  });

  it('restores a raised floor even when the memory write after the raise failed', async () => {
    // the write after act fails once the raise has been applied; the intent saved before it stands
    let raised = false;
    let failed = false;
    const h = harness(ramp, { failMemoryWrite: (memory) => !failed && raised && memory.floorIntents === undefined && (failed = true) });
    const original = h.ports.manifests!.setHpaMinReplicas;
    h.ports.manifests!.setHpaMinReplicas = async (...args) => {
      await original(...args);
      raised = true;
    };
    await expect(h.run(20)).rejects.toThrow(/rate of requests/);
    expect(await h.floor()).toBe(15);
    await h.run(60);
    expect(await h.floor()).toBe(1);
  });

  it('does not send a floor whose intent cannot be saved first, and still scales the nodes', async () => {
    const h = harness(ramp, { failMemoryWrite: (memory) => memory.floorIntents !== undefined });
    const result = await h.run(20);
    expect(floorOutcomes(result)).toEqual([expect.stringMatching(/^skipped: .*not sent: the floor could not be saved as intended first \(throttling: /)]);
    expect(h.floorsSet).toEqual([]);
    expect(await h.floor()).toBe(1);
    expect(result.outcomes.find((o) => o.guarded.command.kind === 'scale-node-group')?.result).toBe('applied');
  });

  it('brings a lowered configured minReplicas to an HPA whose floor it once raised and restored', async () => {
    // configured 3: raised to 15, restored to 3; `prescale-floor` still owns the 3, so the manifests apply yields to it
    const h = harness(ramp, { configuredMin: 3 });
    await h.run(20);
    await h.run(60);
    expect(await h.floor()).toBe(3);
    const lowered = await h.run(61, configWithMin(2));
    expect(floorOutcomes(lowered)).toEqual(['applied: ']);
    expect(await h.floor()).toBe(2);
  });
});
