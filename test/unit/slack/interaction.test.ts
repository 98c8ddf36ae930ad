import { describe, expect, it } from 'vitest';
import { parseInteractionPayload } from '../../../lib/slack/interaction.ts';

const RESPONSE_URL = 'https://hooks.slack.com/actions/T0001/123456/abcdef';

function payload(patch: Record<string, unknown> = {}, action: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'block_actions',
    user: { id: 'U012ABCDEF', username: 'alice', name: 'alice', team_id: 'T0001' },
    api_app_id: 'A0001',
    token: 'legacy-token-ignored',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0001', is_ephemeral: false },
    trigger_id: '123.456.abc',
    team: { id: 'T0001', domain: 'example' },
    channel: { id: 'C0001', name: 'ops' },
    response_url: RESPONSE_URL,
    actions: [{ action_id: 'approve', block_id: 'prescale-approval', value: 'plan-2024-06-10T12-00-debate-prod', type: 'button', action_ts: '1700000001.000200', ...action }],
    ...patch,
  };
}

const form = (value: unknown): string => new URLSearchParams({ payload: typeof value === 'string' ? value : JSON.stringify(value) }).toString();

describe('parseInteractionPayload', () => {
  it('reads an Approve click', () => {
    expect(parseInteractionPayload(form(payload()))).toEqual({
      ok: true,
      interaction: {
        action: 'approve',
        planId: 'plan-2024-06-10T12-00-debate-prod',
        userId: 'U012ABCDEF',
        userName: 'alice',
        responseUrl: RESPONSE_URL,
        channelId: 'C0001',
        messageTs: '1700000000.000100',
      },
    });
  });

  it('reads a Reject click and ignores fields it does not use', () => {
    const result = parseInteractionPayload(form(payload({ enterprise: null, is_enterprise_install: false, state: { values: {} } }, { action_id: 'reject' })));
    expect(result.ok && result.interaction.action).toBe('reject');
  });

  it.each<[string, string, string, RegExp]>([
    ['empty body', '', 'missing-payload', /no payload field/],
    ['other form fields only', 'token=x&team_id=T1', 'missing-payload', /no payload field/],
    ['payload not JSON', form('{not json'), 'malformed-json', /not JSON/],
    ['payload a JSON array', form([1, 2]), 'invalid-payload', /JSON object/],
    ['a view submission', form(payload({ type: 'view_submission' })), 'unsupported-type', /"view_submission" is not handled/],
    ['an unknown action', form(payload({}, { action_id: 'delete_cluster' })), 'unknown-action', /"delete_cluster" is not approve or reject/],
    ['no actions', form(payload({ actions: [] })), 'invalid-payload', /payload\.actions must hold the clicked action/],
    ['no user', form(payload({ user: undefined })), 'invalid-payload', /payload\.user/],
    ['a malformed user id', form(payload({ user: { id: 'alice' } })), 'invalid-payload', /payload\.user\.id must be a Slack user id/],
    ['no plan id', form(payload({}, { value: undefined })), 'invalid-payload', /payload\.actions\.0\.value must be a plan id/],
    ['a plan id with spaces', form(payload({}, { value: 'plan 1' })), 'invalid-payload', /must be a plan id/],
    ['response_url elsewhere (SSRF)', form(payload({ response_url: 'https://evil.example/hooks' })), 'invalid-payload', /response_url must be an https:\/\/hooks\.slack\.com\/ URL/],
    ['response_url over http', form(payload({ response_url: 'http://hooks.slack.com/actions/x' })), 'invalid-payload', /response_url/],
    ['response_url with credentials', form(payload({ response_url: 'https://user@hooks.slack.com/actions/x' })), 'invalid-payload', /response_url/],
  ])('rejects %s', (_name, body, reason, message) => {
    const result = parseInteractionPayload(body);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message).toMatch(message);
    }
  });
});
