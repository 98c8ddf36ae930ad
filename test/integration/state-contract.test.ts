/**
 * One contract for StateStore, run against the in-memory store and the
 * DynamoDB store on an embedded dynalite. Time is always injected (nowMs),
 * nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PrescaleError, type ErrorCode } from '../../lib/errors.ts';
import type { AuditEntry, DecisionRecord, ForecastCacheEntry, Lease, PendingPlan, PlannerMemory, StateStore } from '../../lib/ports.ts';
import type { Command } from '../../lib/core/commands.ts';
import { createMemoryStateStore } from '../../lib/state/memory.ts';
import { createDynamoStateStore } from '../../lib/state/dynamodb.ts';
import { PENDING_PLAN_RETENTION_MS } from '../../lib/state/rules.ts';
import { startDynalite, type DynaliteHandle } from '../support/dynalite.ts';

const MIN = 60_000;
const T0 = 1_700_000_000_000;
const TTL = 5 * MIN;

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<PrescaleError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PrescaleError);
  expect((error as PrescaleError).code).toBe(code);
  return error as PrescaleError;
}

const scaleCommand: Command = { kind: 'scale-node-group', cluster: 'prod', nodeGroup: 'general', fromNodes: 4, toNodes: 7, reason: 'p95 forecast 6.4 nodes' };
const albCommand: Command = {
  kind: 'set-alb-weights',
  cluster: 'prod',
  rule: 'api',
  listenerArn: 'arn:listener',
  ruleArn: undefined,
  fromWeights: [{ targetGroupArn: 'arn:tg/a', weight: 50 }],
  toWeights: [{ targetGroupArn: 'arn:tg/a', weight: 80 }],
  reason: 'b is draining',
};

function decision(atMs: number, trigger: string, cluster = 'prod'): DecisionRecord {
  return { cluster, atMs, trigger, fencingToken: 1, forecastModel: undefined, commands: [{ command: scaleCommand, verdict: 'allow', reason: trigger }] };
}

function audit(atMs: number, target: string, cluster = 'prod'): AuditEntry {
  return { cluster, atMs, actor: 'scheduled', target, reason: 'forecast', before: { nodes: 4 }, after: undefined, result: 'applied', message: undefined };
}

function plan(id: string, overrides: Partial<PendingPlan> = {}): PendingPlan {
  return {
    id,
    cluster: 'prod',
    createdAtMs: T0,
    expiresAtMs: T0 + 15 * MIN,
    stateHash: 'sha256:abc',
    commands: [scaleCommand, albCommand],
    status: 'pending',
    decidedBy: undefined,
    decidedAtMs: undefined,
    ...overrides,
  };
}

type StoreFactory = () => Promise<StateStore>;

function describeStateStoreContract(name: string, createStore: StoreFactory, propertyRuns: number): void {
  describe(`StateStore contract: ${name}`, () => {
    describe('lease', () => {
      it('grants a free lease with token 1 and an expiry of now + ttl', async () => {
        const store = await createStore();
        expect(await store.acquireLease('prod', 'run-a', T0, TTL)).toEqual({ cluster: 'prod', owner: 'run-a', fencingToken: 1, expiresAtMs: T0 + TTL });
      });

      it('refuses another owner while the lease is held, and that is retryable', async () => {
        const store = await createStore();
        await store.acquireLease('prod', 'run-a', T0, TTL);
        const error = await expectCode(store.acquireLease('prod', 'run-b', T0 + TTL - 1, TTL), 'lease-held');
        expect(error.retryable).toBe(true);
      });

      it('hands an expired lease to another owner with a larger token (expiry is inclusive)', async () => {
        const store = await createStore();
        const first = await store.acquireLease('prod', 'run-a', T0, TTL);
        const second = await store.acquireLease('prod', 'run-b', first.expiresAtMs, TTL);
        expect(second).toEqual({ cluster: 'prod', owner: 'run-b', fencingToken: 2, expiresAtMs: first.expiresAtMs + TTL });
      });

      it('lets the same owner renew while held, with a new token and a later expiry', async () => {
        const store = await createStore();
        await store.acquireLease('prod', 'run-a', T0, TTL);
        const renewed = await store.acquireLease('prod', 'run-a', T0 + MIN, TTL);
        expect(renewed).toEqual({ cluster: 'prod', owner: 'run-a', fencingToken: 2, expiresAtMs: T0 + MIN + TTL });
        await expectCode(store.acquireLease('prod', 'run-b', T0 + TTL, TTL), 'lease-held');
      });

      it('keeps clusters independent', async () => {
        const store = await createStore();
        await store.acquireLease('prod', 'run-a', T0, TTL);
        expect((await store.acquireLease('staging', 'run-b', T0, TTL)).fencingToken).toBe(1);
      });

      it('frees the lease on release by the holder; tokens keep increasing after it', async () => {
        const store = await createStore();
        const first = await store.acquireLease('prod', 'run-a', T0, TTL);
        await store.releaseLease(first);
        const second = await store.acquireLease('prod', 'run-b', T0 + 1, TTL);
        expect(second.fencingToken).toBe(2);
      });

      it('ignores a release by a holder whose lease expired and was taken over', async () => {
        const store = await createStore();
        const stale = await store.acquireLease('prod', 'run-a', T0, TTL);
        const current = await store.acquireLease('prod', 'run-b', T0 + TTL, TTL);
        await store.releaseLease(stale);
        await expectCode(store.acquireLease('prod', 'run-c', T0 + TTL + 1, TTL), 'lease-held');
        await store.releaseLease(current);
        expect((await store.acquireLease('prod', 'run-c', T0 + TTL + 2, TTL)).fencingToken).toBe(3);
      });

      it('ignores a release of a lease the same owner has since renewed', async () => {
        const store = await createStore();
        const old = await store.acquireLease('prod', 'run-a', T0, TTL);
        await store.acquireLease('prod', 'run-a', T0 + 1, TTL);
        await store.releaseLease(old);
        await expectCode(store.acquireLease('prod', 'run-b', T0 + 2, TTL), 'lease-held');
      });

      it('treats a second release and a release of a never-acquired lease as no-ops', async () => {
        const store = await createStore();
        const lease = await store.acquireLease('prod', 'run-a', T0, TTL);
        await store.releaseLease(lease);
        await store.releaseLease(lease);
        await store.releaseLease({ cluster: 'nowhere', owner: 'x', fencingToken: 1, expiresAtMs: T0 });
        expect((await store.acquireLease('prod', 'run-b', T0, TTL)).fencingToken).toBe(2);
      });

      it('rejects a non-positive ttl and an empty owner as validation errors', async () => {
        const store = await createStore();
        await expectCode(store.acquireLease('prod', 'run-a', T0, 0), 'validation');
        await expectCode(store.acquireLease('prod', '', T0, TTL), 'validation');
      });

      it('grants exactly one of two concurrent acquisitions', async () => {
        const store = await createStore();
        const results = await Promise.allSettled([store.acquireLease('prod', 'run-a', T0, TTL), store.acquireLease('prod', 'run-b', T0, TTL)]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const rejected = results.filter((r) => r.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'lease-held' });
      });

      it('property: random acquire/release by several owners follows the model, tokens strictly increase, never two holders', async () => {
        type Op = { readonly kind: 'acquire'; readonly owner: number; readonly advanceMs: number; readonly ttlMs: number } | { readonly kind: 'release'; readonly owner: number };
        const op: fc.Arbitrary<Op> = fc.oneof(
          fc.record({ kind: fc.constant('acquire' as const), owner: fc.integer({ min: 0, max: 2 }), advanceMs: fc.integer({ min: 0, max: 120 }), ttlMs: fc.integer({ min: 1, max: 100 }) }),
          fc.record({ kind: fc.constant('release' as const), owner: fc.integer({ min: 0, max: 2 }) }),
        );
        await fc.assert(
          fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
            const store = await createStore();
            let nowMs = T0;
            let lastToken = 0;
            // The model: who holds the lease (and with which token) until when.
            let holder: { owner: string; token: number; expiresAtMs: number } | undefined;
            const lastLeaseOf = new Map<string, Lease>();
            for (const step of ops) {
              const owner = `owner-${step.owner}`;
              if (step.kind === 'release') {
                const lease = lastLeaseOf.get(owner);
                if (lease === undefined) continue;
                await store.releaseLease(lease);
                if (holder !== undefined && holder.owner === owner && holder.token === lease.fencingToken) holder = undefined;
                continue;
              }
              nowMs += step.advanceMs;
              const free = holder === undefined || holder.expiresAtMs <= nowMs || holder.owner === owner;
              const outcome = await store.acquireLease('prod', owner, nowMs, step.ttlMs).then(
                (lease) => ({ lease }),
                (error: unknown) => ({ error }),
              );
              if ('lease' in outcome) {
                expect(free).toBe(true);
                expect(outcome.lease.fencingToken).toBe(lastToken + 1);
                lastToken = outcome.lease.fencingToken;
                holder = { owner, token: lastToken, expiresAtMs: nowMs + step.ttlMs };
                lastLeaseOf.set(owner, outcome.lease);
              } else {
                // Refused only while somebody else holds an unexpired lease: never two holders at once.
                expect(free).toBe(false);
                expect(outcome.error).toMatchObject({ code: 'lease-held' });
              }
            }
          }),
          { numRuns: propertyRuns, seed: 20240601 },
        );
      });
    });

    describe('fenced writes', () => {
      it('round-trips a cooldown, absent fields included, per target and cluster', async () => {
        const store = await createStore();
        expect(await store.getCooldown('prod', 'general')).toStrictEqual({ lastScaleOutMs: undefined, lastScaleInMs: undefined });
        const lease = await store.acquireLease('prod', 'run-a', T0, TTL);
        await store.putCooldown(lease, 'general', { lastScaleOutMs: T0 - MIN, lastScaleInMs: undefined });
        await store.putCooldown(lease, 'compute', { lastScaleOutMs: undefined, lastScaleInMs: T0 - 2 * MIN });
        expect(await store.getCooldown('prod', 'general')).toStrictEqual({ lastScaleOutMs: T0 - MIN, lastScaleInMs: undefined });
        expect(await store.getCooldown('prod', 'compute')).toStrictEqual({ lastScaleOutMs: undefined, lastScaleInMs: T0 - 2 * MIN });
        expect(await store.getCooldown('staging', 'general')).toStrictEqual({ lastScaleOutMs: undefined, lastScaleInMs: undefined });
        // The same lease may write again (token equal, not older).
        await store.putCooldown(lease, 'general', { lastScaleOutMs: T0, lastScaleInMs: T0 - 5 * MIN });
        expect(await store.getCooldown('prod', 'general')).toStrictEqual({ lastScaleOutMs: T0, lastScaleInMs: T0 - 5 * MIN });
      });

      it('round-trips planner memory', async () => {
        const store = await createStore();
        expect(await store.getPlannerMemory('prod')).toBeUndefined();
        const lease = await store.acquireLease('prod', 'run-a', T0, TTL);
        const memory: PlannerMemory = { recommendations: { general: [[T0 - MIN, 5], [T0, 6]], compute: [] }, raisedFloors: { 'default/gateway': 4 } };
        await store.putPlannerMemory(lease, memory);
        expect(await store.getPlannerMemory('prod')).toStrictEqual(memory);
        expect(await store.getPlannerMemory('staging')).toBeUndefined();
      });

      it('rejects a stale holder with `stale` once a newer lease wrote the item', async () => {
        const store = await createStore();
        const stale = await store.acquireLease('prod', 'run-a', T0, TTL);
        const current = await store.acquireLease('prod', 'run-b', T0 + TTL, TTL);
        await store.putCooldown(current, 'general', { lastScaleOutMs: T0 + TTL, lastScaleInMs: undefined });
        await store.putPlannerMemory(current, { recommendations: {}, raisedFloors: { 'default/llm': 3 } });

        await expectCode(store.putCooldown(stale, 'general', { lastScaleOutMs: T0, lastScaleInMs: T0 }), 'stale');
        await expectCode(store.putPlannerMemory(stale, { recommendations: {}, raisedFloors: {} }), 'stale');
        // Nothing the stale holder tried is visible.
        expect(await store.getCooldown('prod', 'general')).toStrictEqual({ lastScaleOutMs: T0 + TTL, lastScaleInMs: undefined });
        expect(await store.getPlannerMemory('prod')).toStrictEqual({ recommendations: {}, raisedFloors: { 'default/llm': 3 } });
      });

      it('fences per item: a stale holder may still write an item no newer lease has written', async () => {
        const store = await createStore();
        const stale = await store.acquireLease('prod', 'run-a', T0, TTL);
        const current = await store.acquireLease('prod', 'run-b', T0 + TTL, TTL);
        await store.putCooldown(current, 'general', { lastScaleOutMs: T0, lastScaleInMs: undefined });
        await store.putCooldown(stale, 'compute', { lastScaleOutMs: T0, lastScaleInMs: undefined });
        expect(await store.getCooldown('prod', 'compute')).toStrictEqual({ lastScaleOutMs: T0, lastScaleInMs: undefined });
      });
    });

    describe('decision log and audit', () => {
      it('lists decisions oldest first whatever the append order, from `since` inclusive, up to `limit`', async () => {
        const store = await createStore();
        for (const atMs of [T0 + 3 * MIN, T0 + MIN, T0 + 2 * MIN, T0]) await store.appendDecision(decision(atMs, `at-${(atMs - T0) / MIN}`));
        await store.appendDecision(decision(T0 + MIN, 'other cluster', 'staging'));
        const all = await store.listDecisions('prod', 0, 100);
        expect(all.map((d) => d.trigger)).toEqual(['at-0', 'at-1', 'at-2', 'at-3']);
        expect(all[0]).toStrictEqual(decision(T0, 'at-0'));
        expect((await store.listDecisions('prod', T0 + MIN, 100)).map((d) => d.trigger)).toEqual(['at-1', 'at-2', 'at-3']);
        // since T0 + 1 ms excludes T0 (entries carry whole ms; a fractional since rounds up)
        expect((await store.listDecisions('prod', T0 + 0.5, 2)).map((d) => d.trigger)).toEqual(['at-1', 'at-2']);
        expect(await store.listDecisions('prod', T0 + 4 * MIN, 100)).toEqual([]);
        expect(await store.listDecisions('prod', 0, 0)).toEqual([]);
        expect(await store.listDecisions('nowhere', 0, 10)).toEqual([]);
        expect((await store.listDecisions('staging', 0, 10)).map((d) => d.trigger)).toEqual(['other cluster']);
      });

      it('keeps two entries written in the same millisecond, in append order', async () => {
        const store = await createStore();
        await store.appendDecision(decision(T0, 'first'));
        await store.appendDecision(decision(T0, 'second'));
        await store.appendAudit(audit(T0, 'nodegroup/general'));
        await store.appendAudit(audit(T0, 'nodegroup/compute'));
        expect((await store.listDecisions('prod', T0, 10)).map((d) => d.trigger)).toEqual(['first', 'second']);
        expect((await store.listAudit('prod', T0, 10)).map((a) => a.target)).toEqual(['nodegroup/general', 'nodegroup/compute']);
      });

      it('round-trips audit entries exactly (undefined fields stay undefined) with since and limit', async () => {
        const store = await createStore();
        const entries = [audit(T0, 'a'), audit(T0 + 1, 'b'), { ...audit(T0 + 2, 'c'), before: [1, null, 'x'], result: 'failed' as const, message: 'throttled' }];
        for (const entry of entries) await store.appendAudit(entry);
        expect(await store.listAudit('prod', T0, 10)).toStrictEqual(entries);
        expect(await store.listAudit('prod', T0 + 1, 1)).toStrictEqual([entries[1]]);
      });

      it('rejects a negative or fractional time and a negative limit as validation errors', async () => {
        const store = await createStore();
        await expectCode(store.appendDecision(decision(-1, 'x')), 'validation');
        await expectCode(store.appendAudit(audit(T0 + 0.5, 'x')), 'validation');
        await expectCode(store.listAudit('prod', 0, -1), 'validation');
      });
    });

    describe('pending plans', () => {
      it('reads back a plan as written', async () => {
        const store = await createStore();
        await store.putPendingPlan(plan('p1'));
        expect(await store.getPendingPlan('p1', T0 + MIN)).toStrictEqual(plan('p1'));
      });

      it('refuses to put the same id twice with `conflict`', async () => {
        const store = await createStore();
        await store.putPendingPlan(plan('p1'));
        await expectCode(store.putPendingPlan(plan('p1', { stateHash: 'sha256:other' })), 'conflict');
        expect((await store.getPendingPlan('p1', T0))?.stateHash).toBe('sha256:abc');
      });

      it('lets the first decision win: approve, then reject is a conflict', async () => {
        const store = await createStore();
        await store.putPendingPlan(plan('p1'));
        const approved = await store.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', T0 + MIN);
        expect(approved).toStrictEqual(plan('p1', { status: 'approved', decidedBy: 'slack:alice', decidedAtMs: T0 + MIN }));
        await expectCode(store.decidePendingPlan('p1', 'pending', 'rejected', 'slack:bob', T0 + 2 * MIN), 'conflict');
        expect(await store.getPendingPlan('p1', T0 + 2 * MIN)).toStrictEqual(approved);
      });

      it('executes an approved plan, keeping the approver, even after the approval window', async () => {
        const store = await createStore();
        await store.putPendingPlan(plan('p1'));
        await store.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', T0 + MIN);
        const executed = await store.decidePendingPlan('p1', 'approved', 'executed', 'scheduled', T0 + 20 * MIN);
        expect(executed).toStrictEqual(plan('p1', { status: 'executed', decidedBy: 'slack:alice', decidedAtMs: T0 + MIN }));
        await expectCode(store.decidePendingPlan('p1', 'approved', 'executed', 'scheduled', T0 + 21 * MIN), 'conflict');
      });

      it('lets exactly one of two concurrent decisions succeed', async () => {
        const store = await createStore();
        await store.putPendingPlan(plan('p1'));
        const results = await Promise.allSettled([
          store.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', T0 + MIN),
          store.decidePendingPlan('p1', 'pending', 'rejected', 'slack:bob', T0 + MIN),
        ]);
        const fulfilled = results.filter((r): r is PromiseFulfilledResult<PendingPlan> => r.status === 'fulfilled');
        const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(fulfilled).toHaveLength(1);
        expect(rejected).toHaveLength(1);
        expect(rejected[0]!.reason).toMatchObject({ code: 'conflict' });
        expect((await store.getPendingPlan('p1', T0 + MIN))?.status).toBe(fulfilled[0]!.value.status);
      });

      it('reads a pending plan past its expiry as `expired` and refuses to decide it with `stale`', async () => {
        const store = await createStore();
        const p = plan('p1');
        await store.putPendingPlan(p);
        expect((await store.getPendingPlan('p1', p.expiresAtMs - 1))?.status).toBe('pending');
        expect(await store.getPendingPlan('p1', p.expiresAtMs)).toStrictEqual({ ...p, status: 'expired' });
        await expectCode(store.decidePendingPlan('p1', 'pending', 'approved', 'slack:alice', p.expiresAtMs), 'stale');
        // Refused means unchanged: a later read still says expired, not approved.
        expect((await store.getPendingPlan('p1', p.expiresAtMs + MIN))?.status).toBe('expired');
      });

      it('answers not-found for an unknown id, and for a plan past its retention', async () => {
        const store = await createStore();
        expect(await store.getPendingPlan('nope', T0)).toBeUndefined();
        await expectCode(store.decidePendingPlan('nope', 'pending', 'approved', 'slack:alice', T0), 'not-found');

        const p = plan('old');
        await store.putPendingPlan(p);
        const purgedAtMs = p.expiresAtMs + PENDING_PLAN_RETENTION_MS;
        expect((await store.getPendingPlan('old', purgedAtMs - 1))?.status).toBe('expired');
        expect(await store.getPendingPlan('old', purgedAtMs)).toBeUndefined();
        await expectCode(store.decidePendingPlan('old', 'pending', 'approved', 'slack:alice', purgedAtMs), 'not-found');
        // Gone means the id is free again.
        const reused = plan('old', { createdAtMs: purgedAtMs, expiresAtMs: purgedAtMs + 15 * MIN });
        await store.putPendingPlan(reused);
        expect(await store.getPendingPlan('old', purgedAtMs)).toStrictEqual(reused);
      });

      it('refuses a transition the lifecycle does not have with `validation`', async () => {
        const store = await createStore();
        await store.putPendingPlan(plan('p1'));
        await expectCode(store.decidePendingPlan('p1', 'pending', 'executed', 'scheduled', T0), 'validation');
        await expectCode(store.decidePendingPlan('p1', 'rejected', 'approved', 'slack:alice', T0), 'validation');
        expect((await store.getPendingPlan('p1', T0))?.status).toBe('pending');
      });
    });

    describe('forecast cache', () => {
      it('round-trips an entry (NaN included), overwrites it, and misses unknown keys', async () => {
        const store = await createStore();
        const points = Array.from({ length: 300 }, (_, i) => 100 + Math.sin(i / 10) * 40);
        const entry: ForecastCacheEntry = {
          fittedAtMs: T0,
          forecast: {
            model: 'ets+seasonal',
            startMs: T0 + MIN,
            stepSeconds: 60,
            point: [...points.slice(0, 299), Number.NaN],
            quantiles: [0.5, 0.9, 0.95, 0.99].map((level) => ({ level, values: points.map((v) => v * (1 + level)) })),
          },
        };
        expect(await store.getForecastCache('prod', 'gateway/requests')).toBeUndefined();
        await store.putForecastCache('prod', 'gateway/requests', entry);
        expect(await store.getForecastCache('prod', 'gateway/requests')).toStrictEqual(entry);
        const refit = { ...entry, fittedAtMs: T0 + 5 * MIN };
        await store.putForecastCache('prod', 'gateway/requests', refit);
        expect((await store.getForecastCache('prod', 'gateway/requests'))?.fittedAtMs).toBe(T0 + 5 * MIN);
        expect(await store.getForecastCache('staging', 'gateway/requests')).toBeUndefined();
      });
    });
  });
}

describeStateStoreContract('memory', async () => createMemoryStateStore(), 200);

let dynamo: DynaliteHandle | undefined;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(async () => {
  await dynamo?.close();
});

// A fresh table per store keeps every test (and every property run) independent.
describeStateStoreContract(
  'dynamodb (dynalite)',
  async () => {
    if (dynamo === undefined) throw new Error('dynalite did not start');
    const tableName = await dynamo.createTable();
    return createDynamoStateStore({ client: dynamo.client, tableName, instanceId: 'test' });
  },
  30,
);
