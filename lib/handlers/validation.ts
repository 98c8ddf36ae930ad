/**
 * Turns zod issues into the project's error shape: one line per problem, each
 * naming the field path and the rule, as the config loader does. A handler that
 * receives a malformed event throws this before anything else runs.
 */
import type { z } from 'zod';
import { formatPath } from '../config/load.ts';
import { ValidationError } from '../errors.ts';

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}

export function formatIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string[] {
  const path = [...prefix, ...issue.path];
  const where = formatPath(path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${formatPath([...path, key])} is not a known key`);
    case 'invalid_type':
      if (issue.input === undefined) return [`${where} is required`];
      // z.number().int() reports a fraction as an invalid type with our own message.
      if (issue.expected === 'int') return [`${where} ${issue.message}`];
      return [`${where} must be ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`} (got ${describeValue(issue.input)})`];
    case 'invalid_value':
      return [`${where} must be ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(issue.input)})`];
    default:
      return [`${where} ${issue.message}`];
  }
}

/** Every problem of a failed parse, sorted so the message is the same on every run. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return [...new Set(issues.flatMap((issue) => formatIssue(issue, prefix)))].sort();
}

interface ZodLikeError {
  readonly issues: readonly z.core.$ZodIssue[];
}

function isZodLikeError(value: unknown): value is ZodLikeError {
  return typeof value === 'object' && value !== null && Array.isArray((value as { issues?: unknown }).issues);
}

/**
 * The Powertools parser wraps the zod error in a ParseError (as `cause`); this
 * digs out the issues wherever they are and names every bad field.
 */
export function toValidationError(what: string, error: unknown): ValidationError {
  const zodError = isZodLikeError(error) ? error : isZodLikeError((error as { cause?: unknown } | undefined)?.cause) ? ((error as { cause: ZodLikeError }).cause) : undefined;
  if (zodError !== undefined) return new ValidationError(what, formatIssues(zodError.issues));
  return new ValidationError(what, [error instanceof Error ? error.message : String(error)]);
}

/** Parses with a schema and throws a ValidationError naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new ValidationError(what, formatIssues(result.error.issues));
  return result.data;
}
