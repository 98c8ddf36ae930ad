import { describe, expect, it } from 'vitest';
import { isPrescaleError } from '../../../lib/errors.ts';
import { classifySlackError, createSlackNotifier, type FetchLike } from '../../../lib/slack/notifier.ts';

const TOKEN = 'xoxb-test-token-123';

function fakeFetch(status: number, body: string, calls: { url: string; init: Parameters<FetchLike>[1] }[] = []): FetchLike {
  return async (url, init) => {
    calls.push({ url, init });
    return { status, text: async () => body };
  };
}

async function errorOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isPrescaleError(error) ? `${error.code}${error.retryable ? ' (retryable)' : ''}: ${error.message}` : String(error);
  }
  return 'no error';
}

describe('createSlackNotifier', () => {
  it('posts with chat.postMessage to the default channel', async () => {
    const calls: { url: string; init: Parameters<FetchLike>[1] }[] = [];
    const notifier = createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C0001', fetch: fakeFetch(200, '{"ok":true,"channel":"C0001","ts":"1718020800.000100"}', calls) });
    expect(await notifier.post({ channel: undefined, text: 'hi', blocks: [{ type: 'divider' }] })).toEqual({ id: 'C0001:1718020800.000100' });
    expect(calls[0]?.url).toBe('https://slack.com/api/chat.postMessage');
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${TOKEN}` });
    expect(JSON.parse(calls[0]?.init.body ?? '')).toEqual({ channel: 'C0001', text: 'hi', blocks: [{ type: 'divider' }] });
  });

  it('replaces the original message through response_url, without the token', async () => {
    const calls: { url: string; init: Parameters<FetchLike>[1] }[] = [];
    const notifier = createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C0001', fetch: fakeFetch(200, 'ok', calls) });
    await notifier.respond('https://hooks.slack.com/actions/T1/2/abc', { channel: undefined, text: 'Rejected' });
    expect(calls[0]?.url).toBe('https://hooks.slack.com/actions/T1/2/abc');
    expect(calls[0]?.init.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
    expect(JSON.parse(calls[0]?.init.body ?? '')).toEqual({ replace_original: true, text: 'Rejected' });
  });

  it.each<[string, () => Promise<unknown>, RegExp]>([
    ['a Slack API error', () => createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C1', fetch: fakeFetch(200, '{"ok":false,"error":"not_in_channel"}') }).post({ channel: undefined, text: 'x' }), /^access-denied: chat\.postMessage to C1: not_in_channel$/],
    ['a rate limit', () => createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C1', fetch: fakeFetch(429, '') }).post({ channel: undefined, text: 'x' }), /^throttling \(retryable\)/],
    ['a 503', () => createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C1', fetch: fakeFetch(503, '') }).post({ channel: undefined, text: 'x' }), /^unavailable \(retryable\)/],
    ['an expired response_url', () => createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C1', fetch: fakeFetch(404, 'expired_url') }).respond('https://hooks.slack.com/actions/x', { channel: undefined, text: 'x' }), /^not-found: response_url: Slack answered 404 expired_url$/],
    ['a response_url elsewhere', () => createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C1', fetch: fakeFetch(200, 'ok') }).respond('https://evil.example/x', { channel: undefined, text: 'x' }), /^validation: response_url is not/],
    [
      'a network failure',
      () => createSlackNotifier({ botToken: TOKEN, defaultChannel: 'C1', fetch: async () => Promise.reject(new TypeError(`fetch failed for ${TOKEN}`)) }).post({ channel: undefined, text: 'x' }),
      /^unavailable \(retryable\): chat\.postMessage: could not reach Slack \(TypeError\)$/,
    ],
  ])('classifies %s and never shows the token', async (_name, call, expected) => {
    const message = await errorOf(call());
    expect(message).toMatch(expected);
    expect(message).not.toContain(TOKEN);
  });

  it('refuses an empty token', () => {
    expect(() => createSlackNotifier({ botToken: '', defaultChannel: 'C1' })).toThrow(/bot token is empty/);
  });

  it.each([
    ['invalid_auth', 'access-denied', false],
    ['channel_not_found', 'not-found', false],
    ['ratelimited', 'throttling', true],
    ['internal_error', 'unavailable', true],
    ['invalid_blocks', 'validation', false],
  ] as const)('classifySlackError(%s) = %s', (error, code, retryable) => expect(classifySlackError(error)).toEqual({ code, retryable }));
});
