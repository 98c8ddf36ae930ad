/**
 * The deployed functions' applier: DescribeCluster on first use, a token from
 * the function's own credentials, then the same connection for later calls;
 * a failed connect is not cached.
 */
import { DescribeClusterCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLazyKubeApplier } from '../../../lib/handlers/kube.ts';
import { renderManifests } from '../../../lib/core/manifests/index.ts';
import { runManifests } from '../../../lib/handlers/manifests.ts';
import { loadConfigFile } from '../../../lib/config/load.ts';
import { startFakeKubeApi, type FakeKubeApi } from '../../support/kube-api.ts';

const eksMock = mockClient(EKSClient);
let api: FakeKubeApi;

beforeEach(async () => {
  eksMock.reset();
  api = await startFakeKubeApi({ vpaInstalled: true });
});

afterEach(async () => {
  await api.close();
});

function applier() {
  return createLazyKubeApplier({
    clusterName: 'debate-prod',
    region: 'us-east-1',
    eks: new EKSClient({ region: 'us-east-1' }),
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    clock: { nowMs: () => Date.UTC(2026, 10, 2) },
  });
}

describe('lazy Kubernetes applier', () => {
  it('connects through DescribeCluster once and applies with a k8s-aws-v1 token', async () => {
    eksMock.on(DescribeClusterCommand).resolves({ cluster: { name: 'debate-prod', status: 'ACTIVE', endpoint: api.url, certificateAuthority: { data: Buffer.from(api.caPem).toString('base64') } } });
    const kube = applier();
    const config = loadConfigFile('config/example.yaml');
    const results = await runManifests(config, kube);
    expect(results.filter((r) => r.outcome === 'failed')).toEqual([]);
    expect(await kube.describeHpas('debate', ['gateway'])).toHaveLength(1);
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(1);
    expect(eksMock.commandCalls(DescribeClusterCommand)[0]!.args[0].input).toEqual({ name: 'debate-prod' });
    const patch = api.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.headers.authorization).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    expect(renderManifests(config).length).toBeGreaterThan(0);
  });

  it('retries the connection on the next call after a failed DescribeCluster', async () => {
    eksMock
      .on(DescribeClusterCommand)
      .rejectsOnce(new ResourceNotFoundException({ message: 'No cluster found for name: debate-prod.', $metadata: {} }))
      .resolves({ cluster: { name: 'debate-prod', status: 'ACTIVE', endpoint: api.url, certificateAuthority: { data: Buffer.from(api.caPem).toString('base64') } } });
    const kube = applier();
    await expect(kube.describeHpas('debate', ['gateway'])).rejects.toMatchObject({ code: 'not-found' });
    await expect(kube.describeHpas('debate', ['gateway'])).resolves.toEqual([]);
    expect(eksMock.commandCalls(DescribeClusterCommand)).toHaveLength(2);
  });
});
