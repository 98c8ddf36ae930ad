/**
 * The Slack Notifier: chat.postMessage with a bot token for new messages, the
 * interaction's response_url to replace the approval message. `fetch` is
 * injected (Node 20's global by default) so tests assert the exact request.
 * The token never appears in an error or a log line.
 */
import { PrescaleError } from '../errors.ts';
import type { Notifier, NotifierMessage } from '../ports.ts';
import { isSlackResponseUrl } from './interaction.ts';

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{
  readonly status: number;
  text(): Promise<string>;
}>;

export interface SlackNotifierOptions {
  /** Bot token (xoxb-…), from SSM / Secrets Manager or SLACK_BOT_TOKEN locally. */
  readonly botToken: string;
  /** Channel for messages that do not name one (config `slack.channel`). */
  readonly defaultChannel: string;
  readonly fetch?: FetchLike;
  /** Slack answers in well under a second; a hung call must not eat the Lambda's budget. */
  readonly timeoutMs?: number;
  readonly apiBaseUrl?: string;
}

const SLACK_API = 'https://slack.com/api';

/** Slack error codes → our codes: who can act on them (config vs retry). */
export function classifySlackError(error: string): { code: 'access-denied' | 'not-found' | 'throttling' | 'validation' | 'unavailable'; retryable: boolean } {
  if (['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_in_channel', 'missing_scope', 'restricted_action', 'no_permission'].includes(error)) {
    return { code: 'access-denied', retryable: false };
  }
  if (['channel_not_found', 'expired_url', 'used_url', 'no_service'].includes(error)) return { code: 'not-found', retryable: false };
  if (error === 'ratelimited' || error === 'rate_limited') return { code: 'throttling', retryable: true };
  if (['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'].includes(error)) return { code: 'unavailable', retryable: true };
  return { code: 'validation', retryable: false };
}

function httpError(what: string, status: number, detail: string): PrescaleError {
  if (status === 429) return new PrescaleError('throttling', `${what}: Slack rate limit (429)`, { retryable: true });
  if (status >= 500) return new PrescaleError('unavailable', `${what}: Slack answered ${status}`, { retryable: true });
  const slackCode = /^[a-z_]+$/.test(detail) ? detail : 'invalid_request';
  const { code, retryable } = classifySlackError(slackCode);
  return new PrescaleError(code, `${what}: Slack answered ${status} ${slackCode}`, { retryable });
}

export function createSlackNotifier(options: SlackNotifierOptions): Notifier {
  if (options.botToken === '') throw new PrescaleError('config', 'the Slack bot token is empty');
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 5_000;
  const apiBase = options.apiBaseUrl ?? SLACK_API;

  async function send(what: string, url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string }> {
    let response: Awaited<ReturnType<FetchLike>>;
    try {
      response = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new PrescaleError('unavailable', `${what}: could not reach Slack (${error instanceof Error ? error.name : 'error'})`, { retryable: true });
    }
    return { status: response.status, text: await response.text() };
  }

  return {
    async post(message: NotifierMessage): Promise<{ id: string }> {
      const channel = message.channel ?? options.defaultChannel;
      const { status, text } = await send('chat.postMessage', `${apiBase}/chat.postMessage`, { authorization: `Bearer ${options.botToken}` }, { channel, text: message.text, ...(message.blocks === undefined ? {} : { blocks: message.blocks }) });
      if (status !== 200) throw httpError('chat.postMessage', status, text.trim());
      let parsed: { ok?: unknown; ts?: unknown; channel?: unknown; error?: unknown };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        throw new PrescaleError('unavailable', 'chat.postMessage: Slack answered with something that is not JSON', { retryable: true });
      }
      if (parsed.ok !== true) {
        const error = typeof parsed.error === 'string' ? parsed.error : 'unknown_error';
        const { code, retryable } = classifySlackError(error);
        throw new PrescaleError(code, `chat.postMessage to ${channel}: ${error}`, { retryable });
      }
      return { id: `${typeof parsed.channel === 'string' ? parsed.channel : channel}:${typeof parsed.ts === 'string' ? parsed.ts : ''}` };
    },

    async respond(responseUrl: string, message: NotifierMessage): Promise<void> {
      // The URL came from a signed payload, but a bot-token-free POST to an arbitrary host is still not something to allow.
      if (!isSlackResponseUrl(responseUrl)) throw new PrescaleError('validation', 'response_url is not a https://hooks.slack.com/ URL');
      const { status, text } = await send('response_url', responseUrl, {}, { replace_original: true, text: message.text, ...(message.blocks === undefined ? {} : { blocks: message.blocks }) });
      if (status !== 200) throw httpError('response_url', status, text.trim());
    },
  };
}
