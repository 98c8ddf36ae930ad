import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPrescaleError } from '../../../lib/errors.ts';
import { createClusterConnection, createKubeconfig, kubeconfigToYaml } from '../../../lib/k8s/kubeconfig.ts';

const caPem = readFileSync(new URL('../../support/tls/ca.crt', import.meta.url), 'utf8');
const caData = Buffer.from(caPem).toString('base64');
const endpoint = 'https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com';
// Host names are case-insensitive; URL parsing lowercases them (TLS name checks do too).
const server = 'https://abcdef0123456789.gr7.us-east-1.eks.amazonaws.com';

describe('createClusterConnection', () => {
  it('takes the DescribeCluster endpoint and base64 CA as they come', () => {
    expect(createClusterConnection({ endpoint, certificateAuthorityData: caData })).toEqual({ server, caPem });
  });

  it.each([
    ['http://example.com', 'must be an https URL'],
    ['not a url', 'is not a URL'],
    ['https://example.com/api', 'without a path'],
  ])('rejects endpoint %s', (bad, message) => {
    expect(() => createClusterConnection({ endpoint: bad, certificateAuthorityData: caData })).toThrow(message);
  });

  it('rejects CA data that is not a base64 PEM certificate', () => {
    try {
      createClusterConnection({ endpoint, certificateAuthorityData: Buffer.from('garbage').toString('base64') });
      expect.unreachable();
    } catch (error) {
      expect(isPrescaleError(error) && error.code).toBe('validation');
      expect(String(error)).toContain('certificateAuthorityData');
    }
  });
});

describe('createKubeconfig', () => {
  it('builds a token kubeconfig for the Lambda', () => {
    const config = createKubeconfig({ clusterName: 'debate-prod', region: 'us-east-1', endpoint, certificateAuthorityData: caData, auth: { token: 'k8s-aws-v1.abc' } });
    expect(config).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'debate-prod', cluster: { server, 'certificate-authority-data': caData } }],
      users: [{ name: 'debate-prod', user: { token: 'k8s-aws-v1.abc' } }],
      contexts: [{ name: 'debate-prod', context: { cluster: 'debate-prod', user: 'debate-prod' } }],
      'current-context': 'debate-prod',
    });
  });

  it('builds an aws-cli exec kubeconfig for people', () => {
    const yaml = kubeconfigToYaml(createKubeconfig({ clusterName: 'debate-prod', region: 'us-east-1', endpoint, certificateAuthorityData: caData, auth: 'aws-cli' }));
    expect(yaml).toContain('command: aws');
    expect(yaml).toContain('- get-token');
    expect(yaml).toContain('apiVersion: client.authentication.k8s.io/v1beta1');
  });
});
