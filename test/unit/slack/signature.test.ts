import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeSlackSignature, verifySlackSignature, type SignatureInput } from '../../../lib/slack/signature.ts';
import { decodeBody, headerValue } from '../../../lib/slack/body.ts';

/** Slack's published example (api.slack.com/authentication/verifying-requests-from-slack). */
const SLACK_DOC = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  timestamp: '1531420618',
  body:
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA' +
    '&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
    '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
  signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
};
const DOC_NOW_MS = Number(SLACK_DOC.timestamp) * 1000;

/** An independent HMAC (WebCrypto, not node:crypto's createHmac) so the test does not check the code against itself. */
async function webCryptoSignature(secret: string, timestamp: string, body: string): Promise<string> {
  const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await webcrypto.subtle.sign('HMAC', key, new TextEncoder().encode(`v0:${timestamp}:${body}`));
  return `v0=${Buffer.from(mac).toString('hex')}`;
}

const valid: SignatureInput = { signingSecret: SLACK_DOC.secret, timestampHeader: SLACK_DOC.timestamp, signatureHeader: SLACK_DOC.signature, rawBody: SLACK_DOC.body, nowMs: DOC_NOW_MS };

describe('computeSlackSignature', () => {
  it("matches Slack's documented example", () => {
    expect(computeSlackSignature(SLACK_DOC.secret, SLACK_DOC.timestamp, SLACK_DOC.body)).toBe(SLACK_DOC.signature);
  });

  it('matches an independent WebCrypto HMAC', async () => {
    const body = 'payload=%7B%22type%22%3A%22block_actions%22%7D';
    expect(computeSlackSignature('s3cret', '1700000000', body)).toBe(await webCryptoSignature('s3cret', '1700000000', body));
    expect(await webCryptoSignature(SLACK_DOC.secret, SLACK_DOC.timestamp, SLACK_DOC.body)).toBe(SLACK_DOC.signature);
  });

  it('signs bytes and strings alike', () => {
    expect(computeSlackSignature('k', '1', Buffer.from('a=b', 'utf8'))).toBe(computeSlackSignature('k', '1', 'a=b'));
  });
});

describe('verifySlackSignature', () => {
  it('accepts the documented request', () => {
    expect(verifySlackSignature(valid)).toEqual({ ok: true, timestampSeconds: 1531420618 });
  });

  it.each<[string, Partial<SignatureInput>, string]>([
    ['no secret configured', { signingSecret: '' }, 'missing-secret'],
    ['no timestamp', { timestampHeader: undefined }, 'missing-timestamp'],
    ['no signature', { signatureHeader: undefined }, 'missing-signature'],
    ['empty signature', { signatureHeader: ' ' }, 'missing-signature'],
    ['timestamp not a number', { timestampHeader: '12ab' }, 'malformed-timestamp'],
    ['negative timestamp', { timestampHeader: '-1531420618' }, 'malformed-timestamp'],
    // 5 min + 1 s old: replay
    ['timestamp older than 5 minutes', { nowMs: DOC_NOW_MS + 301_000 }, 'stale-timestamp'],
    ['timestamp more than 5 minutes ahead', { nowMs: DOC_NOW_MS - 301_000 }, 'stale-timestamp'],
    ['signature without v0=', { signatureHeader: SLACK_DOC.signature.slice(3) }, 'malformed-signature'],
    ['truncated signature (length differs)', { signatureHeader: SLACK_DOC.signature.slice(0, -2) }, 'malformed-signature'],
    ['uppercase hex', { signatureHeader: SLACK_DOC.signature.toUpperCase().replace('V0=', 'v0=') }, 'malformed-signature'],
    ['forged signature (one digit changed)', { signatureHeader: SLACK_DOC.signature.replace(/3$/, '4') }, 'signature-mismatch'],
    ['wrong secret', { signingSecret: 'not-the-secret' }, 'signature-mismatch'],
    ['body tampered', { rawBody: SLACK_DOC.body.replace('roadrunner', 'coyote') }, 'signature-mismatch'],
    ['timestamp swapped (signature covers it)', { timestampHeader: '1531420619', nowMs: DOC_NOW_MS }, 'signature-mismatch'],
  ])('rejects: %s', (_name, patch, reason) => {
    const result = verifySlackSignature({ ...valid, ...patch });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message).not.toContain(SLACK_DOC.secret);
    }
  });

  it.each([
    ['exactly 5 minutes old', DOC_NOW_MS + 300_000],
    ['exactly 5 minutes ahead', DOC_NOW_MS - 300_000],
  ])('accepts a timestamp %s (the window is inclusive)', (_name, nowMs) => {
    expect(verifySlackSignature({ ...valid, nowMs }).ok).toBe(true);
  });
});

describe('request helpers', () => {
  it('decodes base64 bodies and passes plain ones through', () => {
    expect(decodeBody(Buffer.from(SLACK_DOC.body).toString('base64'), true)).toBe(SLACK_DOC.body);
    expect(decodeBody(SLACK_DOC.body, false)).toBe(SLACK_DOC.body);
    expect(decodeBody(SLACK_DOC.body, undefined)).toBe(SLACK_DOC.body);
    expect(decodeBody(undefined, true)).toBe('');
    expect(() => decodeBody('not base64!', true)).toThrow(/not valid base64/);
  });

  it('finds headers case-insensitively', () => {
    expect(headerValue({ 'X-Slack-Signature': 'a' }, 'x-slack-signature')).toBe('a');
    expect(headerValue({ 'x-slack-signature': 'b' }, 'X-Slack-Signature')).toBe('b');
    expect(headerValue(undefined, 'x')).toBeUndefined();
  });
});
