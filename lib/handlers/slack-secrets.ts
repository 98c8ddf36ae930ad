/**
 * The Slack secrets: the signing secret (verifies webhook requests) and the
 * bot token (posts messages). Locally from SLACK_SIGNING_SECRET and
 * SLACK_BOT_TOKEN; deployed from SSM Parameter Store SecureStrings through
 * Powertools parameters, cached for SECRET_MAX_AGE_SECONDS so a warm Lambda
 * does not call SSM per request, yet a rotated secret is picked up within
 * minutes. The values are returned to the caller and never logged: errors
 * name the parameter, never its value.
 */
import { getParameter } from '@aws-lambda-powertools/parameters/ssm';
import type { PrescaleConfig } from '../config/schema.ts';
import { PrescaleError } from '../errors.ts';
import type { Notifier, NotifierMessage } from '../ports.ts';
import { createSlackNotifier, type FetchLike } from '../slack/notifier.ts';

/** Five minutes: rotation takes effect within that, and SSM sees one call per warm container per five minutes. */
export const SECRET_MAX_AGE_SECONDS = 300;

export interface SlackSecrets {
  /** '' when none is configured: the webhook then refuses every request (lib/slack/signature). */
  signingSecret(): Promise<string>;
  /** undefined when no bot token is configured: nothing is posted to Slack. */
  botToken(): Promise<string | undefined>;
  /** Whether a bot token is configured at all (decided without fetching it). */
  readonly hasBotToken: boolean;
}

export type ParameterReader = (name: string, options: { decrypt: true; maxAge: number }) => Promise<string | undefined>;

const powertoolsReader: ParameterReader = (name, options) => getParameter(name, options);

/** Local mode: the environment. An empty variable counts as unset. */
export function createEnvSlackSecrets(env: Readonly<Record<string, string | undefined>>): SlackSecrets {
  const signing = env.SLACK_SIGNING_SECRET ?? '';
  const token = env.SLACK_BOT_TOKEN === undefined || env.SLACK_BOT_TOKEN === '' ? undefined : env.SLACK_BOT_TOKEN;
  return { signingSecret: async () => signing, botToken: async () => token, hasBotToken: token !== undefined };
}

export interface SsmSlackSecretsOptions {
  readonly signingSecretParam: string | undefined;
  readonly botTokenParam: string | undefined;
  readonly read?: ParameterReader;
  readonly maxAgeSeconds?: number;
}

/** Deployed: SSM SecureStrings, decrypted, cached by Powertools for `maxAgeSeconds`. */
export function createSsmSlackSecrets(options: SsmSlackSecretsOptions): SlackSecrets {
  const read = options.read ?? powertoolsReader;
  const maxAge = options.maxAgeSeconds ?? SECRET_MAX_AGE_SECONDS;
  async function fetchSecret(name: string): Promise<string> {
    let value: string | undefined;
    try {
      value = await read(name, { decrypt: true, maxAge });
    } catch (error) {
      // The SDK error carries the parameter name and the AWS error code, never a value; keep only its name.
      throw new PrescaleError('unavailable', `could not read SSM parameter ${name} (${error instanceof Error ? error.name : 'error'})`, { retryable: true });
    }
    if (value === undefined || value === '') throw new PrescaleError('config', `SSM parameter ${name} is empty`);
    return value;
  }
  return {
    signingSecret: async () => (options.signingSecretParam === undefined ? '' : fetchSecret(options.signingSecretParam)),
    botToken: async () => (options.botTokenParam === undefined ? undefined : fetchSecret(options.botTokenParam)),
    hasBotToken: options.botTokenParam !== undefined,
  };
}

/**
 * A Slack notifier that reads the bot token when it sends (the token is
 * async and cached; ports are built synchronously). One per cluster: its
 * messages default to the cluster's `slack.channel`.
 */
export function createLazySlackNotifier(secrets: SlackSecrets, defaultChannel: string, fetchImpl?: FetchLike): Notifier {
  const notifier = async (): Promise<Notifier> => {
    const botToken = await secrets.botToken();
    if (botToken === undefined) throw new PrescaleError('config', 'no Slack bot token is configured');
    return createSlackNotifier({ botToken, defaultChannel, ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }) });
  };
  return {
    post: async (message: NotifierMessage) => (await notifier()).post(message),
    respond: async (responseUrl: string, message: NotifierMessage) => (await notifier()).respond(responseUrl, message),
  };
}

/** The cluster's Slack notifier, when the cluster names a channel and a bot token is configured; otherwise none. */
export function slackNotifierFor(config: PrescaleConfig, secrets: SlackSecrets, fetchImpl?: FetchLike): Notifier | undefined {
  if (config.slack === undefined || !secrets.hasBotToken) return undefined;
  return createLazySlackNotifier(secrets, config.slack.channel, fetchImpl);
}
