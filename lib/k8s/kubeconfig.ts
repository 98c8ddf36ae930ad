/**
 * Connection details from EKS DescribeCluster (`cluster.endpoint`,
 * `cluster.certificateAuthority.data`), taken as plain strings so nothing here
 * needs the EKS SDK: the handler passes them in.
 */
import { X509Certificate } from 'node:crypto';
import { stringify } from 'yaml';
import { ValidationError } from '../errors.ts';

export interface ClusterAccess {
  readonly clusterName: string;
  /** `https://<id>.<suffix>.<region>.eks.amazonaws.com` */
  readonly endpoint: string;
  /** Base64 of the PEM bundle, as DescribeCluster returns it. */
  readonly certificateAuthorityData: string;
}

export interface ClusterConnection {
  /** Origin of the API server, no trailing slash. */
  readonly server: string;
  readonly caPem: string;
}

export function createClusterConnection(access: Pick<ClusterAccess, 'endpoint' | 'certificateAuthorityData'>): ClusterConnection {
  const problems: string[] = [];
  let server = '';
  try {
    const url = new URL(access.endpoint);
    if (url.protocol !== 'https:') problems.push(`endpoint must be an https URL (got ${access.endpoint})`);
    if (url.pathname !== '/' || url.search !== '') problems.push(`endpoint must be an origin without a path (got ${access.endpoint})`);
    server = url.origin;
  } catch {
    problems.push(`endpoint is not a URL (got ${JSON.stringify(access.endpoint)})`);
  }
  const caPem = Buffer.from(access.certificateAuthorityData, 'base64').toString('utf8');
  try {
    new X509Certificate(caPem);
  } catch {
    problems.push('certificateAuthorityData must be the base64 of a PEM certificate, as DescribeCluster returns it');
  }
  if (problems.length > 0) throw new ValidationError('cluster access', problems);
  return { server, caPem };
}

/**
 * A kubeconfig for humans and tools: the same cluster, authenticated with a
 * fixed token (what the Lambda uses) or with `aws eks get-token` (what a
 * person at a terminal uses).
 */
export function createKubeconfig(
  access: ClusterAccess & { readonly region: string; readonly auth: { readonly token: string } | 'aws-cli' },
): Record<string, unknown> {
  const { server } = createClusterConnection(access);
  const name = access.clusterName;
  const user =
    access.auth === 'aws-cli'
      ? {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: ['--region', access.region, 'eks', 'get-token', '--cluster-name', name, '--output', 'json'],
            interactiveMode: 'Never',
          },
        }
      : { token: access.auth.token };
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, 'certificate-authority-data': access.certificateAuthorityData } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
  };
}

export function kubeconfigToYaml(kubeconfig: Record<string, unknown>): string {
  return stringify(kubeconfig, { version: '1.1', lineWidth: 0 });
}
