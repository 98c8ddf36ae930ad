/**
 * The bearer token EKS accepts from IAM principals, built the way
 * `aws eks get-token` and aws-iam-authenticator build it: a SigV4-presigned
 * STS GetCallerIdentity URL with the cluster name in the signed
 * `x-k8s-aws-id` header (so a token for one cluster is useless on another),
 * prefixed `k8s-aws-v1.` and base64url-encoded without padding. The API server
 * calls STS with the URL to learn who we are; no STS client is needed here.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { compareStrings } from '../core/canonical.ts';

export const EKS_TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** What aws-iam-authenticator signs: the URL itself expires after 60 s. */
export const PRESIGN_EXPIRES_SECONDS = 60;
/**
 * EKS accepts a token for 15 minutes from its signing time regardless of
 * X-Amz-Expires; reuse it for less than that to allow for clock skew.
 */
export const EKS_TOKEN_REUSE_MS = 10 * 60_000;

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface EksTokenInput {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** Signing time, epoch milliseconds. */
  readonly nowMs: number;
}

/** The regional STS endpoint, in the partition the region belongs to. */
export function stsHostname(region: string): string {
  return region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export async function createEksToken(input: EksTokenInput): Promise<string> {
  const hostname = stsHostname(input.region);
  const signer = new SignatureV4({ service: 'sts', region: input.region, credentials: input.credentials, sha256: Sha256 });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [CLUSTER_ID_HEADER]: input.clusterName },
  });
  const signed = await signer.presign(request, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: new Date(input.nowMs) });
  const query = Object.entries(signed.query ?? {})
    .flatMap(([key, value]) => (Array.isArray(value) ? value.map((v) => [key, v] as const) : value === null ? [] : [[key, value] as const]))
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([key, value]) => `${encodeRfc3986(key)}=${encodeRfc3986(value)}`)
    .join('&');
  return EKS_TOKEN_PREFIX + Buffer.from(`https://${hostname}/?${query}`, 'utf8').toString('base64url');
}

/**
 * A token source for the Kubernetes client: signs a new token when the cached
 * one is older than EKS_TOKEN_REUSE_MS. Credentials are fetched each time a
 * token is signed, so rotated Lambda role credentials are picked up.
 */
export function createEksTokenProvider(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: () => Promise<AwsCredentials>;
  readonly nowMs: () => number;
}): () => Promise<string> {
  let cached: { token: string; signedAtMs: number } | undefined;
  return async () => {
    const nowMs = options.nowMs();
    if (cached !== undefined && nowMs - cached.signedAtMs < EKS_TOKEN_REUSE_MS && nowMs >= cached.signedAtMs) return cached.token;
    const token = await createEksToken({ clusterName: options.clusterName, region: options.region, credentials: await options.credentials(), nowMs });
    cached = { token, signedAtMs: nowMs };
    return token;
  };
}
