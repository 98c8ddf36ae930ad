/**
 * A small Kubernetes API client over node:https: the few verbs prescale needs
 * (GET, PATCH with apply-patch, DELETE), the cluster CA pinned, a bearer token
 * per request, and retries with backoff on 5xx, 429 and dropped connections.
 * Plain https instead of @kubernetes/client-node keeps the Lambda bundle small
 * and puts status codes, content types and query strings fully in our hands.
 *
 * Errors that no single object can fix are thrown as PrescaleError
 * (401/403 → `access-denied`, exhausted retries → `unavailable`, TLS → `config`);
 * every other response comes back for the caller to judge.
 */
import { request as httpsRequest } from 'node:https';
import { PrescaleError } from '../errors.ts';
import type { ClusterConnection } from './kubeconfig.ts';

export interface KubeResponse {
  readonly status: number;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface KubeRequest {
  readonly method: 'GET' | 'PATCH' | 'DELETE' | 'POST';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly contentType?: string;
}

export interface KubeClientOptions {
  readonly connection: ClusterConnection;
  /** A bearer token for each request (cache it: see createEksTokenProvider). */
  readonly token: () => Promise<string>;
  /** Injected so tests do not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly timeoutMs?: number;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME|ALTNAME/;

export const ACCESS_ENTRY_HINT =
  'prescale authenticates with the IAM role of the Lambda: the cluster needs an EKS access entry for that role with Kubernetes group "prescale", ' +
  'and the ClusterRole in k8s/rbac/ bound to that group (see docs/kubernetes.md)';

export function statusMessage(body: unknown): string | undefined {
  if (body !== null && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  if (typeof body === 'string' && body.trim() !== '') return body.trim().slice(0, 500);
  return undefined;
}

export class KubeClient {
  readonly server: string;
  private readonly options: KubeClientOptions;

  constructor(options: KubeClientOptions) {
    this.options = options;
    this.server = options.connection.server;
  }

  async request(req: KubeRequest): Promise<KubeResponse> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    let lastProblem = '';
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      let response: KubeResponse | undefined;
      try {
        response = await this.send(req, await this.options.token());
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (TLS_CODES.test(code)) {
          throw new PrescaleError('config', `TLS verification of ${this.server} failed (${code}): the certificate authority data does not match the cluster endpoint`, { cause: error });
        }
        if (!RETRYABLE_NETWORK.has(code)) throw new PrescaleError('unavailable', `${req.method} ${req.path}: ${(error as Error).message}`, { retryable: true, cause: error });
        lastProblem = `${code || (error as Error).message}`;
      }
      if (response !== undefined) {
        if (response.status === 401) {
          throw new PrescaleError('access-denied', `Kubernetes API ${this.server} rejected the token (401 Unauthorized) on ${req.method} ${req.path}. ${ACCESS_ENTRY_HINT}`);
        }
        if (response.status === 403) {
          const message = statusMessage(response.body) ?? 'forbidden';
          throw new PrescaleError('access-denied', `${req.method} ${req.path} is forbidden: ${message}. ${ACCESS_ENTRY_HINT}`);
        }
        if (!RETRYABLE_STATUS.has(response.status)) return response;
        lastProblem = `HTTP ${response.status}${statusMessage(response.body) === undefined ? '' : `: ${statusMessage(response.body)}`}`;
      }
      if (attempt < maxAttempts) await sleep(this.delayMs(attempt, response));
    }
    throw new PrescaleError('unavailable', `${req.method} ${req.path} failed after ${maxAttempts} attempts (${lastProblem})`, { retryable: true });
  }

  /** Exponential backoff (base × 2^(n-1), capped), or the server's Retry-After when it gives one. */
  private delayMs(attempt: number, response: KubeResponse | undefined): number {
    const maxDelayMs = this.options.maxDelayMs ?? 8_000;
    const retryAfter = response?.headers['retry-after'];
    const retryAfterSeconds = typeof retryAfter === 'string' ? Number(retryAfter) : Number.NaN;
    if (Number.isFinite(retryAfterSeconds) && retryAfterSeconds >= 0) return Math.min(maxDelayMs, retryAfterSeconds * 1000);
    return Math.min(maxDelayMs, (this.options.baseDelayMs ?? 250) * 2 ** (attempt - 1));
  }

  private send(req: KubeRequest, token: string): Promise<KubeResponse> {
    const url = new URL(req.path, this.server);
    for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) url.searchParams.set(key, value);
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${token}`, 'user-agent': 'prescale' };
    if (req.body !== undefined) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(req.body));
    }
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        url,
        { method: req.method, headers, ca: this.options.connection.caPem, timeout: this.options.timeoutMs ?? 10_000 },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text === '' ? undefined : JSON.parse(text);
            } catch {
              // Not JSON (a proxy's HTML error page): keep the text for the message.
            }
            resolve({ status: incoming.statusCode ?? 0, body, headers: incoming.headers });
          });
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error(`timed out after ${this.options.timeoutMs ?? 10_000} ms`), { code: 'ETIMEDOUT' })));
      outgoing.on('error', reject);
      outgoing.end(req.body);
    });
  }
}
