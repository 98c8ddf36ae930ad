/**
 * Slack request signing (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signingSecret, "v0:" + X-Slack-Request-Timestamp + ":" + rawBody)>`.
 * The HMAC is over the raw bytes as received: verify before parsing anything.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's own window: older (or further in the future) is a replay. */
export const SLACK_SIGNATURE_WINDOW_MS = 5 * 60_000;

export type SignatureFailure =
  | 'missing-secret'
  | 'missing-timestamp'
  | 'missing-signature'
  | 'malformed-timestamp'
  | 'stale-timestamp'
  | 'malformed-signature'
  | 'signature-mismatch';

export type SignatureResult =
  | { readonly ok: true; readonly timestampSeconds: number }
  | { readonly ok: false; readonly reason: SignatureFailure; readonly message: string };

export interface SignatureInput {
  readonly signingSecret: string;
  readonly timestampHeader: string | undefined;
  readonly signatureHeader: string | undefined;
  /** The body exactly as Slack sent it (base64 already decoded). */
  readonly rawBody: string | Uint8Array;
  readonly nowMs: number;
  /** How far the timestamp may be from now; Slack's 5 minutes unless a later re-check allows more. */
  readonly windowMs?: number;
}

/** `v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<body>`. Exported so tests and the local simulator can sign. */
export function computeSlackSignature(signingSecret: string, timestamp: string, rawBody: string | Uint8Array): string {
  const hmac = createHmac('sha256', signingSecret);
  hmac.update(`v0:${timestamp}:`);
  hmac.update(rawBody);
  return `v0=${hmac.digest('hex')}`;
}

function fail(reason: SignatureFailure, message: string): SignatureResult {
  return { ok: false, reason, message };
}

export function verifySlackSignature(input: SignatureInput): SignatureResult {
  if (input.signingSecret === '') return fail('missing-secret', 'no signing secret is configured: refusing every request');
  const timestamp = input.timestampHeader?.trim();
  if (timestamp === undefined || timestamp === '') return fail('missing-timestamp', 'X-Slack-Request-Timestamp header is missing');
  const signature = input.signatureHeader?.trim();
  if (signature === undefined || signature === '') return fail('missing-signature', 'X-Slack-Signature header is missing');
  if (!/^\d{1,12}$/.test(timestamp)) return fail('malformed-timestamp', `X-Slack-Request-Timestamp must be epoch seconds (got ${JSON.stringify(timestamp.slice(0, 20))})`);
  const timestampSeconds = Number(timestamp);
  const skewMs = Math.abs(input.nowMs - timestampSeconds * 1000);
  const windowMs = input.windowMs ?? SLACK_SIGNATURE_WINDOW_MS;
  // Both directions: a timestamp from the future is as suspicious as an old one.
  if (skewMs > windowMs) {
    return fail('stale-timestamp', `request timestamp is ${Math.round(skewMs / 1000)} s from now, outside the ${windowMs / 1000} s window (replay?)`);
  }
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) return fail('malformed-signature', 'X-Slack-Signature must be v0= followed by 64 lowercase hex digits');
  const expected = Buffer.from(computeSlackSignature(input.signingSecret, timestamp, input.rawBody), 'utf8');
  const actual = Buffer.from(signature, 'utf8');
  // timingSafeEqual throws on different lengths; the format check above makes them equal, and this keeps it safe if that changes.
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return fail('signature-mismatch', 'X-Slack-Signature does not match the request body');
  return { ok: true, timestampSeconds };
}
