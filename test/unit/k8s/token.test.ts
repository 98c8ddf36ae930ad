import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createEksToken, createEksTokenProvider, stsHostname } from '../../../lib/k8s/token.ts';

/**
 * The expected token is built here straight from the SigV4 spec
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
 * with node:crypto, not with the signer under test.
 */
const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: string | Buffer, text: string): Buffer => createHmac('sha256', key).update(text, 'utf8').digest();
const rfc3986 = (text: string): string => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function expectedToken(input: { accessKeyId: string; secretAccessKey: string; sessionToken?: string; region: string; cluster: string; amzDate: string }): { token: string; signature: string } {
  const host = `sts.${input.region}.amazonaws.com`;
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/sts/aws4_request`;
  const params: [string, string][] = [
    ['Action', 'GetCallerIdentity'],
    ['Version', '2011-06-15'],
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${input.accessKeyId}/${scope}`],
    ['X-Amz-Date', input.amzDate],
    ['X-Amz-Expires', '60'],
    ['X-Amz-SignedHeaders', 'host;x-k8s-aws-id'],
  ];
  if (input.sessionToken !== undefined) params.push(['X-Amz-Security-Token', input.sessionToken]);
  const canonicalQuery = (list: [string, string][]) =>
    [...list]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
      .join('&');
  const canonicalRequest = [
    'GET',
    '/',
    canonicalQuery(params),
    `host:${host}\nx-k8s-aws-id:${input.cluster}\n`,
    'host;x-k8s-aws-id',
    sha256Hex(''), // a presigned GET has an empty body
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, day), input.region), 'sts'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  const url = `https://${host}/?${canonicalQuery([...params, ['X-Amz-Signature', signature]])}`;
  return { token: `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`, signature };
}

// The example key pair from the AWS documentation.
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const nowMs = Date.UTC(2024, 0, 2, 3, 4, 5); // 2024-01-02T03:04:05Z

describe('createEksToken', () => {
  it('matches the fixed vector computed from the SigV4 spec', async () => {
    const token = await createEksToken({ clusterName: 'debate-prod', region: 'us-east-1', credentials, nowMs });
    const expected = expectedToken({ ...credentials, region: 'us-east-1', cluster: 'debate-prod', amzDate: '20240102T030405Z' });
    expect(token).toBe(expected.token);
    // Pinned so a change in either computation is noticed.
    expect(expected.signature).toBe('03d0d6780956245638636048b908f34347e0cfd90d08c84914623cb91cbf8a25');
  });

  it('carries the session token of temporary (Lambda role) credentials in the signed query', async () => {
    const sessionToken = 'IQoJb3JpZ2luX2VjEH//session+token/==';
    const token = await createEksToken({ clusterName: 'debate-prod', region: 'eu-west-1', credentials: { ...credentials, sessionToken }, nowMs });
    expect(token).toBe(expectedToken({ ...credentials, sessionToken, region: 'eu-west-1', cluster: 'debate-prod', amzDate: '20240102T030405Z' }).token);
  });

  it('is k8s-aws-v1. plus unpadded base64url of the presigned STS URL, signing x-k8s-aws-id for 60 s', async () => {
    const token = await createEksToken({ clusterName: 'debate-prod', region: 'us-east-1', credentials, nowMs });
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
    expect(url.origin).toBe('https://sts.us-east-1.amazonaws.com');
    expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20240102T030405Z');
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20240102/us-east-1/sts/aws4_request');
  });

  it('signs a different token for another cluster (the cluster name is in the signature)', async () => {
    const a = await createEksToken({ clusterName: 'a', region: 'us-east-1', credentials, nowMs });
    const b = await createEksToken({ clusterName: 'b', region: 'us-east-1', credentials, nowMs });
    expect(a).not.toBe(b);
  });

  it.each([
    ['us-east-1', 'sts.us-east-1.amazonaws.com'],
    ['cn-north-1', 'sts.cn-north-1.amazonaws.com.cn'],
  ])('uses the regional STS endpoint of %s', (region, host) => {
    expect(stsHostname(region)).toBe(host);
  });
});

describe('createEksTokenProvider', () => {
  it('reuses a token for 10 minutes, then signs a new one with fresh credentials', async () => {
    let clockMs = nowMs;
    let credentialFetches = 0;
    const provider = createEksTokenProvider({
      clusterName: 'debate-prod',
      region: 'us-east-1',
      credentials: async () => {
        credentialFetches++;
        return credentials;
      },
      nowMs: () => clockMs,
    });
    const first = await provider();
    clockMs += 9 * 60_000; // 9 min < 10 min reuse window
    expect(await provider()).toBe(first);
    clockMs += 60_000; // 10 min: re-sign
    const second = await provider();
    expect(second).not.toBe(first);
    expect(credentialFetches).toBe(2);
  });
});
