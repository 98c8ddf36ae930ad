/**
 * The Kubernetes adapter against a local HTTPS fake API with a test CA: the
 * requests it sends (discovery, paths, content type, field manager, token) and
 * what it makes of each error the API can answer with.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigYaml } from '../../../lib/config/load.ts';
import { renderManifests } from '../../../lib/core/manifests/index.ts';
import { isPrescaleError } from '../../../lib/errors.ts';
import { KubeManifestApplier } from '../../../lib/k8s/applier.ts';
import { KubeClient } from '../../../lib/k8s/client.ts';
import { createEksTokenProvider } from '../../../lib/k8s/token.ts';
import type { ManifestObject } from '../../../lib/ports.ts';
import { OTHER_CA_PEM, applyConflict, kubeStatus, startFakeKubeApi } from '../../support/kube-api.ts';
import type { FakeKubeApi } from '../../support/kube-api.ts';

const config = parseConfigYaml(readFileSync(new URL('../../../config/example.yaml', import.meta.url), 'utf8'), 'config/example.yaml');
const objects = renderManifests(config);
const HPA_PATH = '/apis/autoscaling/v2/namespaces/debate/horizontalpodautoscalers';
const VPA_PATH = '/apis/autoscaling.k8s.io/v1/namespaces/debate/verticalpodautoscalers';
const PDB_PATH = '/apis/policy/v1/namespaces/debate/poddisruptionbudgets';

let api: FakeKubeApi;
let sleeps: number[];

function createApplier(caPem = api.caPem): KubeManifestApplier {
  const token = createEksTokenProvider({
    clusterName: 'debate-prod',
    region: 'us-east-1',
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session' }),
    nowMs: () => Date.UTC(2024, 0, 2, 3, 4, 5),
  });
  const client = new KubeClient({
    connection: { server: api.url, caPem },
    token,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return new KubeManifestApplier(client);
}

const patches = () => api.requests.filter((r) => r.method === 'PATCH');
const hpa = (name: string) => objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.metadata.name === name) as ManifestObject;

async function rejection(promise: Promise<unknown>): Promise<{ code: string; retryable: boolean; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isPrescaleError(error)) return { code: error.code, retryable: error.retryable, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  api = await startFakeKubeApi();
  sleeps = [];
});

afterEach(async () => {
  await api.close();
});

describe('apply', () => {
  it('discovers each API group once, then server-side-applies every object as "prescale" without force', async () => {
    const results = await createApplier().apply(objects, { fieldManager: 'prescale', force: false });

    expect(results.map((r) => [r.key, r.outcome])).toEqual(objects.map((o) => [`${o.apiVersion}/${o.kind}/debate/${o.metadata.name}`, 'applied']));
    const discovery = api.requests.filter((r) => r.method === 'GET' && /^\/apis\/[^/]+\/[^/]+$/.test(r.path)).map((r) => r.path);
    expect(discovery.sort()).toEqual(['/apis/autoscaling.k8s.io/v1', '/apis/autoscaling/v2', '/apis/policy/v1']);
    expect(patches().map((r) => r.path).sort()).toEqual(
      [
        `${HPA_PATH}/context`,
        `${HPA_PATH}/gateway`,
        `${HPA_PATH}/llm`,
        `${PDB_PATH}/context`,
        `${PDB_PATH}/gateway`,
        `${PDB_PATH}/llm`,
        `${VPA_PATH}/gateway`,
        `${VPA_PATH}/llm`,
      ].sort(),
    );
    for (const request of patches()) {
      expect(request.headers['content-type']).toBe('application/apply-patch+yaml');
      expect(request.query).toEqual({ fieldManager: 'prescale', fieldValidation: 'Strict' }); // no force
      expect(request.headers.authorization).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    }
    const gatewayPatch = patches().find((r) => r.path === `${HPA_PATH}/gateway`);
    expect(JSON.parse(gatewayPatch?.body ?? '{}')).toEqual(hpa('gateway'));
  });

  it('sends an EKS token whose presigned URL names the cluster in a signed header', async () => {
    await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });
    const token = String(patches()[0]?.headers.authorization).slice('Bearer k8s-aws-v1.'.length);
    const url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
    expect(url.host).toBe('sts.us-east-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session');
  });

  it('reports "unchanged" when applying the same objects again', async () => {
    const applier = createApplier();
    await applier.apply(objects, { fieldManager: 'prescale', force: false });
    const again = await applier.apply(objects, { fieldManager: 'prescale', force: false });
    expect(again.map((r) => r.outcome)).toEqual(objects.map(() => 'unchanged'));
    const changed = { ...hpa('gateway'), spec: { ...(hpa('gateway').spec as object), maxReplicas: 25 } };
    expect((await applier.apply([changed], { fieldManager: 'prescale', force: false }))[0]?.outcome).toBe('applied');
  });

  it('passes force=true only when asked', async () => {
    await createApplier().apply([hpa('llm')], { fieldManager: 'prescale', force: true });
    expect(patches()[0]?.query.force).toBe('true');
  });

  it('fails the VPAs with a clear message when the VPA CRD is missing, and still applies HPAs and PDBs', async () => {
    api.vpaInstalled = false;
    const results = await createApplier().apply(objects, { fieldManager: 'prescale', force: false });

    const vpas = results.filter((r) => r.key.includes('VerticalPodAutoscaler'));
    expect(vpas).toHaveLength(2);
    for (const vpa of vpas) {
      expect(vpa.outcome).toBe('failed');
      expect(vpa.message).toContain('Vertical Pod Autoscaler CRDs are not installed');
    }
    expect(results.filter((r) => !r.key.includes('VerticalPodAutoscaler')).every((r) => r.outcome === 'applied')).toBe(true);
    expect(patches().some((r) => r.path.includes('autoscaling.k8s.io'))).toBe(false);
    // Discovery of the missing group is asked once, not once per VPA.
    expect(api.requests.filter((r) => r.path === '/apis/autoscaling.k8s.io/v1')).toHaveLength(1);
  });

  it('names the other field manager and the field on a 409 conflict, and carries on with the rest', async () => {
    api.respondOnce({ method: 'PATCH', path: `${HPA_PATH}/gateway` }, applyConflict('gateway', 'autoscaling', 'horizontalpodautoscalers', [{ manager: 'kubectl-edit', field: '.spec.maxReplicas', apiVersion: 'autoscaling/v2' }]));
    const results = await createApplier().apply(objects, { fieldManager: 'prescale', force: false });

    const gateway = results.find((r) => r.key === 'autoscaling/v2/HorizontalPodAutoscaler/debate/gateway');
    expect(gateway?.outcome).toBe('failed');
    expect(gateway?.message).toContain('field .spec.maxReplicas is owned by "kubectl-edit"');
    expect(gateway?.message).toContain('HorizontalPodAutoscaler debate/gateway');
    expect(results.filter((r) => r !== gateway).every((r) => r.outcome === 'applied')).toBe(true);
    // No silent retry with force.
    expect(patches().filter((r) => r.path === `${HPA_PATH}/gateway`)).toHaveLength(1);
  });

  it('rejects with access-denied and the access-entry hint on 401', async () => {
    api.intercept(() => kubeStatus(401, 'Unauthorized', 'Unauthorized'));
    const error = await rejection(createApplier().apply(objects, { fieldManager: 'prescale', force: false }));
    expect(error.code).toBe('access-denied');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('401');
    expect(error.message).toContain('EKS access entry');
  });

  it('rejects with access-denied, the server message and the ClusterRole hint on 403', async () => {
    api.intercept((req) =>
      req.method === 'PATCH'
        ? kubeStatus(403, 'Forbidden', 'horizontalpodautoscalers.autoscaling "gateway" is forbidden: User "arn:aws:sts::123456789012:assumed-role/prescale/fn" cannot patch resource "horizontalpodautoscalers"')
        : undefined,
    );
    const error = await rejection(createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false }));
    expect(error.code).toBe('access-denied');
    expect(error.message).toContain('cannot patch resource "horizontalpodautoscalers"');
    expect(error.message).toContain('k8s/rbac/');
  });

  it('retries 5xx with exponential backoff and succeeds', async () => {
    api.respondOnce({ method: 'PATCH' }, kubeStatus(503, 'ServiceUnavailable', 'etcdserver: leader changed'));
    api.respondOnce({ method: 'PATCH' }, kubeStatus(500, 'InternalError', 'Internal error occurred'));
    const results = await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });
    expect(results[0]?.outcome).toBe('applied');
    expect(patches()).toHaveLength(3);
    expect(sleeps).toEqual([250, 500]); // 250 ms × 2^(n-1)
  });

  it('honours Retry-After on 429', async () => {
    api.respondOnce({ method: 'PATCH' }, { ...kubeStatus(429, 'TooManyRequests', 'slow down'), headers: { 'retry-after': '2' } });
    await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });
    expect(sleeps).toEqual([2000]);
  });

  it('gives up after 4 attempts with a retryable unavailable error', async () => {
    api.intercept((req) => (req.method === 'PATCH' ? kubeStatus(502, 'BadGateway', 'bad gateway') : undefined));
    const error = await rejection(createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false }));
    expect(error).toMatchObject({ code: 'unavailable', retryable: true });
    expect(error.message).toContain('after 4 attempts');
    expect(sleeps).toEqual([250, 500, 1000]);
  });

  it('reports a 422 from the server as a failed object with its message', async () => {
    api.respondOnce({ method: 'PATCH' }, kubeStatus(422, 'Invalid', 'HorizontalPodAutoscaler.autoscaling "gateway" is invalid: spec.maxReplicas: Invalid value: 0'));
    const [result] = await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });
    expect(result?.outcome).toBe('failed');
    expect(result?.message).toContain('HTTP 422');
    expect(result?.message).toContain('spec.maxReplicas: Invalid value');
  });

  it('refuses a server whose certificate the cluster CA did not sign', async () => {
    const error = await rejection(createApplier(OTHER_CA_PEM).apply([hpa('gateway')], { fieldManager: 'prescale', force: false }));
    expect(error.code).toBe('config');
    expect(error.message).toContain('TLS verification');
  });
});

describe('HPA floor (spec.minReplicas only, field manager prescale-floor)', () => {
  beforeEach(async () => {
    // The rendered HPA is live; the floor is set on it.
    await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });
    api.requests.length = 0;
  });

  it('applies a minimal HPA with only spec.minReplicas, without force', async () => {
    await createApplier().setHpaMinReplicas('debate', 'gateway', 7);
    expect(patches()).toHaveLength(1);
    const request = patches()[0];
    expect(request?.path).toBe(`${HPA_PATH}/gateway`);
    expect(request?.query).toEqual({ fieldManager: 'prescale-floor', fieldValidation: 'Strict' });
    expect(request?.headers['content-type']).toBe('application/apply-patch+yaml');
    expect(JSON.parse(request?.body ?? '{}')).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'gateway', namespace: 'debate' },
      spec: { minReplicas: 7 },
    });
    // The rest of the HPA is untouched.
    const live = api.objects.get(`${HPA_PATH}/gateway`) as { spec: Record<string, unknown> };
    expect(live.spec.minReplicas).toBe(7);
    expect(live.spec.maxReplicas).toBe(20);
    expect(live.spec.metrics).toEqual((hpa('gateway').spec as Record<string, unknown>).metrics);
  });

  it('takes the field from prescale\'s own renderer manager with force, and only then', async () => {
    api.respondOnce({ method: 'PATCH' }, applyConflict('gateway', 'autoscaling', 'horizontalpodautoscalers', [{ manager: 'prescale', field: '.spec.minReplicas' }]));
    await createApplier().setHpaMinReplicas('debate', 'gateway', 9);
    expect(patches().map((r) => r.query.force)).toEqual([undefined, 'true']);
  });

  it('rejects with a conflict naming another manager that owns the floor', async () => {
    api.respondOnce({ method: 'PATCH' }, applyConflict('gateway', 'autoscaling', 'horizontalpodautoscalers', [{ manager: 'kubectl-edit', field: '.spec.minReplicas', apiVersion: 'autoscaling/v2' }]));
    const error = await rejection(createApplier().setHpaMinReplicas('debate', 'gateway', 9));
    expect(error.code).toBe('conflict');
    expect(error.message).toContain('field .spec.minReplicas is owned by "kubectl-edit"');
    expect(patches()).toHaveLength(1);
  });

  it('never creates an HPA: a missing one is not-found and nothing is applied', async () => {
    const error = await rejection(createApplier().setHpaMinReplicas('debate', 'nope', 4));
    expect(error.code).toBe('not-found');
    expect(patches()).toHaveLength(0);
  });

  it('skips the apply when the floor is already there, and refuses one above maxReplicas', async () => {
    await createApplier().setHpaMinReplicas('debate', 'gateway', 3);
    expect(patches()).toHaveLength(0);
    expect((await rejection(createApplier().setHpaMinReplicas('debate', 'gateway', 21))).code).toBe('validation');
  });

  it('restoring the configured value is the same minimal apply', async () => {
    const applier = createApplier();
    await applier.setHpaMinReplicas('debate', 'gateway', 8);
    await applier.setHpaMinReplicas('debate', 'gateway', 3);
    expect(patches().map((r) => (JSON.parse(r.body) as { spec: unknown }).spec)).toEqual([{ minReplicas: 8 }, { minReplicas: 3 }]);
    expect((api.objects.get(`${HPA_PATH}/gateway`) as { spec: { minReplicas: number } }).spec.minReplicas).toBe(3);
  });

  it('a re-render leaves a raised floor alone: re-applies the HPA without minReplicas', async () => {
    await createApplier().setHpaMinReplicas('debate', 'gateway', 6);
    api.requests.length = 0;
    api.respondOnce({ method: 'PATCH' }, applyConflict('gateway', 'autoscaling', 'horizontalpodautoscalers', [{ manager: 'prescale-floor', field: '.spec.minReplicas' }]));
    const [result] = await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });

    // The rest of the HPA already matched, so nothing changed; the note says why minReplicas differs from the config.
    expect(result?.outcome).toBe('unchanged');
    expect(result?.message).toContain('predictive floor 6');
    const [first, second] = patches();
    expect(first?.query.force).toBeUndefined();
    expect(second?.query.force).toBeUndefined();
    expect((JSON.parse(second?.body ?? '{}') as { spec: Record<string, unknown> }).spec).not.toHaveProperty('minReplicas');
    expect((api.objects.get(`${HPA_PATH}/gateway`) as { spec: { minReplicas: number } }).spec.minReplicas).toBe(6);
  });

  it('a configured floor above the predictive one wins (raising is always safe)', async () => {
    await createApplier().setHpaMinReplicas('debate', 'gateway', 2);
    api.requests.length = 0;
    api.respondOnce({ method: 'PATCH' }, applyConflict('gateway', 'autoscaling', 'horizontalpodautoscalers', [{ manager: 'prescale-floor', field: '.spec.minReplicas' }]));
    const [result] = await createApplier().apply([hpa('gateway')], { fieldManager: 'prescale', force: false });
    expect(result?.outcome).toBe('applied');
    expect(patches().map((r) => r.query.force)).toEqual([undefined, 'true']);
    expect((api.objects.get(`${HPA_PATH}/gateway`) as { spec: { minReplicas: number } }).spec.minReplicas).toBe(3);
  });
});

describe('describeHpas', () => {
  it('reads the named HPAs of a namespace with their replica counts', async () => {
    await createApplier().apply(objects, { fieldManager: 'prescale', force: false });
    const live = api.objects.get(`${HPA_PATH}/llm`) as Record<string, unknown>;
    api.objects.set(`${HPA_PATH}/llm`, { ...live, status: { currentReplicas: 4, desiredReplicas: 5 } });

    const states = await createApplier().describeHpas('debate', ['llm', 'gateway', 'missing']);
    expect(states).toEqual([
      { namespace: 'debate', name: 'gateway', minReplicas: 3, maxReplicas: 20, currentReplicas: 3, desiredReplicas: 3 },
      { namespace: 'debate', name: 'llm', minReplicas: 2, maxReplicas: 8, currentReplicas: 4, desiredReplicas: 5 },
    ]);
    expect(api.requests.at(-1)?.path).toBe(HPA_PATH);
  });
});

describe('prune', () => {
  const labels = { 'app.kubernetes.io/managed-by': 'prescale', 'prescale.io/cluster': 'debate-prod' };

  it('deletes only labelled objects of this cluster that left the config', async () => {
    const applier = createApplier();
    await applier.apply(objects, { fieldManager: 'prescale', force: false });
    api.seed({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'retired', namespace: 'debate', labels }, spec: {} });
    api.seed({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'retired', namespace: 'other', labels }, spec: {} });
    api.seed({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'someone-elses', namespace: 'debate' }, spec: {} });
    api.seed({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'other-cluster', namespace: 'debate', labels: { ...labels, 'prescale.io/cluster': 'staging' } }, spec: {} });
    api.requests.length = 0;

    const results = await applier.prune(objects, 'debate-prod');

    expect(results).toEqual([
      { key: 'autoscaling/v2/HorizontalPodAutoscaler/debate/retired', outcome: 'deleted', message: undefined },
      { key: 'policy/v1/PodDisruptionBudget/other/retired', outcome: 'deleted', message: undefined },
    ]);
    const lists = api.requests.filter((r) => r.method === 'GET');
    expect(lists.map((r) => r.path)).toEqual(['/apis/autoscaling/v2/horizontalpodautoscalers', '/apis/autoscaling.k8s.io/v1/verticalpodautoscalers', '/apis/policy/v1/poddisruptionbudgets']);
    expect(lists.every((r) => r.query.labelSelector === 'app.kubernetes.io/managed-by=prescale,prescale.io/cluster=debate-prod')).toBe(true);
    const deletes = api.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual([`${HPA_PATH}/retired`, '/apis/policy/v1/namespaces/other/poddisruptionbudgets/retired']);
    expect((JSON.parse(deletes[0]?.body ?? '{}') as { preconditions?: { uid?: string } }).preconditions?.uid).toMatch(/^uid-/);
    expect(api.objects.has(`${HPA_PATH}/someone-elses`)).toBe(true);
    expect(api.objects.has(`${HPA_PATH}/other-cluster`)).toBe(true);
    expect(api.objects.has(`${HPA_PATH}/gateway`)).toBe(true);
  });

  it('skips the VPA kind when its CRD is missing, and refuses to prune with nothing desired', async () => {
    api.vpaInstalled = false;
    const applier = createApplier();
    expect(await applier.prune(objects, 'debate-prod')).toEqual([]);
    expect(api.requests.some((r) => r.path === '/apis/autoscaling.k8s.io/v1/verticalpodautoscalers')).toBe(false);
    expect((await rejection(applier.prune([], 'debate-prod'))).code).toBe('validation');
  });
});
