/**
 * Turns zod issues into the project's error shape: one line per problem, each
 * naming the field path and the rule, as the config loader does. A handler that
 * receives a malformed event throws this before anything else runs.
 */
import type { z } from 'zod';
import { formatIssue, formatIssues } from '../config/issues.ts';
import { errorMessage, ValidationError } from '../errors.ts';

export { formatIssue, formatIssues };

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
  return new ValidationError(what, [errorMessage(error)]);
}

/** Parses with a schema and throws a ValidationError naming every bad field. */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value, { reportInput: true });
  if (!result.success) throw new ValidationError(what, formatIssues(result.error.issues));
  return result.data;
}
