/**
 * The handlers' environment, read once per cold start and validated like any
 * input: a missing or bad variable is an error that names it.
 */
import { z } from 'zod';
import { formatIssues } from './validation.ts';
import { ValidationError } from '../errors.ts';

const envSchema = z.object({
  /** `aws` on Lambda; `local` runs against the simulated cloud and an embedded dynalite. */
  PRESCALE_BACKEND: z.enum(['aws', 'local']).default('aws'),
  /** A YAML file or a directory of them, relative to the code root. */
  PRESCALE_CONFIG: z.string().min(1).default('config'),
  /** The single DynamoDB table: state and idempotency records. */
  PRESCALE_TABLE: z.string().min(3).max(255).default('prescale-local'),
  /** The fan-out queue (scheduled function only, AWS mode; ignored locally). */
  PRESCALE_QUEUE_URL: z.string().min(1).optional(),
  /** Point the DynamoDB client somewhere else (tests: a dynalite started by the suite). */
  PRESCALE_DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** SSM SecureString names of the Slack secrets (AWS mode). Names only: the values are read at run time and never enter this object. */
  PRESCALE_SLACK_SIGNING_SECRET_PARAM: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/, 'must be an SSM parameter name starting with /').optional(),
  PRESCALE_SLACK_BOT_TOKEN_PARAM: z.string().regex(/^\/[A-Za-z0-9_.\-/]+$/, 'must be an SSM parameter name starting with /').optional(),
});

export type HandlerEnv = z.output<typeof envSchema>;

export function parseHandlerEnv(env: Readonly<Record<string, string | undefined>>): HandlerEnv {
  const result = envSchema.safeParse(env, { reportInput: true });
  if (!result.success) throw new ValidationError('environment', formatIssues(result.error.issues));
  return result.data;
}
