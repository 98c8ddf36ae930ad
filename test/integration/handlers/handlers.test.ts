/**
 * Every function in local mode (simulated cloud, the real DynamoDB state and
 * idempotency code on dynalite), driven by the sample events in events/.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PrescaleError, ValidationError } from '../../../lib/errors.ts';
import { rehearsalDayStartMs } from '../../../lib/pipeline/rehearse.ts';
import { requireLocal, resetDependencies, type Dependencies } from '../../../lib/handlers/deps.ts';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite.ts';
import { freshLocalDeps, loadHandler, useLocalHandlerEnv } from '../../support/local-handlers.ts';
import { lambdaContext, sampleEvent } from '../../support/lambda.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const sample = sampleEvent;

const context = (): Context => lambdaContext(60_000);


let dynamo: DynaliteHandle;
let configDir: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  configDir = mkdtempSync(join(tmpdir(), 'prescale-handlers-'));
  const example = readFileSync(join(ROOT, 'config', 'example.yaml'), 'utf8');
  writeFileSync(join(configDir, 'debate-prod.yaml'), example);
  writeFileSync(join(configDir, 'debate-staging.yaml'), example.replace('name: debate-prod', 'name: debate-staging'));
  useLocalHandlerEnv(dynamo, configDir);
});

/** A fresh table and fresh simulated clouds per test: no idempotency record or lease leaks between tests. */
const freshDeps = (): Promise<Dependencies> => freshLocalDeps(dynamo);

afterEach(async () => {
  vi.restoreAllMocks();
  await resetDependencies();
});

afterAll(async () => {
  await dynamo.close();
  rmSync(configDir, { recursive: true, force: true });
});

function capacityCalls(deps: Dependencies): number {
  return [...requireLocal(deps).clouds.values()].reduce((n, cloud) => n + cloud.capacity.calls.length, 0);
}

async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('scheduled → worker fan-out', () => {
  it('enqueues one message per cluster, once per schedule firing', async () => {
    const deps = await freshDeps();
    const scheduled = await loadHandler('scheduled');
    expect(await scheduled(sample('scheduled'), context())).toEqual({ enqueued: ['debate-prod', 'debate-staging'] });
    // Redelivered firing (same schedule ARN + scheduled time): replayed, nothing sent again.
    expect(await scheduled(sample('scheduled'), context())).toEqual({ enqueued: ['debate-prod', 'debate-staging'] });
    expect(requireLocal(deps).queue.sent.map((m) => m.cluster)).toEqual(['debate-prod', 'debate-staging']);
    // The next minute is a new firing.
    await scheduled({ ...sample('scheduled'), time: '2026-11-02T14:01:00Z' }, context());
    expect(requireLocal(deps).queue.sent).toHaveLength(4);
  });

  it('the worker runs the pipeline for the sample message', async () => {
    const deps = await freshDeps();
    const worker = await loadHandler('worker');
    const added = vi.spyOn(Metrics.prototype, 'addMetric');
    expect(await worker(sample('worker'), context())).toEqual({ batchItemFailures: [] });
    // Every service's demand was read: nothing held for want of data (the ops alarm watches this count).
    expect(added.mock.calls.filter(([name]) => name.startsWith('ServicesDemand'))).toEqual([
      ['ServicesDemandUnknown', 'Count', 0],
      ['ServicesDemandInferredZero', 'Count', 0],
    ]);
    const decisions = await deps.state.listDecisions('debate-prod', 0, 10);
    const audit = await deps.state.listAudit('debate-prod', 0, 100);
    // The synthetic afternoon demand needs more than the floors: the run planned and acted.
    expect(decisions.length + audit.length).toBeGreaterThan(0);
  });

  it('counts a service whose demand metric went silent: the metric the ops alarm watches', async () => {
    const deps = await freshDeps();
    const worker = await loadHandler('worker');
    // The llm service's metric published nothing in the last hour (the sample run is at 14:00): its demand is unknown.
    deps.portsFor('debate-prod', Date.parse('2026-11-02T14:00:00Z'));
    const cloud = requireLocal(deps).clouds.get('debate-prod')!;
    const llm = deps.config('debate-prod').services.find((s) => s.name === 'llm')!;
    const minutes = (Date.parse('2026-11-02T14:00:00Z') - cloud.metrics.t0Ms) / 60_000;
    cloud.metrics.add(llm.demand.metric, Float64Array.from({ length: minutes + 1440 }, (_, m) => (m < minutes - 60 ? 10 : Number.NaN)));
    const added = vi.spyOn(Metrics.prototype, 'addMetric');
    expect(await worker(sample('worker'), context())).toEqual({ batchItemFailures: [] });
    expect(added.mock.calls.filter(([name]) => name.startsWith('ServicesDemand'))).toEqual([
      ['ServicesDemandUnknown', 'Count', 1],
      ['ServicesDemandInferredZero', 'Count', 0],
    ]);
  });

  it('logs the cost ceiling rehearsal of the first run, and warns when it failed while the run still acts', async () => {
    const rehearsals = async (failRehearsal: boolean) => {
      const deps = await freshDeps();
      const worker = await loadHandler('worker');
      deps.portsFor('debate-prod', Date.parse('2026-11-02T14:00:00Z'));
      const cloud = requireLocal(deps).clouds.get('debate-prod')!;
      const getDemandMany = cloud.metrics.getDemandMany.bind(cloud.metrics);
      // Only the rehearsal reads from the day before 14:00 (and an hour more).
      const dayStartMs = rehearsalDayStartMs(deps.config('debate-prod'), Date.parse('2026-11-02T14:00:00Z'));
      cloud.metrics.getDemandMany = async (requests) => {
        if (failRehearsal && requests.some((r) => r.startMs === dayStartMs)) throw new PrescaleError('throttling', 'Rate exceeded', { retryable: true });
        return getDemandMany(requests);
      };
      const info = vi.spyOn(Logger.prototype, 'info');
      const warn = vi.spyOn(Logger.prototype, 'warn');
      expect(await worker(sample('worker'), context())).toEqual({ batchItemFailures: [] });
      const run = info.mock.calls.find(([message]) => message === 'cluster run')?.[1] as { commands: unknown[]; costCeilingRehearsal: unknown } | undefined;
      const warned = warn.mock.calls.filter(([message]) => String(message).startsWith('cost ceiling not rehearsed'));
      vi.restoreAllMocks();
      return { run, warned, memory: await deps.state.getPlannerMemory('debate-prod') };
    };
    const rehearsed = await rehearsals(false);
    // A day of 1-minute runs replayed on the synthetic wave, which the example config's levels serve within the baseline's money.
    expect(rehearsed.run?.costCeilingRehearsal).toEqual({ outcome: 'rehearsed', runs: 1440, spanMinutes: 1440, shift: 0 });
    expect(rehearsed.warned).toEqual([]);
    // …and the run saved the day it priced (on DynamoDB): at 14:00, 13:00 yesterday onward, 23 × 60 = 1380 minutes.
    const minutes = (rehearsed.memory?.costCeiling?.hours ?? []).reduce((sum, [, m]) => sum + m, 0);
    expect(minutes).toBeCloseTo(1380, 6);
    const failed = await rehearsals(true);
    expect(failed.run?.costCeilingRehearsal).toEqual({ outcome: 'failed', error: 'throttling: Rate exceeded' });
    expect(failed.run?.commands.length).toBeGreaterThan(0);
    expect(failed.warned).toEqual([['cost ceiling not rehearsed: it starts cold and steers over its first day', { cluster: 'debate-prod', error: 'throttling: Rate exceeded' }]]);
  });

  it('warns when a refit could not read its finer days, and the run still acts', async () => {
    const deps = await freshDeps();
    const worker = await loadHandler('worker');
    const nowMs = Date.parse('2026-11-02T14:00:00Z');
    deps.portsFor('debate-prod', nowMs);
    const cloud = requireLocal(deps).clouds.get('debate-prod')!;
    const getDemandMany = cloud.metrics.getDemandMany.bind(cloud.metrics);
    // The example's 1-minute metrics over 28 days come back as 5-minute means: each refit also reads its last 2 days.
    const fineStartMs = nowMs - 2 * 1440 * 60_000;
    cloud.metrics.getDemandMany = async (requests) =>
      (await getDemandMany(requests)).map((r, i) => (requests[i]!.startMs === fineStartMs ? { status: 'rejected' as const, reason: new PrescaleError('throttling', 'Rate exceeded', { retryable: true }) } : r));
    const info = vi.spyOn(Logger.prototype, 'info');
    const warn = vi.spyOn(Logger.prototype, 'warn');
    expect(await worker(sample('worker'), context())).toEqual({ batchItemFailures: [] });
    const run = info.mock.calls.find(([message]) => message === 'cluster run')?.[1] as { commands: unknown[]; finerReadsFailed: { service: string; error: string }[] } | undefined;
    const warned = warn.mock.calls.filter(([message]) => String(message).startsWith('finer days unread'));
    vi.restoreAllMocks();
    const services = deps.config('debate-prod').services.map((s) => s.name).sort();
    expect(run?.finerReadsFailed).toEqual(services.map((service) => ({ service, error: 'throttling: Rate exceeded' })));
    expect(run?.commands.length).toBeGreaterThan(0);
    expect(warned).toEqual([['finer days unread: these forecasts cover coarse means until their next refit', { cluster: 'debate-prod', failures: run?.finerReadsFailed }]]);
  });

  it('one broken cluster fails only its own message', async () => {
    const deps = await freshDeps();
    const worker = await loadHandler('worker');
    const good = (sample('worker').Records as Record<string, unknown>[])[0]!;
    const message = (cluster: string, id: string) => ({ ...good, messageId: id, body: JSON.stringify({ ...JSON.parse(good.body as string), cluster }) });
    // debate-staging's node groups cannot be described: its run throws.
    const ports = deps.portsFor.bind(deps);
    vi.spyOn(deps, 'portsFor').mockImplementation((cluster, at) => {
      const real = ports(cluster, at);
      if (cluster !== 'debate-staging') return real;
      return { ...real, capacity: { ...real.capacity, describeNodeGroups: async () => Promise.reject(new Error('EKS is down for staging')) } };
    });
    const response = await worker(
      {
        Records: [message('debate-prod', 'm-prod'), message('debate-staging', 'm-staging'), message('nope', 'm-unknown'), { ...good, messageId: 'm-garbage', body: '{"cluster": 1' }],
      },
      context(),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-staging' }, { itemIdentifier: 'm-unknown' }, { itemIdentifier: 'm-garbage' }] });
    expect((await deps.state.listAudit('debate-prod', 0, 100)).length).toBeGreaterThan(0);
  });

  it('a redelivered message does not run the cluster twice', async () => {
    const deps = await freshDeps();
    const worker = await loadHandler('worker');
    const spy = vi.spyOn(deps, 'portsFor');
    await worker(sample('worker'), context());
    await worker(sample('worker'), context());
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('alarm', () => {
  it('runs each cluster the alarm speaks for, once per state change', async () => {
    const deps = await freshDeps();
    const alarm = await loadHandler('alarm');
    const spy = vi.spyOn(deps, 'portsFor');
    const first = (await alarm(sample('alarm'), context())) as { action: string; runs: { cluster: string; status: string }[] };
    expect(first.action).toBe('ran');
    expect(first.runs.map((r) => [r.cluster, r.status])).toEqual([
      ['debate-prod', 'done'],
      ['debate-staging', 'done'],
    ]);
    expect(await alarm(sample('alarm'), context())).toEqual(first);
    expect(spy).toHaveBeenCalledTimes(2); // two clusters, one run each
  });

  it('fails, so EventBridge retries it, when a run holds a cluster\'s lease; the retry runs', async () => {
    const deps = await freshDeps();
    const alarm = await loadHandler('alarm');
    const event = sample('alarm') as { time: string };
    const atMs = Date.parse(event.time);
    const state = deps.portsFor('debate-prod', atMs).state;
    const lease = await state.acquireLease('debate-prod', 'scheduled-run', atMs, 120_000);
    await expect(alarm(event, context())).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('debate-prod (another run holds the cluster lease') });
    await state.releaseLease(lease);
    const retried = (await alarm(event, context())) as { action: string; runs: { cluster: string; status: string }[] };
    expect(retried.runs.map((r) => [r.cluster, r.status])).toEqual([
      ['debate-prod', 'done'],
      ['debate-staging', 'done'],
    ]);
  });

  it('ignores a recovery to OK', async () => {
    const deps = await freshDeps();
    const alarm = await loadHandler('alarm');
    const event = sample('alarm') as { detail: { state: Record<string, unknown> } };
    const spy = vi.spyOn(deps, 'portsFor');
    expect(await alarm({ ...event, detail: { ...event.detail, state: { ...event.detail.state, value: 'OK' } } }, context())).toMatchObject({ action: 'ignored' });
    expect(spy).not.toHaveBeenCalled();
  });
});

describe('emergency', () => {
  it('sets capacity once per request id, audited with the requester', async () => {
    const deps = await freshDeps();
    const emergency = await loadHandler('emergency');
    const first = await emergency(sample('emergency'), context());
    expect(first).toMatchObject({ cluster: 'debate-prod', target: 'debate-prod/nodegroup/general', verdict: 'allow', result: 'applied' });
    const { from, to } = first as { from: number; to: number };
    expect(to).toBe(from + 2);
    expect(await emergency(sample('emergency'), context())).toEqual(first);
    expect(capacityCalls(deps)).toBe(1);
    const audit = await deps.state.listAudit('debate-prod', 0, 10);
    expect(audit.map((a) => [a.actor, a.result])).toEqual([['emergency:oncall@example.com', 'applied']]);
  });

  it('clamps an absolute target to the node group bounds', async () => {
    await freshDeps();
    const emergency = await loadHandler('emergency');
    const result = await emergency({ ...sample('emergency'), requestId: 'clamp-0001', target: { set: 500 } }, context());
    expect(result).toMatchObject({ verdict: 'clamp', result: 'applied', to: 20 });
  });

  it('rejects a request id reused for another request, naming it, and does nothing', async () => {
    const deps = await freshDeps();
    const emergency = await loadHandler('emergency');
    const first = await emergency(sample('emergency'), context());
    const error = await rejection(emergency({ ...sample('emergency'), cluster: 'debate-staging', nodeGroup: 'compute', target: { set: 9 } }, context()));
    expect(error.details).toEqual([
      'requestId "0b7e5c1a-8f7d-4c2e-9a51-3d1f6e2b9c40" was already used in the last 24 h for a different request (another cluster, target or field): nothing was done; send this request with a new requestId',
    ]);
    // Only the first request acted; the same request again is still answered with its result.
    expect(capacityCalls(deps)).toBe(1);
    expect(await deps.state.listAudit('debate-staging', 0, 10)).toEqual([]);
    expect(await emergency(sample('emergency'), context())).toEqual(first);
  });

  it('fails as retryable when the node group is busy, so the same request id really retries', async () => {
    const deps = await freshDeps();
    const emergency = await loadHandler('emergency');
    deps.portsFor('debate-prod');
    const cloud = requireLocal(deps).clouds.get('debate-prod')!;
    const scale = vi.spyOn(cloud.capacity, 'setDesiredNodes').mockRejectedValueOnce(new PrescaleError('busy', 'nodegroup general is UPDATING', { retryable: true }));
    const error = await emergency(sample('emergency'), context()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'busy', retryable: true });
    expect((error as Error).message).toContain('send the same request again to retry');
    // The idempotency record was released: the retry acts (3 → 5), it does not replay the failure.
    const retry = await emergency(sample('emergency'), context());
    expect(retry).toMatchObject({ result: 'applied', from: 3, to: 5 });
    expect(scale).toHaveBeenCalledTimes(2);
    const audit = await deps.state.listAudit('debate-prod', 0, 10);
    expect(audit.map((a) => a.result).sort()).toEqual(['applied', 'requeued']);
  });

  it('refuses, without a budget override, what the budget guard would send for approval', async () => {
    const deps = await freshDeps();
    const emergency = await loadHandler('emergency');
    const { budgetOverride: _override, ...withoutOverride } = sample('emergency') as Record<string, unknown>;
    const result = await emergency({ ...withoutOverride, requestId: 'no-override-0001' }, context());
    // general runs 3 nodes: 3 → 5 is +66.7 % ≥ the example's 50 % approval threshold
    expect(result).toMatchObject({ verdict: 'needs-approval', result: 'skipped', from: 3, to: 5 });
    expect((result as { message: string }).message).toContain('send the request again with a new requestId and "budgetOverride"');
    expect(capacityCalls(deps)).toBe(0);
    const audit = await deps.state.listAudit('debate-prod', 0, 10);
    expect(audit.map((a) => [a.actor, a.result])).toEqual([['emergency:oncall@example.com', 'skipped']]);
  });

  it.each([
    ['an unknown key', { force: true }, 'force is not a known key'],
    ['both absolute and relative', { target: { set: 5, change: 1 } }, 'target must set exactly one of set (absolute) and change (relative)'],
    ['an override without its reason', { budgetOverride: {} }, 'budgetOverride.reason is required'],
    ['an unknown cluster', { cluster: 'nope' }, 'cluster "nope" is not a configured cluster (configured: debate-prod, debate-staging)'],
    ['an unknown node group', { nodeGroup: 'gpu' }, 'nodeGroup "gpu" is not a node group of cluster debate-prod (known: general, compute, memory, spot)'],
  ])('rejects %s, naming the field, and acts on nothing', async (_name, change, expected) => {
    const deps = await freshDeps();
    const emergency = await loadHandler('emergency');
    const spy = vi.spyOn(deps, 'portsFor');
    const error = await rejection(emergency({ ...sample('emergency'), ...change }, context()));
    expect(error.details).toContain(expected);
    expect(spy).not.toHaveBeenCalled();
    expect(capacityCalls(deps)).toBe(0);
    expect(await deps.state.listAudit('debate-prod', 0, 10)).toEqual([]);
  });
});

describe('malformed events never reach a port', () => {
  it.each([
    ['scheduled', { ...sample('scheduled'), resources: [] }, 'resources'],
    ['reweight', { ...sample('reweight'), time: 'now' }, 'time must be an ISO 8601 date-time such as 2026-11-02T14:00:00Z'],
    ['manifests', { ...sample('manifests'), detail: { clusters: 'debate-prod' } }, 'detail.clusters must be a list (got string "debate-prod")'],
    ['alarm', { ...sample('alarm'), resources: ['arn:aws:sqs:us-east-1:123456789012:q'] }, 'resources[0] must be a CloudWatch alarm ARN'],
    ['worker', { Records: [] }, 'Records'],
    ['slackApproval', { ...sample('slackApproval'), requestContext: undefined }, 'requestContext is required'],
  ])('%s', async (name, event, expected) => {
    const deps = await freshDeps();
    const handler = await loadHandler(name);
    const spy = vi.spyOn(deps, 'portsFor');
    const error = await rejection(handler(event, context()));
    expect(error.details.some((d) => d.includes(expected))).toBe(true);
    expect(spy).not.toHaveBeenCalled();
    expect(requireLocal(deps).queue.sent).toEqual([]);
  });
});

describe('reweight, manifests, slackApproval', () => {
  it('reweight plans every ALB rule of every cluster', async () => {
    await freshDeps();
    const reweight = await loadHandler('reweight');
    const result = (await reweight(sample('reweight'), context())) as { clusters: { cluster: string; rules: { rule: string; result: string }[] }[]; failed: unknown[] };
    expect(result.failed).toEqual([]);
    expect(result.clusters.map((c) => [c.cluster, c.rules.map((r) => r.rule)])).toEqual([
      ['debate-prod', ['gateway']],
      ['debate-staging', ['gateway']],
    ]);
  });

  it('manifests applies the rendered objects to the selected cluster, once per firing', async () => {
    const deps = await freshDeps();
    const manifests = await loadHandler('manifests');
    const result = (await manifests(sample('manifests'), context())) as { clusters: { cluster: string; objects: { key: string; outcome: string }[] }[] };
    expect(result.clusters.map((c) => c.cluster)).toEqual(['debate-prod']);
    const keys = result.clusters[0]!.objects.map((o) => o.key);
    expect(keys).toEqual([...keys].sort());
    expect(keys.filter((k) => k.includes('HorizontalPodAutoscaler'))).toHaveLength(3);
    expect(requireLocal(deps).clouds.get('debate-prod')!.manifests.objects.size).toBe(keys.length);
    expect(await manifests(sample('manifests'), context())).toEqual(result);
  });

  it('slackApproval refuses the sample event when no signing secret is configured', async () => {
    await freshDeps();
    const slack = await loadHandler('slackApproval');
    expect(await slack(sample('slackApproval'), context())).toMatchObject({ statusCode: 401, body: 'invalid request signature' });
  });
});
