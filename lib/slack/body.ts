/** HTTP API (payload v2) request helpers: header lookup and body decoding. */
import { PrescaleError } from '../errors.ts';

export type HttpHeaders = Readonly<Record<string, string | undefined>>;

/** Header names are case-insensitive; API Gateway lowercases them, local tools may not. */
export function headerValue(headers: HttpHeaders | null | undefined, name: string): string | undefined {
  if (headers === null || headers === undefined) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * The body as Slack sent it. API Gateway base64-encodes bodies it considers
 * binary; Slack's form bodies are ASCII, so the UTF-8 string carries the
 * exact bytes the signature covers.
 */
export function decodeBody(body: string | null | undefined, isBase64Encoded: boolean | undefined): string {
  if (body === null || body === undefined) return '';
  if (isBase64Encoded !== true) return body;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.replace(/\s/g, '')) || body.replace(/\s/g, '').length % 4 !== 0) {
    throw new PrescaleError('validation', 'request body is marked base64 but is not valid base64');
  }
  return Buffer.from(body, 'base64').toString('utf8');
}
